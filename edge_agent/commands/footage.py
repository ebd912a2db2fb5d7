"""Footage request: cut a wall-clock window from the local recordings and deliver it like an incident.

The recordings are whatever the index knows: files and segment folders the agent read, and the
agent's own loop recording of a live source.

The clip goes through the same outbox and delivery as an incident clip, with a manifest marked
``reason="footage_request"``; its score is 0 (no miner judged it), so the outbox sends incidents first
and, when the disk quota is reached, evicts requested footage before any incident clip.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from edge_agent.clips import DeviceKey, new_incident_id
from edge_agent.clips.cut import DiskFullError
from edge_agent.clips.recordings import RecordingIndex, cut_recorded
from edge_agent.clips.sink import ClipSink
from edge_agent.commands.base import CommandFailed, CommandHandler
from edge_agent.fusion import Incident
from edge_agent.outbox import Outbox
from edge_agent.settings import AgentConfig
from edge_agent.source.base import SourceError
from shared_models import Command, FootageRequest

log = logging.getLogger(__name__)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


class FootageHandler(CommandHandler):
    command_type = FootageRequest

    def __init__(
        self,
        device_id: str,
        recordings: RecordingIndex,
        key: DeviceKey,
        outbox: Outbox,
        config: Callable[[], AgentConfig],
        work_dir: Path,
        on_put: Callable[[], None] = lambda: None,
    ) -> None:
        self.recordings = recordings
        self.config = config
        self.work_dir = Path(work_dir)
        self.sink = ClipSink(device_id, key, outbox, on_put)

    def handle(self, command: Command) -> str:
        assert isinstance(command, FootageRequest)
        length = command.end_at - command.start_at
        limit = self.config().clip.footage_max_s
        if length <= 0:
            raise CommandFailed("end_at must be after start_at")
        if length > limit:
            raise CommandFailed(
                f"window of {length:.0f}s is longer than the {limit:.0f}s allowed (clip.footage_max_s)"
            )
        incident_id = new_incident_id()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        out = self.work_dir / f"{incident_id}.mp4"
        try:
            cut = cut_recorded(self.recordings, command.start_at, command.end_at, out)
        except DiskFullError as exc:
            raise CommandFailed(str(exc)) from None
        except SourceError as exc:
            raise CommandFailed(f"cannot cut the footage: {exc}") from None
        if cut is None:
            raise CommandFailed(f"no local recording covers {_iso(command.start_at)}..{_iso(command.end_at)}")
        found, clip = cut
        window = Incident(
            start_s=found.start_s,
            peak_s=(found.start_s + found.end_s) / 2,
            end_s=found.end_s,
            score=0.0,
            miner_scores={},
        )
        chunk_size = self.config().clip.chunk_size_bytes
        entry = self.sink.put(
            incident_id, clip, window, [], found.recorded_at, chunk_size, reason="footage_request"
        )
        if entry is None:
            raise CommandFailed("the outbox is full of higher-scored clips; footage not kept")
        covered_from = found.recorded_at + clip.clip_start_s
        covered_to = covered_from + clip.duration_s
        log.info(
            "footage.queued command_id=%s incident=%s from=%s to=%s bytes=%d",
            command.command_id,
            incident_id,
            _iso(covered_from),
            _iso(covered_to),
            clip.size_bytes,
        )
        partial = covered_from > command.start_at + 1 or covered_to < command.end_at - 1
        return (
            f"queued incident={incident_id} covered={covered_from:.3f}..{covered_to:.3f}"
            f"{' (partial: the rest is not on the device)' if partial else ''} bytes={clip.size_bytes}"
        )
