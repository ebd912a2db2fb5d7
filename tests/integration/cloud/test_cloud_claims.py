"""REST end to end on a real app and database: upload -> assessed -> queue -> decision -> history,
the audit chain (and its tamper detection), and the errors the API promises."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cloud_api.domain.audit.tables import AuditEntry
from cloud_api.settings import Settings
from tests.integration.cloud.support import CloudApp, assert_problem, running, write_mp4

SEVERITIES = {"NONE", "LOW", "MEDIUM", "HIGH"}


def steady(level: int) -> Callable[[int], int]:
    return lambda _: level


def alternating(low: int, high: int) -> Callable[[int], int]:
    """Brightness switching every 2 frames: every frame change sample sees a ``high - low`` step."""
    return lambda i: high if (i // 2) % 2 else low


def zeroed_frames(video: bytes) -> bytes:
    """The same MP4 with its frame data zeroed: a container and a video stream, but nothing decodes."""
    data = bytearray(video)
    at = data.find(b"mdat")
    size = int.from_bytes(data[at - 4 : at], "big")
    data[at + 4 : at - 4 + size] = bytes(size - 8)
    return bytes(data)


def upload(
    cloud: CloudApp, headers: dict[str, str], video: bytes, name: str = "clip.mp4", **form: str
):  # noqa: ANN201
    return cloud.client.post(
        "/claims/upload", files={"video": (name, video, "video/mp4")}, data=form, headers=headers
    )


def test_upload_assess_review_and_audit(cloud: CloudApp, tmp_path: Path) -> None:
    headers = cloud.headers("read,write")
    video = write_mp4(tmp_path / "a.mp4", steady(90))
    created = upload(cloud, headers, video, claim_number="CLM-TEST-1")
    assert created.status_code == 202, created.text
    claim = created.json()
    assert (
        claim["claim_number"] == "CLM-TEST-1" and claim["duplicate"] is False and claim["status"] == "QUEUED"
    )
    claim_id = claim["claim_id"]

    again = upload(cloud, headers, video, name="same-bytes.mp4")
    assert (
        again.status_code == 200
        and again.json()["claim_id"] == claim_id
        and again.json()["duplicate"] is True
    )

    status = cloud.wait_status(claim_id, headers, {"ASSESSED", "FAILED"})
    assert status["status"] == "ASSESSED" and status["progress_percent"] == 100 and status["error"] is None
    a = cloud.client.get(f"/claims/{claim_id}/assessment", headers=headers).json()
    assert a["claim_id"] == claim_id and a["model"] == "heuristic-v1" and a["scenario"] == "unclassified"
    assert set(a["prediction_set"]) <= SEVERITIES and a["severity"] == a["prediction_set"][0]
    assert abs(sum(a["severity_probabilities"].values()) - 1) < 1e-3 and a["calibrated"] is False
    assert a["confidence"] == a["severity_probabilities"][a["severity"]]
    assert a["fault_assessment"] == {
        "fault_ratio": 50.0,
        "rule": "no-rule",
        "confidence": 0.1,
        "reasoning": a["fault_assessment"]["reasoning"],
    }
    assert a["review_priority"] == "LOW_PRIORITY" and a["fraud_risk_score"] == 0.0  # a still picture
    assert a["evidence"] and a["narrative"].startswith("heuristic-v1") and a["processing_time_sec"] >= 0
    assert cloud.client.get(f"/claims/{claim_id}/video", headers=headers).content == video

    queue = cloud.client.get("/reviews/queue", headers=headers).json()
    assert [item["claim_id"] for item in queue["items"]] == [claim_id] and queue["total"] == 1
    decision = {
        "decision": "APPROVE",
        "reasoning": "clear footage",
        "reviewer_id": "alice",
        "fault_ratio_override": 20,
    }
    decided = cloud.client.post(f"/reviews/{claim_id}/decision", json=decision, headers=headers)
    assert decided.status_code == 201 and decided.json()["status"] == "REVIEWED"
    assert cloud.client.get("/reviews/queue", headers=headers).json()["total"] == 0
    assert cloud.client.get(f"/claims/{claim_id}/status", headers=headers).json()["status"] == "REVIEWED"

    events = cloud.client.get(f"/reviews/{claim_id}/history", headers=headers).json()["events"]
    assert [(e["event_type"], e["actor_type"]) for e in events] == [
        ("received", "SYSTEM"),
        ("assessed", "AI"),
        ("reviewed", "HUMAN"),
    ]
    reviewed = events[2]
    assert reviewed["actor_id"] == "alice" and reviewed["before_state"]["status"] == "ASSESSED"
    assert (
        reviewed["after_state"]["overrides"]["fault_ratio"] == 20
        and reviewed["after_state"]["status"] == "REVIEWED"
    )
    assert events[1]["after_state"]["severity"] == a["severity"] and len({e["hash"] for e in events}) == 3

    assert cloud.client.get("/audit/verify", headers=headers).json() == {
        "ok": True,
        "entries": 3,
        "first_broken": None,
    }

    async def tamper() -> None:  # someone edits the AI's verdict directly in the database
        await AuditEntry.update({AuditEntry.after_state: '{"severity":"NONE"}'}).where(
            AuditEntry.seq == 2
        ).run()

    cloud.call(tamper)
    assert cloud.client.get("/audit/verify", headers=headers).json() == {
        "ok": False,
        "entries": 2,
        "first_broken": 2,
    }


def test_queue_order_filter_and_request_more_info(cloud: CloudApp, tmp_path: Path) -> None:
    headers = cloud.headers("read,write")
    videos = {
        "old_minor": write_mp4(tmp_path / "1.mp4", steady(90)),
        "standard": write_mp4(tmp_path / "2.mp4", alternating(100, 120)),
        "urgent": write_mp4(tmp_path / "3.mp4", alternating(30, 230)),
        "new_minor": write_mp4(tmp_path / "4.mp4", steady(60)),
    }
    ids = {
        name: upload(cloud, headers, video, name=f"{name}.mp4").json()["claim_id"]
        for name, video in videos.items()
    }
    for claim_id in ids.values():
        assert cloud.wait_status(claim_id, headers, {"ASSESSED", "FAILED"})["status"] == "ASSESSED"

    queue = cloud.client.get("/reviews/queue", headers=headers).json()
    assert [i["claim_id"] for i in queue["items"]] == [
        ids["urgent"],
        ids["standard"],
        ids["old_minor"],
        ids["new_minor"],
    ]
    assert [i["review_priority"] for i in queue["items"]] == [
        "URGENT",
        "STANDARD",
        "LOW_PRIORITY",
        "LOW_PRIORITY",
    ]
    assert "HIGH" in queue["items"][0]["prediction_set"]
    item = queue["items"][1]
    assert set(item) == {
        "claim_id",
        "claim_number",
        "review_priority",
        "severity",
        "confidence",
        "fraud_risk_score",
        "prediction_set",
        "received_at",
        "device_id",
    }
    low = cloud.client.get(
        "/reviews/queue", params={"priority": "LOW_PRIORITY", "limit": 1, "offset": 1}, headers=headers
    )
    assert low.json()["total"] == 2 and [i["claim_id"] for i in low.json()["items"]] == [ids["new_minor"]]

    more = {"decision": "REQUEST_MORE_INFO", "reasoning": "need the other camera"}
    assert (
        cloud.client.post(f"/reviews/{ids['urgent']}/decision", json=more, headers=headers).json()["status"]
        == "ASSESSED"
    )
    assert cloud.client.get("/reviews/queue", headers=headers).json()["items"][0]["claim_id"] == ids["urgent"]

    page = cloud.client.get("/claims", params={"limit": 2, "offset": 1}, headers=headers).json()
    assert page["total"] == 4 and len(page["items"]) == 2
    metrics = cloud.client.get("/metrics", headers=headers).text
    assert (
        'dashclaim_claims{status="ASSESSED"} 4' in metrics
        and 'dashclaim_review_queue_depth{priority="URGENT"} 1' in metrics
    )
    assert 'dashclaim_assessments_total{outcome="done"} 4' in metrics


def test_bad_uploads_and_bodies(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    with running(make_settings(worker_enabled=False, max_upload_size_mb=1)) as cloud:
        headers = cloud.headers("read,write")
        assert_problem(upload(cloud, headers, b"\x00" * (1024 * 1024 + 10)), 413)
        assert_problem(upload(cloud, headers, b"these are not the frames you are looking for"), 415)
        assert_problem(upload(cloud, headers, zeroed_frames(write_mp4(tmp_path / "z.mp4", steady(70)))), 422)
        assert_problem(
            cloud.client.post(
                "/claims/upload", data={"claim_number": "x"}, files={"other": ("a", b"a")}, headers=headers
            ),
            422,
        )
        assert not list(
            (cloud.runtime.settings.blob_dir / "tmp").iterdir()
        ), "refused uploads leave nothing behind"

        claim_id = upload(cloud, headers, write_mp4(tmp_path / "q.mp4", steady(50))).json()["claim_id"]
        assert_problem(cloud.client.get(f"/claims/{claim_id}/assessment", headers=headers), 409)
        ok = {"decision": "APPROVE", "reasoning": "fine"}
        assert_problem(cloud.client.post(f"/reviews/{claim_id}/decision", json=ok, headers=headers), 409)
        for bad in (
            {"decision": "MAYBE", "reasoning": "x"},
            {"decision": "APPROVE"},
            {"decision": "APPROVE", "reasoning": "x", "fault_ratio_override": 150},
            {"decision": "APPROVE", "reasoning": "x", "surprise": True},
        ):
            assert_problem(cloud.client.post(f"/reviews/{claim_id}/decision", json=bad, headers=headers), 422)
        assert_problem(cloud.client.get("/claims", params={"limit": 0}, headers=headers), 422)
