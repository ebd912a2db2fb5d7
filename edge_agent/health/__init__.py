"""Heartbeat: host and agent vitals published on an interval."""

from edge_agent.health.camera import CameraConfig, CameraMonitor
from edge_agent.health.clock import ClockOffset
from edge_agent.health.emitter import HealthEmitter
from edge_agent.health.monitor import HealthMonitor, read_temperature_c
from edge_agent.health.stats import AgentStats

__all__ = [
    "AgentStats",
    "CameraConfig",
    "CameraMonitor",
    "ClockOffset",
    "HealthEmitter",
    "HealthMonitor",
    "read_temperature_c",
]
