"""Builds the signed manifest that announces an incident and its clip to the cloud."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import msgspec

from edge_agent.clips.cut import ClipInfo
from edge_agent.clips.signing import DeviceKey
from edge_agent.fusion.incident import Incident
from shared_models import IncidentManifest, MinerTimeline, signing_bytes


def new_incident_id() -> str:
    """24 hex chars: nanoseconds since the epoch then 32 random bits, so ids sort by creation time."""
    return f"{time.time_ns():016x}{secrets.token_hex(4)}"


def timelines_for_clip(timelines: Mapping[str, MinerTimeline], clip: ClipInfo) -> list[MinerTimeline]:
    """Each whole-source timeline cut to the clip's span, first bin at the clip's first frame."""
    out = []
    for kind, timeline in sorted(timelines.items()):
        first = round(clip.clip_start_s * timeline.rate_hz)
        count = round(clip.duration_s * timeline.rate_hz)
        out.append(
            MinerTimeline(miner=kind, rate_hz=timeline.rate_hz, scores=timeline.scores[first : first + count])
        )
    return out


def chunk_hashes(path: Path, chunk_size: int) -> tuple[str, list[str]]:
    """(sha256 of the file, sha256 of each ``chunk_size`` piece), reading the file once."""
    whole, chunks = hashlib.sha256(), []
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            whole.update(chunk)
            chunks.append(hashlib.sha256(chunk).hexdigest())
    return whole.hexdigest(), chunks


def build_manifest(
    device_id: str,
    incident_id: str,
    incident: Incident,
    clip: ClipInfo,
    timelines: Sequence[MinerTimeline],
    recorded_at: float,
    chunk_size: int,
    key: DeviceKey,
    firmware: str,
    reason: Literal["incident", "footage_request"] = "incident",
) -> IncidentManifest:
    """The manifest for ``clip``, signed over ``shared_models.signing_bytes``.

    ``timelines`` cover the clip's span (see ``timelines_for_clip``). Raises ValueError if the clip file
    no longer matches the hash taken when it was cut, or if a field breaks the wire contract.
    """
    sha256, chunks = chunk_hashes(Path(clip.path), chunk_size)
    if sha256 != clip.sha256:
        raise ValueError(f"{clip.path} changed since it was cut: sha256 {sha256} != {clip.sha256}")
    unsigned = IncidentManifest(
        device_id=device_id,
        incident_id=incident_id,
        recorded_at=recorded_at,
        start_s=incident.start_s,
        peak_s=incident.peak_s,
        end_s=incident.end_s,
        clip_start_s=clip.clip_start_s,
        clip_duration_s=clip.duration_s,
        score=incident.score,
        miner_scores=dict(incident.miner_scores),
        size_bytes=clip.size_bytes,
        sha256=sha256,
        chunk_size=chunk_size,
        chunk_sha256=chunks,
        timelines=list(timelines),
        firmware=firmware,
        reason=reason,
    )
    try:  # Structs built in code skip the contract's constraints; check them before signing
        msgspec.convert(msgspec.to_builtins(unsigned), IncidentManifest)
    except msgspec.ValidationError as exc:
        raise ValueError(f"manifest breaks the wire contract: {exc}") from None
    return msgspec.structs.replace(unsigned, signature=key.sign(signing_bytes(unsigned)))
