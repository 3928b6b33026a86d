"""Ingest's settings: the shared ones plus what only ingest holds."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr, field_validator

from dms_common.settings import ServiceSettings, refuse_placeholder


class IngestSettings(ServiceSettings):
    service_name: str = "ingest"
    jwt_private_key: SecretStr
    admin_username: str
    admin_password: SecretStr
    max_upload_bytes: int = 200 * 1024 * 1024
    # DOCX/XLSX/ODT/ODS are ZIP archives: refuse bombs by their declared shape.
    max_archive_entries: int = 10_000
    max_archive_uncompressed_bytes: int = 1024 * 1024 * 1024
    # The orphan sweeper (in the worker): objects with no row after this age are removed.
    orphan_age_seconds: float = 15 * 60
    sweep_interval_seconds: float = 5 * 60

    @field_validator("admin_username")
    @classmethod
    def _real_username(cls, value: str, info: Any) -> str:
        return refuse_placeholder(value, info.field_name)

    @field_validator("jwt_private_key", "admin_password")
    @classmethod
    def _no_placeholder_secret(cls, value: SecretStr, info: Any) -> SecretStr:
        refuse_placeholder(value.get_secret_value(), info.field_name)
        return value
