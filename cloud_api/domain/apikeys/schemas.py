from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class AuthenticatedKey(msgspec.Struct, frozen=True):
    id: int
    name: str
    prefix: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes


class CreatedKey(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    """The secret itself: only ever returned here, once."""
    id: int
    name: str
    prefix: str
    scopes: tuple[Scope, ...]


class KeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=3)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[\w.@-]+$")] | None = None
    """Shown in listings and used as the default reviewer id of decisions made with the key."""


class KeyOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    prefix: str
    """The key's first characters: enough to tell keys apart, useless to authenticate."""
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None


class KeyList(msgspec.Struct, kw_only=True):
    items: list[KeyOut]
    total: int
    limit: int
    offset: int
