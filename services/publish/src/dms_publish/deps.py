"""FastAPI dependencies shared by the publish routers and pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dms_common.web import container_dependency
from dms_publish.bootstrap import PublishApp

get_container = container_dependency(PublishApp)
Container = Annotated[PublishApp, Depends(get_container)]


def base_url(request: Request, container: PublishApp) -> str:
    """The portal's absolute base (no trailing slash), for links read outside the portal."""
    configured = container.settings.public_base_url.rstrip("/")
    return configured or str(request.base_url).rstrip("/")
