"""Loop recording: past the byte quota the oldest segments go, as a dashcam overwrites its card.

Segment files are named by their wall-clock start, so name order is age order. The quota is counted
over every finished segment in the folder, from this run or an earlier one, whether or not the
recording index still lists it. A segment a cut is reading is spared (``RecordingIndex.discard``) and
goes at a later pass; the newest segment always stays, so a quota smaller than one segment still
leaves the latest footage.
"""

from __future__ import annotations

import logging
from pathlib import Path

from edge_agent.clips.recordings import RecordingIndex

log = logging.getLogger(__name__)

SEGMENT_GLOB = "[0-9]*.mp4"  # finished segments; the one being written is a hidden .part file


def enforce_quota(folder: Path, quota_bytes: int, index: RecordingIndex) -> int:
    """Delete the oldest segments of ``folder`` until the rest fit ``quota_bytes``; returns bytes kept."""
    segments = sorted(Path(folder).glob(SEGMENT_GLOB))
    sizes = {path: path.stat().st_size for path in segments}
    total = sum(sizes.values())
    for path in segments[:-1]:
        if total <= quota_bytes:
            break
        if index.discard(path):
            total -= sizes[path]
            log.info(
                "recorder.segment_deleted path=%s bytes=%d reason=quota kept_bytes=%d",
                path,
                sizes[path],
                total,
            )
        else:
            log.info("recorder.segment_spared path=%s reason=being_cut", path)
    return total
