"""Finds miners by importing every module in ``miners.plugins``; a plugin that fails to import is
disabled on its own (logged as ``miner.disabled``) instead of taking the agent down with it."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Mapping
from functools import cache

from edge_agent.miners import plugins
from edge_agent.miners.base import Miner, MinerConfig

log = logging.getLogger(__name__)


@cache
def miner_classes() -> dict[str, type[Miner]]:
    """Every importable miner plugin by its ``kind``."""
    found: dict[str, type[Miner]] = {}
    for module in pkgutil.iter_modules(plugins.__path__, plugins.__name__ + "."):
        try:
            imported = importlib.import_module(module.name)
        except Exception as exc:  # noqa: BLE001 - any failure disables only this plugin
            log.warning("miner.disabled module=%s error=%r", module.name, exc)
            continue
        for value in vars(imported).values():
            if isinstance(value, type) and issubclass(value, Miner) and value.__module__ == imported.__name__:
                found[value.kind] = value
    return dict(sorted(found.items()))


def default_miner_configs() -> dict[str, MinerConfig]:
    return {kind: cls.config_type() for kind, cls in miner_classes().items()}


def build_miners(configs: Mapping[str, MinerConfig], rate_hz: float) -> list[Miner]:
    """An instance of every enabled miner; kinds missing from ``configs`` run with their defaults."""
    miners = []
    for kind, cls in miner_classes().items():
        config = configs.get(kind) or cls.config_type()
        if config.enabled:
            miners.append(cls(config, rate_hz))
    return miners
