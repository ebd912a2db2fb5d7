"""Commands to devices: stored, then published on ``fleet/<id>/commands`` (QoS 1, so a device that is
offline gets it from its persistent session when it returns), and settled by the device's
CommandResult: SENT -> ACKNOWLEDGED (ok) or FAILED (not ok)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Protocol

import msgspec

from cloud_api.db.helpers import from_json, to_json, utcnow
from cloud_api.domain.devices.schemas import (
    CommandIn,
    CommandList,
    CommandOut,
    ConfigPushIn,
    FootageRequestIn,
    PingIn,
)
from cloud_api.domain.devices.tables import Device, DeviceCommand
from cloud_api.domain.errors import ConflictError, NotFoundError
from shared_models import CommandResult, ConfigPush, FootageRequest, Ping, TopicKind, encode, topic_for

log = logging.getLogger(__name__)


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes) -> bool:
        """Queue ``payload`` at QoS 1; False when not connected to the broker."""
        ...


class BrokerUnavailable(RuntimeError):
    """The command could not be handed to the broker (ingest off or disconnected): nothing was stored."""


def to_wire(command_id: str, request: CommandIn) -> ConfigPush | FootageRequest | Ping:
    issued_at = time.time()
    if isinstance(request, ConfigPushIn):
        return ConfigPush(command_id=command_id, issued_at=issued_at, config=request.config)
    if isinstance(request, FootageRequestIn):
        return FootageRequest(
            command_id=command_id, issued_at=issued_at, start_at=request.start_at, end_at=request.end_at
        )
    assert isinstance(request, PingIn)
    return Ping(command_id=command_id, issued_at=issued_at)


def _out(row: dict[str, Any]) -> CommandOut:
    return CommandOut(
        command_id=row["id"],
        device_id=row["device_id"],
        kind=row["kind"],
        state=row["state"],
        detail=row["detail"],
        body=from_json(row["body"]),
        issued_by=row["issued_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class CommandService:
    def __init__(self, publisher: Publisher | None) -> None:
        self.publisher = publisher

    async def issue(self, device_id: str, request: CommandIn, issued_by: str) -> CommandOut:
        row = await Device.select(Device.revoked_at).where(Device.device_id == device_id).first().run()
        if row is None:
            raise NotFoundError(f"device {device_id} is not registered")
        if row["revoked_at"] is not None:
            raise ConflictError(f"device {device_id} is revoked")
        command_id = str(uuid.uuid4())
        wire = to_wire(command_id, request)
        if self.publisher is None:
            raise BrokerUnavailable("MQTT ingest is disabled in this process (INGEST_ENABLED=false)")
        now = utcnow()
        # Stored before publishing: a device fast enough to answer finds the row to settle.
        await DeviceCommand.insert(
            DeviceCommand(
                id=command_id,
                device_id=device_id,
                kind=type(wire).__struct_config__.tag,
                body=to_json(msgspec.to_builtins(wire)),
                state="SENT",
                issued_by=issued_by,
                created_at=now,
                updated_at=now,
            )
        ).run()
        if not self.publisher.publish(topic_for(TopicKind.COMMAND, device_id), encode(wire)):
            await DeviceCommand.delete().where(DeviceCommand.id == command_id).run()
            raise BrokerUnavailable("not connected to the MQTT broker; the command was not sent")
        log.info(
            "command.sent device=%s command=%s kind=%s", device_id, command_id, wire.__struct_config__.tag
        )
        return await self.get(device_id, command_id)

    async def get(self, device_id: str, command_id: str) -> CommandOut:
        row = (
            await DeviceCommand.select()
            .where((DeviceCommand.id == command_id) & (DeviceCommand.device_id == device_id))
            .first()
            .run()
        )
        if row is None:
            raise NotFoundError(f"command {command_id} of device {device_id} does not exist")
        return _out(row)

    async def list(self, device_id: str, limit: int) -> CommandList:
        rows = (
            await DeviceCommand.select()
            .where(DeviceCommand.device_id == device_id)
            .order_by(DeviceCommand.created_at, ascending=False)
            .limit(limit)
            .run()
        )
        return CommandList(items=[_out(r) for r in rows])

    async def record_result(self, result: CommandResult) -> bool:
        """Settle a SENT command from the device's answer; False for an unknown or settled one."""
        state = "ACKNOWLEDGED" if result.ok else "FAILED"
        updated = (
            await DeviceCommand.update(
                {
                    DeviceCommand.state: state,
                    DeviceCommand.detail: result.detail,
                    DeviceCommand.updated_at: utcnow(),
                }
            )
            .where(
                (DeviceCommand.id == result.command_id)
                & (DeviceCommand.device_id == result.device_id)
                & (DeviceCommand.state == "SENT")
            )
            .returning(DeviceCommand.id)
            .run()
        )
        log.info(
            "command.result device=%s command=%s state=%s applied=%s",
            result.device_id,
            result.command_id,
            state,
            bool(updated),
        )
        return bool(updated)
