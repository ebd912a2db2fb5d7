"""Piccolo's configuration module (``PICCOLO_CONF=cloud_api.db.piccolo_conf``).

``DB`` is whatever engine ``configure_database`` chose; used on its own (the ``piccolo`` CLI, e.g.
``piccolo migrations new cloud --auto``) it is built from DATABASE_URL on first access.
"""

from __future__ import annotations

from typing import Any

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

APP_REGISTRY = AppRegistry(apps=["cloud_api.db.piccolo_app"])

_engine: Engine | None = None


def use(engine: Engine) -> None:
    global _engine
    _engine = engine


def __getattr__(name: str) -> Any:
    if name != "DB":
        raise AttributeError(name)
    if _engine is None:
        from cloud_api.db.engine import engine_for_url
        from cloud_api.settings import get_settings

        use(engine_for_url(get_settings().database_url))
    return _engine
