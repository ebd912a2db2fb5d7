"""Fleet settings: names, defaults, secrets kept out of repr, and the blob store they select."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud_api.blobstore import LocalBlobStore, S3BlobStore, blob_store_for
from cloud_api.settings import Settings


def test_fleet_names_and_defaults() -> None:
    s = Settings.from_env({"DATA_DIR": "/srv/cloud"})
    assert s.password_file == Path("/srv/cloud/mosquitto/passwd") and s.mqtt_broker_pid_file is None
    assert (s.incident_expiry_s, s.health_history_retention_h, s.health_stale_after_s) == (86_400, 168, 90)
    s = Settings.from_env(
        {
            "MQTT_PASSWORD_FILE": "/etc/mosquitto/dashclaim/passwd",
            "MQTT_BROKER_PID_FILE": "/run/mosquitto/mosquitto.pid",
            "INCIDENT_EXPIRY_S": "600",
            "HEALTH_OUTBOX_MAX_DEPTH": "5",
            "S3_SECRET_ACCESS_KEY": "very-secret",
        }
    )
    assert s.password_file == Path("/etc/mosquitto/dashclaim/passwd")
    assert s.mqtt_broker_pid_file == Path("/run/mosquitto/mosquitto.pid")
    assert s.incident_expiry_s == 600.0 and s.health_outbox_max_depth == 5
    assert "very-secret" not in repr(s)


def test_blob_store_selection(tmp_path: Path) -> None:
    assert isinstance(blob_store_for(Settings(data_dir=tmp_path)), LocalBlobStore)
    with pytest.raises(ValueError, match="expected local or s3"):
        blob_store_for(Settings(data_dir=tmp_path, blob_store="ftp"))
    with pytest.raises(ValueError, match="S3_BUCKET"):
        blob_store_for(Settings(data_dir=tmp_path, blob_store="s3"))
    pytest.importorskip("boto3")
    store = blob_store_for(
        Settings(data_dir=tmp_path, blob_store="s3", s3_bucket="b", s3_endpoint_url="http://127.0.0.1:1")
    )
    assert isinstance(store, S3BlobStore) and store.bucket == "b" and store.prefix == ""
