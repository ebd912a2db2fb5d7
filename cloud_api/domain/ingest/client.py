"""The MQTT side of ingest: paho's network thread hands messages to the event loop, where each one's
checks (decoding, device, a chunk's hash) start at once; one consumer task applies them in order,
publishes acks, and only then acknowledges each message to the broker.

Messages waiting in the queue are applied in batches (up to INGEST_BATCH_MAX) inside one database
transaction (services.py): a few queries and one commit per batch instead of several per chunk, and
the batch's hashing and file writes run side by side in worker threads, which is what lets one process
keep up with a fleet (tests/bench/ingest.py). A batch may apply only a prefix of its messages (one
about an incident completed earlier in the batch waits); the rest lead the next batch, so messages are
still applied, and acknowledged, in the order they came. A batch that fails is rolled back and its
messages applied one by one, which is safe because every step is idempotent.

Acknowledging after the database work (paho ``manual_ack``) and a persistent session (clean_start off,
session expiry) mean a message the service had not finished with is delivered again after a crash or
restart, and messages sent while the service was down wait at the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import deque
from typing import Any
from urllib.parse import urlsplit

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from cloud_api.domain.ingest.services import Applied, Checked, IngestService, Reply
from cloud_api.settings import Settings
from shared_models import TopicKind, encode, topic_for
from shared_models.topics import subscription

log = logging.getLogger(__name__)

SUBSCRIBED = (
    TopicKind.MANIFEST,
    TopicKind.CHUNK,
    TopicKind.STATUS,
    TopicKind.HEALTH,
    TopicKind.COMMAND_RESULT,
)
SESSION_EXPIRY_S = 7 * 24 * 3600
KEEPALIVE_S = 30


class Arrived(msgspec.Struct, frozen=True):
    """A message from the broker and its checks, started on arrival."""

    message: mqtt.MQTTMessage
    check: asyncio.Future[Checked | Reply | None]


def broker_address(url: str) -> tuple[str, int, bool]:
    """``mqtt://host:1883`` or ``mqtts://host:8883`` -> (host, port, tls)."""
    parts = urlsplit(url)
    if parts.scheme not in {"mqtt", "mqtts", "tcp", "ssl"} or not parts.hostname:
        raise ValueError(f"MQTT_URL {url!r}: expected mqtt://host:port or mqtts://host:port")
    tls = parts.scheme in {"mqtts", "ssl"}
    return parts.hostname, parts.port or (8883 if tls else 1883), tls


class MqttIngest:
    def __init__(self, settings: Settings, service: IngestService) -> None:
        self.settings = settings
        self.service = service
        self.connected = False
        self._client: mqtt.Client | None = None
        self._queue: asyncio.Queue[Arrived] = asyncio.Queue()
        self._held: deque[Arrived] = deque()
        """Messages a batch left for the next one (they come first)."""
        self._consumer: asyncio.Task[None] | None = None
        self._clearing: set[asyncio.Task[None]] = set()
        """Blob deletions of committed batches, running beside the next batch."""
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        host, port, tls = broker_address(self.settings.mqtt_url)
        self._loop = asyncio.get_running_loop()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.settings.mqtt_client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if self.settings.mqtt_username:
            client.username_pw_set(self.settings.mqtt_username, self.settings.mqtt_password)
        if tls:
            client.tls_set_context(ssl.create_default_context())
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        client.connect_async(host, port, keepalive=KEEPALIVE_S, clean_start=False, properties=properties)
        client.loop_start()
        self._client = client
        self._consumer = asyncio.create_task(self._consume(), name="mqtt-ingest")
        log.info(
            "ingest.started broker=%s:%d tls=%s client_id=%s", host, port, tls, self.settings.mqtt_client_id
        )

    async def stop(self) -> None:
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer
        await asyncio.gather(*self._clearing, return_exceptions=True)
        if self._client is not None:
            self._client.disconnect()
            await asyncio.to_thread(self._client.loop_stop)
        while not self._queue.empty():
            self._held.append(self._queue.get_nowait())
        for arrived in self._held:  # never acknowledged: the broker delivers them again
            arrived.check.cancel()
        self.connected = False
        log.info("ingest.stopped")

    def publish(self, topic: str, payload: bytes) -> bool:
        """QoS 1 publish for commands; False when not connected (nothing queued then)."""
        if self._client is None or not self.connected:
            return False
        return self._client.publish(topic, payload, qos=1).rc == mqtt.MQTT_ERR_SUCCESS

    @property
    def alive(self) -> bool:
        return self._consumer is not None and not self._consumer.done()

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.warning("ingest.connect_failed reason=%s", reason)
            return
        client.subscribe([(subscription(kind), SubscribeOptions(qos=1)) for kind in SUBSCRIBED])
        log.info("ingest.connected")

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: list[Any], _props: Any
    ) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            log.error("ingest.subscribe_failed reasons=%s", ",".join(failed))
            return
        self.connected = True  # connected and subscribed: fleet messages now reach us
        log.info("ingest.subscribed topics=%d", len(reasons))

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self.connected = False
        log.warning("ingest.disconnected reason=%s", reason)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._arrived, message)

    def _arrived(self, message: mqtt.MQTTMessage) -> None:
        """Start the message's checks now (hashing included), so the consumer finds them done."""
        check = asyncio.ensure_future(self.service.check(message.topic, message.payload))
        self._queue.put_nowait(Arrived(message, check))

    async def _consume(self) -> None:
        assert self._client is not None
        while True:
            if not self._held:
                self._held.append(await self._queue.get())
            while len(self._held) < self.settings.ingest_batch_max and not self._queue.empty():
                self._held.append(self._queue.get_nowait())
            batch = list(self._held)
            self._held.clear()
            applied = await self._apply(batch)
            for arrived, reply in zip(batch, applied.replies):
                if reply is not None:
                    self._send_ack(reply)
                self._client.ack(arrived.message.mid, arrived.message.qos)
            self._held.extend(batch[len(applied.replies) :])
            if applied.decided:  # blob deletions, once the devices have their answers
                clearing = asyncio.create_task(self.service.clear(applied.decided))
                self._clearing.add(clearing)
                clearing.add_done_callback(self._clearing.discard)

    async def _apply(self, batch: list[Arrived]) -> Applied:
        try:
            return await self.service.apply(await asyncio.gather(*(a.check for a in batch)))
        except Exception:
            if len(batch) > 1:
                log.warning("ingest.batch_failed size=%d; applying one by one", len(batch), exc_info=True)
            applied = [await self._apply_one(a) for a in batch]
            return Applied([r for a in applied for r in a.replies], [k for a in applied for k in a.decided])

    async def _apply_one(self, arrived: Arrived) -> Applied:
        try:
            return await self.service.apply([await arrived.check])
        except Exception as exc:  # the database was away: the device will resend, keep consuming
            log.exception("ingest.error topic=%s", arrived.message.topic)
            self.service.metrics.reject("internal_error", arrived.message.topic, repr(exc))
            return Applied([None], [])

    def _send_ack(self, reply: Reply) -> None:
        assert self._client is not None
        self._client.publish(topic_for(TopicKind.ACK, reply.device_id), encode(reply.ack), qos=1)
        log.info(
            "ingest.ack device=%s incident=%s status=%s missing=%d",
            reply.device_id,
            reply.ack.incident_id,
            reply.ack.status,
            len(reply.ack.missing),
        )
