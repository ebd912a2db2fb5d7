"""The last step of every clip: signed manifest, durable outbox, delivery woken.

File incidents, live incidents and requested footage are cut from different places, then all leave
through here, so what the cloud receives is built one way. A clip of a file names its source
(``source_key``): its peak is marked processed after the outbox put and before delivery is woken, so
a restart never cuts it again (the outbox entry covers a death between the two).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from edge_agent import __version__
from edge_agent.clips.cut import ClipInfo
from edge_agent.clips.manifest import build_manifest
from edge_agent.clips.signing import DeviceKey
from edge_agent.fusion.incident import Incident
from edge_agent.outbox import Outbox, OutboxEntry, ProcessedSources
from shared_models import MinerTimeline


class ClipSink:
    def __init__(
        self,
        device_id: str,
        key: DeviceKey,
        outbox: Outbox,
        on_put: Callable[[], None],
        processed: ProcessedSources | None = None,
    ) -> None:
        self.device_id = device_id
        self.key = key
        self.outbox = outbox
        self.on_put = on_put
        self.processed = processed

    def put(
        self,
        incident_id: str,
        clip: ClipInfo,
        incident: Incident,
        timelines: Sequence[MinerTimeline],
        recorded_at: float,
        chunk_size: int,
        reason: Literal["incident", "footage_request"] = "incident",
        source_key: str | None = None,
    ) -> OutboxEntry | None:
        """Sign and queue ``clip``; None when the outbox quota evicted it at once (it scored lowest)."""
        manifest = build_manifest(
            self.device_id,
            incident_id,
            incident,
            clip,
            timelines,
            recorded_at,
            chunk_size,
            self.key,
            __version__,
            reason=reason,
        )
        entry = self.outbox.put(Path(clip.path), manifest, source_key=source_key)
        if source_key is not None and self.processed is not None:
            self.processed.add_peak(source_key, incident.peak_s)
        self.on_put()
        return entry
