"""The device's MQTT 5 connection: persistent session, retained online/offline status, acks and commands in.

paho's own background loop reconnects (``connect_async`` + ``loop_start`` + ``reconnect_delay_set``);
``clean_start=False`` with a session expiry keeps the broker's queue of QoS 1 acks and commands for this
device while it is offline. The link is "ready" only once its subscriptions are confirmed, so nothing is
published before the ack it asks for can reach us.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge_agent import __version__
from edge_agent.mqtt_url import BrokerAddress
from shared_models import (
    Command,
    ConfigPush,
    DeviceState,
    DeviceStatus,
    FootageRequest,
    IncidentAck,
    Ping,
    TopicKind,
    WireError,
    decode,
    encode,
    topic_for,
)

log = logging.getLogger(__name__)

AckHandler = Callable[[IncidentAck], None]
CommandHandler = Callable[[Command], None]


class LinkSettings(msgspec.Struct, frozen=True, kw_only=True):
    device_id: str
    broker: BrokerAddress
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 30
    session_expiry_s: int = 86_400  # a day offline keeps acks and commands queued on the broker
    reconnect_min_s: int = 1
    reconnect_max_s: int = 60
    firmware: str = __version__


def reconnect_jitter_s(failures: int, settings: LinkSettings, rng: random.Random) -> float:
    """Extra random wait before reconnect attempt ``failures`` (0 = first after a drop).

    paho's own reconnect delay doubles from ``reconnect_min_s`` to ``reconnect_max_s`` but is the same on
    every device, so a fleet cut off by one broker restart would come back in lockstep; this adds up to
    the same amount again, at random.
    """
    base = min(settings.reconnect_min_s * 2.0**failures, float(settings.reconnect_max_s))
    return rng.uniform(0.0, base)


class MqttLink:
    """Owns the paho client. ``on_ack`` / ``on_command`` / ``on_ready`` are called on paho's thread."""

    def __init__(self, settings: LinkSettings) -> None:
        self.settings = settings
        self.device_id = settings.device_id
        self.on_ack: AckHandler | None = None
        self.on_command: CommandHandler = self._drop_command
        self.on_ready: Callable[[], None] | None = None
        self.connected_at: float | None = None  # wall clock of the last ready connection
        self.rejected = 0  # inbound payloads that failed to decode
        self._ready = threading.Event()
        self._pending_subscribe: int | None = None
        self._closing = threading.Event()  # ends a reconnect jitter wait at once on close()
        self._connected_once = False
        self._failures = 0  # reconnect attempts since the link was last up
        self._rng = random.Random()
        self._unacked: dict[str, tuple[int, int]] = {}  # command id -> (mid, qos) not yet PUBACKed
        self._unacked_lock = threading.Lock()
        self._status_topic = topic_for(TopicKind.STATUS, self.device_id)
        self._ack_topic = topic_for(TopicKind.ACK, self.device_id)
        self._command_topic = topic_for(TopicKind.COMMAND, self.device_id)
        self._client = self._build_client()

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.session_expiry_s
        broker = self.settings.broker
        self._client.connect_async(
            broker.host, broker.port, keepalive=self.settings.keepalive_s, clean_start=False, properties=props
        )
        self._client.loop_start()
        log.info("mqtt.starting device=%s broker=%s:%d", self.device_id, broker.host, broker.port)

    def close(self, timeout_s: float = 5.0) -> None:
        """Clean shutdown: say OFFLINE ourselves (a clean disconnect suppresses the Last Will)."""
        if self._ready.is_set():
            info = self._client.publish(
                self._status_topic, self._status(DeviceState.OFFLINE), qos=1, retain=True
            )
            try:
                info.wait_for_publish(timeout_s)
            except (RuntimeError, ValueError) as exc:
                log.warning("mqtt.offline_not_sent error=%s", exc)
        self._ready.clear()
        self._closing.set()
        self._client.disconnect()
        self._client.loop_stop()
        log.info("mqtt.closed device=%s", self.device_id)

    # ---- use ------------------------------------------------------------------------------------

    def is_ready(self) -> bool:
        return self._ready.is_set() and self._client.is_connected()

    def publish(
        self, topic: str, message: msgspec.Struct, qos: int = 1, retain: bool = False
    ) -> mqtt.MQTTMessageInfo:
        return self._client.publish(topic, encode(message), qos=qos, retain=retain)

    # ---- paho callbacks -------------------------------------------------------------------------

    def _build_client(self) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.device_id, protocol=mqtt.MQTTv5)
        if self.settings.username is not None:
            client.username_pw_set(self.settings.username, self.settings.password)
        client.reconnect_delay_set(self.settings.reconnect_min_s, self.settings.reconnect_max_s)
        client.manual_ack_set(True)  # commands are PUBACKed by ack_command, after they have run
        client.on_pre_connect = self._on_pre_connect
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _status(self, state: DeviceState) -> bytes:
        return encode(
            DeviceStatus(
                device_id=self.device_id, state=state, at=time.time(), firmware=self.settings.firmware
            )
        )

    def _on_pre_connect(self, client: mqtt.Client, userdata: object) -> None:
        # Refreshed before every attempt so the will's ``at`` is the last connect, not the process start.
        client.will_set(self._status_topic, self._status(DeviceState.OFFLINE), qos=1, retain=True)
        if self._connected_once:
            jitter = reconnect_jitter_s(self._failures, self.settings, self._rng)
            self._failures += 1
            log.info(
                "mqtt.reconnecting device=%s attempt=%d jitter_s=%.2f", self.device_id, self._failures, jitter
            )
            self._closing.wait(jitter)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("mqtt.connect_failed device=%s reason=%s", self.device_id, reason_code)
            return
        log.info("mqtt.connected device=%s session_present=%s", self.device_id, flags.session_present)
        self._connected_once, self._failures = True, 0
        client.publish(self._status_topic, self._status(DeviceState.ONLINE), qos=1, retain=True)
        options = SubscribeOptions(qos=1)
        _, self._pending_subscribe = client.subscribe(
            [(self._ack_topic, options), (self._command_topic, options)]
        )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if mid != self._pending_subscribe:
            return
        failed = [str(code) for code in reason_codes if code.is_failure]
        if failed:
            log.error("mqtt.subscribe_refused device=%s reasons=%s", self.device_id, ",".join(failed))
            return
        self.connected_at = time.time()
        self._ready.set()
        log.info("mqtt.ready device=%s", self.device_id)
        if self.on_ready is not None:
            self.on_ready()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        was_ready = self._ready.is_set()
        self._ready.clear()
        if was_ready:
            log.warning("mqtt.disconnected device=%s reason=%s", self.device_id, reason_code)

    def _drop_command(self, command: Command) -> None:
        """Command hook of a link with no dispatcher wired (tests of the link alone): log and drop."""
        log.info("command.dropped type=%s command_id=%s", type(command).__name__, command.command_id)
        self.ack_command(command.command_id)

    def ack_command(self, command_id: str) -> None:
        """PUBACK a command once it has run (and its result is kept): until then the broker holds it."""
        with self._unacked_lock:
            pending = self._unacked.pop(command_id, None)
        if pending is not None:
            self._client.ack(*pending)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        expected = IncidentAck if message.topic == self._ack_topic else ConfigPush | FootageRequest | Ping
        try:
            decoded = decode(message.payload, expected)
        except WireError as exc:
            self.rejected += 1
            log.warning("mqtt.rejected topic=%s reason=%s detail=%s", message.topic, exc.reason, exc.detail)
            client.ack(message.mid, message.qos)  # a redelivery would be refused again
            return
        try:
            if isinstance(decoded, IncidentAck):
                if self.on_ack is not None:
                    self.on_ack(decoded)
                client.ack(message.mid, message.qos)  # a lost ack is recovered by the manifest re-send
            else:
                # Held un-PUBACKed until it has run: an agent killed before that gets it again from its
                # persistent session, and the command journal answers a repeat without running it twice.
                with self._unacked_lock:
                    self._unacked[decoded.command_id] = (message.mid, message.qos)
                self.on_command(decoded)
        except Exception:  # a handler bug must not kill paho's network thread
            log.exception("mqtt.handler_failed topic=%s", message.topic)
            client.ack(message.mid, message.qos)
