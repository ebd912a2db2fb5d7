"""Heartbeat: host and agent vitals published on an interval."""

from edge_agent.health.emitter import HealthEmitter
from edge_agent.health.monitor import HealthMonitor, read_temperature_c
from edge_agent.health.stats import AgentStats

__all__ = ["AgentStats", "HealthEmitter", "HealthMonitor", "read_temperature_c"]
