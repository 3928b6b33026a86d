"""Ingest's HTTP API (thin: parsing, authorization, then a use case)."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from sqlalchemy import select
from starlette.background import BackgroundTask

from dms_common.db.uow import Actor
from dms_common.errors import ApiError
from dms_common.identity.deps import CurrentUser, can_read_office
from dms_common.identity.tokens import Principal, Role
from dms_common.storage import ObjectNotFound, original_key
from dms_common.web import container_dependency
from dms_ingest import service
from dms_ingest.bootstrap import IngestApp
from dms_ingest.models import Document, DocumentVersion
from dms_ingest.schemas import (
    DocumentList,
    DocumentOut,
    HistoryEntry,
    RetractIn,
    UploadFields,
    VersionOut,
)
from dms_ingest.upload import Received, UploadLimits, stream_upload, too_large

router = APIRouter()


Ingest = Annotated[IngestApp, Depends(container_dependency(IngestApp))]


def actor_of(user: Principal, request: Request) -> Actor:
    return Actor(user_id=user.user_id, role=user.role.value, office_code=user.office_code,
                 client_ip=request.client.host if request.client else None)


UPLOAD_FIELDS = {
    "file": {"type": "string", "format": "binary"},
    "title": {"type": "string"}, "description": {"type": "string"},
    "division_id": {"type": "string", "format": "uuid"},
    "document_date": {"type": "string", "format": "date"},
    "tags": {"type": "string", "description": "dipisah koma"},
    "keep_both": {"type": "boolean"},
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file", "title"], "properties": UPLOAD_FIELDS}}},
    }
}
VERSION_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": UPLOAD_FIELDS["file"]}}}},
    }
}
UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Formulir rusak"},
    409: {"description": "Isi yang sama sudah ada"},
    413: {"description": "Berkas terlalu besar"},
    415: {"description": "Jenis berkas tidak diizinkan"},
    422: {"description": "Isian atau arsip tidak valid"},
}


def _limits(ingest: IngestApp) -> UploadLimits:
    settings = ingest.settings
    return UploadLimits(max_bytes=settings.max_upload_bytes,
                        max_archive_entries=settings.max_archive_entries,
                        max_archive_uncompressed=settings.max_archive_uncompressed_bytes)


async def _receive(request: Request, ingest: IngestApp, key: str) -> Received:
    """Stream the request's file into `key` (refusing oversize bodies before reading them)."""
    limit = ingest.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 1024 * 1024:
        raise too_large(limit)
    return await stream_upload(content_type_header=request.headers.get("content-type", ""),
                               body=request.stream(), store=ingest.core.store, key=key,
                               limits=_limits(ingest))


def _may_upload(user: Principal) -> None:
    if user.role not in (Role.STAFF, Role.OFFICE_ADMIN):
        raise ApiError.forbidden("Hanya staf dan admin kantor yang dapat mengunggah dokumen.")


@router.post("/api/v1/documents", status_code=201, response_model=DocumentOut,
             tags=["documents"], summary="Unggah dokumen (multipart, dialirkan ke penyimpanan)",
             openapi_extra=UPLOAD_BODY, responses=UPLOAD_RESPONSES)
async def upload(request: Request, user: CurrentUser, ingest: Ingest) -> DocumentOut:
    _may_upload(user)
    document_id = uuid.uuid4()
    key = original_key(user.office_code, document_id, 1)
    received = await _receive(request, ingest, key)
    stored = received.stored
    try:
        fields = UploadFields.parse_form(received.fields)
        async with ingest.core.uow() as uow:
            document = await service.receive_document(
                uow=uow, actor=actor_of(user, request), keep_both=fields.keep_both,
                new=service.NewDocument(
                    document_id=document_id, office_code=user.office_code, title=fields.title,
                    description=fields.description, division_id=fields.division_id,
                    document_date=fields.document_date, tags=fields.tags,
                    filename=received.filename, content_type=received.content_type,
                    size=stored.size, sha256=stored.sha256, object_key=key))
    except BaseException as exc:
        # Nothing half-stored: no row means no object.
        await asyncio.shield(ingest.core.store.delete(key))
        if isinstance(exc, ValidationError):
            raise ApiError(422, "invalid_fields", _field_errors(exc)) from exc
        if isinstance(exc, service.DuplicateContent):
            duplicate = exc.document_id
            raise ApiError(409, "duplicate", "Dokumen dengan isi yang sama sudah ada di kantor "
                           f"ini: {duplicate}. Kirim keep_both=true untuk tetap menyimpan "
                           "keduanya.", headers={"Location": f"/api/v1/documents/{duplicate}"}
                           ) from exc
        raise
    return DocumentOut.build(document, [VersionOut(
        version=1, filename=received.filename, content_type=received.content_type,
        size=stored.size, sha256=stored.sha256, created_at=document.created_at)])


def _field_errors(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return "Isian tidak valid — " + "; ".join(parts)


async def _readable_document(ingest: IngestApp, user: Principal,
                             document_id: uuid.UUID) -> tuple[Document, list[DocumentVersion]]:
    async with ingest.core.sessions() as session:
        document = await session.get(Document, document_id)
        if document is None or not can_read_office(user, document.office_code):
            raise ApiError.not_found("Dokumen tidak ditemukan.")
        versions = (await session.execute(
            select(DocumentVersion).where(DocumentVersion.document_id == document_id)
            .order_by(DocumentVersion.version))).scalars().all()
    return document, list(versions)


def _versions_out(versions: list[DocumentVersion]) -> list[VersionOut]:
    return [VersionOut.model_validate(v, from_attributes=True) for v in versions]


def _conflict(exc: service.DocumentConflict) -> ApiError:
    if exc.code == "not_found":
        return ApiError.not_found(exc.message)
    return ApiError(409, exc.code, exc.message)


@router.get("/api/v1/documents", response_model=DocumentList, tags=["documents"],
            summary="Dokumen kantor Anda, dengan saringan")
async def list_documents(
        user: CurrentUser, ingest: Ingest,
        status: Annotated[str | None, Query(max_length=40)] = None,
        office: Annotated[str | None, Query(pattern=r"^\d{2,4}$")] = None,
        division_id: uuid.UUID | None = None,
        category: Annotated[str | None, Query(max_length=40)] = None,
        date_from: Annotated[date | None, Query(description="tanggal dokumen, sejak")] = None,
        date_to: Annotated[date | None, Query(description="tanggal dokumen, sampai")] = None,
        q: Annotated[str | None, Query(max_length=200, description="kata dalam judul")] = None,
        sha256: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=200)] = None) -> DocumentList:
    if user.role is Role.SUPERADMIN:
        raise ApiError.forbidden("Superadmin tidak membaca dokumen.")
    stmt = select(Document)
    if user.role is not Role.PPID:
        stmt = stmt.where(Document.office_code == user.office_code)
    if office:
        stmt = stmt.where(Document.office_code == office)
    if status:
        stmt = stmt.where(Document.status == status)
    if division_id:
        stmt = stmt.where(Document.division_id == division_id)
    if category:
        stmt = stmt.where(Document.kip_category == category)
    if date_from:
        stmt = stmt.where(Document.document_date >= date_from)
    if date_to:
        stmt = stmt.where(Document.document_date <= date_to)
    for word in (q or "").split()[:10]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Document.title.ilike(f"%{escaped}%", escape="\\"))
    if sha256:
        stmt = stmt.where(select(DocumentVersion.id).where(
            DocumentVersion.document_id == Document.id,
            DocumentVersion.sha256 == sha256).exists())
    if cursor:
        created, doc_id = _decode_cursor(cursor)
        stmt = stmt.where((Document.created_at < created)
                          | ((Document.created_at == created) & (Document.id < doc_id)))
    stmt = stmt.order_by(Document.created_at.desc(), Document.id.desc()).limit(limit + 1)
    async with ingest.core.sessions() as session:
        rows = list((await session.execute(stmt)).scalars().all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(rows[-1]) if more and rows else None
    return DocumentList(items=[DocumentOut.build(d, []) for d in rows], next_cursor=next_cursor)


def _encode_cursor(document: Document) -> str:
    raw = f"{document.created_at.isoformat()}|{document.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created, doc_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(created), uuid.UUID(doc_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(422, "invalid_cursor", "Kursor halaman tidak valid.") from exc


@router.get("/api/v1/documents/{document_id}", response_model=DocumentOut, tags=["documents"],
            summary="Satu dokumen dengan status, versi dan riwayatnya")
async def get_document(document_id: uuid.UUID, user: CurrentUser, ingest: Ingest) -> DocumentOut:
    document, versions = await _readable_document(ingest, user, document_id)
    async with ingest.core.sessions() as session:
        history = await service.document_history(session=session, tables=ingest.core.tables,
                                                  document_id=document_id)
    return DocumentOut.build(document, _versions_out(versions),
                             [HistoryEntry.model_validate(h) for h in history])


async def _stream_version(ingest: IngestApp, user: Principal, request: Request,
                          document: Document, version: DocumentVersion) -> StreamingResponse:
    try:
        reader = await ingest.core.store.open(version.object_key)
    except ObjectNotFound as exc:
        raise ApiError.not_found("Berkas dokumen tidak ditemukan.") from exc
    try:
        async with ingest.core.uow() as uow:
            await uow.audit(actor=actor_of(user, request), action="download",
                            subject_type="document", subject_id=document.id,
                            office_code=document.office_code,
                            detail={"version": version.version})
    except BaseException:
        await reader.aclose()
        raise
    return StreamingResponse(
        reader.iterate(), media_type=version.content_type,
        background=BackgroundTask(reader.aclose),
        headers={"Content-Length": str(version.size),
                 "Content-Disposition": f"attachment; filename*=UTF-8''{quote(version.filename)}",
                 "X-Content-Type-Options": "nosniff"})


@router.get("/api/v1/documents/{document_id}/content", tags=["documents"],
            summary="Unduh berkas dokumen (versi terbaru)",
            response_class=StreamingResponse)
async def get_content(document_id: uuid.UUID, user: CurrentUser, request: Request,
                      ingest: Ingest) -> StreamingResponse:
    document, versions = await _readable_document(ingest, user, document_id)
    current = next(v for v in versions if v.version == document.current_version)
    return await _stream_version(ingest, user, request, document, current)


@router.get("/api/v1/documents/{document_id}/versions", response_model=list[VersionOut],
            tags=["documents"], summary="Semua versi dokumen")
async def list_versions(document_id: uuid.UUID, user: CurrentUser,
                        ingest: Ingest) -> list[VersionOut]:
    _, versions = await _readable_document(ingest, user, document_id)
    return _versions_out(versions)


@router.get("/api/v1/documents/{document_id}/versions/{version}/content", tags=["documents"],
            summary="Unduh berkas satu versi dokumen", response_class=StreamingResponse)
async def get_version_content(document_id: uuid.UUID, version: Annotated[int, Path(ge=1)],
                              user: CurrentUser, request: Request,
                              ingest: Ingest) -> StreamingResponse:
    document, versions = await _readable_document(ingest, user, document_id)
    wanted = next((v for v in versions if v.version == version), None)
    if wanted is None:
        raise ApiError.not_found(f"Versi {version} tidak ada.")
    return await _stream_version(ingest, user, request, document, wanted)


@router.post("/api/v1/documents/{document_id}/versions", status_code=201,
             response_model=DocumentOut, tags=["documents"],
             summary="Unggah versi baru (menggantikan versi terakhir dan masuk tinjauan lagi)",
             openapi_extra=VERSION_BODY, responses=UPLOAD_RESPONSES)
async def upload_version(document_id: uuid.UUID, request: Request, user: CurrentUser,
                         ingest: Ingest) -> DocumentOut:
    _may_upload(user)
    document, _ = await _readable_document(ingest, user, document_id)
    version = document.current_version + 1
    key = original_key(document.office_code, document.id, version)
    received = await _receive(request, ingest, key)
    stored = received.stored
    try:
        async with ingest.core.uow() as uow:
            document = await service.add_version(uow=uow, actor=actor_of(user, request),
                                                 new=service.NewVersion(
                document_id=document.id, version=version, filename=received.filename,
                content_type=received.content_type, size=stored.size, sha256=stored.sha256,
                object_key=key))
    except BaseException as exc:
        await asyncio.shield(ingest.core.store.delete(key))
        if isinstance(exc, service.DocumentConflict):
            raise _conflict(exc) from exc
        raise
    _, versions = await _readable_document(ingest, user, document_id)
    return DocumentOut.build(document, _versions_out(versions))


@router.post("/api/v1/documents/{document_id}/retract", response_model=DocumentOut,
             tags=["documents"], summary="Tarik dokumen yang belum ditinjau",
             responses={409: {"description": "Dokumen sudah ditinjau atau sudah ditarik"}})
async def retract(document_id: uuid.UUID, body: RetractIn, request: Request, user: CurrentUser,
                  ingest: Ingest) -> DocumentOut:
    document, versions = await _readable_document(ingest, user, document_id)
    if user.role not in (Role.STAFF, Role.OFFICE_ADMIN) or not service.may_retract(
            document, user_id=user.user_id, role=user.role):
        raise ApiError.forbidden("Hanya pengunggah atau admin kantor yang dapat menarik "
                                 "dokumen ini.")
    try:
        async with ingest.core.uow() as uow:
            document = await service.retract_document(
                uow=uow, document_id=document_id, reason=body.reason.strip(),
                actor=actor_of(user, request))
    except service.DocumentConflict as exc:
        raise _conflict(exc) from exc
    return DocumentOut.build(document, _versions_out(versions))
