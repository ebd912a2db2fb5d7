"""Fixtures for the cloud: settings on the test's database (SQLite, then PostgreSQL) and data dir,
the app running under a TestClient, and a simulated device on the test's own broker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloud_api.settings import Settings
from tests.integration.cloud.support import CloudApp, DeviceSim, running


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    """Settings for this test; ingest off unless a test turns it on with a broker URL."""

    def make(**overrides: object) -> Settings:
        base = Settings(
            data_dir=tmp_path / "cloud",
            database_url=database_url,
            ingest_enabled=False,
            rate_limit_per_minute=10_000,
        )
        return base.replace(**overrides)

    return make


@pytest.fixture
def cloud(make_settings: Callable[..., Settings]) -> Iterator[CloudApp]:
    with running(make_settings()) as app:
        yield app


@pytest.fixture
def cloud_ingest(make_settings: Callable[..., Settings], broker) -> Iterator[CloudApp]:  # noqa: ANN001
    with running(make_settings(ingest_enabled=True, mqtt_url=broker.url)) as app:
        from tests.integration.cloud.support import wait_for

        wait_for(lambda: app.runtime.ingest and app.runtime.ingest.connected, 15, "ingest to connect")
        yield app


@pytest.fixture
def device(cloud_ingest: CloudApp, broker) -> Iterator[DeviceSim]:  # noqa: ANN001
    """A registered device with its own Ed25519 key, connected to the test broker."""
    sim = DeviceSim(broker.port, "dev-test-1")
    cloud_ingest.call(cloud_ingest.runtime.devices.register, sim.device_id, sim.public_pem)
    yield sim
    sim.close()
