"""Config push: validated like the TOML file, kept on disk across restarts, applied without a restart.

The pushed keys are stored as one accumulated override mapping (not the merged config), so a later
edit of the local TOML file still shows through for every key the cloud never pushed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from edge_agent.commands.base import CommandFailed, CommandHandler
from edge_agent.outbox.fsio import write_atomic
from edge_agent.settings import AgentConfig, ConfigError, deep_merge, merge_config
from shared_models import Command, ConfigPush

log = logging.getLogger(__name__)


class PushedConfig:
    """The overrides the cloud has pushed so far, in one JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.overrides: dict[str, Any] = {}
        if self.path.exists():
            try:
                self.overrides = msgspec.json.decode(self.path.read_bytes(), type=dict[str, Any])
            except msgspec.DecodeError as exc:
                log.error("config.pushed_unreadable path=%s error=%s", self.path, exc)

    def applied_to(self, config: AgentConfig) -> AgentConfig:
        """``config`` with the stored overrides; the overrides are ignored (logged) if they no longer fit."""
        if not self.overrides:
            return config
        try:
            merged = merge_config(config, self.overrides)
        except ConfigError as exc:
            log.error("config.pushed_ignored path=%s error=%s", self.path, exc)
            return config
        log.info("config.pushed_loaded keys=%s", sorted(self.overrides))
        return merged

    def add(self, overrides: dict[str, Any]) -> None:
        with self._lock:
            merged = deep_merge(self.overrides, overrides)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, msgspec.json.encode(merged))
            self.overrides = merged


class ConfigPushHandler(CommandHandler):
    """``current`` gives the running config; ``apply`` installs a new one in every running part and
    returns the keys that only take effect at the next start."""

    command_type = ConfigPush

    def __init__(
        self,
        store: PushedConfig,
        current: Callable[[], AgentConfig],
        apply: Callable[[AgentConfig], list[str]],
    ) -> None:
        self.store = store
        self.current = current
        self.apply = apply

    def handle(self, command: Command) -> str:
        assert isinstance(command, ConfigPush)
        try:
            config = merge_config(self.current(), command.config)
        except ConfigError as exc:
            raise CommandFailed(str(exc)) from None
        try:
            self.store.add(command.config)
        except OSError as exc:
            raise CommandFailed(f"cannot keep the config on disk: {exc.strerror or exc}") from None
        deferred = self.apply(config)
        keys = ",".join(_leaves(command.config))
        log.info("config.applied command_id=%s keys=%s deferred=%s", command.command_id, keys, deferred)
        later = f"; at next start: {','.join(deferred)}" if deferred else ""
        return f"applied {keys}{later}"


def _leaves(tree: dict[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key, value in sorted(tree.items()):
        if isinstance(value, dict) and value:
            out += _leaves(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out
