"""DMS publish service."""
