"""NUL characters in path and query values: PostgreSQL text cannot hold them, so the API must answer 422
before any query runs (a 500 from the driver is what this guards against), on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cloud.support import CloudApp, assert_problem, write_mp4

NUL_REQUESTS = [
    ("GET", "/claims/a%00b/status"),
    ("GET", "/claims/a%00b/assessment"),
    ("GET", "/claims/a%00b/video"),
    ("GET", "/reviews/a%00b/history"),
    ("GET", "/devices/a%00b"),
    ("GET", "/devices/a%00b/health"),
    ("GET", "/claims?claim_number=a%00b"),
    ("POST", "/devices/a%00b/commands"),
]


@pytest.mark.parametrize(("method", "path"), NUL_REQUESTS)
def test_nul_in_a_path_or_query_value_is_a_422(cloud: CloudApp, method: str, path: str) -> None:
    body = {"type": "ping"} if method == "POST" else None
    answer = cloud.client.request(method, path, headers=cloud.headers("read,write"), json=body)
    assert_problem(answer, 422)
    assert "NUL" in answer.json()["detail"]


def test_a_plain_unknown_id_is_still_a_404(cloud: CloudApp) -> None:
    assert_problem(cloud.client.get("/claims/ab/status", headers=cloud.headers("read")), 404)


def test_nul_in_body_text_is_a_422(cloud: CloudApp, tmp_path: Path) -> None:
    headers = cloud.headers("read,write")
    video = write_mp4(tmp_path / "clip.mp4", lambda i: (i * 9) % 255)
    upload = cloud.client.post(
        "/claims/upload", files={"video": ("clip.mp4", video)}, data={"claim_number": "a\x00b"}, headers=headers
    )
    assert_problem(upload, 422)
    claim_id = cloud.client.post("/claims/upload", files={"video": ("clip.mp4", video)}, headers=headers).json()[
        "claim_id"
    ]
    decision = cloud.client.post(
        f"/reviews/{claim_id}/decision", json={"decision": "APPROVE", "reasoning": "ok\x00"}, headers=headers
    )
    assert decision.status_code in {409, 422}, decision.text  # 409: not assessed yet; never a 500
