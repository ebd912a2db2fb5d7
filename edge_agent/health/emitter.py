"""The stats thread: a heartbeat every ``interval_s`` on ``fleet/{id}/health``."""

from __future__ import annotations

import logging
import threading

from edge_agent.health.monitor import HealthMonitor
from edge_agent.publisher import MqttLink
from shared_models import TopicKind, topic_for

log = logging.getLogger(__name__)


class HealthEmitter(threading.Thread):
    """QoS 0: a heartbeat that could not go out while offline is stale by the time the link returns."""

    def __init__(
        self, monitor: HealthMonitor, link: MqttLink, stop: threading.Event, interval_s: float = 30.0
    ) -> None:
        super().__init__(name="health", daemon=True)
        self.monitor = monitor
        self.link = link
        self.stop = stop
        self.interval_s = interval_s
        self._topic = topic_for(TopicKind.HEALTH, monitor.device_id)

    def emit(self) -> bool:
        if not self.link.is_ready():
            return False
        heartbeat = self.monitor.snapshot()
        self.link.publish(self._topic, heartbeat, qos=0)
        log.debug("health.sent depth=%d cpu=%.1f", heartbeat.outbox_depth, heartbeat.cpu_percent)
        return True

    def run(self) -> None:
        # First beat as soon as the link is up; while it is down, look again every second.
        while not self.stop.is_set():
            try:
                sent = self.emit()
            except Exception:  # a sensor failing must not end the heartbeat
                log.exception("health.failed")
                sent = True
            self.stop.wait(self.interval_s if sent else min(self.interval_s, 1.0))
