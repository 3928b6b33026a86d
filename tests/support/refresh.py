"""Make a refresh token's rotation look old, so a replay is judged past the second-tab grace."""

from __future__ import annotations

import subprocess
from datetime import timedelta

from sqlalchemy import update

from dms_common.backup import libpq_url
from dms_ingest.bootstrap import IngestApp
from dms_ingest.models import RefreshToken
from tests.support.servers import ROOT, read_env_file

PAST_THE_GRACE = timedelta(minutes=1)


async def age_rotations(app: IngestApp) -> None:
    """Every rotation of this (isolated) ingest, moved back past the grace."""
    async with app.core.sessions() as session, session.begin():
        await session.execute(update(RefreshToken).where(RefreshToken.revoked_at.is_not(None))
                              .values(revoked_at=RefreshToken.revoked_at - PAST_THE_GRACE))


def age_rotations_on_the_stack(username: str) -> None:
    """The same on the running stack's database, for one user's tokens."""
    url = libpq_url(read_env_file(ROOT / "deploy" / "local" / "dev.env")["DMS_DATABASE_URL"])
    sql = ("UPDATE ingest.refresh_tokens t SET revoked_at = t.revoked_at - interval '1 minute' "
           "FROM ingest.users u WHERE u.id = t.user_id AND t.revoked_at IS NOT NULL "
           "AND u.username = :'name'")
    # From stdin, so psql interpolates the variable (it does not in -c).
    done = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", url,
                           "-v", f"name={username}"], input=sql + ";\n",
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
