"""Webhooks: outside systems told about publications and withdrawals.

A delivery row is written in the same transaction as the event it announces (like
the outbox), so nothing announced is lost and nothing is sent for a rolled-back
change. The dispatcher, run by the worker, POSTs each due delivery signed with
HMAC-SHA256 over `"{timestamp}.{body}"` with the subscription's secret, retries
failures with exponential backoff and records every outcome (the delivery log).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import urllib3
from sqlalchemy import any_, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from dms_common.db.uow import UnitOfWork, UnitOfWorkFactory
from dms_common.events import DocumentPublished, DocumentWithdrawn, Event, Topic
from dms_publish.models import Publication, WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)

EVENT_TYPES = (Topic.PUBLISHED.value, Topic.WITHDRAWN.value)
SIGNATURE_HEADER = "X-DMS-Signature"
TIMESTAMP_HEADER = "X-DMS-Timestamp"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    """Check a signature as a subscriber would (constant time)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def backoff(attempts: int, *, base_seconds: float, cap_seconds: float = 3600) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt (1, 2, 4, ... x base)."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(attempts - 1, 0)))


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def event_body(event: Event, row: Publication) -> dict[str, Any]:
    """What a subscriber receives: identifiers and public facts only (no title when withdrawn)."""
    assert isinstance(event, DocumentPublished | DocumentWithdrawn)
    body: dict[str, Any] = {
        "event_id": str(event.event_id), "event_type": event.event_type,
        "occurred_at": event.occurred_at.isoformat(), "document_id": str(event.document_id),
        "office_code": event.office_code, "version": event.version,
        "publication_id": (str(event.payload.publication_id)
                           if event.payload.publication_id else None),
    }
    if isinstance(event, DocumentPublished):
        body.update(title=row.title, kip_category=row.kip_category,
                    url=f"/dokumen/{event.document_id}",
                    api_url=f"/api/v1/public/documents/{event.document_id}")
    else:
        body["reason"] = event.payload.reason
    return body


async def enqueue(*, uow: UnitOfWork, event: Event, row: Publication) -> int:
    """Queue a delivery of `event` to every active subscription that wants it."""
    subscriptions = (await uow.session.execute(
        select(WebhookSubscription.id).where(
            WebhookSubscription.active.is_(True),
            literal(event.event_type) == any_(WebhookSubscription.events),
            (WebhookSubscription.office_code.is_(None))
            | (WebhookSubscription.office_code == event.office_code)))).scalars().all()
    if not subscriptions:
        return 0
    body = event_body(event, row)
    await uow.session.execute(
        pg_insert(WebhookDelivery).values([
            {"subscription_id": sid, "event_id": event.event_id,
             "event_type": event.event_type, "body": body} for sid in subscriptions])
        .on_conflict_do_nothing(constraint="uq_webhook_delivery_event"))
    return len(subscriptions)


# --- management --------------------------------------------------------------------------

async def create_subscription(*, uow: UnitOfWork, url: str, events: list[str],
                              office_code: str | None, description: str,
                              created_by: UUID | None) -> WebhookSubscription:
    """Register a subscriber; its secret is returned to the caller once."""
    subscription = WebhookSubscription(
        id=uuid4(), url=url, secret=new_secret(), events=sorted(set(events)),
        office_code=office_code, description=description, active=True,
        created_by=created_by, created_at=datetime.now(UTC))
    uow.session.add(subscription)
    await uow.session.flush()
    return subscription


async def list_subscriptions(*, uow: UnitOfWork) -> list[WebhookSubscription]:
    """List every subscription, newest first."""
    return list((await uow.session.execute(
        select(WebhookSubscription).order_by(WebhookSubscription.created_at.desc()))).scalars())


async def deactivate_subscription(*, uow: UnitOfWork, subscription_id: UUID) -> bool:
    """Stop sending to a subscriber; pending deliveries are given up. False if unknown."""
    found = (await uow.session.execute(
        update(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
        .values(active=False).returning(WebhookSubscription.id))).first()
    if found is None:
        return False
    await uow.session.execute(
        update(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id,
                                      WebhookDelivery.status == "pending")
        .values(status="failed", last_error="subscription deactivated"))
    return True


async def list_deliveries(*, uow: UnitOfWork, subscription_id: UUID,
                          limit: int = 50) -> list[WebhookDelivery]:
    """The delivery log of one subscription, newest first."""
    return list((await uow.session.execute(
        select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id.desc()).limit(limit))).scalars())


# --- dispatching -------------------------------------------------------------------------

@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


Sender = Callable[[str, bytes, dict[str, str]], Attempt]


def make_sender(timeout_seconds: float) -> Sender:
    """A blocking HTTP POST (run in a thread); redirects are not followed."""
    pool = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout_seconds), retries=False)

    def send(url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        try:
            response = pool.request("POST", url, body=body, headers=headers, redirect=False,
                                    preload_content=True)
            return Attempt(response.status, None)
        except urllib3.exceptions.HTTPError as exc:
            return Attempt(None, f"{type(exc).__name__}: {exc}"[:500])

    return send


class Dispatcher:
    """Sends due deliveries; several processes may run one (rows are leased, skip-locked)."""

    def __init__(self, uow: UnitOfWorkFactory, *, sender: Sender, max_attempts: int,
                 backoff_seconds: float, lease_seconds: float = 120, batch: int = 20) -> None:
        self._uow = uow
        self._send = sender
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._lease = timedelta(seconds=lease_seconds)
        self._batch = batch

    async def run(self, *, poll_seconds: float = 1.0) -> None:
        while True:
            try:
                sent = await self.dispatch_once()
            except Exception:
                log.exception("webhook dispatch failed")
                sent = 0
            if not sent:
                await asyncio.sleep(poll_seconds)

    async def dispatch_once(self) -> int:
        """Lease the due deliveries, send them, record the outcomes; return how many."""
        now = datetime.now(UTC)
        async with self._uow() as uow:
            due = (await uow.session.execute(
                select(WebhookDelivery, WebhookSubscription.url, WebhookSubscription.secret)
                .join(WebhookSubscription,
                      WebhookSubscription.id == WebhookDelivery.subscription_id)
                .where(WebhookDelivery.status == "pending",
                       WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(self._batch).with_for_update(of=WebhookDelivery, skip_locked=True))).all()
            for delivery, _, _ in due:
                # A lease: if this process dies mid-send, the row is due again later.
                delivery.next_attempt_at = now + self._lease
            jobs = [(d.id, d.event_type, d.event_id, d.body, url, secret)
                    for d, url, secret in due]
        for delivery_id, event_type, event_id, body, url, secret in jobs:
            raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
            timestamp = int(datetime.now(UTC).timestamp())
            headers = {"Content-Type": "application/json", "User-Agent": "DMS-Webhook/1",
                       "X-DMS-Event": event_type, "X-DMS-Delivery": str(event_id),
                       TIMESTAMP_HEADER: str(timestamp),
                       SIGNATURE_HEADER: sign(secret, timestamp, raw)}
            attempt = await asyncio.to_thread(self._send, url, raw, headers)
            await self._record(delivery_id, attempt)
        return len(jobs)

    async def _record(self, delivery_id: int, attempt: Attempt) -> None:
        now = datetime.now(UTC)
        async with self._uow() as uow:
            delivery = await uow.session.get(WebhookDelivery, delivery_id, with_for_update=True)
            if delivery is None or delivery.status != "pending":
                return
            delivery.attempts += 1
            delivery.last_status_code = attempt.status_code
            delivery.last_error = attempt.error
            if attempt.ok:
                delivery.status, delivery.delivered_at = "delivered", now
            elif delivery.attempts >= self._max_attempts:
                delivery.status = "failed"
            else:
                delivery.next_attempt_at = now + backoff(delivery.attempts,
                                                         base_seconds=self._backoff)
