from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body, FromQuery, Parameter

from cloud_api.domain.apikeys.guards import current_key, requires_api_key
from cloud_api.domain.apikeys.schemas import CreatedKey, KeyCreate, KeyList, KeyOut
from cloud_api.domain.apikeys.services import ApiKeyService
from cloud_api.server import openapi_docs as docs
from cloud_api.server.limits import MAX_ID, MAX_OFFSET

ADMIN = {"scope": "admin"}


def actor(request: Request) -> str:
    """How the audit log names the key that made a request: its name and public prefix."""
    key = current_key(request)
    return f"apikey:{key.name}:{key.prefix}"


class ApiKeyController(Controller):
    """Key administration: every route needs the ``admin`` scope."""

    path = "/admin/keys"
    tags = ["admin"]
    guards = [requires_api_key]
    opt = ADMIN

    @post(
        "/",
        status_code=201,
        responses={
            **docs.ok(CreatedKey, "The key, shown this once", docs.KEY_CREATED, 201),
            **docs.problems(413, 422),
        },
    )
    async def create(
        self,
        request: Request,
        data: Annotated[
            KeyCreate,
            Body(
                examples=[
                    Example(
                        summary="A batch integration",
                        value={"scopes": ["read", "write"], "name": "insurer-batch"},
                    )
                ]
            ),
        ],
        apikeys: NamedDependency[ApiKeyService],
    ) -> CreatedKey:
        """Create a key; the response holds the key itself, the only time it is ever shown."""
        return await apikeys.create(tuple(data.scopes), name=data.name or "", actor=actor(request))

    @get(
        "/",
        responses={
            **docs.ok(KeyList, "Active keys", {"items": [docs.KEY], "total": 1, "limit": 100, "offset": 0}),
            **docs.problems(422),
        },
    )
    async def list_keys(
        self,
        apikeys: NamedDependency[ApiKeyService],
        limit: int = Parameter(default=100, ge=1, le=1000),
        offset: int = Parameter(default=0, ge=0, le=MAX_OFFSET),
        include_revoked: FromQuery[bool] = False,
    ) -> KeyList:
        """Keys by id, without their secrets (only hashes are stored)."""
        return await apikeys.list(limit=limit, offset=offset, include_revoked=include_revoked)

    @post(
        "/{key_id:int}/revoke",
        status_code=200,
        responses={**docs.ok(KeyOut, "Revoked", {**docs.KEY, "revoked_at": docs.NOW}), **docs.problems(404)},
    )
    async def revoke(
        self,
        request: Request,
        key_id: Annotated[int, Parameter(ge=1, le=MAX_ID)],
        apikeys: NamedDependency[ApiKeyService],
    ) -> KeyOut:
        """Revoke a key at once and for good; revoking it again is a no-op."""
        return await apikeys.revoke(key_id, actor=actor(request))
