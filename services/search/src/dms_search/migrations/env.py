from dms_common.db.migrate import run_env
from dms_search.models import metadata

run_env(metadata)
