"""The results of the last commands handled, on disk, so a command delivered twice runs once.

QoS 1 means at least once: the broker re-sends a command whose PUBACK it missed, and the cloud may
re-issue one it saw no result for. A repeated ``command_id`` gets the stored result again.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import msgspec

from edge_agent.outbox.fsio import write_atomic
from shared_models import CommandResult

log = logging.getLogger(__name__)


class CommandJournal:
    def __init__(self, path: Path, limit: int = 200) -> None:
        self.path = Path(path)
        self.limit = limit
        self._lock = threading.Lock()
        self._results: dict[str, CommandResult] = {}
        if self.path.exists():
            try:
                kept = msgspec.json.decode(self.path.read_bytes(), type=list[CommandResult])
            except msgspec.DecodeError as exc:
                log.warning("command.journal_reset path=%s error=%s", self.path, exc)
                kept = []
            self._results = {r.command_id: r for r in kept}

    def get(self, command_id: str) -> CommandResult | None:
        with self._lock:
            return self._results.get(command_id)

    def add(self, result: CommandResult) -> None:
        with self._lock:
            self._results[result.command_id] = result
            kept = list(self._results.values())[-self.limit :]
            self._results = {r.command_id: r for r in kept}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, msgspec.json.encode(kept))
