"""``edge-agent run``: wires config, key, outbox, MQTT link, delivery, health, the source and, for a
live source, its loop recorder.

Frigate-style: ``init_*`` builds each part, ``start_*`` starts its thread, ``wait`` blocks until the end
(the source done and the outbox empty with ``exit_when_idle``, else SIGTERM / SIGINT), and ``shutdown``
stops the threads and says OFFLINE on the way out.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path

import msgspec

from edge_agent.clips import DeviceKey
from edge_agent.clips.pending import PendingClips
from edge_agent.clips.recordings import RecordingIndex
from edge_agent.commands import (
    CommandDispatcher,
    ConfigPushHandler,
    FootageHandler,
    PingHandler,
    PushedConfig,
)
from edge_agent.health import AgentStats, CameraMonitor, ClockOffset, HealthEmitter, HealthMonitor
from edge_agent.intake import FileIntake
from edge_agent.mqtt_url import parse_broker_url
from edge_agent.outbox import Outbox, ProcessedSources
from edge_agent.publisher import Backoff, Delivery, DeliverySettings, LinkSettings, MqttLink, run_step_loop
from edge_agent.record import LiveRecorder
from edge_agent.settings import AgentConfig, ConfigError, load_config
from edge_agent.source.live import is_live_uri
from shared_models import Command

log = logging.getLogger(__name__)


class AgentOptions(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    device_id: str
    data_dir: Path
    broker_url: str = "mqtt://127.0.0.1:1883"
    config_path: Path | None = None
    exit_when_idle: bool = False
    mqtt_username: str | None = None  # defaults to the device id when a password file is given
    mqtt_password_file: Path | None = None
    gsensor_path: Path | None = None  # G-sensor CSV; by default <source stem>.gsensor.csv beside the video
    idle_timeout_s: float = 240.0  # exit_when_idle gives up (exit 1) this long after the source is mined


class EdgeAgent:
    def __init__(self, options: AgentOptions) -> None:
        self.options = options
        self.data_dir = Path(options.data_dir)
        self.stop = threading.Event()
        self.source_done = threading.Event()
        self.source_ok = False
        self.stats = AgentStats()
        self._threads: list[threading.Thread] = []

    # ---- init ---------------------------------------------------------------------------------

    def init_config(self) -> None:
        # The file, then what the cloud pushed (kept on disk, so a push survives a restart).
        self.pushed = PushedConfig(self.data_dir / "pushed_config.json")
        self.config = self.pushed.applied_to(load_config(self.options.config_path))
        self.broker = parse_broker_url(self.options.broker_url)

    def init_key(self) -> None:
        self.key = DeviceKey.load_or_create(self.data_dir)

    def init_outbox(self) -> None:
        self.outbox = Outbox(self.data_dir / "outbox", quota_bytes=self.config.outbox.quota_bytes)
        self.processed = ProcessedSources(self.data_dir / "processed_sources.json")
        self.recordings = RecordingIndex(self.data_dir / "recordings.json")

    def init_link(self) -> None:
        options = self.options
        password = options.mqtt_password_file.read_text().strip() if options.mqtt_password_file else None
        username = options.mqtt_username or (options.device_id if password is not None else None)
        publisher = self.config.publisher
        settings = LinkSettings(
            device_id=options.device_id,
            broker=self.broker,
            username=username,
            password=password,
            session_expiry_s=publisher.session_expiry_s,
            reconnect_min_s=publisher.reconnect_min_s,
            reconnect_max_s=publisher.reconnect_max_s,
        )
        self.link = MqttLink(settings)

    def init_recorder(self) -> None:
        """A live source is recorded in a loop, so its incidents and footage requests have footage."""
        self.recorder: LiveRecorder | None = None
        if is_live_uri(self.options.source) and self.config.recorder.enabled:
            self.recorder = LiveRecorder(
                self.options.source,
                lambda: self.config.recorder,
                self.config.source,
                self.recordings,
                self.data_dir / "recordings",
            )

    def init_delivery(self) -> None:
        settings = DeliverySettings(ack_timeout_s=self.config.publisher.ack_timeout_s)
        self.delivery = Delivery(self.outbox, self.link, settings, self.stop)

    def init_intake(self) -> None:
        self.camera = CameraMonitor(self.config.camera)  # fed by mining, read by the heartbeat
        self.intake = FileIntake(
            self.options.device_id,
            self.config,
            self.key,
            self.outbox,
            self.processed,
            self.stats,
            self.data_dir / "work",
            on_put=self.delivery.wake.set,
            recordings=self.recordings,
            camera=self.camera,
            gsensor=self.options.gsensor_path,
            live_pending=PendingClips(self.data_dir / "live_pending") if self.recorder is not None else None,
        )

    def init_health(self) -> None:
        self.clock = ClockOffset()  # learns the cloud's clock from each command's issued_at
        monitor = HealthMonitor(
            self.options.device_id,
            self.data_dir,
            self.outbox,
            self.stats,
            model_versions=lambda: dict(self.intake.model_versions),
            camera=self.camera,
            clock=self.clock,
        )
        self.health = HealthEmitter(monitor, self.link, self.stop, self.config.health.heartbeat_interval_s)

    def init_commands(self) -> None:
        handlers = [
            ConfigPushHandler(self.pushed, lambda: self.config, self.apply_config),
            FootageHandler(
                self.options.device_id,
                self.recordings,
                self.key,
                self.outbox,
                lambda: self.config,
                self.data_dir / "work",
                on_put=self.delivery.wake.set,
            ),
            PingHandler(),
        ]
        journal = self.data_dir / "command_results.json"
        self.commands = CommandDispatcher(self.link, handlers, journal, self.stop)
        self.link.on_command = self._on_command

    def _on_command(self, command: Command) -> None:
        self.clock.observe(command.issued_at)
        self.commands.submit(command)

    def apply_config(self, config: AgentConfig) -> list[str]:
        """A pushed config, live: mining, outbox and recording quotas, ack timeout, heartbeat, and the
        recorder's segment length and encoder (from its next segment). The MQTT session's own settings
        (reconnect, session expiry) and whether a live source is recorded take effect at the next
        start: those keys are returned."""
        old, new = self.config.publisher, config.publisher
        deferred = [
            f"publisher.{name}"
            for name in ("reconnect_min_s", "reconnect_max_s", "session_expiry_s")
            if getattr(old, name) != getattr(new, name)
        ]
        old_recorder, new_recorder = self.config.recorder, config.recorder
        deferred += [
            f"recorder.{name}"
            for name in ("enabled", "encode_frames")
            if getattr(old_recorder, name) != getattr(new_recorder, name)
        ]
        self.config = config
        self.intake.reconfigure(config)
        self.outbox.quota_bytes = config.outbox.quota_bytes
        if self.recorder is not None:
            self.recorder.store.quota_bytes = config.recorder.quota_bytes
        self.delivery.settings = msgspec.structs.replace(
            self.delivery.settings, ack_timeout_s=config.publisher.ack_timeout_s
        )
        self.health.interval_s = config.health.heartbeat_interval_s
        return deferred

    # ---- start --------------------------------------------------------------------------------

    def start_link(self) -> None:
        self.link.start()

    def start_delivery(self) -> None:
        thread = threading.Thread(
            target=run_step_loop,
            args=(self.delivery.step, self.stop, self.delivery.wake, Backoff()),
            name="delivery",
            daemon=True,
        )
        self._start(thread)

    def start_health(self) -> None:
        self._start(self.health)

    def start_commands(self) -> None:
        self._start(self.commands)

    def start_recorder(self) -> None:
        if self.recorder is not None:
            for thread in self.recorder.threads(self.stop):
                self._start(thread)

    def start_source(self) -> None:
        def ingest() -> None:
            try:
                if is_live_uri(self.options.source):  # a camera: mined until the agent stops
                    self.source_ok = self.intake.watch(self.options.source, self.stop, self.recorder)
                else:
                    self.source_ok = self.intake.ingest(Path(self.options.source))
            finally:
                self.source_done.set()

        # Daemon: mining a long file cannot be interrupted, and the outbox is safe to abandon mid-put.
        self._start(threading.Thread(target=ingest, name="source", daemon=True))

    def _start(self, thread: threading.Thread) -> None:
        thread.start()
        self._threads.append(thread)

    # ---- run ----------------------------------------------------------------------------------

    def init(self) -> None:
        for init in (
            self.init_config,
            self.init_key,
            self.init_outbox,
            self.init_link,
            self.init_recorder,
            self.init_delivery,
            self.init_intake,
            self.init_health,
            self.init_commands,
        ):
            init()

    def start(self) -> None:
        self.start_link()
        self.start_delivery()
        self.start_health()
        self.start_commands()
        self.start_recorder()
        self.start_source()
        log.info(
            "agent.started device=%s source=%s data_dir=%s",
            self.options.device_id,
            self.options.source,
            self.data_dir,
        )

    def wait(self) -> int:
        """Block until stopped (exit 0) or, with ``exit_when_idle``, until there is nothing left to do."""
        deadline: float | None = None  # the wait for acks starts once the source is mined
        while not self.stop.wait(0.2):
            if not self.options.exit_when_idle or not self.source_done.is_set():
                continue
            if not self.source_ok:
                print("edge-agent: the source could not be processed (see the log)", file=sys.stderr)
                return 1
            if self.outbox.depth() == 0:
                log.info("agent.idle source=%s outbox=empty", self.options.source)
                return 0
            deadline = deadline or time.monotonic() + self.options.idle_timeout_s
            if time.monotonic() > deadline:
                return self._gave_up(f"{self.outbox.depth()} clip(s) still waiting for the cloud's ack")
        return 0

    def _gave_up(self, what: str) -> int:
        limit, broker = self.options.idle_timeout_s, self.options.broker_url
        log.error("agent.idle_timeout detail=%s", what)
        print(f"edge-agent: gave up after {limit:.0f}s: {what} (broker {broker})", file=sys.stderr)
        return 1

    def shutdown(self) -> None:
        self.stop.set()
        self.delivery.wake.set()
        for thread in self._threads:
            if thread.name != "source":
                thread.join(10)
        self.link.close()
        log.info("agent.stopped device=%s outbox_depth=%d", self.options.device_id, self.outbox.depth())


def run_agent(options: AgentOptions) -> int:
    """Run until done (``exit_when_idle``) or signalled; 0 on success, 1 on a failed source or timeout."""
    agent = EdgeAgent(options)
    try:
        agent.init()
    except (ConfigError, ValueError, OSError) as exc:
        print(f"edge-agent: cannot start: {exc}", file=sys.stderr)
        return 2
    handlers = _install_signal_handlers(agent.stop)
    try:
        agent.start()
        return agent.wait()
    finally:
        agent.shutdown()
        for signum, previous in handlers.items():
            signal.signal(signum, previous)


def _install_signal_handlers(stop: threading.Event) -> dict[int, object]:
    """SIGTERM / SIGINT end the run cleanly; only the main thread may install them (tests run elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def on_signal(signum: int, frame: object) -> None:
        log.info("agent.signal signal=%s", signal.Signals(signum).name)
        stop.set()

    return {signum: signal.signal(signum, on_signal) for signum in (signal.SIGTERM, signal.SIGINT)}
