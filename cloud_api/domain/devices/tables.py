from piccolo.columns import JSON, Text, Timestamptz, Varchar
from piccolo.table import Table


class Device(Table, tablename="devices"):
    device_id = Varchar(length=64, unique=True)
    public_key_pem = Text()
    """Ed25519 public key (PEM) that verifies the device's incident manifests."""
    registered_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    last_seen = Timestamptz(null=True, default=None)
    status = Varchar(length=16, default="UNKNOWN")
    """ONLINE / OFFLINE from the retained status topic, UNKNOWN until the device first reports."""
    firmware = Varchar(length=64, default="")


class DeviceHeartbeat(Table, tablename="device_heartbeats"):
    device_id = Varchar(length=64, index=True)
    received_at = Timestamptz()
    body = JSON()
    """The HealthHeartbeat as JSON, as the device sent it."""
