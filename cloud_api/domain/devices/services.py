"""The device registry: registration with an Ed25519 public key, revocation, presence, heartbeats and
their history, and the fleet view derived from them (status and problems, devices/health.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from cloud_api.db.helpers import from_json, to_json, utcnow
from cloud_api.domain.devices.health import FleetStatus, ProblemCode, Thresholds, derive_status, problems
from cloud_api.domain.devices.schemas import DeviceOut, HealthHistory, HeartbeatOut
from cloud_api.domain.devices.tables import Device, DeviceHeartbeat
from cloud_api.domain.errors import NotFoundError
from cloud_api.settings import get_settings
from shared_models import DeviceStatus, HealthHeartbeat

log = logging.getLogger(__name__)

_STATUS_ORDER = {s: i for i, s in enumerate(FleetStatus)}


class DeviceError(ValueError):
    """A registration the registry refuses (bad key, duplicate id)."""


def load_public_key(pem: str) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise DeviceError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise DeviceError("the public key must be Ed25519")
    return key


def _out(row: dict[str, Any], now: datetime, t: Thresholds) -> DeviceOut:
    health = from_json(row["latest_health"])
    return DeviceOut(
        device_id=row["device_id"],
        status=derive_status(row, now, t),
        reported_state=row["status"],
        registered_at=row["registered_at"],
        revoked_at=row["revoked_at"],
        last_seen=row["last_seen"],
        last_heartbeat_at=row["last_heartbeat_at"],
        firmware=row["firmware"],
        problems=problems(health, row["last_heartbeat_at"], t),
        latest_heartbeat=health,
    )


async def count_by_status(thresholds: Thresholds | None = None) -> dict[str, int]:
    """Registered devices by derived status (every status present, zeros included), for /metrics."""
    t = thresholds or Thresholds.from_settings(get_settings())
    now = utcnow()
    counts = dict.fromkeys((s.value for s in FleetStatus), 0)
    rows = await Device.select(Device.status, Device.revoked_at, Device.last_seen).run()
    for row in rows:
        counts[derive_status(row, now, t).value] += 1
    return counts


class DeviceService:
    def __init__(self, thresholds: Thresholds | None = None, key_cache_s: float = 0.0) -> None:
        self.thresholds = thresholds or Thresholds.from_settings(get_settings())
        self.key_cache_s = key_cache_s
        self._keys: dict[str, tuple[float, Ed25519PublicKey | None, str]] = {}
        self._loading: dict[str, asyncio.Future[tuple[Ed25519PublicKey | None, str]]] = {}

    async def register(self, device_id: str, public_key_pem: str) -> DeviceOut:
        load_public_key(public_key_pem)
        if await Device.exists().where(Device.device_id == device_id).run():
            raise DeviceError(f"device {device_id} is already registered")
        await Device.insert(
            Device(device_id=device_id, public_key_pem=public_key_pem, registered_at=utcnow())
        ).run()
        log.info("device.registered device=%s", device_id)
        return await self.get(device_id)  # type: ignore[return-value]

    async def revoke(self, device_id: str) -> DeviceOut:
        """Refuse the device's messages from now on (its broker credentials go separately)."""
        updated = (
            await Device.update({Device.revoked_at: utcnow()})
            .where((Device.device_id == device_id) & Device.revoked_at.is_null())
            .returning(Device.device_id)
            .run()
        )
        device = await self.get(device_id)
        if device is None:
            raise NotFoundError(f"device {device_id} is not registered")
        self._keys.pop(device_id, None)
        if updated:
            log.info("device.revoked device=%s", device_id)
        return device

    async def get(self, device_id: str) -> DeviceOut | None:
        row = await Device.select().where(Device.device_id == device_id).first().run()
        return _out(row, utcnow(), self.thresholds) if row else None

    async def list(
        self,
        limit: int = 100,
        offset: int = 0,
        status: FleetStatus | None = None,
        problem: ProblemCode | None = None,
    ) -> tuple[list[DeviceOut], int]:
        """Devices with problems first (most problems first), then by status, then by id.

        Status and problems are derived, so filtering and ordering happen here over the whole registry:
        fine for fleets of thousands, a materialised status column would be the next step beyond.
        """
        now = utcnow()
        devices = [_out(row, now, self.thresholds) for row in await Device.select().run()]
        if status is not None:
            devices = [d for d in devices if d.status is status]
        if problem is not None:
            devices = [d for d in devices if any(p.code is problem for p in d.problems)]
        devices.sort(key=lambda d: (-len(d.problems), _STATUS_ORDER[d.status], d.device_id))
        return devices[offset : offset + limit], len(devices)

    async def health_history(self, device_id: str, since: datetime | None, limit: int) -> HealthHistory:
        if not await Device.exists().where(Device.device_id == device_id).run():
            raise NotFoundError(f"device {device_id} is not registered")
        query = DeviceHeartbeat.select(DeviceHeartbeat.received_at, DeviceHeartbeat.body).where(
            DeviceHeartbeat.device_id == device_id
        )
        if since is not None:
            query = query.where(DeviceHeartbeat.received_at >= since)
        rows = (
            await query.order_by(DeviceHeartbeat.received_at).order_by(DeviceHeartbeat.id).limit(limit).run()
        )
        items = [HeartbeatOut(received_at=r["received_at"], heartbeat=from_json(r["body"])) for r in rows]
        return HealthHistory(device_id=device_id, items=items)

    async def count_by_status(self) -> dict[str, int]:
        return await count_by_status(self.thresholds)

    async def verification_key(self, device_id: str) -> tuple[Ed25519PublicKey | None, str]:
        """The key that verifies this device's manifests, or None and why not (unknown / revoked).

        Cached for ``key_cache_s`` (INGEST_DEVICE_CACHE_S): every chunk asks, and a revocation made by
        another process takes at most that long to apply here (the broker refuses the device at once).
        The messages of a device checked at once when its entry runs out share one query.
        """
        cached = self._keys.get(device_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1], cached[2]
        loading = self._loading.get(device_id)
        if loading is None:
            loading = self._loading[device_id] = asyncio.ensure_future(self._load_key(device_id))
            loading.add_done_callback(lambda _: self._loading.pop(device_id, None))
        return await asyncio.shield(loading)

    async def _load_key(self, device_id: str) -> tuple[Ed25519PublicKey | None, str]:
        row = (
            await Device.select(Device.public_key_pem, Device.revoked_at)
            .where(Device.device_id == device_id)
            .first()
            .run()
        )
        if row is None:
            result: tuple[Ed25519PublicKey | None, str] = (None, "unknown_device")
        elif row["revoked_at"] is not None:
            result = (None, "revoked_device")
        else:
            result = (load_public_key(row["public_key_pem"]), "")
        if self.key_cache_s > 0:
            self._keys[device_id] = (time.monotonic() + self.key_cache_s, *result)
        return result

    async def seen(self, *device_ids: str) -> None:
        """Mark devices heard from now (one statement for a whole ingest batch)."""
        if device_ids:
            await (
                Device.update({Device.last_seen: utcnow()})
                .where(Device.device_id.is_in(list(device_ids)))
                .run()
            )

    async def record_status(self, status: DeviceStatus) -> None:
        now = utcnow()
        values: dict[Any, Any] = {
            Device.status: status.state.value,
            Device.last_seen: now,
            Device.state_at: now,
        }
        if status.firmware:
            values[Device.firmware] = status.firmware
        await Device.update(values).where(Device.device_id == status.device_id).run()
        log.info("device.status device=%s state=%s", status.device_id, status.state)

    async def record_heartbeat(self, heartbeat: HealthHeartbeat) -> None:
        now = utcnow()
        body = to_json(heartbeat)
        await DeviceHeartbeat.insert(
            DeviceHeartbeat(device_id=heartbeat.device_id, received_at=now, body=body)
        ).run()
        values: dict[Any, Any] = {
            Device.last_seen: now,
            Device.last_heartbeat_at: now,
            Device.latest_health: body,
            Device.status: "ONLINE",  # a heartbeat is proof of life, whatever the retained status said
        }
        if heartbeat.firmware:
            values[Device.firmware] = heartbeat.firmware
        await Device.update(values).where(Device.device_id == heartbeat.device_id).run()

    async def prune_history(self, retention_h: float) -> int:
        """Delete heartbeats older than the retention; returns how many went."""
        cutoff = utcnow() - timedelta(hours=retention_h)
        old = DeviceHeartbeat.received_at < cutoff
        count = await DeviceHeartbeat.count().where(old).run()
        if count:
            await DeviceHeartbeat.delete().where(old).run()
            log.info("device.history_pruned rows=%d cutoff=%s", count, cutoff.isoformat())
        return count
