"""``cloud-api keys create / list / revoke``: the key is printed once, listings never show it, and a
revoked key is refused by the API."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cloud_api.cli import main
from cloud_api.settings import Settings
from tests.integration.cloud.support import assert_problem, running


def test_keys_create_list_revoke(
    make_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(worker_enabled=False, api_key_cache_s=0)
    assert main(["keys", "create", "--scopes", "read", "--name", "auditor"], settings) == 0
    out = capsys.readouterr().out.strip().splitlines()
    key, key_id = out[-1], int(out[0].split("id=")[1].split()[0])

    assert main(["keys", "list"], settings) == 0
    listing = capsys.readouterr().out
    assert f"{key_id}\tauditor\t{key[:12]}\tread" in listing and key not in listing and "1 key(s)" in listing

    with running(settings) as cloud:
        assert cloud.client.get("/claims", headers={"X-API-Key": key}).status_code == 200
    assert main(["keys", "revoke", str(key_id)], settings) == 0
    assert main(["keys", "revoke", "999999"], settings) == 1
    assert main(["keys", "list"], settings) == 0 and "0 key(s)" in capsys.readouterr().out
    assert main(["keys", "list", "--all"], settings) == 0 and "revoked=" in capsys.readouterr().out
    with running(settings) as cloud:
        assert_problem(cloud.client.get("/claims", headers={"X-API-Key": key}), 401)
        events = cloud.client.get("/audit/verify", headers=cloud.headers("read")).json()
        assert events["ok"] is True and events["head_seq"] >= 2  # created and revoked, both audited
