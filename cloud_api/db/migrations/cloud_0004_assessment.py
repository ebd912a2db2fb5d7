"""Assessment (issue 5): which worker holds a job, per-claim frame fingerprints for near-duplicate
search, and versioned conformal calibrations.

Handwritten (not auto-generated) so it holds the assessment tables only; columns are added through the
MigrationManager, which writes the right DDL for SQLite and PostgreSQL.
"""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Boolean, DoublePrecision, Integer, Text, Timestamptz, Varchar

ID = "2026-11-27T22:00:04:000000"
VERSION = "1.38.0"
DESCRIPTION = "assessment: job lease holder, clip fingerprints, conformal calibrations"

_COLUMNS: tuple[tuple[str, str, str, Any, dict[str, Any]], ...] = (
    ("AssessmentJob", "assessment_jobs", "leased_by", Varchar, {"length": 64, "default": ""}),
    ("ClipFingerprint", "clip_fingerprints", "claim_id", Varchar, {"length": 36, "index": True}),
    ("ClipFingerprint", "clip_fingerprints", "t_s", DoublePrecision, {}),
    ("ClipFingerprint", "clip_fingerprints", "dhash", Varchar, {"length": 16}),
    *(("ClipFingerprint", "clip_fingerprints", f"band{i}", Integer, {"index": True}) for i in range(4)),
    ("Calibration", "calibrations", "version", Integer, {"unique": True}),
    ("Calibration", "calibrations", "source", Varchar, {"length": 16}),
    ("Calibration", "calibrations", "method", Varchar, {"length": 8}),
    ("Calibration", "calibrations", "alpha", DoublePrecision, {}),
    ("Calibration", "calibrations", "class_conditional", Boolean, {"default": False}),
    ("Calibration", "calibrations", "n", Integer, {}),
    ("Calibration", "calibrations", "qhat", JSON, {}),
    ("Calibration", "calibrations", "pairs", JSON, {}),
    ("Calibration", "calibrations", "reviews_seen", Integer, {"default": 0}),
    ("Calibration", "calibrations", "note", Text, {"default": ""}),
    ("Calibration", "calibrations", "created_at", Timestamptz, {}),
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="cloud", description=DESCRIPTION)
    manager.add_table(class_name="ClipFingerprint", tablename="clip_fingerprints")
    manager.add_table(class_name="Calibration", tablename="calibrations")
    for class_name, table, column, column_class, params in _COLUMNS:
        manager.add_column(
            table_class_name=class_name,
            tablename=table,
            column_name=column,
            db_column_name=column,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
        )
    return manager
