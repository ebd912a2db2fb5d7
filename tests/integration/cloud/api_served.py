"""The cloud app behind a real uvicorn on a loopback port, in a thread: for tests that need real HTTP
(the Python client, a request larger than the cap, schemathesis)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from cloud_api.server.asgi import create_app
from cloud_api.server.runtime import Runtime
from cloud_api.settings import Settings


class ServedCloud:
    def __init__(self, url: str, runtime: Runtime, loop: asyncio.AbstractEventLoop) -> None:
        self.url = url
        self.runtime = runtime
        self.port = int(url.rsplit(":", 1)[1])
        self._loop = loop

    def call(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Any:
        """Run ``fn(*args)`` on the server's loop (PostgreSQL pools are bound to it)."""
        return asyncio.run_coroutine_threadsafe(fn(*args), self._loop).result(timeout=60)

    def key(self, scopes: str) -> str:
        from cloud_api.domain.apikeys.services import parse_scopes

        return self.call(self.runtime.apikeys.create, parse_scopes(scopes)).key


@contextmanager
def served(settings: Settings) -> Iterator[ServedCloud]:
    app = create_app(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=lambda: loop.run_until_complete(server.serve(sockets=[sock])), name="uvicorn", daemon=True
    )
    thread.start()
    try:
        for _ in range(600):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.05)
        assert server.started, "uvicorn did not start"
        yield ServedCloud(f"http://127.0.0.1:{sock.getsockname()[1]}", app.state.runtime, loop)
    finally:
        server.should_exit = True
        thread.join(30)
        loop.close()
        sock.close()
