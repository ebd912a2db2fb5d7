"""Runs cloud commands on their own thread, one at a time, and answers each with a CommandResult.

Commands arrive on paho's network thread, which must never block (a footage cut takes seconds), so
``submit`` only queues. Every command ends in a result, ok or failed with the reason, published on
``fleet/{id}/command_results`` so the cloud can show the command's state.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from edge_agent.commands.base import CommandFailed, CommandHandler
from edge_agent.commands.journal import CommandJournal
from edge_agent.publisher import MqttLink
from shared_models import Command, CommandResult, TopicKind, topic_for

log = logging.getLogger(__name__)


class CommandDispatcher(threading.Thread):
    def __init__(
        self,
        link: MqttLink,
        handlers: Sequence[CommandHandler],
        journal_path: Path,
        stop: threading.Event,
    ) -> None:
        super().__init__(name="commands", daemon=True)
        self.link = link
        self.stop = stop
        self.journal = CommandJournal(journal_path)
        self._handlers = {handler.command_type: handler for handler in handlers}
        self._queue: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._topic = topic_for(TopicKind.COMMAND_RESULT, link.device_id)

    def submit(self, command: Command) -> None:
        """Called on paho's thread (``MqttLink.on_command``)."""
        log.info("command.received type=%s command_id=%s", type(command).__name__, command.command_id)
        self._queue.put(command)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                command = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            self.execute(command)

    def execute(self, command: Command) -> CommandResult:
        done = self.journal.get(command.command_id)
        if done is not None:
            log.info("command.repeated command_id=%s ok=%s", command.command_id, done.ok)
            self._publish(done)
            self.link.ack_command(command.command_id)
            return done
        ok, detail = self._run(command)
        result = CommandResult(
            device_id=self.link.device_id, command_id=command.command_id, ok=ok, detail=detail, at=time.time()
        )
        try:
            self.journal.add(result)
        except OSError as exc:  # a full disk must not stop the answer from going out
            log.error("command.journal_failed command_id=%s error=%s", command.command_id, exc)
        log.log(
            logging.INFO if ok else logging.WARNING,
            "command.done type=%s command_id=%s ok=%s detail=%s",
            type(command).__name__,
            command.command_id,
            ok,
            detail,
        )
        self._publish(result)
        self.link.ack_command(command.command_id)  # only now may the broker forget the command
        return result

    def _run(self, command: Command) -> tuple[bool, str]:
        handler = self._handlers.get(type(command))
        if handler is None:
            return False, f"{type(command).__name__} is not supported by this device"
        try:
            return True, handler.handle(command)
        except CommandFailed as exc:
            return False, str(exc)
        except Exception as exc:  # a handler bug is reported as a failure, never kills the thread
            log.exception("command.crashed command_id=%s", command.command_id)
            return False, f"internal error: {type(exc).__name__}"

    def _publish(self, result: CommandResult) -> None:
        # QoS 1; paho queues it while the link is down and sends it on reconnect.
        self.link.publish(self._topic, result, qos=1)
