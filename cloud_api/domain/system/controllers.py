from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.plugins import OpenAPIRenderPlugin, RedocRenderPlugin, SwaggerRenderPlugin

from cloud_api.domain.apikeys.guards import requires_api_key
from cloud_api.domain.system.schemas import HealthOut
from cloud_api.domain.system.services import SystemService
from cloud_api.server import openapi_docs as docs

HEALTH_EXAMPLE = {
    "status": "ok",
    "database": True,
    "broker_connected": True,
    "ingest_alive": True,
    "workers_alive": 2,
    "workers_expected": 2,
    "uptime_s": 86400.5,
    "version": "0.1.0",
}
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
_SWAGGER = SwaggerRenderPlugin(path="/docs")
_REDOC = RedocRenderPlugin(path="/redoc")


class SystemController(Controller):
    tags = ["system"]

    @get(
        "/health",
        security=[{}],  # public: no key
        responses={
            **docs.ok(HealthOut, "Everything up", HEALTH_EXAMPLE),
            **docs.ok(
                HealthOut,
                "Degraded: the broker is unreachable",
                {**HEALTH_EXAMPLE, "status": "degraded", "broker_connected": False},
                503,
            ),
        },
    )
    async def health(self, system: NamedDependency[SystemService]) -> Response[HealthOut]:
        """Liveness and readiness, no key needed: 200 when everything is up, 503 when degraded."""
        health = await system.health()
        return Response(health, status_code=200 if health.status == "ok" else 503)

    @get("/metrics", guards=[requires_api_key], media_type=PROMETHEUS_TEXT, responses=docs.problems())
    async def metrics(self, system: NamedDependency[SystemService]) -> str:
        """Prometheus text: claims by status, queue depth by priority, ingest rejections by reason, jobs."""
        return await system.metrics()


def _render(plugin: OpenAPIRenderPlugin, request: Request) -> bytes:
    return plugin.render(request, request.app.openapi_schema.to_schema())


class DocsController(Controller):
    """The original API's documentation paths; the pages themselves carry no data, so no key."""

    include_in_schema = False

    @get("/docs", media_type="text/html")
    async def swagger(self, request: Request) -> bytes:
        return _render(_SWAGGER, request)

    @get("/redoc", media_type="text/html")
    async def redoc(self, request: Request) -> bytes:
        return _render(_REDOC, request)
