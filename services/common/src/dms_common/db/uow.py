"""Engine, sessions and the unit of work.

`async with uow:` is one transaction. `uow.emit(event)` stamps the event's
`seq` and writes it to the outbox in that same transaction, so there is no
event without its state and no state without its event. `uow.audit(...)`
appends to the audit log in it too. Use-case functions never commit: leaving
the block commits, an exception rolls back.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from sqlalchemy import Executable, bindparam, insert, text
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Result
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

from dms_common.db.tables import CoreTables
from dms_common.events import DocumentEvent, Event, IdentityChanged
from dms_common.logging import current_correlation_id

# A pooled connection idle at least this long is checked with one SELECT 1 before use.
IDLE_CHECK_SECONDS = 0.1


def advisory_key(name: str) -> int:
    """The 64-bit PostgreSQL advisory lock key of a named lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def runtime_role(schema: str) -> str:
    """The database role a service's requests run as (no UPDATE/DELETE on its audit log)."""
    return f"dms_{schema}_app"


def make_engine(url: str, *, schema: str, pool_size: int = 10,
                restricted: bool = True, model_schema: str | None = None) -> AsyncEngine:
    """Create an async engine whose connections live in the service's schema.

    With `restricted`, each connection switches to the service's runtime role
    so the append-only rule on the audit log holds for everything the service
    does at run time; migrations use an unrestricted engine. Models name their
    canonical schema (`model_schema`); when the live schema differs (an isolated
    test copy), statements are translated to it.
    """
    # No pool_pre_ping: with asyncpg it costs three round trips (begin, ping, rollback) on every
    # checkout, several times per request. Instead a connection the server closed (a restart,
    # a terminated backend) is refused at checkout, and the pool opens a fresh one: for free
    # when the driver already knows, else by one SELECT 1, but only for a connection that
    # sat idle: one checked in moments ago, as under load, is used at once. The pool hands out
    # the connection checked in last, so a quiet service keeps reusing one warm connection
    # (never checked) instead of cycling through all of them (each idle, so each checked).
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size // 2,
                                 pool_pre_ping=False, pool_recycle=1800, pool_use_lifo=True)
    role = runtime_role(schema)

    @sa_event.listens_for(engine.sync_engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa_event.listens_for(engine.sync_engine, "checkout")
    def _refuse_dead(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is None or not hasattr(driver, "is_closed"):
            return
        if driver.is_closed():
            raise DisconnectionError("the server closed this pooled connection")
        idle = time.monotonic() - record.info.get("idle_since", time.monotonic())
        if idle < IDLE_CHECK_SECONDS:
            return
        try:
            # A real statement: asyncpg fails on the empty query's missing status tag.
            await_only(driver.fetchval("SELECT 1"))
        except Exception as exc:
            raise DisconnectionError("a pooled connection no longer answers") from exc

    @sa_event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f'SET search_path TO "{schema}", public')
        cursor.execute("SET TIME ZONE 'UTC'")
        if restricted:
            cursor.execute(f'SET ROLE "{role}"')
        cursor.close()

    if model_schema is not None and model_schema != schema:
        return engine.execution_options(schema_translate_map={model_schema: schema})
    return engine


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@dataclass
class Actor:
    """Who did something, for the audit log."""

    user_id: UUID | None
    role: str | None = None
    office_code: str | None = None
    client_ip: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=None, role=name)


@dataclass(frozen=True)
class _Statements:
    """The unit of work's statements, built once per schema and run with parameters only.

    Building a statement with its values on every call (``insert(t).values(...)``) costs more
    than running it: SQLAlchemy then derives a fresh cache key from the values' structure.
    """

    next_seq: Executable
    outbox: Executable
    claim: Executable
    audit: Executable


@functools.cache
def _statements(tables: CoreTables) -> _Statements:
    seq = tables.event_seq
    processed = tables.processed_events
    return _Statements(
        next_seq=(pg_insert(seq).values(stream_id=bindparam("stream_id"), seq=1)
                  .on_conflict_do_update(index_elements=[seq.c.stream_id],
                                         set_={"seq": seq.c.seq + 1})
                  .returning(seq.c.seq)),
        outbox=insert(tables.outbox),
        claim=(pg_insert(processed)
               .values(event_id=bindparam("event_id"), topic=bindparam("topic"))
               .on_conflict_do_nothing(index_elements=[processed.c.event_id])
               .returning(processed.c.event_id)),
        audit=insert(tables.audit_log),
    )


class UnitOfWork:
    """One transaction over a service's schema, with its outbox and audit log."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], tables: CoreTables,
                 *, on_commit: Callable[[], None] | None = None) -> None:
        self._session_factory = session_factory
        self.tables = tables
        self._on_commit = on_commit
        self._session: AsyncSession | None = None
        self._emitted = 0
        self._alone = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use `async with uow:`")
        if self._alone:
            raise RuntimeError("this unit of work ran its one statement alone; it takes no more")
        return self._session

    async def execute_alone(self, statement: Executable, params: dict[str, Any]) -> Result[Any]:
        """Run the unit of work's one and only statement, without BEGIN and COMMIT.

        PostgreSQL makes a single statement atomic by itself, so a use case whose whole write is
        one statement saves two round trips. It must be the first statement, and no other may
        follow; leaving the block then commits nothing more, and an error raised after it
        cannot undo it.
        """
        session = self.session
        connection = await session.connection(
            execution_options={"isolation_level": "AUTOCOMMIT"})
        self._alone = True
        return await connection.execute(statement, params)

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work is one transaction; it cannot be nested")
        self._session = self._session_factory()
        await self._session.begin()
        self._emitted = 0
        self._alone = False
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        session, self._session = self._session, None
        try:
            if exc_type is None:
                await session.commit()
                if self._emitted and self._on_commit is not None:
                    self._on_commit()
            else:
                await session.rollback()
        finally:
            await session.close()

    async def next_seq(self, stream_id: UUID) -> int:
        """Increment and return the per-stream event counter, in this transaction."""
        result = await self.session.execute(_statements(self.tables).next_seq,
                                            {"stream_id": stream_id})
        return int(result.scalar_one())

    async def emit(self, event: Event) -> Event:
        """Stamp the event's seq and write it to the outbox in this transaction."""
        stream_id = _stream_of(event)
        stamped = self._stamp(event, await self.next_seq(stream_id))
        await self.session.execute(_statements(self.tables).outbox, _outbox_row(stamped, stream_id))
        self._emitted += 1
        return stamped

    def first_event_row(self, event: Event) -> dict[str, Any]:
        """Stamp the first event of a new stream (seq 1) and return its outbox row.

        For a statement that writes the row itself, together with the stream's counter
        (``event_seq``: the stream id, seq 1), so that one round trip does what
        :meth:`emit` does in two. The relay is woken at commit as after :meth:`emit`.
        """
        stamped = self._stamp(event, 1)
        self._emitted += 1
        return _outbox_row(stamped, _stream_of(event))

    def _stamp(self, event: Event, seq: int) -> Event:
        update: dict[str, Any] = {"seq": seq}
        if not event.correlation_id:
            update["correlation_id"] = current_correlation_id()
        return event.model_copy(update=update)

    async def claim_event(self, event_id: UUID, topic: str) -> bool:
        """Record an incoming event as handled in this transaction; False if it already was.

        ON CONFLICT DO NOTHING waits for a concurrent transaction holding the
        same id, so two consumers racing on one event cannot both apply it.
        """
        result = await self.session.execute(_statements(self.tables).claim,
                                            {"event_id": event_id, "topic": topic})
        return result.first() is not None

    async def audit(self, *, actor: Actor, action: str, subject_type: str,
                    subject_id: str | UUID | None = None, reason: str | None = None,
                    office_code: str | None = None, detail: dict[str, Any] | None = None) -> None:
        """Append an entry to the audit log in this transaction."""
        await self.session.execute(_statements(self.tables).audit, audit_row(
            actor=actor, action=action, subject_type=subject_type, subject_id=subject_id,
            reason=reason, office_code=office_code, detail=detail))

    async def lock(self, name: str) -> None:
        """Wait until no other transaction holds the lock `name`, then hold it until this one
        ends: transactions that take the same lock run one after the other."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                                   {"k": advisory_key(name)})

    async def execute_text(self, sql: str, **params: Any) -> Any:
        return await self.session.execute(text(sql), params)


def _stream_of(event: Event) -> UUID:
    # The stream is the Kafka key: the document, or the identity entity.
    if isinstance(event, DocumentEvent):
        return event.document_id
    if isinstance(event, IdentityChanged):
        return event.entity_id
    raise TypeError(f"{type(event).__name__} is neither a document nor an identity event")


def _outbox_row(stamped: Event, stream_id: UUID) -> dict[str, Any]:
    return {"event_id": stamped.event_id, "topic": stamped.TOPIC.value, "key": str(stream_id),
            "value": stamped.to_bytes(), "correlation_id": stamped.correlation_id}


def audit_row(*, actor: Actor, action: str, subject_type: str,
              subject_id: str | UUID | None = None, reason: str | None = None,
              office_code: str | None = None, detail: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    """An audit log entry's columns, for :meth:`UnitOfWork.audit` or a statement that writes it."""
    return {"actor_id": actor.user_id, "actor_role": actor.role,
            "office_code": office_code or actor.office_code, "action": action,
            "subject_type": subject_type, "subject_id": str(subject_id) if subject_id else None,
            "reason": reason, "detail": detail or {}, "client_ip": actor.client_ip,
            "correlation_id": current_correlation_id()}


class UnitOfWorkFactory:
    """Makes a fresh unit of work per use case; wired once in a service's bootstrap."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], tables: CoreTables,
                 *, on_commit: Callable[[], None] | None = None) -> None:
        self.session_factory = session_factory
        self.tables = tables
        self.on_commit = on_commit

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.tables, on_commit=self.on_commit)
