"""Persistence: engine, unit of work with outbox and audit, migrations."""

from dms_common.db.tables import CoreTables, core_tables
from dms_common.db.uow import (
           Actor,
           UnitOfWork,
           UnitOfWorkFactory,
           make_engine,
           make_session_factory,
)

__all__ = ["Actor", "CoreTables", "UnitOfWork", "UnitOfWorkFactory", "core_tables", "make_engine",
           "make_session_factory"]
