"""The live recorder's folder: finished segments indexed by start, loop recording, and when a clip may be
cut (the footage of its window is all recorded, or can no longer come)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from edge_agent.clips.recordings import RecordingIndex
from edge_agent.record.store import SegmentStore, segment_name

T0 = 1_700_000_000.0


def _store(tmp_path: Path, quota_bytes: int = 10_000) -> SegmentStore:
    return SegmentStore(tmp_path / "recordings", RecordingIndex(tmp_path / "recordings.json"), quota_bytes)


def _segment(store: SegmentStore, started_at: float, size: int) -> Path:
    part = store.part_path()
    part.write_bytes(b"x" * size)
    return Path(store.finished(part, started_at, 2.0).path)


def test_names_sort_by_start_and_a_leftover_part_is_discarded(tmp_path: Path) -> None:
    assert segment_name(T0 + 0.25) == "20231114_221320_250.mp4"
    assert sorted([segment_name(T0 + 9.5), segment_name(T0 + 10.0)]) == [
        segment_name(T0 + 9.5),
        segment_name(T0 + 10.0),
    ]
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / ".123.mp4.part").write_bytes(b"half a segment")  # open when the agent died
    store = _store(tmp_path)
    assert list(folder.iterdir()) == []
    path = _segment(store, T0, 100)
    assert path.name == segment_name(T0) and store.index.recordings()[0].path == str(path)


def test_quota_deletes_the_oldest_and_always_keeps_the_newest(tmp_path: Path) -> None:
    store = _store(tmp_path, quota_bytes=2_500)
    paths = [_segment(store, T0 + 2 * i, 1_000) for i in range(4)]
    assert [p.exists() for p in paths] == [False, False, True, True]
    assert [r.path for r in store.index.recordings()] == [str(p) for p in paths[2:]]
    store.quota_bytes = 100  # pushed live; smaller than one segment
    newest = _segment(store, T0 + 8, 1_000)
    assert sorted(store.folder.glob("*.mp4")) == [newest]


def test_settled_when_recorded_when_lost_or_when_it_came_back_after_the_window(tmp_path: Path) -> None:
    store = _store(tmp_path)
    now = time.time()
    store.started(now - 10)
    _segment(store, now - 10, 10)  # recorded now-10 .. now-8
    assert store.settled(now - 9)  # inside a finished segment
    assert not store.settled(now - 7)  # recording goes on: the segment holding it is still open
    store.stopped()
    assert store.settled(now - 7)  # the stream is lost: nothing more for a moment already past
    assert not store.settled(now + 60)  # the stream may be back before then
    store.started(now - 5)
    assert store.settled(now - 7)  # recording restarted after it: that moment is a gap
    assert not store.settled(now - 4)


def test_wait_settled_wakes_when_the_segment_is_finished(tmp_path: Path) -> None:
    store = _store(tmp_path)
    now = time.time()
    store.started(now - 3)
    finisher = threading.Timer(0.3, lambda: _segment(store, now - 3, 10))
    finisher.start()
    began = time.monotonic()
    assert store.wait_settled(now - 2, timeout_s=10, stop=threading.Event())
    assert 0.2 < time.monotonic() - began < 5
    assert not store.wait_settled(now + 3600, timeout_s=0.2, stop=threading.Event())  # bounded
