"""Creating and checking API keys. Keys are random, shown once, and stored only as sha256 hashes."""

from __future__ import annotations

import hashlib
import logging
import secrets
from enum import StrEnum

import msgspec

from cloud_api.db.helpers import utcnow
from cloud_api.domain.apikeys.tables import ApiKey

log = logging.getLogger(__name__)

KEY_PREFIX = "dck_"


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


class CreatedKey(msgspec.Struct, frozen=True):
    key: str
    """The secret itself: only ever returned here."""
    id: int
    name: str
    prefix: str
    scopes: tuple[Scope, ...]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(text: str) -> tuple[Scope, ...]:
    """``"read,write"`` -> scopes; unknown names raise ValueError."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("at least one scope is needed (read, write, admin)")
    return tuple(sorted({Scope(name) for name in names}))


class ApiKeyService:
    async def create(self, scopes: tuple[Scope, ...], name: str = "") -> CreatedKey:
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        prefix = key[:12]
        row = ApiKey(
            key_hash=hash_key(key),
            prefix=prefix,
            name=name or prefix,
            scopes=",".join(scopes),
            created_at=utcnow(),
        )
        await row.save().run()
        log.info("apikey.created id=%s prefix=%s scopes=%s", row.id, prefix, row.scopes)
        return CreatedKey(key=key, id=row.id, name=row.name, prefix=prefix, scopes=scopes)

    async def authenticate(self, key: str) -> AuthenticatedKey | None:
        """The key's identity and scopes, or None when it is unknown or revoked."""
        row = (
            await ApiKey.select()
            .where((ApiKey.key_hash == hash_key(key)) & ApiKey.revoked_at.is_null())
            .first()
            .run()
        )
        if row is None:
            return None
        scopes = frozenset(Scope(s) for s in row["scopes"].split(",") if s)
        return AuthenticatedKey(id=row["id"], name=row["name"], prefix=row["prefix"], scopes=scopes)
