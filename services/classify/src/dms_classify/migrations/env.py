from dms_classify.models import metadata
from dms_common.db.migrate import run_env

run_env(metadata)
