"""Ingest's composition root, shared by its API and its worker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dms_common.bus.kafka import KafkaBus
from dms_common.identity.tokens import TokenIssuer, load_key
from dms_common.runtime import Core, open_core
from dms_common.storage import ObjectStore
from dms_ingest import identity_service, models
from dms_ingest.settings import IngestSettings


@dataclass
class IngestApp:
    core: Core
    settings: IngestSettings
    issuer: TokenIssuer

    async def close(self) -> None:
        await self.core.close()


async def bootstrap(settings: IngestSettings, *, store: ObjectStore | None = None,
                    bus: KafkaBus | None = None) -> IngestApp:
    """Open ingest: migrate, seed the offices and the first superadmin."""
    core = await open_core(settings, schema=models.SCHEMA, metadata=models.metadata,
                           migrations=Path(__file__).parent / "migrations",
                           client_id="dms-ingest", store=store, bus=bus)
    try:
        issuer = TokenIssuer(load_key(settings.jwt_private_key.get_secret_value()))
        async with core.uow() as uow:
            # The API and the worker (and any replica) start together: one seeds, the others
            # wait for it and then find everything there.
            await uow.lock(f"dms-seed:{core.schema}")
            await identity_service.seed_reference_data(uow=uow)
            await identity_service.ensure_superadmin(
                uow=uow, username=settings.admin_username,
                password=settings.admin_password.get_secret_value())
    except BaseException:
        await core.close()
        raise
    return IngestApp(core=core, settings=settings, issuer=issuer)
