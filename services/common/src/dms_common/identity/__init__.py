"""Identity: access tokens, the disabled-user check, and the FastAPI dependencies built on them."""

from dms_common.identity.tokens import (
    InvalidToken,
    Principal,
    Role,
    TokenIssuer,
    TokenVerifier,
    generate_keypair,
    load_key,
    make_permission,
)
from dms_common.identity.users import CachedUserStatus, InMemoryUserStatus, Standing, UserStatus

__all__ = [
    "CachedUserStatus",
    "InMemoryUserStatus",
    "InvalidToken",
    "Principal",
    "Role",
    "Standing",
    "TokenIssuer",
    "TokenVerifier",
    "UserStatus",
    "generate_keypair",
    "load_key",
    "make_permission",
]
