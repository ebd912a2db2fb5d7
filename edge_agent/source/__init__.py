"""Media sources: timestamped analysis frames and audio from a recording (later: segments, RTSP)."""

from __future__ import annotations

from pathlib import Path

from edge_agent.source.base import AccelBlock, AudioBlock, Source, SourceError, SourceInfo, VideoFrame
from edge_agent.source.file import FileSource


def open_source(uri: str | Path, analysis_width: int = 320) -> Source:
    """The source for ``uri``. Files only for now; folders of segments and RTSP URLs plug in here."""
    return FileSource(Path(uri), analysis_width)


__all__ = ["AccelBlock", "AudioBlock", "FileSource", "Source", "SourceError", "SourceInfo", "VideoFrame", "open_source"]
