"""The receiver as an ASGI application (Starlette): mount it in Starlette or FastAPI, or serve it with uvicorn.

>>> app.mount("/webhooks/openai", Receiver("hooks.sqlite", secret=...).asgi())  # doctest: +SKIP

``POST`` to the mounted path hands the raw body and headers to :meth:`Receiver.handle` (in a
worker thread: the SQLite commit is not run on the event loop) and sends its answer; other
methods get 405. The receiver's worker thread starts on the first request (mounted
sub-applications get no lifespan events) and, when this app is the server's main application,
stops at shutdown.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from starlette.requests import Request

__all__ = ["Handles", "asgi_app"]


class Handles(Protocol):
    """What the app needs of a receiver (:class:`~runfsm.webhooks.receiver.Receiver` is one)."""

    def handle(self, headers: Mapping[str, str], body: bytes) -> _Answer:
        """Verify and queue one delivery."""
        ...

    def start(self) -> object:
        """Start the worker that applies queued events."""
        ...

    def stop(self) -> None:
        """Stop that worker."""
        ...


class _Answer(Protocol):
    @property
    def status(self) -> int: ...
    @property
    def body(self) -> bytes: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


def asgi_app(receiver: Handles, *, path: str = "/") -> Starlette:
    """A Starlette application that receives webhooks at ``path`` (default the application's root)."""

    async def endpoint(request: Request) -> Response:
        receiver.start()
        body = await request.body()
        answer = await run_in_threadpool(receiver.handle, dict(request.headers), body)
        return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        receiver.start()
        try:
            yield
        finally:
            await run_in_threadpool(receiver.stop)

    return Starlette(routes=[Route(path, endpoint, methods=["POST"])], lifespan=lifespan)
