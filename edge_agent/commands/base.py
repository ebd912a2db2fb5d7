"""What a command handler is: one command type in, a detail string out, or CommandFailed with the reason."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from shared_models import Command


class CommandFailed(Exception):
    """The command was understood and refused or could not be carried out; the message says why."""


class CommandHandler(ABC):
    command_type: ClassVar[type]

    @abstractmethod
    def handle(self, command: Command) -> str:
        """Carry ``command`` out; return what the cloud should show, raise CommandFailed if it failed."""
