from __future__ import annotations

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter

from cloud_api.domain.apikeys.guards import requires_api_key
from cloud_api.domain.devices.schemas import DeviceList, DeviceOut
from cloud_api.domain.devices.services import DeviceService


class DeviceController(Controller):
    path = "/devices"
    tags = ["devices"]
    guards = [requires_api_key]

    @get("/")
    async def list_devices(
        self,
        devices: NamedDependency[DeviceService],
        limit: int = Parameter(default=100, ge=1, le=1000),
        offset: int = Parameter(default=0, ge=0),
    ) -> DeviceList:
        """Registered devices with their last known presence."""
        items, total = await devices.list(limit=limit, offset=offset)
        return DeviceList(items=items, total=total)

    @get("/{device_id:str}")
    async def get_device(
        self, device_id: FromPath[str], devices: NamedDependency[DeviceService]
    ) -> DeviceOut:
        """One device and its latest heartbeat."""
        if (device := await devices.get(device_id)) is None:
            raise NotFoundException(f"device {device_id} is not registered")
        return device
