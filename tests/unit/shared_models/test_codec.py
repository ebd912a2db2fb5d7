"""Round trips for every wire message, and one typed error for every kind of bad payload."""

from __future__ import annotations

import msgspec
import pytest

from shared_models import (
    SCHEMA_VERSION,
    AckStatus,
    CameraState,
    ClipChunk,
    Command,
    CommandResult,
    ConfigPush,
    DeviceState,
    DeviceStatus,
    FootageRequest,
    HealthHeartbeat,
    IncidentAck,
    IncidentManifest,
    MinerTimeline,
    Ping,
    WireError,
    decode,
    encode,
    signing_bytes,
)


def _manifest(**changes: object) -> IncidentManifest:
    base = IncidentManifest(
        device_id="truck-07",
        incident_id="0190abcdef-1a2b",
        recorded_at=1_790_000_000.5,
        start_s=10.5,
        peak_s=12.0,
        end_s=13.25,
        clip_start_s=2.0,
        clip_duration_s=15.0,
        score=0.93,
        miner_scores={"motion": 0.9, "audio": 0.8, "proximity": 0.6},
        size_bytes=600_000,
        sha256="ab" * 32,
        chunk_size=262_144,
        chunk_sha256=["cd" * 32, "ef" * 32, "01" * 32],
        timelines=[MinerTimeline(miner="motion", rate_hz=10.0, scores=[0.0, 0.5, 0.9])],
        signature=b"\x01" * 64,
    )
    return msgspec.structs.replace(base, **changes)


MESSAGES = [
    _manifest(),
    ClipChunk(device_id="truck-07", incident_id="i-1", seq=2, total=3, data=b"\x00\xff" * 1000),
    IncidentAck(incident_id="i-1", status=AckStatus.MISSING, missing=[0, 2]),
    IncidentAck(incident_id="i-1", status=AckStatus.COMPLETE, claim_id="c-9"),
    DeviceStatus(device_id="truck-07", state=DeviceState.OFFLINE, at=1.0, firmware="0.1.0"),
    HealthHeartbeat(
        device_id="truck-07",
        sent_at=2.0,
        uptime_s=3600,
        cpu_percent=12.5,
        memory_percent=40.0,
        disk_free_bytes=10**9,
        outbox_depth=2,
        outbox_bytes=4_000_000,
        fps=29.9,
        dropped_frames=3,
        temperature_c=61.5,
        camera_state=CameraState.FROZEN,
        model_versions={"motion": "heuristic-1"},
        clock_offset_s=-0.2,
    ),
    ConfigPush(command_id="cmd-1", issued_at=5.0, config={"fusion": {"enter_threshold": 0.6}}),
    FootageRequest(command_id="cmd-2", issued_at=5.0, start_at=100.0, end_at=130.0),
    Ping(command_id="cmd-3", issued_at=5.0),
    CommandResult(device_id="truck-07", command_id="cmd-3", ok=True, detail="pong", at=6.0),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips_and_carries_the_schema_version(message: msgspec.Struct) -> None:
    payload = encode(message)
    assert decode(payload) == message
    assert decode(payload, type(message)) == message
    raw = msgspec.msgpack.decode(payload)
    assert raw["v"] == SCHEMA_VERSION
    assert raw["type"]


def test_commands_decode_as_the_command_union() -> None:
    for message in MESSAGES:
        if isinstance(message, ConfigPush | FootageRequest | Ping):
            assert decode(encode(message), Command) == message


def _raw(message: msgspec.Struct, **changes: object) -> bytes:
    raw = msgspec.msgpack.decode(encode(message))
    raw.update(changes)
    return msgspec.msgpack.encode({k: v for k, v in raw.items() if v is not _DROP})


_DROP = object()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xc1", "malformed"),
        (encode(MESSAGES[1])[:-5], "malformed"),
        (b"", "malformed"),
        (msgspec.msgpack.encode([1, 2, 3]), "unknown_type"),
        (msgspec.msgpack.encode({"v": 1, "command_id": "x"}), "unknown_type"),
        (_raw(MESSAGES[8], type="reboot"), "unknown_type"),
        (_raw(MESSAGES[8], surprise=1), "invalid"),
        (_raw(MESSAGES[8], command_id=_DROP), "invalid"),
        (_raw(MESSAGES[1], seq=-1), "invalid"),
        (_raw(MESSAGES[1], device_id="truck/07"), "invalid"),
        (_raw(MESSAGES[0], score=1.5), "invalid"),
        (_raw(MESSAGES[0], sha256="XYZ"), "invalid"),
        (_raw(MESSAGES[8], v=SCHEMA_VERSION + 1), "unsupported_version"),
    ],
)
def test_bad_payloads_raise_one_typed_error_with_a_countable_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(WireError) as info:
        decode(payload)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)


def test_a_valid_message_of_another_type_is_refused_where_one_type_is_expected() -> None:
    with pytest.raises(WireError) as info:
        decode(encode(MESSAGES[8]), ClipChunk)
    assert info.value.reason == "unexpected_type"


def test_signing_bytes_ignore_the_signature_but_cover_every_other_field() -> None:
    manifest = _manifest()
    assert signing_bytes(manifest) == signing_bytes(_manifest(signature=b"\x02" * 64))
    for change in ({"device_id": "truck-08"}, {"peak_s": 12.5}, {"sha256": "ac" * 32}, {"chunk_sha256": ["cd" * 32]}):
        assert signing_bytes(_manifest(**change)) != signing_bytes(manifest), change
