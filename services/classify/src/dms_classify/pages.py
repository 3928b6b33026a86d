"""The administrators' pages under /admin/ (Bahasa Indonesia), on the shared page kit.

The review queue with filters, a document with its text, highlighted findings, previews and the
suggestion, the decision form (DIP columns for public categories, the consequence test for an
exemption, findings to black out), the Atasan PPID's approvals and the province report. Every
form posts through the same use cases as the API, with the CSRF token of the page kit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from dms_classify import service, upkeep
from dms_classify.api import QueueStatus, queue_item
from dms_classify.deps import Container
from dms_classify.redaction import redact_document
from dms_classify.schemas import DecisionIn
from dms_common.errors import ApiError, validation_message
from dms_common.events import KipCategory
from dms_common.identity.deps import CurrentUser, can_classify_office
from dms_common.identity.tokens import Principal, Role
from dms_common.pages import CsrfProtected, NavItem, make_templates, render

TEMPLATES = Path(__file__).parent / "templates"
NAV = (NavItem("/admin/", "Antrean"), NavItem("/admin/pengecualian", "Persetujuan"),
       NavItem("/admin/laporan", "Laporan provinsi"), NavItem("/staf/", "Halaman staf"))
STATUS_LABELS = {
    "received": "Diterima", "extracted": "Siap ditinjau", "extraction_failed": "Gagal dibaca",
    "reopened": "Ditinjau ulang", "classified": "Diklasifikasi", "retracted": "Ditarik",
}
FLAG_LABELS = {
    "exemption_expired": "Masa pengecualian berakhir", "exemption_expiring": "Segera berakhir",
    "berkala_stale": "Informasi berkala belum diperbarui 6 bulan",
    "exemption_rejected": "Pengecualian tidak disetujui",
}
FINDING_LABELS = {
    "nik": "NIK", "npwp": "NPWP", "phone": "Nomor telepon", "email": "E-mail",
    "pelapor": "Identitas pelapor", "saksi": "Identitas saksi", "rahasia": "Tanda rahasia",
    "terbatas": "Tanda terbatas",
}
APPROVAL_LABELS = {"not_required": "Tanpa persetujuan", "pending": "Menunggu persetujuan",
                   "approved": "Disetujui", "rejected": "Ditolak"}
PASAL_17 = {
    "a": "menghambat proses penegakan hukum", "b": "mengganggu perlindungan HKI dan persaingan "
    "usaha", "c": "membahayakan pertahanan dan keamanan negara", "d": "mengungkap kekayaan alam",
    "e": "merugikan ketahanan ekonomi nasional", "f": "merugikan kepentingan hubungan luar "
    "negeri", "g": "mengungkap isi akta otentik/wasiat", "h": "mengungkap rahasia pribadi",
    "i": "memorandum/surat antar atau intra badan publik yang dirahasiakan",
    "j": "tidak boleh diungkapkan berdasarkan undang-undang",
}
FORMS = ("softcopy", "hardcopy")


def build_templates() -> Jinja2Templates:
    return make_templates(TEMPLATES, site_title="DMS Bawaslu Kalimantan Selatan", nav=NAV,
                          globals_={"status_labels": STATUS_LABELS, "flag_labels": FLAG_LABELS,
                                    "finding_labels": FINDING_LABELS, "pasal17": PASAL_17,
                                    "approval_labels": APPROVAL_LABELS, "dip_forms": FORMS,
                                    "categories": [c.value for c in KipCategory]})


router = APIRouter(prefix="/admin", tags=["pages"], include_in_schema=False)


def _reviewer(user: Principal) -> Principal:
    if not can_classify_office(user, user.office_code):
        raise ApiError.forbidden("Halaman ini hanya untuk admin kantor dan PPID.")
    return user


@router.get("/", response_class=HTMLResponse)
async def queue_page(
    request: Request, user: CurrentUser, app: Container,
    office: Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9_-]*$")] = None,
    status: Annotated[QueueStatus | None, Query()] = None,
    flagged: Annotated[bool | None, Query()] = None,
    suggested: Annotated[KipCategory | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    _reviewer(user)
    filters = service.QueueFilter(office_code=office or None, status=status, flagged=flagged,
                                  suggested=suggested.value if suggested else None,
                                  q=q or None)
    async with app.core.uow() as uow:
        page = await service.list_review_queue(uow=uow, actor=user, limit=50, cursor=cursor,
                                               filters=filters)
        count = await service.count_review_queue(uow=uow, actor=user)
    query = "&".join(f"{k}={v}" for k, v in (("office", office), ("status", status),
                                             ("suggested", suggested.value if suggested
                                              else None), ("q", q)) if v)
    return render(request, "admin_queue.html", {
        "user": user, "count": count, "items": [queue_item(r) for r in page.items],
        "next_cursor": page.next_cursor, "query": query,
        "filters": {"office": office or "", "status": status or "", "q": q or "",
                    "suggested": suggested.value if suggested else "",
                    "flagged": flagged}})


def highlight(text: str, findings: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """Split the text into (piece, finding kind or None) for marking findings on the page."""
    pieces: list[tuple[str, str | None]] = []
    position = 0
    for finding in sorted(findings, key=lambda f: (int(f["start"]), -int(f["end"]))):
        start, end = int(finding["start"]), int(finding["end"])
        if start < position or end > len(text):
            continue  # overlapping, or beyond the part of the text shown
        pieces.append((text[position:start], None))
        pieces.append((text[start:end], str(finding["kind"])))
        position = end
    pieces.append((text[position:], None))
    return [(piece, kind) for piece, kind in pieces if piece]


async def _document_context(app: Any, user: Principal, document_id: UUID) -> dict[str, Any]:
    async with app.core.uow() as uow:
        row, decision = await service.get_review_document(uow=uow, document_id=document_id,
                                                          actor=user)
        history = await service.list_decisions(uow=uow, document_id=document_id, actor=user)
    text = None
    if row.text_key is not None:
        text = await service.read_text_excerpt(store=app.core.store, text_key=row.text_key,
                                               max_chars=app.settings.text_excerpt_chars)
    findings = list(row.findings or [])
    return {"user": user, "doc": row, "decision": decision, "history": history,
            "text_pieces": highlight(text, findings) if text else None,
            "text_truncated": text is not None and row.text_length > len(text),
            "findings": findings, "suggestion": row.suggestion or None,
            "previews": [f"/api/v1/review/documents/{row.document_id}/previews/{n}"
                         for n in range(1, len(row.preview_keys or []) + 1)],
            "can_redact": row.content_type.split(";")[0].strip() == "application/pdf",
            "form": {}, "error": None, "saved": False}


@router.get("/dokumen/{document_id}", response_class=HTMLResponse)
async def document_page(request: Request, document_id: UUID, user: CurrentUser,
                        app: Container,
                        tersimpan: Annotated[int | None, Query()] = None) -> HTMLResponse:
    _reviewer(user)
    context = await _document_context(app, user, document_id)
    context["saved"] = bool(tersimpan)
    return render(request, "admin_document.html", context)


def decision_from_form(form: dict[str, Any]) -> dict[str, Any]:
    """The API's decision body from the page's form fields."""
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    body: dict[str, Any] = {"kip_category": text("kip_category")}
    for name in ("document_type", "reason"):
        if text(name):
            body[name] = text(name)
    if text("version").isdigit():
        body["version"] = int(text("version"))
    if body["kip_category"] == KipCategory.DIKECUALIKAN.value:
        instrument = text("legal_instrument")
        basis: dict[str, Any] | None = None
        if instrument:
            basis = {"instrument": instrument}
            if instrument == "other":
                basis["citation"] = text("legal_citation")
            else:
                basis["letter"] = text("legal_letter") or None
        body["consequence_test"] = {
            "exempt_information": text("exempt_information"), "legal_basis": basis,
            "consequence": text("consequence"), "public_interest": text("public_interest"),
            "exempt_until": text("exempt_until") or None,
            "indefinite_reason": text("indefinite_reason") or None, "place": text("place")}
    else:
        forms = form.get("available_forms") or []
        body["dip"] = {"summary": text("summary"), "holder_unit": text("holder_unit"),
                       "responsible": text("responsible"),
                       "created_place_time": text("created_place_time"),
                       "available_forms": [f for f in forms if f in FORMS],
                       "retention": text("retention")}
        redact = [int(v) for v in form.get("redact_findings") or [] if str(v).isdigit()]
        if redact:
            body["redaction"] = {"findings": redact}
    return body


@router.post("/dokumen/{document_id}/keputusan", response_class=HTMLResponse)
async def decide_page(request: Request, document_id: UUID, _csrf: CsrfProtected,
                      user: CurrentUser, app: Container) -> Response:
    _reviewer(user)
    raw = await request.form()
    form: dict[str, Any] = {key: raw.get(key) for key in raw}
    form["available_forms"] = raw.getlist("available_forms")
    form["redact_findings"] = raw.getlist("redact_findings")
    try:
        decision = DecisionIn.model_validate(decision_from_form(form))
        redacted = None
        if decision.redaction is not None and decision.kip_category.is_public:
            service.validate_decision(decision, today=datetime.now(UTC).date())
            async with app.core.uow() as uow:
                row, _ = await service.get_review_document(uow=uow, document_id=document_id,
                                                           actor=user)
            redacted = await redact_document(app=app, row=row, redaction=decision.redaction)
        async with app.core.uow() as uow:
            await service.classify_document(
                uow=uow, document_id=document_id, decision=decision, actor=user,
                client_ip=request.client.host if request.client else None, redacted=redacted)
    except (ApiError, ValidationError) as exc:
        if isinstance(exc, ApiError) and exc.status_code not in (409, 422):
            raise
        message = exc.message if isinstance(exc, ApiError) else validation_message(
            exc.errors())
        context = await _document_context(app, user, document_id)
        context.update(form=form, error=message)
        return render(request, "admin_document.html", context, status_code=422)
    return RedirectResponse(f"/admin/dokumen/{document_id}?tersimpan=1", status_code=303)


@router.get("/pengecualian", response_class=HTMLResponse)
async def approvals_page(request: Request, user: CurrentUser, app: Container) -> HTMLResponse:
    async with app.core.uow() as uow:
        pending = await service.list_exemptions(uow=uow, actor=user, state="pending", limit=100)
    return render(request, "admin_approvals.html", {
        "user": user, "pending": pending,
        "approver": user.role is Role.PPID or bool(user.offices_with(service.APPROVE))})


@router.post("/pengecualian/{decision_id}", response_class=HTMLResponse)
async def approve_page(request: Request, decision_id: UUID, _csrf: CsrfProtected,
                       user: CurrentUser, app: Container) -> Response:
    form = await request.form()
    note = form.get("note")
    async with app.core.uow() as uow:
        await service.decide_approval(
            uow=uow, decision_id=decision_id, approve=form.get("approve") == "1",
            note=note.strip() or None if isinstance(note, str) else None, actor=user,
            client_ip=request.client.host if request.client else None)
    return RedirectResponse("/admin/pengecualian", status_code=303)


@router.get("/laporan", response_class=HTMLResponse)
async def report_page(request: Request, user: CurrentUser, app: Container) -> HTMLResponse:
    if user.role is not Role.PPID:
        raise ApiError.forbidden("Laporan provinsi hanya untuk PPID.")
    async with app.core.uow() as uow:
        report = await upkeep.province_report(uow=uow, now=datetime.now(UTC))
    return render(request, "admin_report.html", {"user": user, "report": report,
                                                 "columns": [*KipCategory,
                                                             "belum_diklasifikasi"]})
