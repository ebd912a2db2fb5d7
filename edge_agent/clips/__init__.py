"""Clips: cut from the original packets, hashed, and announced by a signed manifest."""

from edge_agent.clips.cut import ClipInfo, cut_clip
from edge_agent.clips.manifest import build_manifest, new_incident_id, timelines_for_clip
from edge_agent.clips.signing import DeviceKey

__all__ = [
    "ClipInfo",
    "DeviceKey",
    "build_manifest",
    "cut_clip",
    "new_incident_id",
    "timelines_for_clip",
]
