"""Footage request: cut a wall-clock window from the local recordings and deliver it like an incident.

The clip goes through the same outbox and delivery as an incident clip, with a manifest marked
``reason="footage_request"``; its score is 0 (no miner judged it), so the outbox sends incidents first
and, when the disk quota is reached, evicts requested footage before any incident clip.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from edge_agent import __version__
from edge_agent.clips import DeviceKey, build_manifest, cut_clip, new_incident_id
from edge_agent.clips.cut import DiskFullError
from edge_agent.clips.recordings import RecordingIndex
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
        self.device_id = device_id
        self.recordings = recordings
        self.key = key
        self.outbox = outbox
        self.config = config
        self.work_dir = Path(work_dir)
        self.on_put = on_put

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
        found = self.recordings.find(command.start_at, command.end_at)
        if found is None:
            raise CommandFailed(f"no local recording covers {_iso(command.start_at)}..{_iso(command.end_at)}")
        incident_id = new_incident_id()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        try:
            clip = cut_clip(found.spans, found.start_s, found.end_s, self.work_dir / f"{incident_id}.mp4")
        except DiskFullError as exc:
            raise CommandFailed(str(exc)) from None
        except SourceError as exc:
            raise CommandFailed(f"cannot cut the footage: {exc}") from None
        window = Incident(
            start_s=found.start_s,
            peak_s=(found.start_s + found.end_s) / 2,
            end_s=found.end_s,
            score=0.0,
            miner_scores={},
        )
        chunk_size = self.config().clip.chunk_size_bytes
        manifest = build_manifest(
            self.device_id,
            incident_id,
            window,
            clip,
            [],
            found.recorded_at,
            chunk_size,
            self.key,
            __version__,
            reason="footage_request",
        )
        if self.outbox.put(Path(clip.path), manifest) is None:
            raise CommandFailed("the outbox is full of higher-scored clips; footage not kept")
        self.on_put()
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
