"""``dms-token``: make an Ed25519 key pair, or mint an access token, for tests and scripts.

    dms-token keygen --out DIR
    dms-token mint --key DIR/jwt-private.pem --sub UUID --role staff --office 6302 \\
        [--division UUID] [--permission approve_exemption:6302 ...] [--ttl-minutes 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from dms_common.identity.tokens import (
    DEFAULT_ISSUER,
    MAX_ACCESS_TTL,
    Role,
    TokenIssuer,
    generate_keypair,
    load_key,
)

__all__ = ["PRIVATE_KEY_FILE", "PUBLIC_KEY_FILE", "main"]

PRIVATE_KEY_FILE = "jwt-private.pem"
PUBLIC_KEY_FILE = "jwt-public.pem"


def _write_new(path: Path, text: str, mode: int, *, force: bool) -> None:
    if force:
        path.unlink(missing_ok=True)
    # O_EXCL with the final mode: the private key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    os.chmod(path, mode)  # the umask may have narrowed the public key's mode


def _keygen(args: argparse.Namespace) -> int:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out / PRIVATE_KEY_FILE, out / PUBLIC_KEY_FILE
    if not args.force:
        existing = [str(p) for p in (private_path, public_path) if p.exists()]
        if existing:
            print(f"refusing to overwrite {', '.join(existing)} (use --force)", file=sys.stderr)
            return 1
    private_pem, public_pem = generate_keypair()
    _write_new(private_path, private_pem, 0o600, force=args.force)
    _write_new(public_path, public_pem, 0o644, force=args.force)
    print(f"wrote {private_path} and {public_path}")
    return 0


def _mint(args: argparse.Namespace) -> int:
    issuer = TokenIssuer(load_key(args.key), issuer=args.issuer)
    token = issuer.issue_access(
        user_id=args.sub,
        role=args.role,
        office_code=args.office,
        division_id=args.division,
        permissions=args.permission,
        ttl=timedelta(minutes=args.ttl_minutes),
    )
    print(token)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dms-token", description="DMS access-token tools")
    commands = parser.add_subparsers(dest="command", required=True)

    keygen = commands.add_parser("keygen", help="write a new Ed25519 key pair")
    keygen.add_argument("--out", type=Path, required=True, help="directory for the PEM files")
    keygen.add_argument("--force", action="store_true", help="overwrite existing key files")
    keygen.set_defaults(handler=_keygen)

    mint = commands.add_parser("mint", help="print a signed access token")
    mint.add_argument("--key", required=True, help="private key: a PEM file path or PEM text")
    mint.add_argument("--sub", type=uuid.UUID, required=True, help="user id")
    mint.add_argument("--role", choices=[r.value for r in Role], required=True)
    mint.add_argument("--office", required=True, help="office code, e.g. 6302")
    mint.add_argument("--division", type=uuid.UUID, default=None, help="division id")
    mint.add_argument(
        "--permission",
        action="append",
        default=[],
        help="per-office grant 'name:office_code'; repeatable",
    )
    mint.add_argument(
        "--ttl-minutes",
        type=float,
        default=MAX_ACCESS_TTL.total_seconds() / 60,
        help="lifetime in minutes (at most 10)",
    )
    mint.add_argument("--issuer", default=DEFAULT_ISSUER)
    mint.set_defaults(handler=_mint)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dms-token`` command line and return its exit status."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except (ValueError, OSError) as exc:
        print(f"dms-token: {exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
