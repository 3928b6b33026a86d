"""Ingest's identity rules as pure logic: password policy, throttle window, who manages whom."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData
from sqlalchemy.dialects import postgresql

from dms_common.db.tables import core_tables
from dms_common.errors import ApiError
from dms_common.identity.tokens import Principal, Role
from dms_ingest import identity_service as identity

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def principal(role: Role, office: str = "6302", permissions: tuple[str, ...] = ()) -> Principal:
    return Principal(user_id=uuid.uuid4(), role=role, office_code=office, division_id=None,
                     permissions=frozenset(permissions), jti="j", expires_at=NOW)


@pytest.mark.parametrize(("password", "fragment"), [
    ("pendek1", "minimal 10"),
    ("x" * 257 + "1", "maksimal 256"),
    (" Rahasia-12345", "spasi"),
    ("hanyahurufsaja", "angka atau simbol"),
    ("1234567890", "huruf"),
    ("aaaaaaaaa1", "terlalu mudah"),
    ("kotabaru-2025!", "nama pengguna"),
])
def test_password_policy_names_the_problem(password: str, fragment: str) -> None:
    problem = identity.password_problem(password, username="Kotabaru")
    assert problem is not None and fragment in problem


def test_password_policy_accepts_a_reasonable_password_and_refuses_the_old_one() -> None:
    assert identity.password_problem("Pengawas-Pemilu-2024", username="budi") is None
    problem = identity.password_problem("Pengawas-Pemilu-2024", username="budi",
                                        old_password="Pengawas-Pemilu-2024")
    assert problem is not None and "berbeda" in problem


def failures(*seconds_ago: float) -> list[tuple[datetime, bool]]:
    return [(NOW - timedelta(seconds=s), False) for s in seconds_ago]


def test_throttle_allows_nine_failures_and_locks_at_ten() -> None:
    assert identity.throttle_retry_after(failures(*range(1, 10)), NOW) is None
    retry = identity.throttle_retry_after(failures(*range(1, 11)), NOW)
    # The oldest of the ten failed 10 s ago: it leaves the minute in 50 s.
    assert retry == 50


def test_throttle_counts_only_the_last_minute() -> None:
    attempts = failures(*range(55, 65))  # five of them older than a minute
    assert identity.throttle_retry_after(attempts, NOW) is None


def test_throttle_is_reset_by_a_success() -> None:
    attempts = [*failures(*range(20, 30)), (NOW - timedelta(seconds=15), True)]
    assert identity.throttle_retry_after(attempts, NOW) is None
    attempts += failures(*range(1, 11))
    assert identity.throttle_retry_after(attempts, NOW) == 50


def test_throttle_waits_for_enough_failures_to_expire() -> None:
    # Twelve failures: the account is free once the third oldest leaves the window.
    attempts = failures(58, 57, 56, *range(1, 10))
    assert identity.throttle_retry_after(attempts, NOW) == 4


def test_roles_are_never_granted_above_ones_own() -> None:
    assert identity.assignable_roles(Role.SUPERADMIN) == frozenset(Role)
    assert identity.assignable_roles(Role.OFFICE_ADMIN) == {Role.STAFF, Role.OFFICE_ADMIN}
    assert identity.assignable_roles(Role.PPID) == frozenset()
    assert identity.assignable_roles(Role.STAFF) == frozenset()


def test_office_admin_manages_only_their_office_below_ppid() -> None:
    admin = principal(Role.OFFICE_ADMIN, "6302")
    identity.check_manages(admin, role=Role.STAFF, office_code="6302")
    identity.check_manages(admin, role=Role.OFFICE_ADMIN, office_code="6302")
    with pytest.raises(ApiError) as other:
        identity.check_manages(admin, role=Role.STAFF, office_code="6303")
    assert other.value.status_code == 404
    with pytest.raises(ApiError) as create_other:
        identity.check_manages(admin, role=Role.STAFF, office_code="6303", existing=False)
    assert create_other.value.status_code == 403
    for role in (Role.PPID, Role.SUPERADMIN):
        with pytest.raises(ApiError) as above:
            identity.check_manages(admin, role=role, office_code="6302")
        assert above.value.status_code == 403


@pytest.mark.parametrize("role", [Role.STAFF, Role.PPID])
def test_staff_and_ppid_manage_no_accounts(role: Role) -> None:
    with pytest.raises(ApiError):
        identity.check_manages(principal(role, "63"), role=Role.STAFF, office_code="63",
                               existing=False)


def test_superadmin_manages_every_account() -> None:
    root = principal(Role.SUPERADMIN, "63")
    for role in Role:
        identity.check_manages(root, role=role, office_code="6372")


def test_permissions_are_known_per_office_grants() -> None:
    root = principal(Role.SUPERADMIN, "63")
    offices = ["63", "6302"]
    assert identity.check_permissions(
        root, ["approve_exemption:6302", "approve_exemption:6302"], offices
    ) == ["approve_exemption:6302"]
    for bad, code in (("approve_exemption", "unknown_permission"),
                      ("delete_everything:6302", "unknown_permission"),
                      ("approve_exemption:9999", "unknown_office")):
        with pytest.raises(ApiError) as refused:
            identity.check_permissions(root, [bad], offices)
        assert refused.value.code == code


def test_office_admin_grants_only_permissions_they_hold() -> None:
    offices = ["6302"]
    plain = principal(Role.OFFICE_ADMIN, "6302")
    with pytest.raises(ApiError) as refused:
        identity.check_permissions(plain, ["approve_exemption:6302"], offices)
    assert refused.value.status_code == 403
    holder = principal(Role.OFFICE_ADMIN, "6302", ("approve_exemption:6302",))
    assert identity.check_permissions(holder, ["approve_exemption:6302"], offices) == [
        "approve_exemption:6302"]


def test_cursor_round_trips_and_garbage_is_a_422() -> None:
    assert identity.decode_cursor(identity.encode_cursor(12345)) == 12345
    for garbage in ("%%%", "bm90LWEtY3Vyc29y", "YXh5eg"):
        with pytest.raises(ApiError) as refused:
            identity.decode_cursor(garbage)
        assert refused.value.code == "invalid_cursor"


def _sql(role: Role, office: str = "6302", *, office_code: str | None = None) -> str:
    tables = core_tables(MetaData(schema="ingest"))
    stmt = identity.audit_query(tables=tables, viewer=principal(role, office),
                                filters=identity.AuditFilter(office_code=office_code), limit=20,
                                cursor=None)
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def test_audit_scope_follows_the_role() -> None:
    assert "audit_log.office_code = '6302'" in _sql(Role.OFFICE_ADMIN)
    assert "subject_type IN ('user', 'office', 'division')" in _sql(Role.SUPERADMIN)
    ppid = _sql(Role.PPID, "63")
    assert "office_code =" not in ppid and "subject_type IN" not in ppid
    assert "audit_log.office_code = '6371'" in _sql(Role.PPID, "63", office_code="6371")
    with pytest.raises(ApiError) as staff:
        _sql(Role.STAFF)
    assert staff.value.status_code == 403
    with pytest.raises(ApiError) as other_office:
        _sql(Role.OFFICE_ADMIN, office_code="6303")
    assert other_office.value.status_code == 403
