"""Which incidents of which source are already cut, so a restart does not cut (and send) them twice."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import msgspec

from edge_agent.outbox.fsio import write_atomic


class SourceRecord(msgspec.Struct):
    peaks_ms: list[int] = []
    done: bool = False


def source_key(source: Path) -> str:
    """Identity of a recording: its resolved path, size and mtime (a rewritten file is a new source)."""
    stat = source.stat()
    ident = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(ident.encode()).hexdigest()[:32]


class ProcessedSources:
    """A small JSON file in the data folder, rewritten atomically after every incident put in the outbox."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._records: dict[str, SourceRecord] = {}
        if self.path.exists():
            self._records = msgspec.json.decode(self.path.read_bytes(), type=dict[str, SourceRecord])

    def is_done(self, key: str) -> bool:
        with self._lock:
            record = self._records.get(key)
            return record is not None and record.done

    def has_peak(self, key: str, peak_s: float) -> bool:
        with self._lock:
            record = self._records.get(key)
            return record is not None and round(peak_s * 1000) in record.peaks_ms

    def add_peak(self, key: str, peak_s: float) -> None:
        with self._lock:
            peaks = self._records.setdefault(key, SourceRecord()).peaks_ms
            if round(peak_s * 1000) not in peaks:
                peaks.append(round(peak_s * 1000))
                self._save()

    def mark_done(self, key: str) -> None:
        with self._lock:
            self._records.setdefault(key, SourceRecord()).done = True
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, msgspec.json.encode(self._records))
