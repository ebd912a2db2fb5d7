"""``InsuranceAPIClient`` against the app behind a real uvicorn: the original summary's usage example,
run as written but for its import line, and the client's other calls and errors."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloud_api.client import APIError, InsuranceAPIClient
from cloud_api.settings import Settings
from tests.integration.cloud.api_served import ServedCloud, served
from tests.integration.cloud.support import write_mp4

# Sections "2. Python Client" and "3. Review Queue" of the original API summary, verbatim.
ORIGINAL_EXAMPLE = textwrap.dedent("""
    from insurance_mvp.api.example_client import InsuranceAPIClient

    client = InsuranceAPIClient("http://localhost:8000", "ins_your_api_key")

    # Upload and wait for assessment
    claim_id = client.upload_video("dashcam.mp4", claim_number="CLM-001")
    assessment = client.wait_for_assessment(claim_id, timeout=120)

    print(f"Severity: {assessment['severity']}")
    print(f"Confidence: {assessment['confidence']:.2%}")
    print(f"Fault Ratio: {assessment['fault_assessment']['fault_ratio']:.1f}%")

    queue = client.get_queue(priority="URGENT", limit=10)
    for item in queue["items"]:
        print(f"Claim: {item['claim_id']}")
        print(f"  Priority: {item['review_priority']}")
        print(f"  Severity: {item['severity']} ({item['confidence']:.0%})")
        print(f"  Fraud Risk: {item['fraud_risk_score']:.0%}")
    """)
NEW_IMPORT = "from cloud_api.client import InsuranceAPIClient"


@pytest.fixture
def server(make_settings: Callable[..., Settings]) -> Iterator[ServedCloud]:
    with served(make_settings()) as cloud:
        yield cloud


def _install_key(cloud: ServedCloud, secret: str, scopes: str) -> None:
    """A key whose secret is ``secret`` (keys are stored as hashes, so any secret can be registered)."""
    from cloud_api.db.helpers import utcnow
    from cloud_api.domain.apikeys.services import hash_key
    from cloud_api.domain.apikeys.tables import ApiKey

    async def insert() -> None:
        row = ApiKey(
            key_hash=hash_key(secret), prefix=secret[:12], name="example", scopes=scopes, created_at=utcnow()
        )
        await row.save().run()

    cloud.call(insert)


def test_the_original_usage_example_runs_with_only_its_import_changed(
    server: ServedCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_mp4(tmp_path / "dashcam.mp4", lambda i: 30 if (i // 2) % 2 else 230)  # flashing: URGENT
    monkeypatch.chdir(tmp_path)
    _install_key(server, "ins_your_api_key", "read,write")
    example = ORIGINAL_EXAMPLE.replace(
        "from insurance_mvp.api.example_client import InsuranceAPIClient", NEW_IMPORT
    )
    assert example.count("\n") == ORIGINAL_EXAMPLE.count("\n") and example != ORIGINAL_EXAMPLE
    # The server listens on a free port, not 8000: the URL is the one value pointed elsewhere.
    exec(compile(example.replace("http://localhost:8000", server.url), "usage_example", "exec"), {})
    out = capsys.readouterr().out
    assert re.search(r"^Severity: (NONE|LOW|MEDIUM|HIGH)$", out, re.M), out
    assert re.search(r"^Confidence: \d+\.\d\d%$", out, re.M) and re.search(
        r"^Fault Ratio: \d+\.\d%$", out, re.M
    )
    with InsuranceAPIClient(server.url, "ins_your_api_key") as client:
        urgent = client.get_queue(priority="URGENT", limit=10)["items"]
    assert out.count("Claim: ") == len(urgent) and all(f"Claim: {i['claim_id']}" in out for i in urgent)


def test_client_review_cycle_history_and_errors(server: ServedCloud, tmp_path: Path) -> None:
    video = tmp_path / "steady.mp4"
    raw = write_mp4(video, lambda _: 90)
    with InsuranceAPIClient(server.url, server.key("read,write")) as client:
        first = client.upload(video, claim_number="CLM-C-1")
        assert first["duplicate"] is False and client.upload(video)["duplicate"] is True
        claim_id = first["claim_id"]
        assessment = client.wait_for_assessment(claim_id, timeout=60, poll_interval=0.1)
        assert assessment["claim_id"] == claim_id and assessment["severity"] in {
            "NONE",
            "LOW",
            "MEDIUM",
            "HIGH",
        }
        decided = client.submit_decision(claim_id, "REJECT", "staged", reviewer_id="bob", fraud_override=True)
        assert decided["status"] == "REVIEWED" and decided["reviewer_id"] == "bob"
        history = client.get_history(claim_id)
        assert [e["event_type"] for e in history["events"]] == ["received", "assessed", "reviewed"]
        assert history["events"][-1]["after_state"]["overrides"]["fraud"] is True
        assert client.download_video(claim_id, tmp_path / "copy.mp4").read_bytes() == raw
        assert client.list_claims(status="REVIEWED")["total"] == 1
        assert client.verify_audit()["ok"] is True and client.health()["database"] is True
        assert "dashclaim_review_decisions" in client.metrics()

        with pytest.raises(APIError) as missing:
            client.get_status("no-such-claim")
        assert missing.value.status == 404 and "no-such-claim" in missing.value.detail
        with pytest.raises(APIError) as bad:
            client.submit_decision(claim_id, "MAYBE", "x")
        assert bad.value.status == 422
    with InsuranceAPIClient(server.url, "dck_wrong") as stranger, pytest.raises(APIError) as refused:
        stranger.get_queue()
    assert refused.value.status == 401
