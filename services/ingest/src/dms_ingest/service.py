"""Ingest's use cases: reference data, accounts and tokens, receiving documents, status."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from dms_common.db.uow import Actor, UnitOfWork
from dms_common.events import (
    DocumentReceived,
    DocumentReceivedPayload,
    Event,
    IdentityChanged,
    IdentityChangedPayload,
    IdentityKind,
)
from dms_common.identity.projection import apply_identity_changed
from dms_common.identity.tokens import Role, TokenIssuer
from dms_ingest.models import Division, Document, DocumentVersion, Office, RefreshToken, User

SEED = Path(__file__).parent / "seed" / "offices.json"
REFRESH_TTL = timedelta(days=7)
_hasher = PasswordHasher()  # argon2id with the library's vetted defaults
# Verifying against a dummy hash when the user does not exist keeps the
# response time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("dms-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def _emit_identity(*, uow: UnitOfWork, entity_id: uuid.UUID, kind: IdentityKind,
                         office_code: str, fields: dict[str, Any], disabled: bool) -> None:
    event = IdentityChanged.build(entity_id=entity_id, office_code=office_code,
                                  payload=IdentityChangedPayload(kind=kind, fields=fields,
                                                                 disabled=disabled))
    stamped = await uow.emit(event)
    # Ingest verifies tokens like every service, from its own projection.
    await apply_identity_changed(stamped, uow)


def user_fields(user: User) -> dict[str, Any]:
    return {"username": user.username, "full_name": user.full_name, "role": user.role,
            "office_code": user.office_code,
            "division_id": str(user.division_id) if user.division_id else None,
            "permissions": list(user.permissions)}


async def seed_reference_data(*, uow: UnitOfWork, seed: Path = SEED) -> int:
    """Load offices and divisions from the seed file; return how many were new."""
    data = json.loads(seed.read_text())  # noqa: ASYNC240 - a small packaged file, read once
    added = 0
    for item in data["offices"]:
        exists = (await uow.session.execute(
            select(Office).where(Office.code == item["code"]))).scalar_one_or_none()
        if exists is not None:
            continue
        office = Office(id=uuid.uuid4(), code=item["code"], name=item["name"],
                        parent_code=item["parent"], disabled=False)
        uow.session.add(office)
        await _emit_identity(uow=uow, entity_id=office.id, kind=IdentityKind.OFFICE,
                             office_code=office.code, disabled=False,
                             fields={"code": office.code, "name": office.name,
                                     "parent": office.parent_code})
        added += 1
    for item in data["divisions"]:
        known = (await uow.session.execute(
            select(Division).where(Division.slug == item["slug"]))).scalar_one_or_none()
        if known is not None:
            continue
        division = Division(id=uuid.uuid4(), slug=item["slug"], name=item["name"],
                            valid_from=date.fromisoformat(item["valid_from"]),
                            valid_until=None)
        uow.session.add(division)
        await _emit_identity(uow=uow, entity_id=division.id, kind=IdentityKind.DIVISION,
                             office_code="63", disabled=False,
                             fields={"slug": division.slug, "name": division.name,
                                     "valid_from": item["valid_from"], "valid_until": None})
        added += 1
    if added:
        await uow.audit(actor=Actor.system("seed"), action="seed_reference_data",
                        subject_type="office", detail={"added": added})
    return added


async def ensure_superadmin(*, uow: UnitOfWork, username: str, password: str) -> bool:
    """Create the first superadmin on first start; True if created."""
    if (await uow.session.execute(select(User).where(User.role == Role.SUPERADMIN.value))
            ).first() is not None:
        return False
    user = User(id=uuid.uuid4(), username=username, full_name="Superadmin",
                password_hash=hash_password(password), role=Role.SUPERADMIN.value,
                office_code="63", division_id=None, permissions=[], disabled=False,
                must_change_password=False)
    uow.session.add(user)
    await _emit_identity(uow=uow, entity_id=user.id, kind=IdentityKind.USER,
                         office_code=user.office_code, fields=user_fields(user), disabled=False)
    await uow.audit(actor=Actor.system("bootstrap"), action="create_user", subject_type="user",
                    subject_id=user.id, detail={"username": username, "role": user.role})
    return True


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    must_change_password: bool


async def log_in(*, uow: UnitOfWork, issuer: TokenIssuer, username: str, password: str,
                 client_ip: str | None) -> TokenPair | None:
    """Check a username and password; issue an access and a refresh token, or None."""
    user = (await uow.session.execute(
        select(User).where(User.username == username))).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or user.disabled:
        await uow.audit(actor=Actor(user_id=user.id if user else None, client_ip=client_ip),
                        action="login_failed", subject_type="user",
                        subject_id=user.id if user else None, detail={"username": username[:100]})
        return None
    access = issuer.issue_access(user_id=user.id, role=Role(user.role),
                                 office_code=user.office_code, division_id=user.division_id,
                                 permissions=tuple(user.permissions))
    refresh = secrets.token_urlsafe(32)
    uow.session.add(RefreshToken(id=uuid.uuid4(), user_id=user.id,
                                 token_hash=hashlib.sha256(refresh.encode()).hexdigest(),
                                 expires_at=datetime.now(UTC) + REFRESH_TTL))
    await uow.audit(actor=Actor(user_id=user.id, role=user.role, office_code=user.office_code,
                                client_ip=client_ip),
                    action="login", subject_type="user", subject_id=user.id)
    return TokenPair(access, refresh, user.must_change_password)


@dataclass(frozen=True)
class NewDocument:
    document_id: uuid.UUID
    office_code: str
    title: str
    description: str
    division_id: uuid.UUID | None
    document_date: date | None
    tags: list[str]
    filename: str
    content_type: str
    size: int
    sha256: str
    object_key: str


async def find_duplicate(*, uow: UnitOfWork, office_code: str, sha256: str) -> uuid.UUID | None:
    """The document of this office that already holds this exact content, if any."""
    row = (await uow.session.execute(
        select(DocumentVersion.document_id)
        .where(DocumentVersion.office_code == office_code, DocumentVersion.sha256 == sha256)
        .limit(1))).first()
    return None if row is None else row[0]


async def receive_document(*, uow: UnitOfWork, new: NewDocument, actor: Actor) -> Document:
    """Record an uploaded document and its first version, and announce it."""
    assert actor.user_id is not None
    document = Document(
        id=new.document_id, office_code=new.office_code, division_id=new.division_id,
        title=new.title, description=new.description, document_date=new.document_date,
        tags=new.tags, uploader_id=actor.user_id, current_version=1, status="received",
        kip_category=None, status_seqs={})
    uow.session.add(document)
    uow.session.add(DocumentVersion(
        id=uuid.uuid4(), document_id=new.document_id, version=1, office_code=new.office_code,
        filename=new.filename, content_type=new.content_type, size=new.size, sha256=new.sha256,
        object_key=new.object_key, uploader_id=actor.user_id))
    await uow.session.flush()
    await uow.emit(DocumentReceived.build(
        document_id=new.document_id, version=1, office_code=new.office_code,
        payload=DocumentReceivedPayload(
            title=new.title, description=new.description, division_id=new.division_id,
            document_date=new.document_date, tags=new.tags, filename=new.filename,
            content_type=new.content_type, size=new.size, sha256=new.sha256,
            object_key=new.object_key, uploader_id=actor.user_id)))
    await uow.audit(actor=actor, action="upload", subject_type="document",
                    subject_id=new.document_id, office_code=new.office_code,
                    detail={"filename": new.filename, "size": new.size, "sha256": new.sha256})
    return document


# --- the status read-model ----------------------------------------------------

STATUS_BY_EVENT = {
    "dms.document.extracted": None,  # depends on ok
    "dms.document.classified": "classified",
    "dms.document.published": "published",
    "dms.document.withdrawn": "withdrawn",
}


def derive_status(seqs: dict[str, int], extracted_ok: bool | None, category: str | None) -> str:
    """The document's status from the newest event of each source, not arrival order."""
    published = seqs.get("dms.document.published", 0)
    withdrawn = seqs.get("dms.document.withdrawn", 0)
    if published or withdrawn:
        return "published" if published > withdrawn else "withdrawn"
    if seqs.get("dms.document.classified"):
        return "withheld" if category == "dikecualikan" else "classified"
    if seqs.get("dms.document.extracted"):
        return "extracted" if extracted_ok else "extraction_failed"
    return "received"


async def apply_status_event(*, uow: UnitOfWork, event: Event) -> None:
    """Merge another service's event into the document's status."""
    from dms_common.events import DocumentClassified, DocumentEvent, DocumentExtracted

    assert isinstance(event, DocumentEvent)
    document = await uow.session.get(Document, event.document_id, with_for_update=True)
    if document is None or event.version < document.current_version:
        return
    seqs = dict(document.status_seqs or {})
    if event.seq <= seqs.get(event.event_type, 0):
        return
    seqs[event.event_type] = event.seq
    if isinstance(event, DocumentExtracted):
        seqs["extracted_ok"] = int(event.payload.ok)
    if isinstance(event, DocumentClassified):
        document.kip_category = event.payload.kip_category.value
    document.status_seqs = seqs
    extracted_ok = bool(seqs["extracted_ok"]) if "extracted_ok" in seqs else None
    document.status = derive_status(seqs, extracted_ok, document.kip_category)
    document.updated_at = datetime.now(UTC)


class UserExists(ValueError):
    """The username is taken."""


async def create_user(*, uow: UnitOfWork, username: str, password: str, full_name: str,
                      role: Role, office_code: str, division_id: uuid.UUID | None,
                      permissions: list[str], actor: Actor) -> User:
    """Create an account and announce it to every service."""
    taken = (await uow.session.execute(select(User.id).where(User.username == username))).first()
    if taken is not None:
        raise UserExists(username)
    user = User(id=uuid.uuid4(), username=username, full_name=full_name,
                password_hash=hash_password(password), role=role.value, office_code=office_code,
                division_id=division_id, permissions=permissions, disabled=False,
                must_change_password=False)
    uow.session.add(user)
    await uow.session.flush()
    await _emit_identity(uow=uow, entity_id=user.id, kind=IdentityKind.USER,
                         office_code=office_code, fields=user_fields(user), disabled=False)
    await uow.audit(actor=actor, action="create_user", subject_type="user", subject_id=user.id,
                    office_code=office_code, detail={"username": username, "role": role.value})
    return user


async def office_exists(*, uow: UnitOfWork, office_code: str) -> bool:
    return (await uow.session.execute(
        select(Office.id).where(Office.code == office_code))).first() is not None
