"""Every service's copy of dms.identity.changed refuses disabled, unknown and stale users."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from dms_common.events import IdentityChanged, IdentityChangedPayload, IdentityKind
from dms_common.identity.projection import DbUserStatus, apply_identity_changed
from dms_common.identity.users import Standing
from tests.support.isolation import drop_schemas
from tests.support.sample_service.app import Sample, open_sample
from tests.support.servers import Endpoints


@pytest.fixture
async def sample(servers: Endpoints) -> AsyncIterator[Sample]:
    tag = uuid.uuid4().hex[:10]
    opened = await open_sample(servers.database_url, f"sample_{tag}")
    try:
        yield opened
    finally:
        await opened.close()
        await asyncio.to_thread(drop_schemas, servers.database_url, f"sample\\_{tag}")


async def deliver(sample: Sample, entity: uuid.UUID, kind: IdentityKind, seq: int, *,
                  disabled: bool, fields: dict[str, str]) -> None:
    event = IdentityChanged.build(entity_id=entity, office_code="6302", seq=seq,
                                  payload=IdentityChangedPayload(kind=kind, fields=fields,
                                                                 disabled=disabled))
    async with sample.uow() as uow:
        await apply_identity_changed(event, uow)


async def test_user_status_follows_the_newest_identity_event(sample: Sample) -> None:
    status = DbUserStatus(sample.sessions, sample.core)
    user, office = uuid.uuid4(), uuid.uuid4()
    fields = {"username": "andi", "role": "staff", "office_code": "6302"}
    assert await status.is_disabled(user) is True  # unknown: refused
    await deliver(sample, user, IdentityKind.USER, 1, disabled=False, fields=fields)
    assert await status.is_disabled(user) is False
    await deliver(sample, user, IdentityKind.USER, 3, disabled=True, fields=fields)
    assert await status.is_disabled(user) is True
    # A late, older event (seq 2) does not re-enable the account.
    await deliver(sample, user, IdentityKind.USER, 2, disabled=False, fields=fields)
    assert await status.is_disabled(user) is True
    await deliver(sample, user, IdentityKind.USER, 4, disabled=False, fields=fields)
    assert await status.is_disabled(user) is False
    # Disabling the user's office locks the account out too.
    await deliver(sample, office, IdentityKind.OFFICE, 1, disabled=True,
                  fields={"code": "6302", "name": "Bawaslu Kabupaten Kotabaru"})
    assert await status.is_disabled(user) is True


async def test_a_reset_password_stands_until_a_newer_event_clears_it(sample: Sample) -> None:
    status = DbUserStatus(sample.sessions, sample.core)
    user = uuid.uuid4()
    fields: dict[str, object] = {"username": "sari", "role": "staff", "office_code": "6303"}
    await deliver(sample, user, IdentityKind.USER, 1, disabled=False,
                  fields={**fields, "must_change_password": True})  # type: ignore[dict-item]
    assert await status.standing(user) is Standing.PASSWORD_CHANGE
    assert await status.is_disabled(user) is False
    await deliver(sample, user, IdentityKind.USER, 2, disabled=True,
                  fields={**fields, "must_change_password": True})  # type: ignore[dict-item]
    assert await status.standing(user) is Standing.DISABLED
    await deliver(sample, user, IdentityKind.USER, 3, disabled=False,
                  fields={**fields, "must_change_password": False})  # type: ignore[dict-item]
    assert await status.standing(user) is Standing.ACTIVE
