"""The receiver as a running HTTP service (uvicorn): in the foreground (``runfsm webhooks serve``) or in a thread.

:func:`serve` blocks until interrupted; :class:`ReceiverServer` runs the same app in a
background thread on a free port (tests, benchmarks, notebooks) and stops with its ``with`` block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runfsm._serving import ThreadedServer, listen

if TYPE_CHECKING:
    import socket
    from types import TracebackType

    from runfsm.webhooks.receiver import Receiver

__all__ = ["ReceiverServer", "listen", "serve"]


def serve(
    receiver: Receiver,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/",
    sock: socket.socket | None = None,
) -> None:
    """Serve ``receiver`` with uvicorn until interrupted (Ctrl-C / SIGTERM); the worker stops with it.

    ``sock`` is a socket already listening (:func:`listen`; ``host`` and ``port`` are then unused),
    as ``runfsm webhooks serve`` binds it before saying where it receives. Without one, ``host:port``
    is bound here: an :class:`OSError` from :func:`listen` before anything is served. ``sock`` is
    closed when serving ends.
    """
    import uvicorn  # noqa: PLC0415  (the [webhooks] extra)

    listening = sock if sock is not None else listen(host, port)
    try:
        config = uvicorn.Config(receiver.asgi(path=path), log_level="warning", access_log=False)
        uvicorn.Server(config).run(sockets=[listening])
    except KeyboardInterrupt:  # Ctrl-C is how a foreground server is stopped: not a failure
        pass
    finally:
        listening.close()


class ReceiverServer:
    """``receiver`` served by uvicorn in a background thread on ``host`` (a free port unless ``port`` is given).

    ``url`` is where to send webhooks. Stopping ends the server, then the receiver's worker
    (queued events stay in the store).
    """

    def __init__(self, receiver: Receiver, *, host: str = "127.0.0.1", port: int = 0, path: str = "/") -> None:
        self.receiver = receiver
        self.path = path
        self._http = ThreadedServer(receiver.asgi(path=path), host=host, port=port, name="runfsm-webhooks-http")

    @property
    def host(self) -> str:
        """The address listened on."""
        return self._http.host

    @property
    def port(self) -> int:
        """The port listened on (the free one picked, once started)."""
        return self._http.port

    @property
    def url(self) -> str:
        """The URL webhooks go to (only while running)."""
        if not self._http.running:
            raise RuntimeError("the receiver server is not running: use `with ReceiverServer(receiver) as server:`")
        return f"http://{self.host}:{self.port}{self.path}"

    def start(self) -> ReceiverServer:
        """Bind, serve in a thread, return once listening."""
        self._http.start()
        return self

    def stop(self) -> None:
        """Stop serving, join the thread, stop the receiver's worker (idempotent)."""
        self._http.stop()
        self.receiver.stop()

    def __enter__(self) -> ReceiverServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
