"""FastAPI dependencies of the classify service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dms_classify.bootstrap import ClassifyApp
from dms_common.identity.deps import require_role
from dms_common.identity.tokens import Principal, Role
from dms_common.web import container_dependency

get_container = container_dependency(ClassifyApp)
Container = Annotated[ClassifyApp, Depends(get_container)]
# Who may work the review queue at all; object-level checks come on top.
Reviewer = Annotated[Principal, Depends(require_role(Role.OFFICE_ADMIN, Role.PPID))]
