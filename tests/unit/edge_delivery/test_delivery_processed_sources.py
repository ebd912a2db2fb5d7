"""The processed-sources marker: peaks and completion per recording, kept across restarts."""

from __future__ import annotations

import os
from pathlib import Path

from edge_agent.outbox import ProcessedSources, source_key


def test_marker_survives_reopen(tmp_path: Path) -> None:
    source = tmp_path / "drive.mp4"
    source.write_bytes(b"video")
    key = source_key(source)
    marker = ProcessedSources(tmp_path / "processed.json")
    marker.add_peak(key, 12.3456)
    marker.add_peak(key, 12.3456)

    reopened = ProcessedSources(tmp_path / "processed.json")
    assert reopened.has_peak(key, 12.3456)
    assert reopened.has_peak(key, 12.3459)  # same millisecond bin, within rounding of the same incident
    assert not reopened.has_peak(key, 13.0)
    assert not reopened.is_done(key)
    reopened.mark_done(key)
    assert ProcessedSources(tmp_path / "processed.json").is_done(key)


def test_a_rewritten_file_is_a_new_source(tmp_path: Path) -> None:
    source = tmp_path / "drive.mp4"
    source.write_bytes(b"video")
    before = source_key(source)
    source.write_bytes(b"other video")
    os.utime(source, ns=(1, 1))
    assert source_key(source) != before
