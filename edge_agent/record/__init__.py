"""Loop recording of live sources: rolling H.264 segments, indexed by wall clock, bounded by a quota."""

from edge_agent.record.config import RecorderConfig
from edge_agent.record.recorder import LiveRecorder
from edge_agent.record.store import SegmentStore

__all__ = ["LiveRecorder", "RecorderConfig", "SegmentStore"]
