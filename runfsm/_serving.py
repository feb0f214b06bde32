"""An ASGI app served by uvicorn in a background thread, on a socket bound here (the fake server, the receiver).

uvicorn is imported when a server starts, not with this module.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn

__all__ = ["ThreadedServer"]

START_TIMEOUT_S = 10.0


class ThreadedServer:
    """Serves ``app`` on ``host:port`` (port 0: a free one) in a daemon thread; ``start`` returns once listening."""

    def __init__(self, app: Any, *, host: str, port: int = 0, name: str = "runfsm-http") -> None:
        self.app = app
        self.host = host
        self.port = port
        self.name = name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def running(self) -> bool:
        """True between ``start`` and ``stop``."""
        return self._server is not None

    def start(self) -> int:
        """Bind, serve in the thread, wait until listening; return the port."""
        import uvicorn  # noqa: PLC0415

        if self._server is not None:
            raise RuntimeError(f"{self.name} is already running")
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle stalls per response
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="critical", lifespan="off", access_log=False)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=self.name, daemon=True)
        self._server, self._thread, self._sock = server, thread, sock
        thread.start()
        ready = threading.Event()
        for _ in range(int(START_TIMEOUT_S / 0.005)):
            if server.started or not thread.is_alive():
                break
            ready.wait(0.005)  # real time: waiting for the server thread to listen
        if not server.started:
            self.stop()
            raise RuntimeError(f"{self.name} did not start within {START_TIMEOUT_S:g} s")
        return self.port

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        server, thread, sock = self._server, self._thread, self._sock
        self._server = self._thread = self._sock = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=START_TIMEOUT_S)
        if sock is not None:
            sock.close()
