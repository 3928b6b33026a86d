"""Ingest's HTTP API (thin: parsing, authorization, then a use case)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import ValidationError
from sqlalchemy import select

from dms_common.db.uow import Actor
from dms_common.errors import ApiError
from dms_common.identity.deps import CurrentUser, can_manage_office, can_read_office
from dms_common.identity.tokens import Principal, Role
from dms_common.storage import ObjectNotFound, ObjectTooLarge, original_key
from dms_ingest import service
from dms_ingest.bootstrap import IngestApp
from dms_ingest.models import Division, Document, DocumentVersion, Office
from dms_ingest.schemas import (
    DivisionOut,
    DocumentList,
    DocumentOut,
    MeOut,
    OfficeOut,
    TokenOut,
    UploadFields,
    UserIn,
    UserOut,
    VersionOut,
)
from dms_ingest.upload import ALLOWED_TYPES, SNIFF_BYTES, FormError, StreamingForm, describe, sniff

router = APIRouter()


def container(request: Request) -> IngestApp:
    app: IngestApp = request.app.state.container
    return app


Ingest = Annotated[IngestApp, Depends(container)]


def actor_of(user: Principal, request: Request) -> Actor:
    return Actor(user_id=user.user_id, role=user.role.value, office_code=user.office_code,
                 client_ip=request.client.host if request.client else None)


@router.post("/api/v1/auth/token", response_model=TokenOut, tags=["auth"],
             summary="Masuk: tukar nama pengguna dan kata sandi dengan token",
             responses={401: {"description": "Nama pengguna atau kata sandi salah"}})
async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request,
                ingest: Ingest) -> TokenOut:
    async with ingest.core.uow() as uow:
        pair = await service.log_in(uow=uow, issuer=ingest.issuer, username=form.username,
                                    password=form.password,
                                    client_ip=request.client.host if request.client else None)
    if pair is None:
        raise ApiError(401, "invalid_credentials", "Nama pengguna atau kata sandi salah.",
                       headers={"WWW-Authenticate": "Bearer"})
    return TokenOut(access_token=pair.access_token, token_type="bearer",  # noqa: S106
                    refresh_token=pair.refresh_token,
                    must_change_password=pair.must_change_password)


@router.get("/api/v1/auth/me", response_model=MeOut, tags=["auth"], summary="Siapa saya")
async def me(user: CurrentUser) -> MeOut:
    return MeOut(id=user.user_id, role=user.role.value, office_code=user.office_code,
                 division_id=user.division_id, permissions=sorted(user.permissions))


@router.get("/api/v1/offices", response_model=list[OfficeOut], tags=["identity"],
            summary="Daftar kantor Bawaslu")
async def offices(user: CurrentUser, ingest: Ingest) -> list[OfficeOut]:
    async with ingest.core.sessions() as session:
        rows = (await session.execute(select(Office).order_by(Office.code))).scalars().all()
    return [OfficeOut(code=o.code, name=o.name, parent_code=o.parent_code, disabled=o.disabled)
            for o in rows]


@router.get("/api/v1/divisions", response_model=list[DivisionOut], tags=["identity"],
            summary="Daftar divisi")
async def divisions(user: CurrentUser, ingest: Ingest) -> list[DivisionOut]:
    async with ingest.core.sessions() as session:
        rows = (await session.execute(select(Division).order_by(Division.name))).scalars().all()
    return [DivisionOut(id=d.id, name=d.name, valid_from=d.valid_from, valid_until=d.valid_until)
            for d in rows]


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file", "title"],
            "properties": {
                "file": {"type": "string", "format": "binary"},
                "title": {"type": "string"}, "description": {"type": "string"},
                "division_id": {"type": "string", "format": "uuid"},
                "document_date": {"type": "string", "format": "date"},
                "tags": {"type": "string", "description": "dipisah koma"},
                "keep_both": {"type": "boolean"},
            }}}},
    }
}


@router.post("/api/v1/documents", status_code=201, response_model=DocumentOut,
             tags=["documents"], summary="Unggah dokumen (multipart, dialirkan ke penyimpanan)",
             openapi_extra=UPLOAD_BODY,
             responses={400: {"description": "Formulir rusak"},
                        409: {"description": "Isi yang sama sudah ada di kantor ini"},
                        413: {"description": "Berkas terlalu besar"},
                        415: {"description": "Jenis berkas tidak diizinkan"},
                        422: {"description": "Isian tidak valid"}})
async def upload(request: Request, user: CurrentUser, ingest: Ingest) -> DocumentOut:
    if user.role not in (Role.STAFF, Role.OFFICE_ADMIN):
        raise ApiError.forbidden("Hanya staf dan admin kantor yang dapat mengunggah dokumen.")
    limit = ingest.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 1024 * 1024:
        raise _too_large(limit)
    try:
        form = StreamingForm(request.headers.get("content-type", ""), request.stream())
        part = await form.next_file()
    except FormError as exc:
        raise ApiError(400, "invalid_form", str(exc)) from exc
    if part is None or part.field != "file":
        raise ApiError(422, "file_missing", "Berkas (isian 'file') wajib diunggah.")

    document_id = uuid.uuid4()
    key = original_key(user.office_code, document_id, 1)
    sniffed: dict[str, str] = {}

    async def checked_chunks() -> AsyncIterator[bytes]:
        head = bytearray()
        chunks = form.file_chunks()
        async for chunk in chunks:
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        sniffed["type"] = detected = sniff(bytes(head[:SNIFF_BYTES]), part.filename)
        if detected not in ALLOWED_TYPES:
            raise _Unsupported(detected)
        yield bytes(head)
        async for chunk in chunks:
            yield chunk

    try:
        stored = await ingest.core.store.put_stream(
            key, checked_chunks(), content_type="application/octet-stream", max_bytes=limit)
    except ObjectTooLarge as exc:
        raise _too_large(limit) from exc
    except _Unsupported as exc:
        allowed = ", ".join(sorted(set(ALLOWED_TYPES.values())))
        raise ApiError(415, "unsupported_type",
                       f"Jenis berkas tidak diizinkan: terdeteksi {describe(exc.detected)}. "
                       f"Yang diizinkan: {allowed}.") from exc
    except FormError as exc:
        raise ApiError(400, "invalid_form", str(exc)) from exc

    try:
        fields = UploadFields.parse_form(await form.finish())
        async with ingest.core.uow() as uow:
            duplicate = await service.find_duplicate(uow=uow, office_code=user.office_code,
                                                     sha256=stored.sha256)
            if duplicate is not None and not fields.keep_both:
                raise ApiError(409, "duplicate", "Dokumen dengan isi yang sama sudah ada di "
                               f"kantor ini: {duplicate}. Kirim keep_both=true untuk tetap "
                               "menyimpan keduanya.", headers={"Location":
                                                             f"/api/v1/documents/{duplicate}"})
            document = await service.receive_document(uow=uow, actor=actor_of(user, request),
                                                      new=service.NewDocument(
                document_id=document_id, office_code=user.office_code, title=fields.title,
                description=fields.description, division_id=fields.division_id,
                document_date=fields.document_date, tags=fields.tags, filename=part.filename,
                content_type=sniffed["type"], size=stored.size, sha256=stored.sha256,
                object_key=key))
    except BaseException as exc:
        # Nothing half-stored: no row means no object.
        await ingest.core.store.delete(key)
        if isinstance(exc, FormError):
            raise ApiError(400, "invalid_form", str(exc)) from exc
        if isinstance(exc, ValidationError):
            raise ApiError(422, "invalid_fields", _field_errors(exc)) from exc
        raise
    return DocumentOut.build(document, [VersionOut(
        version=1, filename=part.filename, content_type=sniffed["type"], size=stored.size,
        sha256=stored.sha256, created_at=document.created_at)])


class _Unsupported(Exception):
    def __init__(self, detected: str) -> None:
        super().__init__(detected)
        self.detected = detected


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "file_too_large",
                    f"Berkas melebihi batas ukuran {limit // (1024 * 1024)} MB.")


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


@router.get("/api/v1/documents", response_model=DocumentList, tags=["documents"],
            summary="Dokumen kantor Anda")
async def list_documents(user: CurrentUser, ingest: Ingest,
                         status: Annotated[str | None, Query(max_length=40)] = None,
                         office: Annotated[str | None, Query(pattern=r"^\d{2,4}$")] = None,
                         limit: Annotated[int, Query(ge=1, le=100)] = 20,
                         cursor: Annotated[str | None, Query(max_length=200)] = None,
                         ) -> DocumentList:
    if user.role is Role.SUPERADMIN:
        raise ApiError.forbidden("Superadmin tidak membaca dokumen.")
    stmt = select(Document)
    if user.role is Role.PPID:
        if office:
            stmt = stmt.where(Document.office_code == office)
    else:
        stmt = stmt.where(Document.office_code == user.office_code)
    if status:
        stmt = stmt.where(Document.status == status)
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
            summary="Satu dokumen dengan status dan versinya")
async def get_document(document_id: uuid.UUID, user: CurrentUser, ingest: Ingest) -> DocumentOut:
    document, versions = await _readable_document(ingest, user, document_id)
    return DocumentOut.build(document, [VersionOut.model_validate(v, from_attributes=True)
                                        for v in versions])


@router.get("/api/v1/documents/{document_id}/content", tags=["documents"],
            summary="Unduh berkas dokumen (versi terbaru)",
            response_class=StreamingResponse)
async def get_content(document_id: uuid.UUID, user: CurrentUser, request: Request,
                      ingest: Ingest) -> StreamingResponse:
    document, versions = await _readable_document(ingest, user, document_id)
    current = next(v for v in versions if v.version == document.current_version)
    try:
        reader = await ingest.core.store.open(current.object_key)
    except ObjectNotFound as exc:
        raise ApiError.not_found("Berkas dokumen tidak ditemukan.") from exc
    async with ingest.core.uow() as uow:
        await uow.audit(actor=actor_of(user, request), action="download",
                        subject_type="document", subject_id=document.id,
                        office_code=document.office_code, detail={"version": current.version})
    return StreamingResponse(
        reader.iterate(), media_type=current.content_type,
        headers={"Content-Length": str(current.size),
                 "Content-Disposition": f"attachment; filename*=UTF-8''{quote(current.filename)}",
                 "X-Content-Type-Options": "nosniff"})




@router.post("/api/v1/users", status_code=201, response_model=UserOut, tags=["identity"],
             summary="Buat akun pengguna",
             responses={409: {"description": "Nama pengguna sudah dipakai"}})
async def create_user(body: UserIn, user: CurrentUser, request: Request,
                      ingest: Ingest) -> UserOut:
    role = Role(body.role)
    if not can_manage_office(user, body.office_code):
        raise ApiError.forbidden("Anda tidak berhak mengelola akun kantor ini.")
    if user.role is not Role.SUPERADMIN and role in (Role.PPID, Role.SUPERADMIN):
        raise ApiError.forbidden("Hanya superadmin yang dapat membuat akun PPID atau superadmin.")
    async with ingest.core.uow() as uow:
        if not await service.office_exists(uow=uow, office_code=body.office_code):
            raise ApiError(422, "unknown_office", f"Kantor {body.office_code} tidak dikenal.")
        try:
            created = await service.create_user(
                uow=uow, username=body.username, password=body.password,
                full_name=body.full_name, role=role, office_code=body.office_code,
                division_id=body.division_id, permissions=body.permissions,
                actor=actor_of(user, request))
        except service.UserExists as exc:
            raise ApiError(409, "username_taken",
                           f"Nama pengguna '{body.username}' sudah dipakai.") from exc
    return UserOut(id=created.id, username=created.username, full_name=created.full_name,
                   role=created.role, office_code=created.office_code,
                   division_id=created.division_id, permissions=list(created.permissions),
                   disabled=created.disabled)
