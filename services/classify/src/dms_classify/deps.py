"""FastAPI dependencies of the classify service."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from dms_classify.bootstrap import ClassifyApp
from dms_common.identity.deps import require_role
from dms_common.identity.tokens import Principal, Role


def get_container(request: Request) -> ClassifyApp:
    return cast(ClassifyApp, request.app.state.container)


Container = Annotated[ClassifyApp, Depends(get_container)]
# Who may work the review queue at all; object-level checks come on top.
Reviewer = Annotated[Principal, Depends(require_role(Role.OFFICE_ADMIN, Role.PPID))]
