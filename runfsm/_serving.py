"""An ASGI app served by uvicorn in a background thread, on a socket bound here (the fake server, the receiver).

:func:`listen` binds that socket; ``runfsm webhooks serve`` binds its own with it before serving in
the foreground, so an address it cannot listen on is said before anything claims to be receiving.
uvicorn is imported when a server starts, not with this module.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn

__all__ = ["ThreadedServer", "listen"]

START_TIMEOUT_S = 10.0
BACKLOG = 2048
"""Connections the kernel queues before the server accepts them (uvicorn's default)."""


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: a free one) and listening.

    Raises :class:`OSError` when it cannot be: the port is taken or not allowed, the address is not
    one of this host's, or the host is no name at all (:class:`socket.gaierror`, also for a name
    holding a NUL or a character no host name can hold).
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle stalls per response
        try:
            sock.bind((host, port))
        except (TypeError, UnicodeError) as err:  # a NUL, a lone surrogate, a label over 63 characters
            raise socket.gaierror(socket.EAI_NONAME, f"not a host name ({err})") from None
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


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
        sock = listen(self.host, self.port)
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
