"""MQTT delivery of outbox entries: the connection, the step, and the loop that drives it."""

from edge_agent.publisher.delivery import Delivery, DeliverySettings
from edge_agent.publisher.link import LinkSettings, MqttLink, log_command
from edge_agent.publisher.loop import Backoff, run_step_loop

__all__ = [
    "Backoff",
    "Delivery",
    "DeliverySettings",
    "LinkSettings",
    "MqttLink",
    "log_command",
    "run_step_loop",
]
