"""DMS ingest service."""
