from alembic import context

from dms_common.db.migrate import run_env
from tests.support.sample_service.models import tables

run_env(tables(context.config.attributes["schema"])[0])
