"""Composite unique keys as unique indexes.

Piccolo adds ``Unique`` constraints with ``ALTER TABLE ... ADD CONSTRAINT``, which SQLite lacks; a
unique index is portable and is what ``INSERT ... ON CONFLICT DO NOTHING`` relies on to make ingest
and claim creation idempotent on both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T18:44:31:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique indexes"

_INDEXES = (
    ("uq_incidents_device_incident", "incidents", "device_id, incident_id"),
    ("uq_incident_chunks_seq", "incident_chunks", "device_id, incident_id, seq"),
    ("uq_claims_device_incident", "claims", "device_id, incident_id"),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="cloud", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = engine_finder()  # the engine the migration's transaction runs on
        for name, table, columns in _INDEXES:
            await engine.run_ddl(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} ({columns})")

    async def drop_indexes() -> None:
        engine = engine_finder()
        for name, _, _ in _INDEXES:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
