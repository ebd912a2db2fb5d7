from piccolo.columns import JSON, Text, Timestamptz, Varchar
from piccolo.table import Table


class Device(Table, tablename="devices"):
    device_id = Varchar(length=64, unique=True)
    public_key_pem = Text()
    """Ed25519 public key (PEM) that verifies the device's incident manifests."""
    registered_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    last_seen = Timestamptz(null=True, default=None)
    """Any message from the device (status, heartbeat, manifest, command result)."""
    status = Varchar(length=16, default="UNKNOWN")
    """ONLINE / OFFLINE as last reported on the retained status topic (the OFFLINE one is the Last Will),
    UNKNOWN until the device first reports. The status shown to people is derived (devices/health.py)."""
    state_at = Timestamptz(null=True, default=None)
    """When ``status`` was last reported."""
    firmware = Varchar(length=64, default="")
    last_heartbeat_at = Timestamptz(null=True, default=None)
    latest_health = JSON(null=True, default=None)
    """The latest HealthHeartbeat as JSON, kept here so a fleet listing needs no join over the history."""


class DeviceHeartbeat(Table, tablename="device_heartbeats"):
    """Health history; rows older than HEALTH_HISTORY_RETENTION_H are deleted by the fleet sweeper."""

    device_id = Varchar(length=64, index=True)
    received_at = Timestamptz()
    body = JSON()
    """The HealthHeartbeat as JSON, as the device sent it."""


class DeviceCommand(Table, tablename="device_commands"):
    """A command sent to a device over MQTT and where it stands: SENT -> ACKNOWLEDGED / FAILED."""

    id = Varchar(length=36, primary_key=True)
    """A uuid4 string; the ``command_id`` on the wire."""
    device_id = Varchar(length=64, index=True)
    kind = Varchar(length=32)
    """config_push, footage_request or ping."""
    body = JSON()
    """The command as sent (JSON)."""
    state = Varchar(length=16)
    detail = Text(default="")
    """The device's CommandResult detail, if any."""
    issued_by = Varchar(length=64, default="")
    """The API key id that issued it."""
    created_at = Timestamptz()
    updated_at = Timestamptz()
