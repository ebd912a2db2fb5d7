"""The one plugin that wires the app: routes, dependencies, errors, OpenAPI, limits, lifespan."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request
from litestar.config.app import AppConfig
from litestar.config.cors import CORSConfig
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins import InitPluginProtocol

from cloud_api import __version__
from cloud_api.domain.apikeys.controllers import ApiKeyController
from cloud_api.domain.apikeys.guards import presented_key
from cloud_api.domain.assessments.controllers import AssessmentController
from cloud_api.domain.audit.controllers import AuditController
from cloud_api.domain.claims.controllers import ClaimController
from cloud_api.domain.devices.controllers import DeviceController
from cloud_api.domain.reviews.controllers import ReviewController
from cloud_api.domain.system.controllers import DocsController, SystemController
from cloud_api.server.deps import dependencies
from cloud_api.server.exceptions import EXCEPTION_HANDLERS
from cloud_api.server.limits import MULTIPART_OVERHEAD, refuse_nul
from cloud_api.server.runtime import Runtime

CONTROLLERS = (
    ClaimController,
    AssessmentController,
    ReviewController,
    AuditController,
    DeviceController,
    SystemController,
    DocsController,
    ApiKeyController,
)
UNLIMITED_PATHS = ["/health", "/docs", "/redoc", "/schema"]


def rate_limit_identifier(request: Request) -> str:
    """Per API key (hashed: the store never sees keys), per client address without one."""
    key = presented_key(request)
    return (
        "key:" + hashlib.sha256(key.encode()).hexdigest()[:32] if key else "ip:" + get_remote_address(request)
    )


class ApplicationCore(InitPluginProtocol):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        settings = self.runtime.settings
        app_config.route_handlers.extend(c for c in CONTROLLERS if c is not ClaimController)
        # Only the upload route takes MAX_UPLOAD_SIZE_MB; every other body stays under JSON_BODY_LIMIT
        # (set in create_app: Litestar 2 reads the app-wide limit from its constructor, not from AppConfig).
        upload_limit = settings.max_upload_bytes + MULTIPART_OVERHEAD
        app_config.route_handlers.append(
            type("ClaimController", (ClaimController,), {"request_max_body_size": upload_limit})
        )
        app_config.dependencies.update(dependencies())
        app_config.exception_handlers.update(EXCEPTION_HANDLERS)
        app_config.state.update({"runtime": self.runtime})
        app_config.lifespan.append(self._lifespan)
        app_config.before_request = refuse_nul
        app_config.openapi_config = self._openapi()
        app_config.logging_config = None  # the process configures logging (cli.py); the app only logs
        app_config.middleware.append(
            RateLimitConfig(
                rate_limit=("minute", settings.rate_limit_per_minute),
                identifier_for_request=rate_limit_identifier,
                exclude=UNLIMITED_PATHS,
            ).middleware
        )
        if settings.cors_origins:
            app_config.cors_config = CORSConfig(allow_origins=list(settings.cors_origins))
        return app_config

    @asynccontextmanager
    async def _lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        await self.runtime.start()
        try:
            yield
        finally:
            await self.runtime.stop()

    @staticmethod
    def _openapi() -> OpenAPIConfig:
        return OpenAPIConfig(
            title="dashclaim cloud API",
            version=__version__,
            description=(
                "Dashcam incidents to assessed, reviewable insurance claims. "
                "Swagger UI at /docs, ReDoc at /redoc."
            ),
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(), RedocRenderPlugin(), JsonRenderPlugin()],
            components=Components(
                security_schemes={
                    "ApiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
                    "Bearer": SecurityScheme(type="http", scheme="bearer"),
                }
            ),
            security=[{"ApiKey": []}, {"Bearer": []}],
        )
