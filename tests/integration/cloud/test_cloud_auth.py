"""Every route but /health needs a key with the right scope; errors are problem details."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from litestar.routes import HTTPRoute

from cloud_api.settings import Settings
from tests.integration.cloud.support import CloudApp, assert_problem, running

PUBLIC = ("/health", "/docs", "/redoc", "/schema")


def guarded_routes(cloud: CloudApp) -> list[tuple[str, str, str]]:
    """(method, path, scope) of every API route, found from the app itself, path parameters filled in."""
    routes = []
    for route in cloud.client.app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(PUBLIC):
            continue
        path = re.sub(r"\{[^}]+:int\}", "999999", route.path)
        path = re.sub(r"\{[^}]+\}", "some-id", path)
        for method, (handler, _) in sorted(route.route_handler_map.items()):
            if method in {"HEAD", "OPTIONS"}:
                continue
            scope = handler.opt.get("scope") or ("read" if method == "GET" else "write")
            routes.append((method, path, scope))
    return routes


def test_every_route_but_health_needs_a_key_with_its_scope(cloud: CloudApp) -> None:
    routes = guarded_routes(cloud)
    assert ("POST", "/claims/upload", "write") in routes and ("GET", "/metrics", "read") in routes
    assert ("POST", "/admin/keys", "admin") in routes and len(routes) >= 14
    keys = {scopes: cloud.headers(scopes) for scopes in ("read", "write", "read,write", "admin")}
    wrong_for = {"read": "write", "write": "read", "admin": "read,write"}
    for method, path, scope in routes:
        assert_problem(cloud.client.request(method, path), 401)
        assert_problem(cloud.client.request(method, path, headers={"X-API-Key": "dck_not-a-key"}), 401)
        assert_problem(cloud.client.request(method, path, headers=keys[wrong_for[scope]]), 403)
        allowed = cloud.client.request(method, path, headers=keys["admin"])
        assert allowed.status_code not in {401, 403}, (method, path)


def test_health_is_public_and_bearer_keys_work(cloud: CloudApp) -> None:
    health = cloud.client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["database"] is True and body["workers_alive"] == body["workers_expected"] == 2
    assert body["broker_connected"] is None and body["version"]
    key = cloud.key("read")
    assert cloud.client.get("/claims", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert_problem(cloud.client.get("/claims", headers={"Authorization": f"Basic {key}"}), 401)


def test_a_key_revoked_by_another_replica_is_refused_once_the_cache_expires(
    make_settings: Callable[..., Settings],
) -> None:
    from cloud_api.db.helpers import utcnow
    from cloud_api.domain.apikeys.tables import ApiKey

    with running(make_settings(api_key_cache_s=0.5, worker_enabled=False)) as cloud:
        key = cloud.key("read")
        assert cloud.client.get("/claims", headers={"X-API-Key": key}).status_code == 200

        async def revoke_all() -> None:  # straight in the database, as another replica's revocation
            await ApiKey.update({ApiKey.revoked_at: utcnow()}, force=True).run()

        cloud.call(revoke_all)
        assert cloud.client.get("/claims", headers={"X-API-Key": key}).status_code == 200  # cached
        time.sleep(0.6)
        assert_problem(cloud.client.get("/claims", headers={"X-API-Key": key}), 401)


def test_rate_limit_is_per_key(make_settings: Callable[..., Settings]) -> None:
    with running(make_settings(rate_limit_per_minute=3, worker_enabled=False)) as cloud:
        first, second = cloud.headers("read"), cloud.headers("read")
        for _ in range(3):
            assert cloud.client.get("/claims", headers=first).status_code == 200
        assert_problem(cloud.client.get("/claims", headers=first), 429)
        assert cloud.client.get("/claims", headers=second).status_code == 200
        assert cloud.client.get("/health").status_code == 200


def test_docs_pages_and_schema(cloud: CloudApp) -> None:
    for path in ("/docs", "/redoc"):
        page = cloud.client.get(path)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    schema = cloud.client.get("/schema/openapi.json").json()
    assert "/claims/upload" in schema["paths"] and "/reviews/queue" in schema["paths"]
    assert "ApiKey" in schema["components"]["securitySchemes"]


def test_unknown_path_and_claim_are_problem_404(cloud: CloudApp) -> None:
    headers = cloud.headers("read,write")
    assert_problem(cloud.client.get("/nowhere", headers=headers), 404)
    for path in (
        "/claims/nope/status",
        "/claims/nope/assessment",
        "/claims/nope/video",
        "/reviews/nope/history",
    ):
        assert_problem(cloud.client.get(path, headers=headers), 404)
    decision = {"decision": "APPROVE", "reasoning": "fine"}
    assert_problem(cloud.client.post("/reviews/nope/decision", json=decision, headers=headers), 404)


def test_dev_mode_creates_a_dev_key(make_settings: Callable[..., Settings], caplog) -> None:  # noqa: ANN001
    with caplog.at_level("WARNING"), running(make_settings(dev_mode=True, worker_enabled=False)) as cloud:
        line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("dev.api_key"))
        key = line.rsplit(" ", 1)[1]
        assert cloud.client.get("/metrics", headers={"X-API-Key": key}).status_code == 200
