"""The Piccolo engine, chosen from DATABASE_URL at run time.

Piccolo binds tables to an engine through the class attribute ``_meta.db``. ``configure_database``
points every table (ours and Piccolo's migration table) and ``piccolo_conf.DB`` at one engine, so the
same code and migrations run on SQLite or PostgreSQL, and a process (a test session) can switch
databases between apps. One database per process at a time follows from that.
"""

from __future__ import annotations

import logging
import os
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from cloud_api.db import piccolo_conf
from cloud_api.db.piccolo_app import TABLES

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 30.0
_current: Engine | None = None


def engine_for_url(url: str) -> Engine:
    """``sqlite:///relative.db`` / ``sqlite:////abs.db`` or ``postgresql://user@host:port/db``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"DATABASE_URL {url!r} has no scheme")
    driver = scheme.split("+", 1)[0]
    if driver == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if not path or path == ":memory:":
            raise ValueError("DATABASE_URL needs a SQLite file path (every query opens its own connection)")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=path, timeout=SQLITE_BUSY_TIMEOUT_S)
    if driver in {"postgresql", "postgres"}:
        return PostgresEngine(config={"dsn": f"postgresql://{rest}"})
    raise ValueError(f"DATABASE_URL scheme {scheme!r} is not supported (sqlite or postgresql)")


def configure_database(url: str) -> Engine:
    """Create the engine for ``url`` and make it the one every table and Piccolo itself uses."""
    global _current
    engine = engine_for_url(url)
    for table in (*TABLES, Migration):
        table._meta.db = engine
    piccolo_conf.use(engine)
    # Piccolo's migration manager looks its engine up through this module, not through the tables.
    os.environ["PICCOLO_CONF"] = piccolo_conf.__name__
    _current = engine
    return engine


def current_engine() -> Engine:
    if _current is None:
        raise RuntimeError("configure_database() has not been called")
    return _current


def is_sqlite(engine: Engine | None = None) -> bool:
    return isinstance(engine or current_engine(), SQLiteEngine)


def write_transaction() -> AbstractAsyncContextManager[object]:
    """A transaction for read-then-write work: ``BEGIN IMMEDIATE`` on SQLite.

    A deferred SQLite transaction that reads and later writes fails with SQLITE_BUSY instead of waiting
    when another writer got in first; taking the write lock up front makes it wait (busy timeout).
    Nested use joins the outer transaction.
    """
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def _keep_session(_connection: object) -> None:
    """The pool's reset on release, after asyncpg has rolled back any open transaction.

    asyncpg's default also sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``,
    one more round trip after every query (half the database time of a status request). This app leaves
    no session state behind a transaction: no SET, LISTEN, cursor or session-level advisory lock (the
    audit chain's lock is ``pg_advisory_xact_lock``, released at commit), so there is nothing to reset.
    """


async def open_database(engine: Engine) -> None:
    if isinstance(engine, SQLiteEngine):
        # WAL lets readers run beside the one writer; the mode is stored in the file.
        await engine._run_in_new_connection("PRAGMA journal_mode=WAL")
    elif isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=10, reset=_keep_session)
    log.info("db.opened engine=%s", engine.engine_type)


async def close_database(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()
    log.info("db.closed engine=%s", engine.engine_type)
