"""Route guards: a valid key (``X-API-Key`` or ``Authorization: Bearer``) with the route's scope.

The scope comes from the handler's ``opt["scope"]`` where set (admin routes), else from the method:
reads need ``read``, everything else ``write``. ``admin`` implies both.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from cloud_api.domain.apikeys.schemas import AuthenticatedKey, Scope
from cloud_api.domain.apikeys.services import ApiKeyService

_READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def presented_key(connection: ASGIConnection) -> str | None:
    if key := connection.headers.get("x-api-key"):
        return key.strip()
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def required_scope(connection: ASGIConnection, handler: BaseRouteHandler) -> Scope:
    if scope := handler.opt.get("scope"):
        return Scope(scope)
    return Scope.READ if connection.scope.get("method", "GET") in _READ_METHODS else Scope.WRITE


async def requires_api_key(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """401 without a valid key, 403 when the key lacks the scope; the key lands in ``connection.state``."""
    key = presented_key(connection)
    if key is None:
        raise NotAuthorizedException("An API key is required (X-API-Key or Authorization: Bearer)")
    service: ApiKeyService = connection.app.state.runtime.apikeys
    authenticated = await service.authenticate(key)
    if authenticated is None:
        raise NotAuthorizedException("Unknown or revoked API key")
    scope = required_scope(connection, handler)
    if not authenticated.allows(scope):
        raise PermissionDeniedException(f"This API key lacks the '{scope}' scope")
    connection.state.api_key = authenticated


def current_key(connection: ASGIConnection) -> AuthenticatedKey:
    return connection.state.api_key
