"""Every MQTT payload as a msgspec Struct.

Each message is tagged (field ``type``) so one decoder can tell them apart, carries the schema version
``v`` and forbids unknown fields: a sender that drifts from the contract is told so at once instead of
having fields silently dropped.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from shared_models.enums import AckStatus, CameraState, DeviceState

SCHEMA_VERSION = 1

DeviceId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
IncidentId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Sha256Hex = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
Seconds = Annotated[float, msgspec.Meta(ge=0)]
Score = Annotated[float, msgspec.Meta(ge=0, le=1)]


class _Wire(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", kw_only=True):
    v: int = SCHEMA_VERSION


class MinerTimeline(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One miner's score over the clip, sampled at a fixed rate from the clip's first frame."""

    miner: str
    rate_hz: float
    scores: list[float]


class IncidentManifest(_Wire, tag="incident_manifest"):
    """What a device found and the clip it cut, sent before the chunks.

    Times ending in ``_s`` are seconds on the source's timeline (from the start of the recording);
    ``recorded_at`` anchors that timeline to the device's wall clock (Unix seconds).
    """

    device_id: DeviceId
    incident_id: IncidentId
    recorded_at: float
    start_s: Seconds
    peak_s: Seconds
    end_s: Seconds
    clip_start_s: Seconds
    clip_duration_s: Seconds
    score: Score
    miner_scores: dict[str, float]
    size_bytes: Annotated[int, msgspec.Meta(ge=1)]
    sha256: Sha256Hex
    chunk_size: Annotated[int, msgspec.Meta(ge=1)]
    chunk_sha256: list[Sha256Hex]
    timelines: list[MinerTimeline] = []
    content_type: str = "video/mp4"
    firmware: str = ""
    reason: Literal["incident", "footage_request"] = "incident"
    signature: bytes = b""

    @property
    def chunk_count(self) -> int:
        return len(self.chunk_sha256)


class ClipChunk(_Wire, tag="clip_chunk"):
    device_id: DeviceId
    incident_id: IncidentId
    seq: Annotated[int, msgspec.Meta(ge=0)]
    total: Annotated[int, msgspec.Meta(ge=1)]
    data: bytes


class IncidentAck(_Wire, tag="incident_ack"):
    """Cloud to device. COMPLETE lets the device drop the clip; MISSING names the chunks to resend."""

    incident_id: IncidentId
    status: AckStatus
    missing: list[int] = []
    claim_id: str | None = None
    reason: str = ""


class DeviceStatus(_Wire, tag="device_status"):
    """Retained on ``fleet/{id}/status``; the OFFLINE one is the device's Last Will."""

    device_id: DeviceId
    state: DeviceState
    at: float
    firmware: str = ""


class HealthHeartbeat(_Wire, tag="health"):
    device_id: DeviceId
    sent_at: float
    uptime_s: Seconds
    cpu_percent: float
    memory_percent: float
    disk_free_bytes: int
    outbox_depth: int
    outbox_bytes: int
    fps: float
    dropped_frames: int
    temperature_c: float | None = None
    camera_state: CameraState = CameraState.UNKNOWN
    model_versions: dict[str, str] = {}
    firmware: str = ""
    clock_offset_s: float | None = None


class ConfigPush(_Wire, tag="config_push"):
    """New settings (TOML keys as a nested mapping) applied without a restart."""

    command_id: str
    issued_at: float
    config: dict[str, Any]


class FootageRequest(_Wire, tag="footage_request"):
    """Cut and deliver the recording between two wall-clock instants, like an incident."""

    command_id: str
    issued_at: float
    start_at: float
    end_at: float


class Ping(_Wire, tag="ping"):
    command_id: str
    issued_at: float


Command = ConfigPush | FootageRequest | Ping


class CommandResult(_Wire, tag="command_result"):
    device_id: DeviceId
    command_id: str
    ok: bool
    detail: str = ""
    at: float = 0.0


Message = (
    IncidentManifest
    | ClipChunk
    | IncidentAck
    | DeviceStatus
    | HealthHeartbeat
    | ConfigPush
    | FootageRequest
    | Ping
    | CommandResult
)
