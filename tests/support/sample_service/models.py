"""The sample service's tables."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table, Text, Uuid

from dms_common.db.tables import CoreTables, core_tables


def tables(schema: str) -> tuple[MetaData, CoreTables, Table]:
    metadata = MetaData(schema=schema)
    core = core_tables(metadata)
    effects = Table(
        "effects", metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("document_id", Uuid, nullable=False),
        Column("title", Text, nullable=False),
        Column("n", Integer, nullable=False, server_default="1"),
    )
    return metadata, core, effects
