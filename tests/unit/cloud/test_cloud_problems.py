"""Problem details from the app's exception handlers, on a bare Litestar app with the same handlers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.testing import TestClient

from cloud_api.domain.errors import ConflictError
from cloud_api.server.exceptions import EXCEPTION_HANDLERS
from cloud_api.settings import Settings


@get("/boom", sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("connection string postgres://secret@db")


@get("/conflict", sync_to_thread=False)
def conflict() -> None:
    raise ConflictError("claim c-1 is QUEUED")


def client(dev_mode: bool) -> TestClient:
    app = Litestar(
        route_handlers=[boom, conflict],
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"runtime": SimpleNamespace(settings=Settings(dev_mode=dev_mode))}),
        logging_config=None,
    )
    return TestClient(app)


@pytest.mark.parametrize("dev_mode", [False, True])
def test_internal_errors_show_details_only_in_dev_mode(dev_mode: bool) -> None:
    with client(dev_mode) as c:
        response = c.get("/boom")
    assert response.status_code == 500 and response.headers["content-type"].startswith(
        "application/problem+json"
    )
    body = response.json()
    assert body["title"] == "Internal Server Error" and body["status"] == 500
    assert ("secret" in body["detail"]) is dev_mode


def test_domain_errors_map_to_their_status() -> None:
    with client(False) as c:
        body = c.get("/conflict").json()
    assert body == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "claim c-1 is QUEUED",
    }
