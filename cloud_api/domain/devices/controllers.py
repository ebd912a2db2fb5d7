from __future__ import annotations

from datetime import datetime

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ServiceUnavailableException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from cloud_api.domain.apikeys.guards import current_key, requires_api_key
from cloud_api.domain.devices.commands import BrokerUnavailable, CommandService
from cloud_api.domain.devices.health import FleetStatus, ProblemCode
from cloud_api.domain.devices.schemas import (
    CommandIn,
    CommandList,
    CommandOut,
    DeviceList,
    DeviceOut,
    HealthHistory,
)
from cloud_api.domain.devices.services import DeviceService
from cloud_api.server.limits import MAX_OFFSET


class DeviceController(Controller):
    path = "/devices"
    tags = ["devices"]
    guards = [requires_api_key]

    @get("/")
    async def list_devices(
        self,
        devices: NamedDependency[DeviceService],
        status: FromQuery[FleetStatus | None] = None,
        problem: FromQuery[ProblemCode | None] = None,
        limit: int = Parameter(default=100, ge=1, le=1000),
        offset: int = Parameter(default=0, ge=0, le=MAX_OFFSET),
    ) -> DeviceList:
        """Registered devices, those with problems first; filter by derived status and by problem."""
        items, total = await devices.list(limit=limit, offset=offset, status=status, problem=problem)
        return DeviceList(items=items, total=total)

    @get("/{device_id:str}")
    async def get_device(
        self, device_id: FromPath[str], devices: NamedDependency[DeviceService]
    ) -> DeviceOut:
        """One device: derived status, problems and its latest heartbeat."""
        if (device := await devices.get(device_id)) is None:
            raise NotFoundException(f"device {device_id} is not registered")
        return device

    @get("/{device_id:str}/health")
    async def health_history(
        self,
        device_id: FromPath[str],
        devices: NamedDependency[DeviceService],
        since: FromQuery[datetime | None] = None,
        limit: int = Parameter(default=500, ge=1, le=10_000),
    ) -> HealthHistory:
        """Heartbeats received from ``since`` on (ISO 8601), oldest first, within the retention."""
        return await devices.health_history(device_id, since, limit)

    @post("/{device_id:str}/commands", status_code=202)
    async def send_command(
        self,
        request: Request,
        device_id: FromPath[str],
        data: JSONBody[CommandIn],
        commands: NamedDependency[CommandService],
    ) -> CommandOut:
        """Publish ping, config_push or footage_request to the device (QoS 1); 202 with state SENT."""
        try:
            return await commands.issue(device_id, data, str(current_key(request).id))
        except BrokerUnavailable as exc:
            raise ServiceUnavailableException(str(exc)) from None

    @get("/{device_id:str}/commands")
    async def list_commands(
        self,
        device_id: FromPath[str],
        commands: NamedDependency[CommandService],
        limit: int = Parameter(default=50, ge=1, le=1000),
    ) -> CommandList:
        """The device's commands, newest first, with their state."""
        return await commands.list(device_id, limit)

    @get("/{device_id:str}/commands/{command_id:str}")
    async def get_command(
        self, device_id: FromPath[str], command_id: FromPath[str], commands: NamedDependency[CommandService]
    ) -> CommandOut:
        """One command and its state: SENT, ACKNOWLEDGED or FAILED."""
        return await commands.get(device_id, command_id)
