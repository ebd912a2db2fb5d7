"""Key administration over the API: create, list, revoke (admin scope only), each audited without the
secret; DEV_MODE's dev keys and test reviewers; rate limit answers with Retry-After."""

from __future__ import annotations

from collections.abc import Callable

from cloud_api.settings import Settings
from tests.integration.cloud.support import CloudApp, assert_problem, running


def test_admin_creates_lists_and_revokes_keys_and_the_audit_log_records_it(cloud: CloudApp) -> None:
    admin = cloud.headers("admin")
    made = cloud.client.post("/admin/keys", json={"scopes": ["read"], "name": "insurer-batch"}, headers=admin)
    assert made.status_code == 201, made.text
    key = made.json()
    assert key["key"].startswith("dck_") and key["scopes"] == ["read"] and key["name"] == "insurer-batch"
    new = {"X-API-Key": key["key"]}
    assert cloud.client.get("/claims", headers=new).status_code == 200
    assert_problem(cloud.client.post("/admin/keys", json={"scopes": ["read"]}, headers=new), 403)

    listed = cloud.client.get("/admin/keys", headers=admin).json()
    names = {item["name"]: item for item in listed["items"]}
    assert (
        names["insurer-batch"]["prefix"] == key["key"][:12] and names["insurer-batch"]["revoked_at"] is None
    )
    assert all("key" not in item and "key_hash" not in item for item in listed["items"])

    revoked = cloud.client.post(f"/admin/keys/{key['id']}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert_problem(cloud.client.get("/claims", headers=new), 401)
    again = cloud.client.post(f"/admin/keys/{key['id']}/revoke", headers=admin)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert "insurer-batch" not in {
        i["name"] for i in cloud.client.get("/admin/keys", headers=admin).json()["items"]
    }
    everything = cloud.client.get("/admin/keys", params={"include_revoked": "true"}, headers=admin).json()
    assert "insurer-batch" in {i["name"] for i in everything["items"]}
    assert_problem(cloud.client.post("/admin/keys/999999/revoke", headers=admin), 404)

    from cloud_api.domain.audit.tables import AuditEntry

    async def key_events() -> list[dict]:
        return (
            await AuditEntry.select()
            .where(AuditEntry.event_type.like("apikey_%"))
            .order_by(AuditEntry.seq)
            .run()
        )

    events = [e for e in cloud.call(key_events) if "insurer-batch" in (e["after_state"] or "")]
    assert [e["event_type"] for e in events] == ["apikey_created", "apikey_revoked"]
    assert all(key["key"] not in (e["after_state"] or "") + (e["before_state"] or "") for e in events)
    assert events[0]["actor_id"].startswith("apikey:") and events[1]["actor_type"] == "HUMAN"
    assert cloud.client.get("/audit/verify", headers=admin).json()["ok"] is True


def test_bad_key_requests_are_422(cloud: CloudApp) -> None:
    admin = cloud.headers("admin")
    for bad in ({"scopes": []}, {"scopes": ["root"]}, {"scopes": ["read"], "name": "has space"}, {"x": 1}):
        assert_problem(cloud.client.post("/admin/keys", json=bad, headers=admin), 422)


def test_dev_mode_prints_an_admin_key_and_makes_test_reviewers(
    make_settings: Callable[..., Settings], caplog
) -> None:  # noqa: ANN001
    with caplog.at_level("WARNING"), running(make_settings(dev_mode=True, worker_enabled=False)) as cloud:
        lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("dev.api_key")]
        keys = {line.split("name=")[1].split()[0]: line.rsplit(" ", 1)[1] for line in lines}
        assert set(keys) == {"dev-admin", "reviewer_alice", "reviewer_bob"}
        listed = cloud.client.get("/admin/keys", headers={"X-API-Key": keys["dev-admin"]}).json()
        assert {"reviewer_alice", "reviewer_bob"} <= {i["name"] for i in listed["items"]}
        alice = {"X-API-Key": keys["reviewer_alice"]}
        assert cloud.client.get("/reviews/queue", headers=alice).status_code == 200
        assert_problem(cloud.client.get("/admin/keys", headers=alice), 403)


def test_rate_limit_answers_429_with_retry_after(make_settings: Callable[..., Settings]) -> None:
    with running(make_settings(rate_limit_per_minute=2, worker_enabled=False)) as cloud:
        headers = cloud.headers("read")
        assert [cloud.client.get("/claims", headers=headers).status_code for _ in range(2)] == [200, 200]
        limited = cloud.client.get("/claims", headers=headers)
        assert_problem(limited, 429)
        assert 1 <= int(limited.headers["retry-after"]) <= 60


def test_cors_allows_only_the_configured_origins(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(cors_origins=("https://review.example",), worker_enabled=False)
    with running(settings) as cloud:
        headers = {**cloud.headers("read"), "Origin": "https://review.example"}
        ok = cloud.client.get("/claims", headers=headers)
        assert ok.headers["access-control-allow-origin"] == "https://review.example"
        other = cloud.client.get("/claims", headers={**headers, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
