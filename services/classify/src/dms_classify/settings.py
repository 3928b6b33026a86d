"""The classify service's configuration (`DMS_*` variables)."""

from __future__ import annotations

from pydantic import Field

from dms_common.settings import ServiceSettings

MiB = 1024 * 1024


class ClassifySettings(ServiceSettings):
    service_name: str = "classify"

    # Extraction limits: parsing a hostile or huge file must not take the worker down.
    extract_max_bytes: int = Field(default=200 * MiB, ge=1)
    extract_max_chars: int = Field(default=1_000_000, ge=1)
    extract_max_pages: int = Field(default=5_000, ge=1)
    # How much of the extracted text the review API shows.
    text_excerpt_chars: int = Field(default=2_000, ge=0)
