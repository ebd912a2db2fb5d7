"""``create_app()``: the ASGI app (uvicorn: ``cloud_api.server.asgi:create_app --factory``)."""

from __future__ import annotations

from litestar import Litestar

from cloud_api.server.core import ApplicationCore
from cloud_api.server.limits import JSON_BODY_LIMIT
from cloud_api.server.runtime import Runtime
from cloud_api.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> Litestar:
    """API, ingest and assessment workers for ``settings`` (the environment's by default)."""
    return Litestar(
        plugins=[ApplicationCore(Runtime(settings or get_settings()))], request_max_body_size=JSON_BODY_LIMIT
    )
