"""Commands from the real cloud-api's REST API to the real agent process and back: the command states the
cloud shows come from the agent's CommandResults, and requested footage arrives as a stored clip."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.localstack import CloudService, MosquittoBroker, provision_device, wait_for
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive

pytestmark = pytest.mark.e2e

DEVICE_ID = "truck-cmd"


@pytest.fixture
def stack(tmp_path: Path, broker: MosquittoBroker) -> Iterator[tuple[CloudService, httpx.Client]]:
    cloud = CloudService(tmp_path / "cloud", broker.url)
    cloud.env["RATE_LIMIT_PER_MINUTE"] = "6000"  # the test polls command states
    with cloud:
        key = cloud.create_key("read,write")
        with httpx.Client(base_url=cloud.base_url, headers={"X-API-Key": key}, timeout=10) as client:
            yield cloud, client


def test_cloud_commands_reach_the_agent_and_settle(
    tmp_path: Path, broker: MosquittoBroker, stack: tuple[CloudService, httpx.Client]
) -> None:
    cloud, client = stack
    drive = tmp_path / "quiet.mp4"
    write_sample_drive(
        drive, SampleDriveSpec(seed=4, impact_at_s=None, duration_s=12.0, width=320, height=180)
    )
    data_dir = tmp_path / "edge"
    provision_device(cloud, DEVICE_ID, data_dir)
    args = ["run", "--source", str(drive), "--device-id", DEVICE_ID, "--broker", broker.url]
    agent = subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", *args, "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def send(body: dict[str, object]) -> str:
        sent = client.post(f"/devices/{DEVICE_ID}/commands", json=body)
        assert sent.status_code == 202, sent.text
        return sent.json()["command_id"]

    def settled(command_id: str) -> dict[str, object] | None:
        command = client.get(f"/devices/{DEVICE_ID}/commands/{command_id}").raise_for_status().json()
        return command if command["state"] != "SENT" else None

    try:
        wait_for(lambda: (data_dir / "recordings.json").exists(), 60, what="recording indexed")
        pinged = send({"type": "ping"})
        ping = wait_for(lambda: settled(pinged), 60, what="ping settled")
        assert ping["state"] == "ACKNOWLEDGED"

        typo = send({"type": "config_push", "config": {"fusion": {"threshold": 0.7}}})
        refused = wait_for(lambda: settled(typo), 30, what="bad push settled")
        assert refused["state"] == "FAILED" and "threshold" in str(refused["detail"])

        push = send({"type": "config_push", "config": {"fusion": {"cooldown_s": 4.0}}})
        assert wait_for(lambda: settled(push), 30, what="push settled")["state"] == "ACKNOWLEDGED"
        assert json.loads((data_dir / "pushed_config.json").read_text()) == {"fusion": {"cooldown_s": 4.0}}

        [recording] = json.loads((data_dir / "recordings.json").read_text())
        start_at = recording["recorded_at"] + 3.0
        footage = send({"type": "footage_request", "start_at": start_at, "end_at": start_at + 5.0})
        done = wait_for(lambda: settled(footage), 60, what="footage request settled")
        assert done["state"] == "ACKNOWLEDGED", done
        incident_id = str(done["detail"]).split("incident=")[1].split()[0]

        def stored() -> dict[str, object] | None:
            items = client.get("/claims", params={"limit": 100}).raise_for_status().json()["items"]
            return next((c for c in items if c["incident_id"] == incident_id), None)

        clip = wait_for(stored, 90, what="requested footage stored by the cloud")
        video = client.get(f"/claims/{clip['claim_id']}/video").raise_for_status().content
        assert hashlib.sha256(video).hexdigest() == clip["video_sha256"]
    finally:
        agent.terminate()
        agent.wait(30)
