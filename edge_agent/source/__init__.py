"""Media sources: timestamped analysis frames, audio and G-sensor blocks from a recording, a folder of
segments or a live camera."""

from __future__ import annotations

from pathlib import Path

from edge_agent.source.base import AccelBlock, AudioBlock, Source, SourceError, SourceInfo, VideoFrame
from edge_agent.source.file import FileSource
from edge_agent.source.gsensor import load_sidecar
from edge_agent.source.live import FrameTap, LiveSource, SourceConfig, is_live_uri
from edge_agent.source.segments import SegmentFolderSource, SegmentSpan, segment_spans, spans_covering


def open_source(
    uri: str | Path,
    analysis_width: int = 320,
    gsensor: Path | None = None,
    live: SourceConfig | None = None,
    on_frame: FrameTap | None = None,
) -> Source:
    """The source for ``uri``: a live URI (rtsp://, http://, gst:, camera:N), a folder of segments, or a
    file. A file's G-sensor sidecar is ``gsensor`` or, by default, ``<stem>.gsensor.csv`` beside it;
    ``on_frame`` sees a live source's full-size pictures (see ``LiveSource``)."""
    if isinstance(uri, str) and is_live_uri(uri):
        return LiveSource(uri, analysis_width, live, on_frame)
    path = Path(uri)
    if path.is_dir():
        return SegmentFolderSource(path, analysis_width)
    return FileSource(path, analysis_width, accel=load_sidecar(path, gsensor) if path.is_file() else ())


__all__ = [
    "AccelBlock",
    "AudioBlock",
    "FileSource",
    "LiveSource",
    "SegmentFolderSource",
    "SegmentSpan",
    "Source",
    "SourceError",
    "SourceConfig",
    "SourceInfo",
    "VideoFrame",
    "open_source",
    "segment_spans",
    "spans_covering",
]
