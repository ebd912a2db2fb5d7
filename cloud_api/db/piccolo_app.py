"""The one Piccolo app holding every table of the service, with its committed migrations."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppConfig
from piccolo.table import Table

from cloud_api.domain.apikeys.tables import ApiKey
from cloud_api.domain.assessments.tables import Assessment, AssessmentJob, Calibration, ClipFingerprint
from cloud_api.domain.audit.tables import AuditEntry, AuditHead
from cloud_api.domain.claims.tables import Claim
from cloud_api.domain.devices.tables import Device, DeviceCommand, DeviceHeartbeat
from cloud_api.domain.ingest.tables import Incident, IncidentChunk
from cloud_api.domain.reviews.tables import Review

APP_NAME = "cloud"
TABLES: tuple[type[Table], ...] = (
    ApiKey,
    Device,
    DeviceHeartbeat,
    DeviceCommand,
    Incident,
    IncidentChunk,
    Claim,
    Assessment,
    AssessmentJob,
    ClipFingerprint,
    Calibration,
    Review,
    AuditEntry,
    AuditHead,
)

APP_CONFIG = AppConfig(
    app_name=APP_NAME,
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=list(TABLES),
    migration_dependencies=[],
    commands=[],
)
