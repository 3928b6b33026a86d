"""DMS search service."""
