"""MQTT delivery of outbox entries: the connection, the step, and the loop that drives it."""

from edge_agent.publisher.delivery import Delivery, DeliverySettings
from edge_agent.publisher.link import LinkSettings, MqttLink, reconnect_jitter_s
from edge_agent.publisher.loop import Backoff, run_step_loop

__all__ = [
    "Backoff",
    "Delivery",
    "DeliverySettings",
    "LinkSettings",
    "MqttLink",
    "reconnect_jitter_s",
    "run_step_loop",
]
