"""DMS shared core: what every service is built from."""
