"""Each service's copy of `dms.identity.changed`, and the user status built on it.

Events are merged by `seq`: an event older than what the row holds is ignored,
so replays and reordering leave the row as the newest event made it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dms_common.db.tables import CoreTables
from dms_common.db.uow import UnitOfWork
from dms_common.events import Event, IdentityChanged, IdentityKind
from dms_common.identity.users import Standing


async def apply_identity_changed(event: Event, uow: UnitOfWork) -> None:
    """Merge an identity event into the service's identities table."""
    assert isinstance(event, IdentityChanged)
    table = uow.tables.identities
    values: dict[str, Any] = {
        "entity_id": event.entity_id, "kind": event.payload.kind.value,
        "fields": event.payload.fields, "disabled": event.payload.disabled, "seq": event.seq,
    }
    stmt = pg_insert(table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.entity_id],
        set_={k: stmt.excluded[k] for k in ("kind", "fields", "disabled", "seq")},
        where=table.c.seq < stmt.excluded.seq,
    )
    await uow.session.execute(stmt)


class DbUserStatus:
    """`UserStatus` over the identities table: unknown and disabled users are refused.

    A user is refused too while their office is disabled, so disabling an
    office locks out its accounts at every service at once. A user whose
    announced fields say ``must_change_password`` may only replace it.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession],
                 tables: CoreTables) -> None:
        self._sessions = session_factory
        self._table = tables.identities

    async def standing(self, user_id: UUID) -> Standing:
        users, offices = self._table, self._table.alias("office")
        # One statement: the user's row and, beside it, whether their office is disabled.
        office_disabled = (
            select(offices.c.disabled)
            .where(offices.c.kind == IdentityKind.OFFICE.value,
                   offices.c.fields["code"].astext == users.c.fields["office_code"].astext)
            .limit(1).scalar_subquery())
        async with self._sessions() as session:
            row = (await session.execute(
                select(users.c.disabled, users.c.fields, office_disabled.label("office_off"))
                .where(users.c.entity_id == user_id,
                       users.c.kind == IdentityKind.USER.value))).first()
        if row is None or row.disabled or row.office_off:
            return Standing.DISABLED
        if row.fields.get("must_change_password"):
            return Standing.PASSWORD_CHANGE
        return Standing.ACTIVE

    async def is_disabled(self, user_id: UUID) -> bool:
        return await self.standing(user_id) is Standing.DISABLED
