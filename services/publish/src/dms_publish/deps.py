"""FastAPI dependencies shared by the publish routers and pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dms_publish.bootstrap import PublishApp


def get_container(request: Request) -> PublishApp:
    container = getattr(request.app.state, "container", None)
    if not isinstance(container, PublishApp):
        raise RuntimeError("app.state.container is not set: wire it in the lifespan")
    return container


Container = Annotated[PublishApp, Depends(get_container)]


def base_url(request: Request, container: PublishApp) -> str:
    """The portal's absolute base (no trailing slash), for links read outside the portal."""
    configured = container.settings.public_base_url.rstrip("/")
    return configured or str(request.base_url).rstrip("/")
