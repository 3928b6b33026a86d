"""A minimal service built from dms_common, used to prove the shared core
against the real servers: its own schema, migrations, an effect table, a relay
and a consumer that can be run (and killed) as separate processes."""
