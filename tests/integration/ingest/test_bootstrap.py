"""Ingest's first start on an empty database, as a deployment does it: several processes at once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from dms_ingest.bootstrap import bootstrap
from dms_ingest.models import Division, Office, User
from dms_ingest.settings import IngestSettings
from tests.support.isolation import isolated
from tests.support.servers import Endpoints


async def test_api_and_worker_starting_together_seed_once(servers: Endpoints) -> None:
    # The API and the worker (or two replicas) bootstrap the same schema at the same moment:
    # both must start, and the offices, divisions and first superadmin exist once.
    async with isolated(servers) as iso:
        config = iso.settings(IngestSettings, jwt_private_key=iso.private_key,
                              admin_username="root", admin_password="Root-pass-12345")
        apps = await asyncio.gather(*(bootstrap(config) for _ in range(3)),
                                    return_exceptions=True)
        try:
            assert not [a for a in apps if isinstance(a, BaseException)], apps
            first = apps[0]
            assert not isinstance(first, BaseException)
            async with first.core.sessions() as session:
                offices = (await session.execute(select(func.count()).select_from(Office)))
                divisions = (await session.execute(select(func.count()).select_from(Division)))
                admins = (await session.execute(
                    select(func.count()).select_from(User).where(User.role == "superadmin")))
                counts = (offices.scalar_one(), divisions.scalar_one(), admins.scalar_one())
            assert counts[0] == 14 and counts[1] > 0 and counts[2] == 1, counts
        finally:
            for app in apps:
                if not isinstance(app, BaseException):
                    await app.close()
