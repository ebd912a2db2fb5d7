"""Fixtures for the edge delivery path (the classes live in ``delivery_support``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from delivery_support import ClipMaker, DeviceSide, ScriptedCloud

from deploy.localstack import MosquittoBroker
from edge_agent.clips import DeviceKey


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The real agent's data folder, its device key made first: the cloud is told the key beforehand."""
    DeviceKey.load_or_create(tmp_path / "edge")
    return tmp_path / "edge"


@pytest.fixture
def clips(tmp_path: Path) -> ClipMaker:
    return ClipMaker(tmp_path / "clips")


@pytest.fixture
def cloud(broker: MosquittoBroker, clips: ClipMaker) -> Iterator[ScriptedCloud]:
    scripted = ScriptedCloud(broker.url, clips.key.public_key())
    yield scripted
    scripted.close()


@pytest.fixture
def device_factory(broker: MosquittoBroker, tmp_path: Path) -> Iterator[Callable[..., DeviceSide]]:
    started: list[DeviceSide] = []

    def factory(**kwargs: object) -> DeviceSide:
        device = DeviceSide(broker.url, tmp_path / "device", **kwargs)  # type: ignore[arg-type]
        started.append(device)
        return device

    yield factory
    for device in started:
        device.close()
