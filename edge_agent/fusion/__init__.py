"""Fusion: miners' timelines in, incidents out."""

from edge_agent.fusion.engine import FusionConfig, FusionEngine
from edge_agent.fusion.incident import Incident

__all__ = ["FusionConfig", "FusionEngine", "Incident"]
