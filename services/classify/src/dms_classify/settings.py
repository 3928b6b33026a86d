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
    # The extraction child process: its address-space cap and each job's time limit.
    extract_memory_bytes: int = Field(default=2048 * MiB, ge=64 * MiB)
    extract_timeout_seconds: float = Field(default=300.0, gt=0)
    # OCR of pages without a text layer and of images (Tesseract's Indonesian model).
    ocr_enabled: bool = True
    ocr_language: str = Field(default="ind", pattern=r"^[a-z_+]+$")
    ocr_max_pages: int = Field(default=50, ge=0)
    # Staff previews of the original's first pages and the spreadsheet table form.
    preview_pages: int = Field(default=3, ge=0, le=20)
    table_rows: int = Field(default=200, ge=1, le=10_000)
    # Scheduled upkeep in the worker (seconds between rounds; 0 turns it off).
    upkeep_interval_seconds: float = Field(default=3600.0, ge=0)
    exemption_warning_days: int = Field(default=30, ge=0)
    berkala_max_age_days: int = Field(default=183, ge=1)
    # The office's classifier is (re)trained from this many decisions, then every so many more.
    retrain_min_samples: int = Field(default=10, ge=2)
    retrain_every: int = Field(default=5, ge=1)
    # How much of the extracted text the review API shows.
    text_excerpt_chars: int = Field(default=20_000, ge=0)
