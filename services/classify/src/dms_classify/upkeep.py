"""Scheduled upkeep in the worker: expiring exemptions, stale periodic information, retraining.

Nothing here publishes anything: an expired exemption or a periodic (berkala) item not refreshed
within six months goes back into the review queue with a flag, and only an administrator's new
decision changes what the public sees.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from dms_classify.models import (
    AWAITING_REVIEW,
    ClassifierModel,
    Decision,
    DocumentStatus,
    ReviewDocument,
)
from dms_classify.suggest import TextClassifier
from dms_common.db.uow import Actor, UnitOfWork, UnitOfWorkFactory
from dms_common.events import KipCategory

log = logging.getLogger(__name__)

FLAG_EXPIRING = "exemption_expiring"
FLAG_EXPIRED = "exemption_expired"
FLAG_BERKALA_STALE = "berkala_stale"


@dataclass(frozen=True)
class UpkeepResult:
    expiring: int
    expired: int
    berkala_stale: int
    retrained: list[str]


def _current_decisions() -> Any:
    return (select(ReviewDocument, Decision)
            .join(Decision, Decision.decision_id == ReviewDocument.decision_id)
            .where(ReviewDocument.status == DocumentStatus.CLASSIFIED.value))


async def flag_exemptions(*, uow: UnitOfWork, today: date, warn_days: int) -> tuple[int, int]:
    """Flag exemptions expiring within `warn_days`; reopen expired ones. (expiring, expired)."""
    now = datetime.now(UTC)
    stmt = _current_decisions().where(
        Decision.kip_category == KipCategory.DIKECUALIKAN.value,
        Decision.exempt_until.is_not(None),
        Decision.exempt_until <= today + timedelta(days=warn_days)).with_for_update(
            of=ReviewDocument)
    expiring = expired = 0
    for row, decision in (await uow.session.execute(stmt)).all():
        assert decision.exempt_until is not None
        if decision.exempt_until <= today:
            row.status = DocumentStatus.REOPENED.value
            row.flag, row.flagged_at = FLAG_EXPIRED, now
            expired += 1
            await uow.audit(actor=Actor.system("upkeep"), action="exemption_expired",
                            subject_type="document", subject_id=row.document_id,
                            office_code=row.office_code,
                            detail={"decision_id": str(decision.decision_id),
                                    "exempt_until": decision.exempt_until.isoformat()})
        elif row.flag != FLAG_EXPIRING:
            row.flag, row.flagged_at = FLAG_EXPIRING, now
            expiring += 1
    return expiring, expired


async def flag_stale_berkala(*, uow: UnitOfWork, now: datetime, max_age: timedelta) -> int:
    """Put periodic items not refreshed within `max_age` back into the queue, flagged."""
    stmt = _current_decisions().where(
        Decision.kip_category == KipCategory.BERKALA.value,
        Decision.decided_at < now - max_age).with_for_update(of=ReviewDocument)
    count = 0
    for row, decision in (await uow.session.execute(stmt)).all():
        row.status = DocumentStatus.REOPENED.value
        row.flag, row.flagged_at = FLAG_BERKALA_STALE, now
        count += 1
        await uow.audit(actor=Actor.system("upkeep"), action="berkala_stale",
                        subject_type="document", subject_id=row.document_id,
                        office_code=row.office_code,
                        detail={"decision_id": str(decision.decision_id)})
    return count


async def retrain_models(*, uow_factory: UnitOfWorkFactory, min_samples: int,
                         every: int) -> list[str]:
    """Retrain each office's classifier once enough new decisions have accumulated."""
    async with uow_factory() as uow:
        counts = dict((await uow.session.execute(
            select(ReviewDocument.office_code, func.count())
            .join(Decision, Decision.decision_id == ReviewDocument.decision_id)
            .where(ReviewDocument.text_sample.is_not(None))
            .group_by(ReviewDocument.office_code))).all())
        trained = dict((await uow.session.execute(
            select(ClassifierModel.office_code, ClassifierModel.samples))).all())
    retrained: list[str] = []
    for office, count in sorted(counts.items()):
        if count < min_samples or count - trained.get(office, 0) < every:
            continue
        async with uow_factory() as uow:
            rows = (await uow.session.execute(
                select(ReviewDocument.title, ReviewDocument.text_sample, Decision.kip_category,
                       Decision.document_type)
                .join(Decision, Decision.decision_id == ReviewDocument.decision_id)
                .where(and_(ReviewDocument.office_code == office,
                            ReviewDocument.text_sample.is_not(None))))).all()
        texts = [f"{title}\n{sample}" for title, sample, _, _ in rows]
        labels = [category for _, _, category, _ in rows]
        types = [document_type for _, _, _, document_type in rows]
        try:
            model = await asyncio.to_thread(TextClassifier.train, texts, labels, types)
        except ValueError:
            continue  # one category only so far: the rules keep suggesting alone
        data = await asyncio.to_thread(model.dumps)
        async with uow_factory() as uow:
            stmt = pg_insert(ClassifierModel).values(
                office_code=office, model=data, samples=len(texts), trained_at=datetime.now(UTC))
            await uow.session.execute(stmt.on_conflict_do_update(
                index_elements=[ClassifierModel.office_code],
                set_={"model": stmt.excluded.model, "samples": stmt.excluded.samples,
                      "trained_at": stmt.excluded.trained_at}))
        retrained.append(office)
        log.info("classifier retrained", extra={"office": office, "samples": len(texts)})
    return retrained


async def run_upkeep(*, uow_factory: UnitOfWorkFactory, warn_days: int, berkala_max_age: timedelta,
                     retrain_min_samples: int, retrain_every: int) -> UpkeepResult:
    """One round of upkeep."""
    now = datetime.now(UTC)
    async with uow_factory() as uow:
        expiring, expired = await flag_exemptions(uow=uow, today=now.date(), warn_days=warn_days)
        stale = await flag_stale_berkala(uow=uow, now=now, max_age=berkala_max_age)
    retrained = await retrain_models(uow_factory=uow_factory, min_samples=retrain_min_samples,
                                     every=retrain_every)
    return UpkeepResult(expiring=expiring, expired=expired, berkala_stale=stale,
                        retrained=retrained)


# --- the province report ------------------------------------------------------------------------

async def province_report(*, uow: UnitOfWork, now: datetime) -> dict[str, Any]:
    """Documents per office and category, the queue per office, exemptions by legal basis."""
    category = func.coalesce(Decision.kip_category, "belum_diklasifikasi")
    per_category = (await uow.session.execute(
        select(ReviewDocument.office_code, category, func.count())
        .outerjoin(Decision, Decision.decision_id == ReviewDocument.decision_id)
        .group_by(ReviewDocument.office_code, category))).all()
    offices: dict[str, dict[str, Any]] = {}
    for office, name, count in per_category:
        entry = offices.setdefault(office, {"office_code": office, "documents": {},
                                            "queue_size": 0, "oldest_waiting_days": None})
        entry["documents"][name] = count
    queue = (await uow.session.execute(
        select(ReviewDocument.office_code, func.count(), func.min(ReviewDocument.received_at))
        .where(ReviewDocument.status.in_([s.value for s in AWAITING_REVIEW]))
        .group_by(ReviewDocument.office_code))).all()
    for office, size, oldest in queue:
        entry = offices.setdefault(office, {"office_code": office, "documents": {},
                                            "queue_size": 0, "oldest_waiting_days": None})
        entry["queue_size"] = size
        entry["oldest_waiting_days"] = round((now - oldest).total_seconds() / 86400, 1)
    by_basis = (await uow.session.execute(
        select(Decision.legal_basis, func.count())
        .join(ReviewDocument, ReviewDocument.decision_id == Decision.decision_id)
        .where(Decision.kip_category == KipCategory.DIKECUALIKAN.value)
        .group_by(Decision.legal_basis).order_by(func.count().desc()))).all()
    return {"generated_at": now.isoformat(), "offices": [offices[k] for k in sorted(offices)],
            "exemptions_by_legal_basis": [{"legal_basis": basis, "count": count}
                                          for basis, count in by_basis]}


async def expiring_exemptions(*, uow: UnitOfWork, today: date, days: int,
                              offices: list[str] | None) -> list[tuple[Decision, ReviewDocument]]:
    """Current exemptions ending within `days` (already ended included)."""
    stmt = (select(Decision, ReviewDocument)
            .join(ReviewDocument, ReviewDocument.decision_id == Decision.decision_id)
            .where(Decision.kip_category == KipCategory.DIKECUALIKAN.value,
                   Decision.exempt_until.is_not(None),
                   Decision.exempt_until <= today + timedelta(days=days))
            .order_by(Decision.exempt_until))
    if offices is not None:
        stmt = stmt.where(Decision.office_code.in_(offices))
    return list((await uow.session.execute(stmt)).all())
