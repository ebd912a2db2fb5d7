"""Moves outbox entries to the cloud: manifest, then chunks at QoS 1, retired only by the cloud's ack.

openpilot-uploader style: ``step()`` does one unit of work and answers None (idle), True (progress) or
False (failed: broker away, PUBACK late); ``run_step_loop`` turns that into jittered backoff. A transfer
cut short is never replayed blindly: the next step re-sends the manifest and the cloud names what it
lacks (MISSING) or says it has it all (COMPLETE).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable

import msgspec
import paho.mqtt.client as mqtt

from edge_agent.outbox import EntryState, EntryStatus, Outbox, OutboxEntry
from edge_agent.publisher.link import MqttLink
from shared_models import AckStatus, ClipChunk, IncidentAck, TopicKind, topic_for

log = logging.getLogger(__name__)


class DeliverySettings(msgspec.Struct, frozen=True, kw_only=True):
    ack_timeout_s: float = 20.0  # no ack this long after a send: send the manifest again
    puback_timeout_s: float = 30.0  # one PUBACK later than this: the transfer counts as failed
    window: int = 8  # chunks published but not yet PUBACKed; bounds paho's memory to window x chunk


class Delivery:
    """Acks arrive on paho's thread and are queued; ``step()`` applies them on the delivery thread."""

    def __init__(
        self,
        outbox: Outbox,
        link: MqttLink,
        settings: DeliverySettings | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.outbox = outbox
        self.link = link
        self.settings = settings or DeliverySettings()
        self.stop = stop or threading.Event()
        self.wake = threading.Event()  # set on ack, on connect and by producers after ``Outbox.put``
        self._acks: queue.SimpleQueue[IncidentAck] = queue.SimpleQueue()
        self._missing: dict[str, list[int]] = {}
        link.on_ack = self._receive_ack
        link.on_ready = self.wake.set

    def step(self) -> bool | None:
        self._apply_acks()
        entries = self.outbox.pending()
        if not entries:
            return None
        if not self.link.is_ready():
            return False
        connected_at = self.link.connected_at or 0.0
        now = time.time()
        for entry in entries:
            missing = self._missing.pop(entry.incident_id, None)
            if missing:
                return self._send(entry, missing, with_manifest=False)
            if entry.state.status is EntryStatus.QUEUED:
                return self._send(entry, range(entry.manifest.chunk_count), with_manifest=True)
            last = entry.state.last_sent_at or 0.0
            if last < connected_at or now - last >= self.settings.ack_timeout_s:
                # Sent before this connection, or unanswered: the cloud says what it lacks.
                return self._send(entry, (), with_manifest=True)
        return None

    # ---- acks -----------------------------------------------------------------------------------

    def _receive_ack(self, ack: IncidentAck) -> None:
        self._acks.put(ack)
        self.wake.set()

    def _apply_acks(self) -> None:
        while True:
            try:
                ack = self._acks.get_nowait()
            except queue.Empty:
                return
            self._apply_ack(ack)

    def _apply_ack(self, ack: IncidentAck) -> None:
        entry = self.outbox.get(ack.incident_id)
        if entry is None:
            log.info(
                "publish.ack_ignored incident=%s status=%s reason=not_in_outbox", ack.incident_id, ack.status
            )
            return
        if ack.status is AckStatus.COMPLETE:
            self._missing.pop(ack.incident_id, None)
            self.outbox.remove(ack.incident_id)
            log.info(
                "publish.ok incident=%s claim=%s bytes=%d attempts=%d",
                ack.incident_id,
                ack.claim_id,
                entry.size_bytes,
                entry.state.attempts,
            )
        elif ack.status is AckStatus.REJECTED:
            # A permanent answer: keeping the clip would block the queue behind it forever.
            self._missing.pop(ack.incident_id, None)
            self.outbox.remove(ack.incident_id)
            log.warning("publish.rejected incident=%s reason=%s", ack.incident_id, ack.reason or "-")
        else:
            self._note_missing(entry, ack.missing)

    def _note_missing(self, entry: OutboxEntry, missing: list[int]) -> None:
        count = entry.manifest.chunk_count
        requested = set(missing)
        valid = sorted(seq for seq in requested if 0 <= seq < count)
        if len(valid) != len(requested):
            log.warning("publish.missing_out_of_range incident=%s chunks=%d", entry.incident_id, count)
        if valid:
            self._missing[entry.incident_id] = sorted(
                set(valid) | set(self._missing.get(entry.incident_id, []))
            )
        log.info("publish.missing incident=%s count=%d first=%s", entry.incident_id, len(valid), valid[:10])

    # ---- sending --------------------------------------------------------------------------------

    def _send(self, entry: OutboxEntry, seqs: Iterable[int], with_manifest: bool) -> bool:
        incident_id = entry.incident_id
        state = msgspec.structs.replace(
            entry.state,
            status=EntryStatus.SENDING,
            attempts=entry.state.attempts + 1,
            last_sent_at=time.time(),
        )
        if self.outbox.set_state(incident_id, state) is None:
            return True  # acked or evicted meanwhile: the queue moved on
        with self.outbox.transferring(incident_id):
            return self._publish(entry, state, seqs, with_manifest)

    def _publish(
        self, entry: OutboxEntry, state: EntryState, seqs: Iterable[int], with_manifest: bool
    ) -> bool:
        incident_id = entry.incident_id
        manifest = entry.manifest
        in_flight: deque[mqtt.MQTTMessageInfo] = deque()
        sent_bytes = 0
        chunks = 0
        try:
            if with_manifest:
                topic = topic_for(TopicKind.MANIFEST, self.link.device_id, incident_id)
                in_flight.append(self.link.publish(topic, manifest))
            for seq in seqs:
                data = self.outbox.chunk(incident_id, seq)
                chunk = ClipChunk(
                    device_id=self.link.device_id,
                    incident_id=incident_id,
                    seq=seq,
                    total=manifest.chunk_count,
                    data=data,
                )
                topic = topic_for(TopicKind.CHUNK, self.link.device_id, incident_id, seq)
                in_flight.append(self.link.publish(topic, chunk))
                sent_bytes += len(data)
                chunks += 1
                while len(in_flight) >= self.settings.window:
                    if not self._await_puback(in_flight.popleft()):
                        return self._failed(incident_id, chunks)
        except KeyError:
            log.info("publish.entry_gone incident=%s", incident_id)
            return True
        while in_flight:
            if not self._await_puback(in_flight.popleft()):
                return self._failed(incident_id, chunks)
        self.outbox.set_state(
            incident_id, msgspec.structs.replace(state, status=EntryStatus.SENT, last_sent_at=time.time())
        )
        log.info(
            "publish.sent incident=%s manifest=%s chunks=%d bytes=%d attempt=%d",
            incident_id,
            with_manifest,
            chunks,
            sent_bytes,
            state.attempts,
        )
        return True

    def _failed(self, incident_id: str, chunks: int) -> bool:
        if self.stop.is_set():
            reason = "stopping"
        elif not self.link.is_ready():
            reason = "disconnected"
        else:
            reason = "puback_timeout"
        log.warning("publish.failed incident=%s reason=%s chunks_published=%d", incident_id, reason, chunks)
        return False

    def _await_puback(self, info: mqtt.MQTTMessageInfo) -> bool:
        """True once the broker PUBACKed; False if the link drops, the stop event fires or time runs out.

        A message left unacknowledged stays in paho's session queue and is re-sent on reconnect; the
        manifest re-send after reconnect covers whatever that does not.
        """
        deadline = time.monotonic() + self.settings.puback_timeout_s
        while True:
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return False
            if info.is_published():
                return True
            if self.stop.is_set() or not self.link.is_ready() or time.monotonic() > deadline:
                return False
            try:
                info.wait_for_publish(0.2)
            except (RuntimeError, ValueError):
                return False
