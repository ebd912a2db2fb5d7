"""The device registry: registration with an Ed25519 public key, presence and heartbeats."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from cloud_api.db.helpers import from_json, to_json, utcnow
from cloud_api.domain.devices.schemas import DeviceOut
from cloud_api.domain.devices.tables import Device, DeviceHeartbeat
from shared_models import DeviceStatus, HealthHeartbeat

log = logging.getLogger(__name__)


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


def _out(row: dict[str, Any], heartbeat: dict[str, Any] | None = None) -> DeviceOut:
    return DeviceOut(
        device_id=row["device_id"],
        status=row["status"],
        registered_at=row["registered_at"],
        revoked_at=row["revoked_at"],
        last_seen=row["last_seen"],
        firmware=row["firmware"],
        latest_heartbeat=from_json(heartbeat["body"]) if heartbeat else None,
    )


class DeviceService:
    async def register(self, device_id: str, public_key_pem: str) -> DeviceOut:
        load_public_key(public_key_pem)
        if await Device.exists().where(Device.device_id == device_id).run():
            raise DeviceError(f"device {device_id} is already registered")
        await Device.insert(
            Device(device_id=device_id, public_key_pem=public_key_pem, registered_at=utcnow())
        ).run()
        log.info("device.registered device=%s", device_id)
        return await self.get(device_id)  # type: ignore[return-value]

    async def get(self, device_id: str) -> DeviceOut | None:
        row = await Device.select().where(Device.device_id == device_id).first().run()
        if row is None:
            return None
        heartbeat = (
            await DeviceHeartbeat.select(DeviceHeartbeat.body)
            .where(DeviceHeartbeat.device_id == device_id)
            .order_by(DeviceHeartbeat.id, ascending=False)
            .first()
            .run()
        )
        return _out(row, heartbeat)

    async def list(self, limit: int = 100, offset: int = 0) -> tuple[list[DeviceOut], int]:
        rows = await Device.select().order_by(Device.device_id).limit(limit).offset(offset).run()
        return [_out(row) for row in rows], await Device.count().run()

    async def verification_key(self, device_id: str) -> tuple[Ed25519PublicKey | None, str]:
        """The key that verifies this device's manifests, or None and why not (unknown / revoked)."""
        row = (
            await Device.select(Device.public_key_pem, Device.revoked_at)
            .where(Device.device_id == device_id)
            .first()
            .run()
        )
        if row is None:
            return None, "unknown_device"
        if row["revoked_at"] is not None:
            return None, "revoked_device"
        return load_public_key(row["public_key_pem"]), ""

    async def seen(self, device_id: str, at: datetime | None = None) -> None:
        await Device.update({Device.last_seen: at or utcnow()}).where(Device.device_id == device_id).run()

    async def record_status(self, status: DeviceStatus) -> None:
        values: dict[Any, Any] = {Device.status: status.state.value, Device.last_seen: utcnow()}
        if status.firmware:
            values[Device.firmware] = status.firmware
        await Device.update(values).where(Device.device_id == status.device_id).run()
        log.info("device.status device=%s state=%s", status.device_id, status.state)

    async def record_heartbeat(self, heartbeat: HealthHeartbeat) -> None:
        now = utcnow()
        await DeviceHeartbeat.insert(
            DeviceHeartbeat(device_id=heartbeat.device_id, received_at=now, body=to_json(heartbeat))
        ).run()
        values: dict[Any, Any] = {Device.last_seen: now, Device.status: "ONLINE"}
        if heartbeat.firmware:
            values[Device.firmware] = heartbeat.firmware
        await Device.update(values).where(Device.device_id == heartbeat.device_id).run()
