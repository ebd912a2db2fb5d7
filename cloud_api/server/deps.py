"""Dependency providers: each hands a handler one service from the app's runtime."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import State
from litestar.di import Provide

SERVICES = ("apikeys", "assessments", "audit", "claims", "commands", "devices", "reviews", "system")


def _provider(name: str) -> Provide:
    def provide(state: State) -> Any:
        return getattr(state.runtime, name)

    return Provide(provide, sync_to_thread=False)


def dependencies() -> dict[str, Provide]:
    return {name: _provider(name) for name in SERVICES}
