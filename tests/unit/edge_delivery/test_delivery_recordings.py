"""The recording index behind footage requests: contiguous runs, best cover, bound, restart, lost files."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.clips.recordings import Recording, RecordingIndex

T0 = 1_700_000_000.0


def _file(folder: Path, name: str) -> str:
    path = folder / name
    path.write_bytes(b"x")
    return str(path)


def test_window_across_consecutive_files_maps_to_one_run(tmp_path: Path) -> None:
    index = RecordingIndex(tmp_path / "recordings.json")
    a, b = _file(tmp_path, "a.mp4"), _file(tmp_path, "b.mp4")
    index.add(Recording(b, T0 + 60.4, 60.0))  # starts 0.4 s after a ends: same drive
    index.add(Recording(a, T0, 60.0))
    found = index.find(T0 + 50, T0 + 70)
    assert found is not None
    assert [s.path for s in found.spans] == [a, b]
    assert [(s.start_s, s.end_s) for s in found.spans] == [(0.0, 60.0), (60.0, 120.0)]
    assert (found.recorded_at, found.start_s, found.end_s) == (T0, 50.0, 70.0)


def test_a_gap_splits_runs_and_the_best_covered_one_wins(tmp_path: Path) -> None:
    index = RecordingIndex(tmp_path / "recordings.json")
    early, late = _file(tmp_path, "early.mp4"), _file(tmp_path, "late.mp4")
    index.add(Recording(early, T0, 10.0))
    index.add(Recording(late, T0 + 30, 60.0))  # 20 s gap: another drive
    found = index.find(T0 + 5, T0 + 45)  # 5 s in the first, 15 s in the second
    assert found is not None and [s.path for s in found.spans] == [late]
    assert (found.start_s, found.end_s) == (0.0, 15.0)
    assert index.find(T0 + 12, T0 + 25) is None  # only the gap


def test_bounded_persisted_and_deleted_files_are_not_offered(tmp_path: Path) -> None:
    index = RecordingIndex(tmp_path / "recordings.json", limit=3)
    paths = [_file(tmp_path, f"{i}.mp4") for i in range(5)]
    for i, path in enumerate(paths):
        index.add(Recording(path, T0 + 100 * i, 60.0))
    reopened = RecordingIndex(tmp_path / "recordings.json", limit=3)
    assert [r.path for r in reopened.recordings()] == paths[2:]  # the newest three
    Path(paths[4]).unlink()  # the dashcam recycled it
    assert reopened.find(T0 + 400, T0 + 410) is None
    found = reopened.find(T0 + 300, T0 + 310)
    assert found is not None and found.spans[0].path == paths[3]


def test_unreadable_index_starts_empty(tmp_path: Path) -> None:
    (tmp_path / "recordings.json").write_text("{not json")
    assert RecordingIndex(tmp_path / "recordings.json").recordings() == []


@pytest.mark.parametrize("limit", [1, 2])
def test_re_adding_a_file_replaces_it(tmp_path: Path, limit: int) -> None:
    index = RecordingIndex(tmp_path / "recordings.json", limit=limit)
    path = _file(tmp_path, "a.mp4")
    index.add(Recording(path, T0, 10.0))
    index.add(Recording(path, T0, 12.0))
    assert index.recordings() == [Recording(path, T0, 12.0)]


def test_find_offers_only_the_files_the_window_touches(tmp_path: Path) -> None:
    index = RecordingIndex(tmp_path / "recordings.json")
    paths = [_file(tmp_path, f"{i}.mp4") for i in range(4)]
    for i, path in enumerate(paths):  # one long live recording: a single run
        index.add(Recording(path, T0 + 30 * i, 30.0))
    found = index.find(T0 + 65, T0 + 95)
    assert found is not None and [s.path for s in found.spans] == paths[2:4]
    assert [(s.start_s, s.end_s) for s in found.spans] == [(60.0, 90.0), (90.0, 120.0)]
    assert (found.recorded_at, found.start_s, found.end_s) == (T0, 65.0, 95.0)


def test_a_file_held_by_a_cut_is_not_discarded_until_released(tmp_path: Path) -> None:
    index = RecordingIndex(tmp_path / "recordings.json")
    a, b = _file(tmp_path, "a.mp4"), _file(tmp_path, "b.mp4")
    index.add(Recording(a, T0, 10.0))
    index.add(Recording(b, T0 + 10, 10.0))
    with index.holding(T0 + 2, T0 + 4) as found:
        assert found is not None and [s.path for s in found.spans] == [a]
        assert not index.discard(Path(a)) and Path(a).exists()
        assert index.discard(Path(b)) and not Path(b).exists()
    assert index.discard(Path(a)) and not Path(a).exists()
    assert index.recordings() == [] and RecordingIndex(tmp_path / "recordings.json").recordings() == []
