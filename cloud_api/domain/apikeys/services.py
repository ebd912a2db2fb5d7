"""Creating, listing, revoking and checking API keys. Keys are random, shown once, and stored only as
sha256 hashes; creation and revocation go into the audit log with the actor who did it."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from typing import Any

import msgspec

from cloud_api.db.engine import write_transaction
from cloud_api.db.helpers import utcnow
from cloud_api.domain.apikeys.schemas import AuthenticatedKey, CreatedKey, KeyList, KeyOut, Scope
from cloud_api.domain.apikeys.tables import ApiKey
from cloud_api.domain.audit.schemas import ActorType
from cloud_api.domain.audit.services import AuditService
from cloud_api.domain.errors import NotFoundError

log = logging.getLogger(__name__)

KEY_PREFIX = "dck_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(text: str) -> tuple[Scope, ...]:
    """``"read,write"`` -> scopes; unknown names raise ValueError."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("at least one scope is needed (read, write, admin)")
    return tuple(sorted({Scope(name) for name in names}))


def _out(row: dict[str, Any]) -> KeyOut:
    return KeyOut(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        scopes=[Scope(s) for s in row["scopes"].split(",") if s],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


_PUBLIC_COLUMNS = (
    ApiKey.id,
    ApiKey.name,
    ApiKey.prefix,
    ApiKey.scopes,
    ApiKey.created_at,
    ApiKey.revoked_at,
)


_CACHE_MAX = 10_000


class ApiKeyService:
    def __init__(self, audit: AuditService, cache_s: float = 0.0) -> None:
        """``cache_s``: how long a successful check is reused (API_KEY_CACHE_S; 0 asks every time).

        A revocation made through this process applies at once; one made by another replica within
        ``cache_s``. Unknown keys are never cached, so a new key works at once everywhere.
        """
        self.audit = audit
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, AuthenticatedKey]] = {}

    async def create(self, scopes: tuple[Scope, ...], name: str = "", actor: str = "cli") -> CreatedKey:
        """A new key; the audit entry records its id, name, prefix and scopes, never the key."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        prefix = key[:12]
        scopes = tuple(sorted(set(scopes)))
        row = ApiKey(
            key_hash=hash_key(key),
            prefix=prefix,
            name=name or prefix,
            scopes=",".join(scopes),
            created_at=utcnow(),
        )
        async with write_transaction():
            await row.save().run()
            after = {"id": row.id, "name": row.name, "prefix": prefix, "scopes": list(scopes)}
            await self.audit.log_action("apikey_created", ActorType.HUMAN, actor, after=after)
        log.info("apikey.created id=%s prefix=%s scopes=%s actor=%s", row.id, prefix, row.scopes, actor)
        return CreatedKey(key=key, id=row.id, name=row.name, prefix=prefix, scopes=scopes)

    async def revoke(self, key_id: int, actor: str) -> KeyOut:
        """Revoke for good (idempotent: revoking a revoked key changes and audits nothing)."""
        async with write_transaction():
            row = await ApiKey.select(*_PUBLIC_COLUMNS).where(ApiKey.id == key_id).first().run()
            if row is None:
                raise NotFoundError(f"api key {key_id} does not exist")
            if row["revoked_at"] is not None:
                return _out(row)
            before = _out(row)
            now = utcnow()
            await ApiKey.update({ApiKey.revoked_at: now}).where(ApiKey.id == key_id).run()
            self._cache.clear()  # by id, not by hash: the hash is not at hand, and revocations are rare
            after = msgspec.structs.replace(before, revoked_at=now)
            await self.audit.log_action("apikey_revoked", ActorType.HUMAN, actor, before=before, after=after)
        log.info("apikey.revoked id=%s prefix=%s actor=%s", key_id, row["prefix"], actor)
        return after

    async def list(self, limit: int, offset: int, include_revoked: bool) -> KeyList:
        query = ApiKey.select(*_PUBLIC_COLUMNS).order_by(ApiKey.id)
        count = ApiKey.count()
        if not include_revoked:
            query, count = query.where(ApiKey.revoked_at.is_null()), count.where(ApiKey.revoked_at.is_null())
        rows = await query.limit(limit).offset(offset).run()
        return KeyList(items=[_out(r) for r in rows], total=await count.run(), limit=limit, offset=offset)

    async def authenticate(self, key: str) -> AuthenticatedKey | None:
        """The key's identity and scopes, or None when it is unknown or revoked."""
        digest = hash_key(key)
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        row = (
            await ApiKey.select(ApiKey.id, ApiKey.name, ApiKey.prefix, ApiKey.scopes)
            .where((ApiKey.key_hash == digest) & ApiKey.revoked_at.is_null())
            .first()
            .run()
        )
        if row is None:
            self._cache.pop(digest, None)
            return None
        scopes = frozenset(Scope(s) for s in row["scopes"].split(",") if s)
        found = AuthenticatedKey(id=row["id"], name=row["name"], prefix=row["prefix"], scopes=scopes)
        if self.cache_s > 0:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[digest] = (time.monotonic() + self.cache_s, found)
        return found
