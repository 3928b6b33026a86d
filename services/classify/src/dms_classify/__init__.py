"""DMS classify service."""
