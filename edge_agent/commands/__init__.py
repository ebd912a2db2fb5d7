"""Commands from the cloud (config push, footage request, ping), each answered with a CommandResult."""

from edge_agent.commands.base import CommandFailed, CommandHandler
from edge_agent.commands.config_push import ConfigPushHandler, PushedConfig
from edge_agent.commands.dispatcher import CommandDispatcher
from edge_agent.commands.footage import FootageHandler
from edge_agent.commands.ping import PingHandler

__all__ = [
    "CommandDispatcher",
    "CommandFailed",
    "CommandHandler",
    "ConfigPushHandler",
    "FootageHandler",
    "PingHandler",
    "PushedConfig",
]
