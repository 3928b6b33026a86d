"""The administrators' pages (`/admin/`); for now a placeholder showing the queue's size."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from dms_classify import service
from dms_classify.deps import Container
from dms_common.identity.deps import OptionalUser, can_classify_office

router = APIRouter(prefix="/admin", tags=["pages"], include_in_schema=False)


@cache
def _templates() -> Jinja2Templates:
    return Jinja2Templates(directory=Path(__file__).parent / "templates")


@router.get("/", response_class=HTMLResponse)
async def admin_home(request: Request, user: OptionalUser, app: Container) -> HTMLResponse:
    if user is None:
        state, count, status_code = "login", None, 401
    elif not can_classify_office(user, user.office_code):
        state, count, status_code = "forbidden", None, 403
    else:
        async with app.core.uow() as uow:
            count = await service.count_review_queue(uow=uow, actor=user)
        state, status_code = "ok", 200
    return _templates().TemplateResponse(
        request, "admin_home.html", {"state": state, "count": count, "user": user},
        status_code=status_code)
