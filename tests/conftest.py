"""Root fixtures: a private Mosquitto per test that asks for one, a database per test (SQLite, and
PostgreSQL where 127.0.0.1:5432 answers), temp data folders. Real parts only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.localstack import MosquittoBroker
from tests.support.postgres import create_database, drop_database, postgres_available


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A private mosquitto on a free port (persistence on, anonymous allowed)."""
    with MosquittoBroker(tmp_path / "mosquitto") as b:
        yield b


def _database_params() -> list[object]:
    params: list[object] = ["sqlite"]
    params.append(
        pytest.param("postgres", marks=pytest.mark.postgres)
        if postgres_available()
        else pytest.param("postgres", marks=pytest.mark.skip(reason="PostgreSQL does not answer on 127.0.0.1:5432"))
    )
    return params


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for this test: a SQLite file, then (where it answers) PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'claims.db'}"
        return
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'claims.db'}"
