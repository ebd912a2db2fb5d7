"""Fleet (issue 4): device presence and latest health on the device row, commands, duplicate links and
expiry bookkeeping for incidents, and an index for health history reads and retention.

Handwritten (not auto-generated) so it holds fleet's tables only; columns are added through the
MigrationManager, which writes the right DDL for SQLite and PostgreSQL.
"""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Text, Timestamptz, Varchar
from piccolo.engine import engine_finder

ID = "2026-11-27T22:00:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "fleet: device health columns, device commands, incident duplicate link"

_NEW_COLUMNS: tuple[tuple[str, str, str, Any, dict[str, Any]], ...] = (
    ("Device", "devices", "state_at", Timestamptz, {"null": True, "default": None}),
    ("Device", "devices", "last_heartbeat_at", Timestamptz, {"null": True, "default": None}),
    ("Device", "devices", "latest_health", JSON, {"null": True, "default": None}),
    ("Incident", "incidents", "duplicate_of", Varchar, {"length": 36, "null": True, "default": None}),
)
_COMMAND_COLUMNS: tuple[tuple[str, Any, dict[str, Any]], ...] = (
    ("id", Varchar, {"length": 36, "primary_key": True}),
    ("device_id", Varchar, {"length": 64, "index": True}),
    ("kind", Varchar, {"length": 32}),
    ("body", JSON, {}),
    ("state", Varchar, {"length": 16}),
    ("detail", Text, {"default": ""}),
    ("issued_by", Varchar, {"length": 64, "default": ""}),
    ("created_at", Timestamptz, {}),
    ("updated_at", Timestamptz, {}),
)
_INDEXES = (
    ("ix_device_heartbeats_device_received", "device_heartbeats", "device_id, received_at"),
    ("ix_device_heartbeats_received", "device_heartbeats", "received_at"),
    ("ix_incidents_state_updated", "incidents", "state, updated_at"),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="cloud", description=DESCRIPTION)
    for class_name, table, column, column_class, params in _NEW_COLUMNS:
        manager.add_column(
            table_class_name=class_name,
            tablename=table,
            column_name=column,
            db_column_name=column,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
        )
    manager.add_table(class_name="DeviceCommand", tablename="device_commands")
    for column, column_class, params in _COMMAND_COLUMNS:
        manager.add_column(
            table_class_name="DeviceCommand",
            tablename="device_commands",
            column_name=column,
            db_column_name=column,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
        )

    async def create_indexes() -> None:
        engine = engine_finder()
        for name, table, columns in _INDEXES:
            await engine.run_ddl(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})")

    async def drop_indexes() -> None:
        engine = engine_finder()
        for name, _, _ in _INDEXES:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
