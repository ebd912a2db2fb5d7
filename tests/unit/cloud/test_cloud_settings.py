from __future__ import annotations

from pathlib import Path

import pytest

from cloud_api.domain.ingest.client import broker_address
from cloud_api.settings import Settings


def test_defaults_resolve_under_the_data_dir() -> None:
    s = Settings.from_env({})
    assert s.data_dir == Path("data/cloud")
    assert s.database_url == "sqlite:///data/cloud/claims.db" and s.upload_dir == Path("data/cloud/uploads")
    assert (s.max_upload_size_mb, s.worker_max_threads, s.rate_limit_per_minute) == (500, 2, 60)
    assert (s.mqtt_url, s.mqtt_client_id, s.assessment_backend) == (
        "mqtt://127.0.0.1:1883",
        "cloud-api",
        "local",
    )
    assert s.ingest_enabled and s.worker_enabled and not s.dev_mode and s.cors_origins == ()


def test_environment_names_are_the_original_ones() -> None:
    s = Settings.from_env(
        {
            "DATA_DIR": "/srv/cloud",
            "UPLOAD_DIR": "/mnt/blobs",
            "DATABASE_URL": "postgresql://app@db:5432/claims",
            "MAX_UPLOAD_SIZE_MB": "20",
            "WORKER_MAX_THREADS": "4",
            "CORS_ORIGINS": "https://a.example, https://b.example",
            "DEV_MODE": "true",
            "MQTT_PASSWORD": "s3cret",
            "INGEST_ENABLED": "0",
            "RATE_LIMIT_PER_MINUTE": "120",
        }
    )
    assert s.upload_dir == Path("/mnt/blobs") and s.database_url.startswith("postgresql://")
    assert (
        s.max_upload_bytes == 20 * 1024 * 1024
        and s.worker_max_threads == 4
        and s.rate_limit_per_minute == 120
    )
    assert (
        s.cors_origins == ("https://a.example", "https://b.example") and s.dev_mode and not s.ingest_enabled
    )
    assert "s3cret" not in repr(s)


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="DEV_MODE"):
        Settings.from_env({"DEV_MODE": "sometimes"})
    with pytest.raises(ValueError):
        Settings.from_env({"WORKER_MAX_THREADS": "0"})


def test_broker_address() -> None:
    assert broker_address("mqtt://127.0.0.1:1884") == ("127.0.0.1", 1884, False)
    assert broker_address("mqtts://broker.example") == ("broker.example", 8883, True)
    with pytest.raises(ValueError):
        broker_address("http://broker:1883")
