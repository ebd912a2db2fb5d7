"""Ping: proves the command path end to end (cloud -> broker -> agent -> broker -> cloud)."""

from __future__ import annotations

import time

from edge_agent import __version__
from edge_agent.commands.base import CommandHandler
from shared_models import Command, Ping


class PingHandler(CommandHandler):
    command_type = Ping

    def __init__(self) -> None:
        self._started = time.monotonic()

    def handle(self, command: Command) -> str:
        return f"pong firmware={__version__} uptime_s={time.monotonic() - self._started:.0f}"
