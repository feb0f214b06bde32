"""The receiver as a running HTTP service (uvicorn): in the foreground (``runfsm webhooks serve``) or in a thread.

:func:`serve` blocks until interrupted; :class:`ReceiverServer` runs the same app in a
background thread on a free port (tests, benchmarks, notebooks) and stops with its ``with`` block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runfsm._serving import ThreadedServer

if TYPE_CHECKING:
    from types import TracebackType

    from runfsm.webhooks.receiver import Receiver

__all__ = ["ReceiverServer", "serve"]


def serve(receiver: Receiver, *, host: str = "127.0.0.1", port: int = 8000, path: str = "/") -> None:
    """Serve ``receiver`` with uvicorn until interrupted (Ctrl-C / SIGTERM); the worker stops with it."""
    import uvicorn  # noqa: PLC0415  (the [webhooks] extra)

    uvicorn.run(receiver.asgi(path=path), host=host, port=port, log_level="warning", access_log=False)


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
