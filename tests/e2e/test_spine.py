"""The spine, end to end on real parts: generated drive -> `edge-agent run` -> private Mosquitto ->
`cloud-api serve` (SQLite) -> assessed claim in the review queue -> decision -> audit history."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import av
import httpx
import pytest

from deploy.localstack import CloudService, MosquittoBroker, provision_device, run_cli, run_edge_agent, wait_for

pytestmark = pytest.mark.e2e

IMPACT_AT = 8.0


def _drive(path: Path, *extra: str) -> Path:
    run_cli("edge-agent", "sample", str(path), "--width", "640", "--height", "360", "--duration", "14", *extra)
    return path


@pytest.fixture
def stack(tmp_path: Path, broker: MosquittoBroker):
    with CloudService(tmp_path / "cloud", broker.url) as cloud:
        key = cloud.create_key("read,write")
        client = httpx.Client(base_url=cloud.base_url, headers={"X-API-Key": key}, timeout=10)
        yield cloud, broker, client
        client.close()


def _claims_of(client: httpx.Client, device_id: str) -> list[dict]:
    items = client.get("/claims", params={"limit": 100}).raise_for_status().json()["items"]
    return [c for c in items if c["device_id"] == device_id]


def test_impact_drive_becomes_one_assessed_claim_whose_clip_holds_the_impact(stack, tmp_path: Path) -> None:
    cloud, broker, client = stack
    # Seed 1: a crash motion-mlp-int8-3 and -4 both find with a fused score of 1.0. Seed 3, used
    # before, is marginal (fused 0.65 under -3, missed under -4): its impact tick reads as a scene cut.
    drive = _drive(tmp_path / "impact.mp4", "--seed", "1", "--impact-at", str(IMPACT_AT))
    provision_device(cloud, "truck-e2e", tmp_path / "edge")

    agent = run_edge_agent(drive, "truck-e2e", broker.url, tmp_path / "edge")
    assert agent.returncode == 0, agent.stderr[-3000:]

    item = wait_for(
        lambda: next((i for i in client.get("/reviews/queue").json()["items"] if i["device_id"] == "truck-e2e"), None),
        timeout=90,
        what="the claim in the review queue",
    )
    claims = _claims_of(client, "truck-e2e")
    assert len(claims) == 1 and claims[0]["claim_id"] == item["claim_id"]
    claim_id = item["claim_id"]

    assessment = client.get(f"/claims/{claim_id}/assessment").raise_for_status().json()
    assert assessment["severity"] in {"NONE", "LOW", "MEDIUM", "HIGH"}
    assert assessment["prediction_set"] and assessment["review_priority"] == item["review_priority"]

    # The manifest the device signed says where the clip sits on the drive's timeline.
    with sqlite3.connect(cloud.data_dir / "claims.db") as db:
        (metadata,) = db.execute("select metadata from claims where id = ?", (claim_id,)).fetchone()
    manifest = json.loads(metadata)["manifest"]
    assert manifest["clip_start_s"] <= IMPACT_AT <= manifest["clip_start_s"] + manifest["clip_duration_s"]
    assert abs(manifest["peak_s"] - IMPACT_AT) <= 1.0

    # The stored clip is the device's bytes and plays: a real H.264 MP4 spanning the impact.
    video = client.get(f"/claims/{claim_id}/video").raise_for_status().content
    assert len(video) == claims[0]["size_bytes"]
    with av.open(io.BytesIO(video)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= 30 * (IMPACT_AT - manifest["clip_start_s"])

    decision = client.post(
        f"/reviews/{claim_id}/decision", json={"decision": "APPROVE", "reasoning": "impact visible at peak"}
    )
    assert decision.status_code in (200, 201), decision.text
    events = [e["event_type"] for e in client.get(f"/reviews/{claim_id}/history").json()["events"]]
    assert events[0].lower().startswith("claim.received") or "received" in events[0].lower()
    assert any("review" in e.lower() for e in events) and any("assess" in e.lower() for e in events)
    assert client.get("/audit/verify").json()["ok"] is True

    # A rerun of the agent on the same drive cuts nothing new and the cloud still holds one claim.
    again = run_edge_agent(drive, "truck-e2e", broker.url, tmp_path / "edge")
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(_claims_of(client, "truck-e2e")) == 1


def test_drive_without_incident_yields_no_claim(stack, tmp_path: Path) -> None:
    cloud, broker, client = stack
    drive = _drive(tmp_path / "normal.mp4", "--seed", "4", "--no-incident")
    provision_device(cloud, "truck-quiet", tmp_path / "edge")

    agent = run_edge_agent(drive, "truck-quiet", broker.url, tmp_path / "edge")
    assert agent.returncode == 0, agent.stderr[-3000:]
    assert _claims_of(client, "truck-quiet") == []
