"""REST end to end on a real app and database: upload -> assessed -> queue -> decision -> history,
the audit chain (and its tamper detection), and the errors the API promises."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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

    found = cloud.client.get(
        "/claims", params={"claim_number": "CLM-TEST-1", "source": "upload"}, headers=headers
    )
    assert [c["claim_id"] for c in found.json()["items"]] == [claim_id] and found.json()["total"] == 1
    assert cloud.client.get("/claims", params={"device_id": "van-1"}, headers=headers).json()["total"] == 0
    assert_problem(cloud.client.get("/claims", params={"source": "fax"}, headers=headers), 422)
    status = cloud.wait_status(claim_id, headers, {"ASSESSED", "FAILED"})
    assert status["status"] == "ASSESSED" and status["progress_percent"] == 100 and status["error"] is None
    a = cloud.client.get(f"/claims/{claim_id}/assessment", headers=headers).json()
    # The API's contract for an assessment; what the models conclude is tested with the assessment code.
    assert a["claim_id"] == claim_id and a["severity"] in SEVERITIES and a["model"] and a["scenario"]
    assert set(a["prediction_set"]) <= SEVERITIES and a["prediction_set"]
    assert abs(sum(a["severity_probabilities"].values()) - 1) < 1e-2 and 0 <= a["confidence"] <= 1
    assert 0 <= a["fault_assessment"]["fault_ratio"] <= 100 and a["fault_assessment"]["rule"]
    assert a["review_priority"] in {"URGENT", "STANDARD", "LOW_PRIORITY"} and 0 <= a["fraud_risk_score"] <= 1
    assert a["evidence"] is not None and a["narrative"] and a["processing_time_sec"] >= 0
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

    verified = cloud.client.get("/audit/verify", headers=headers).json()
    # entry 1 is the API key's creation; tampering is tested in test_api_audit.py
    assert (verified["ok"], verified["entries"], verified["head_seq"]) == (True, 4, 4)
    assert verified["head_hash"] == events[-1]["hash"]


async def set_priority(claim_id: str, priority: str) -> None:
    from cloud_api.domain.assessments.priority import PRIORITY_RANK
    from cloud_api.domain.assessments.tables import Assessment
    from shared_models import ReviewPriority

    rank = PRIORITY_RANK[ReviewPriority(priority)]
    await Assessment.update({Assessment.review_priority: priority, Assessment.priority_rank: rank}).where(
        Assessment.claim_id == claim_id
    ).run()


def test_queue_order_filter_and_request_more_info(cloud: CloudApp, tmp_path: Path) -> None:
    headers = cloud.headers("read,write")
    videos = {  # uploaded in this order: "old_minor" is the oldest, "new_minor" the newest
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
    # The queue's order is under test here, not the models' verdicts: give each claim its priority.
    wanted = {
        "old_minor": "LOW_PRIORITY",
        "standard": "STANDARD",
        "urgent": "URGENT",
        "new_minor": "LOW_PRIORITY",
    }
    for name, priority in wanted.items():
        cloud.call(set_priority, ids[name], priority)

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
