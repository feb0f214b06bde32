"""One loopback HTTP server for many fakes: each fake gets its own base URL, so every test example can have a fresh one.

Starting uvicorn costs tens of milliseconds; a property test runs hundreds of examples. A
:class:`FakeHost` serves every fake registered with it under ``/fakes/<n>/v1`` until it is
unregistered (:class:`~runfsm.testing.examples.FakeAPI` does both). :func:`shared_host` is the process's host,
started on first use and stopped at exit (the pytest plugin stops it when the session ends).
"""

from __future__ import annotations

import atexit
import itertools
import json
import threading
from typing import TYPE_CHECKING, Any

import httpx2

from runfsm._serving import ThreadedServer
from runfsm.testing.fake.server import asgi_app

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from runfsm.testing.fake.api import FakeAssistants

__all__ = ["FakeHost", "shared_host", "stop_shared_host"]

_PREFIX = "/fakes/"


class FakeHost:
    """A loopback server routing ``/fakes/<n>/...`` to the ``n``-th registered fake."""

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self._apps: dict[str, Any] = {}
        self._keys = itertools.count(1)
        self._lock = threading.Lock()
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"the fake host only listens on loopback, got host {host!r}")
        apps = self._apps

        async def app(scope: Scope, receive: Receive, send: Send) -> None:  # a plain ASGI 3 function
            await _route(apps, scope, receive, send)

        self._server = ThreadedServer(app, host=host, name="runfsm-fake-host")
        self._pool: httpx2.HTTPTransport | None = None

    @property
    def pool(self) -> httpx2.HTTPTransport:
        """One connection pool for every client of this host's fakes (building one costs more than an example)."""
        with self._lock:
            if self._pool is None:
                self._pool = httpx2.HTTPTransport()
            return self._pool

    def start(self) -> FakeHost:
        """Start serving (once)."""
        with self._lock:
            if not self._server.running:
                self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the pool (idempotent); registered fakes stay registered for a restart."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        self._server.stop()

    def register(self, fake: FakeAssistants) -> str:
        """Serve ``fake``; returns its base URL (``http://127.0.0.1:<port>/fakes/<n>/v1``)."""
        self.start()
        key = str(next(self._keys))
        app = asgi_app(fake)
        with self._lock:
            self._apps[key] = app
        return f"http://{self._server.host}:{self._server.port}{_PREFIX}{key}/v1"

    def unregister(self, url: str) -> None:
        """Stop serving the fake at ``url`` (requests to it get a 404)."""
        key = url.split(_PREFIX, 1)[-1].split("/", 1)[0]
        with self._lock:
            self._apps.pop(key, None)

    def __len__(self) -> int:
        """How many fakes are registered."""
        return len(self._apps)


async def _route(apps: dict[str, Any], scope: Scope, receive: Receive, send: Send) -> None:
    path: str = scope["path"]
    key, _, rest = path.removeprefix(_PREFIX).partition("/")
    app = apps.get(key) if path.startswith(_PREFIX) else None
    if app is None:
        body = json.dumps({"error": {"message": f"no fake at {path}", "type": "invalid_request_error"}}).encode()
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
        return
    inner = dict(scope, path="/" + rest, raw_path=("/" + rest).encode())
    await app(inner, receive, send)


_shared: FakeHost | None = None
_shared_lock = threading.Lock()


def shared_host() -> FakeHost:
    """The process's :class:`FakeHost`, started on first use."""
    global _shared  # noqa: PLW0603 - one server per process is the point
    with _shared_lock:
        if _shared is None:
            _shared = FakeHost()
            atexit.register(stop_shared_host)
        return _shared.start()


def stop_shared_host() -> None:
    """Stop the process's host if it runs (the next :func:`shared_host` starts it again)."""
    with _shared_lock:
        if _shared is not None:
            _shared.stop()
