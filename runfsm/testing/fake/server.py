"""The fake Assistants API on a real loopback HTTP server: a Starlette app served by uvicorn in a thread."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route as StarletteRoute

from runfsm._serving import ThreadedServer
from runfsm.testing.fake.api import FakeAssistants
from runfsm.testing.fake.azure import project_path

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from types import TracebackType

    import openai
    from azure.ai.agents import AgentsClient
    from azure.ai.agents.aio import AgentsClient as AsyncAgentsClient
    from starlette.requests import Request
    from starlette.types import Receive, Scope, Send

__all__ = ["FakeAssistantsServer", "asgi_app"]


class _Dropped(Exception):
    """Raised inside the ASGI app to make uvicorn close the connection mid-response (an injected drop)."""


class _DropResponse(Response):
    """Starts a response, then breaks the connection before the body is complete."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise _Dropped("runfsm fake: connection dropped (injected fault)")


def asgi_app(fake: FakeAssistants) -> Starlette:
    """A Starlette application serving ``fake`` (mount it under any ASGI server you like)."""

    async def endpoint(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():  # read no further than the limit: the fake answers 413 past it
            body += chunk
            if len(body) > fake.max_body_bytes:
                break
        answer = fake.handle(
            request.method, request.url.path, query=request.url.query, body=bytes(body), headers=dict(request.headers)
        )
        if answer.real_delay:
            await asyncio.sleep(answer.real_delay)
        if answer.drop:
            return _DropResponse()
        if answer.stream:
            chunks = [c + b"\n\n" for c in answer.body.split(b"\n\n") if c]

            async def events() -> AsyncIterator[bytes]:
                for chunk in chunks:
                    yield chunk

            return StreamingResponse(events(), status_code=answer.status_code, headers=answer.headers)
        return Response(answer.body, status_code=answer.status_code, headers=answer.headers)

    return Starlette(routes=[StarletteRoute("/{path:path}", endpoint, methods=["GET", "POST", "DELETE"])])


class FakeAssistantsServer(FakeAssistants):
    """A :class:`~runfsm.testing.fake.api.FakeAssistants` served over HTTP on ``127.0.0.1`` (a free port).

    Use it as a context manager; ``url`` is the base URL for ``openai.OpenAI(base_url=...)``
    (it ends in ``/v1``). Everything else (``clock``, ``queue_run``, ``fail_next``,
    ``requests``, ``count``, ``trackers``) is the :class:`FakeAssistants` API.
    """

    def __init__(self, *, host: str = "127.0.0.1", **options: Any) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"the fake server only listens on loopback, got host {host!r}")
        super().__init__(**options)
        self.host = host
        self.port: int | None = None
        self._http: ThreadedServer | None = None

    @property
    def url(self) -> str:
        """The base URL (``http://127.0.0.1:<port>/v1``); only valid while the server runs."""
        if self.port is None:
            raise RuntimeError("the fake server is not running: use `with FakeAssistantsServer() as server:`")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def azure_endpoint(self) -> str:
        """The Azure project endpoint (``http://127.0.0.1:<port>/api/projects/runfsm-fake``) for ``AgentsClient``."""
        return f"{self.url.removesuffix('/v1')}{project_path()}"

    def start(self) -> FakeAssistantsServer:
        """Bind a free loopback port and serve in a background thread; returns self once ready."""
        if self._http is not None:
            raise RuntimeError("the fake server is already running")
        http = ThreadedServer(asgi_app(self), host=self.host, name="runfsm-fake")
        self.port = http.start()
        self._http = http
        return self

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        http, self._http = self._http, None
        if http is not None:
            http.stop()
        self.port = None

    def __enter__(self) -> FakeAssistantsServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def client(self, **options: Any) -> openai.OpenAI:
        """A real ``openai.OpenAI`` talking to this server over loopback HTTP, sleeping on the virtual clock."""
        from runfsm.testing.fake.transport import openai_client  # noqa: PLC0415

        return openai_client(self, base_url=self.url, **options)

    def async_client(self, **options: Any) -> openai.AsyncOpenAI:
        """A real ``openai.AsyncOpenAI`` talking to this server over loopback HTTP, sleeping on the virtual clock."""
        from runfsm.testing.fake.transport import async_openai_client  # noqa: PLC0415

        return async_openai_client(self, base_url=self.url, **options)

    def agents_client(self, **options: Any) -> AgentsClient:
        """A real ``azure.ai.agents.AgentsClient`` of this server (see :mod:`runfsm.testing.fake.azure_clients`)."""
        from runfsm.testing.fake.azure_clients import agents_client  # noqa: PLC0415 - azure only when asked for

        return agents_client(self.azure_endpoint, clock=self.clock, **options)

    def async_agents_client(self, **options: Any) -> AsyncAgentsClient:
        """A real ``azure.ai.agents.aio.AgentsClient`` of this server (its async transport needs ``aiohttp``)."""
        from runfsm.testing.fake.azure_clients import async_agents_client  # noqa: PLC0415

        return async_agents_client(self.azure_endpoint, clock=self.clock, **options)
