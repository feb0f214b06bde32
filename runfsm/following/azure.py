"""The client protocol over Azure AI Foundry Agents: :class:`AzureAgentsRuns` and :class:`AsyncAzureAgentsRuns`.

They implement :class:`~runfsm.following.client.RunsAPI` / ``AsyncRunsAPI`` with the real
``azure-ai-agents`` clients (``azure.ai.agents.AgentsClient`` and
``azure.ai.agents.aio.AgentsClient``), so :class:`~runfsm.following.watcher.Watcher`, its
async twin and the schedulers follow Azure agent runs exactly as they follow OpenAI runs.
The watcher and the scheduler pick these adapters themselves when given an ``AgentsClient``.

How they talk to the SDK:

- every call passes ``retry_total=0`` (azure-core's per-call retry option): the watcher retries
  instead, on its own clock and budget, and never resends tool outputs blindly
  (see :mod:`runfsm.following.client`);
- run responses are read through the SDK's ``cls=`` hook, so the ``openai-poll-after-ms``
  header is honoured when the service sends one;
- streams use an event handler of their own (a ``BaseAgentEventHandler``), so the SDK never
  submits tool outputs by itself (``AgentEventHandler`` does, when auto function calls are
  enabled): the watcher's ``on_action`` answers every round. Each event is a dict
  ``{"event": name, "data": ...}``, ``data`` a ``ThreadRun`` for run events;
- azure-core's errors become :class:`~runfsm.exceptions.ApiError` (:func:`translate_azure_error`).

``AgentsClient.runs.create_and_process`` is not used: it returns while a run is still
``cancelling`` and knows no ``incomplete`` (tests/testing/test_create_and_process.py shows both).

This module imports azure only inside the adapters (``import runfsm`` stays free of it).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from runfsm.exceptions import ApiError
from runfsm.following.client import STEPS_PAGE, Reply, ToolOutput, parse_hint, retry_after

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Mapping, Sequence

__all__ = ["AsyncAzureAgentsRuns", "AzureAgentsRuns", "is_agents_client", "translate_azure_error"]

_NO_RETRIES: dict[str, Any] = {"retry_total": 0}


def is_agents_client(client: object, *, aio: bool = False) -> bool:
    """True if ``client`` is an ``azure.ai.agents`` ``AgentsClient`` (``aio=True``: the asyncio one).

    Decided from the class's module, so it imports nothing: callers use it to pick an adapter.
    """
    for cls in type(client).__mro__:
        module = cls.__module__
        if cls.__name__ == "AgentsClient" and module.startswith("azure.ai.agents"):
            return module.startswith("azure.ai.agents.aio") == aio
    return False


def translate_azure_error(err: BaseException) -> ApiError | None:
    """An :class:`ApiError` for an azure-core exception (None if ``err`` is not one).

    HTTP errors keep their status code, the service's message and ``retry-after``; a response
    cut short (``IncompleteReadError``), a failed connection and a stream closed early are
    ``connection`` errors; azure-core's timeouts are ``timeout``.
    """
    from azure.core import exceptions as az  # noqa: PLC0415 - the optional dependency

    if isinstance(err, ApiError):
        return err
    if isinstance(err, (az.ServiceRequestTimeoutError, az.ServiceResponseTimeoutError)):
        return ApiError(f"{type(err).__name__}: {err.message}", kind="timeout")
    if isinstance(err, az.DecodeError):  # IncompleteReadError included: the answer was lost on the way
        return ApiError(f"{type(err).__name__}: {err.message}", kind="connection")
    if isinstance(err, az.HttpResponseError) and err.status_code is not None:
        code = err.status_code
        kind = "rate_limited" if code == 429 else "server_error" if code >= 500 else "rejected"
        detail = getattr(err.error, "message", None)
        message = detail if isinstance(detail, str) and detail else str(err.reason or err.message)
        response: Any = err.response
        headers = response.headers if response is not None else None
        return ApiError(message, kind=kind, status_code=code, retry_after=retry_after(headers))
    if isinstance(err, (az.ServiceRequestError, az.ServiceResponseError, az.StreamClosedError, az.HttpResponseError)):
        return ApiError(f"{type(err).__name__}: {err.message}", kind="connection")
    return None


@contextmanager
def _azure_errors() -> Iterator[None]:
    """Raise azure-core's exceptions as :class:`ApiError` (the cause kept); let anything else through."""
    try:
        yield
    except ApiError:
        raise
    except Exception as err:
        api_error = translate_azure_error(err)
        if api_error is None:
            raise
        raise api_error from err


def _with_hint(pipeline_response: Any, deserialized: Any, _headers: object) -> Reply:
    """The ``cls=`` hook of the SDK's operations: the run and the server's polling hint."""
    return Reply(deserialized, parse_hint(pipeline_response.http_response.headers.get("openai-poll-after-ms")))


def _tool_outputs(outputs: Sequence[ToolOutput]) -> list[Any]:
    from azure.ai.agents.models import ToolOutput as AzureToolOutput  # noqa: PLC0415

    return [AzureToolOutput(dict(o)) for o in outputs]


def _create_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The watcher's create parameters as ``runs.stream`` keywords (``assistant_id`` is the agent's id)."""
    rest = dict(params)
    agent_id = rest.pop("assistant_id", None)
    if agent_id is None:
        agent_id = rest.pop("agent_id", None)
    if not isinstance(agent_id, str):
        raise TypeError("creating an Azure agent run needs the agent's id: watch(thread_id, assistant_id=agent.id)")
    return {"agent_id": agent_id, **rest}


def parse_event(block: str) -> dict[str, Any]:
    """One SSE event of an Azure agents stream as ``{"event": name, "data": ...}``.

    ``data`` is a ``ThreadRun`` for ``thread.run.*`` events, the parsed JSON for the other
    events, the text itself when it is not JSON (``done``: ``[DONE]``). An ``error`` event
    raises :class:`ApiError` (``connection``): the stream is unusable, the run may be fine.
    """
    from azure.ai.agents.models import ThreadRun  # noqa: PLC0415

    name: str | None = None
    lines: list[str] = []
    for line in block.splitlines():
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value.strip()
        elif field == "data":
            lines.append(value)
    if name is None:
        raise ApiError(f"an SSE event without a name: {block[:80]!r}", kind="connection")
    text = "\n".join(lines)
    if name == "error":
        raise ApiError(f"the stream reported an error: {text[:200]}", kind="connection")
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = text
    if isinstance(data, dict) and name.startswith("thread.run.") and not name.startswith("thread.run.step."):
        data = ThreadRun(data)
    return {"event": name, "data": data}


def _handler() -> Any:
    """A fresh event handler yielding :func:`parse_event` dicts (no tool outputs submitted behind our back)."""
    from azure.ai.agents.models import BaseAgentEventHandler  # noqa: PLC0415

    class RawEvents(BaseAgentEventHandler[dict[str, Any]]):
        def _process_event(self, event_data_str: str) -> dict[str, Any]:
            return parse_event(event_data_str)

    return RawEvents()


def _async_handler() -> Any:
    from azure.ai.agents.models import BaseAsyncAgentEventHandler  # noqa: PLC0415

    class AsyncRawEvents(BaseAsyncAgentEventHandler[dict[str, Any]]):
        async def _process_event(self, event_data_str: str) -> dict[str, Any]:
            return parse_event(event_data_str)

    return AsyncRawEvents()


class _Opened:
    """The ``cls=`` hook of a stream call: keeps the HTTP response, so a watch that stops early can close it.

    The SDK closes a stream's response only once every byte was read; the watcher stops at
    ``requires_action`` or a terminal event, before the stream's last ``done``.
    """

    __slots__ = ("response",)

    def __init__(self) -> None:
        self.response: Any = None

    def __call__(self, pipeline_response: Any, deserialized: Any, _headers: object) -> Any:
        self.response = pipeline_response.http_response
        return deserialized


class AzureAgentsRuns:
    """:class:`~runfsm.following.client.RunsAPI` over ``azure.ai.agents.AgentsClient`` (SDK retries off per call)."""

    def __init__(self, client: Any) -> None:
        if not is_agents_client(client):
            raise TypeError(f"AzureAgentsRuns takes an azure.ai.agents.AgentsClient, got {type(client).__name__}")
        self.client = client
        self._runs = client.runs
        self.steps_page = STEPS_PAGE
        """Run steps asked for per page by :meth:`list_run_steps`."""

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Reply:
        with _azure_errors():
            reply: Reply = fn(*args, cls=_with_hint, **_NO_RETRIES, **kwargs)
        return reply

    def retrieve(self, thread_id: str, run_id: str) -> Reply:
        """``runs.get(thread_id, run_id)``."""
        return self._call(self._runs.get, thread_id=thread_id, run_id=run_id)

    def submit_tool_outputs(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> Reply:
        """``runs.submit_tool_outputs(thread_id, run_id, tool_outputs=...)``."""
        return self._call(
            self._runs.submit_tool_outputs, thread_id=thread_id, run_id=run_id, tool_outputs=_tool_outputs(outputs)
        )

    def cancel(self, thread_id: str, run_id: str) -> Reply:
        """``runs.cancel(thread_id, run_id)``."""
        return self._call(self._runs.cancel, thread_id=thread_id, run_id=run_id)

    def latest_run(self, thread_id: str) -> Reply | None:
        """``runs.list(thread_id, limit=1, order="desc")``: the newest run, or None."""
        with _azure_errors():
            pages = self._runs.list(thread_id=thread_id, limit=1, order="desc", **_NO_RETRIES)
            newest = next(iter(pages), None)
        return Reply(newest) if newest is not None else None

    def list_run_steps(self, thread_id: str, run_id: str) -> list[Any]:
        """``run_steps.list(thread_id, run_id, order="asc")``, page by page until a page is not full.

        The SDK's pager asks for another page whenever a page has a ``last_id`` (it does not read
        ``has_more``), so it would always end with one request for an empty page; a short page ends here.
        """
        steps: list[Any] = []
        with _azure_errors():
            listing = self.client.run_steps.list(
                thread_id=thread_id, run_id=run_id, order="asc", limit=self.steps_page, **_NO_RETRIES
            )
            for page in listing.by_page():
                items = list(page)
                steps.extend(items)
                if len(items) < self.steps_page:
                    break
        return steps

    def _events(self, handler: Any, opened: _Opened) -> Iterator[Any]:
        try:
            with _azure_errors():
                yield from handler
        finally:
            if opened.response is not None:
                opened.response.close()

    def create_stream(self, thread_id: str, params: Mapping[str, Any]) -> Iterator[Any]:
        """``runs.stream(thread_id, agent_id=..., **params)``, event by event."""
        keywords = _create_params(params)

        def events() -> Iterator[Any]:
            opened = _Opened()
            with _azure_errors():
                stream = self._runs.stream(
                    thread_id=thread_id, event_handler=_handler(), cls=opened, **keywords, **_NO_RETRIES
                )
            yield from self._events(stream.event_handler, opened)

        return events()

    def submit_stream(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> Iterator[Any]:
        """``runs.submit_tool_outputs_stream(...)``, event by event."""

        def events() -> Iterator[Any]:
            handler, opened = _handler(), _Opened()
            with _azure_errors():
                self._runs.submit_tool_outputs_stream(
                    thread_id=thread_id,
                    run_id=run_id,
                    tool_outputs=_tool_outputs(outputs),
                    event_handler=handler,
                    cls=opened,
                    **_NO_RETRIES,
                )
            yield from self._events(handler, opened)

        return events()


class AsyncAzureAgentsRuns:
    """:class:`~runfsm.following.client.AsyncRunsAPI` over ``azure.ai.agents.aio.AgentsClient``."""

    def __init__(self, client: Any) -> None:
        if not is_agents_client(client, aio=True):
            raise TypeError(
                f"AsyncAzureAgentsRuns takes an azure.ai.agents.aio.AgentsClient, got {type(client).__name__}"
            )
        self.client = client
        self._runs = client.runs
        self.steps_page = STEPS_PAGE
        """Run steps asked for per page by :meth:`list_run_steps`."""

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Reply:
        with _azure_errors():
            reply: Reply = await fn(*args, cls=_with_hint, **_NO_RETRIES, **kwargs)
        return reply

    async def retrieve(self, thread_id: str, run_id: str) -> Reply:
        """``runs.get(thread_id, run_id)``."""
        return await self._call(self._runs.get, thread_id=thread_id, run_id=run_id)

    async def submit_tool_outputs(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> Reply:
        """``runs.submit_tool_outputs(thread_id, run_id, tool_outputs=...)``."""
        return await self._call(
            self._runs.submit_tool_outputs, thread_id=thread_id, run_id=run_id, tool_outputs=_tool_outputs(outputs)
        )

    async def cancel(self, thread_id: str, run_id: str) -> Reply:
        """``runs.cancel(thread_id, run_id)``."""
        return await self._call(self._runs.cancel, thread_id=thread_id, run_id=run_id)

    async def latest_run(self, thread_id: str) -> Reply | None:
        """``runs.list(thread_id, limit=1, order="desc")``: the newest run, or None."""
        with _azure_errors():
            async for newest in self._runs.list(thread_id=thread_id, limit=1, order="desc", **_NO_RETRIES):
                return Reply(newest)
        return None

    async def list_run_steps(self, thread_id: str, run_id: str) -> list[Any]:
        """See :meth:`AzureAgentsRuns.list_run_steps`."""
        steps: list[Any] = []
        with _azure_errors():
            listing = self.client.run_steps.list(
                thread_id=thread_id, run_id=run_id, order="asc", limit=self.steps_page, **_NO_RETRIES
            )
            async for page in listing.by_page():
                items = [step async for step in page]
                steps.extend(items)
                if len(items) < self.steps_page:
                    break
        return steps

    async def _events(self, handler: Any, opened: _Opened) -> AsyncIterator[Any]:
        try:
            with _azure_errors():
                async for event in handler:
                    yield event
        finally:
            if opened.response is not None:
                await opened.response.close()

    async def create_stream(self, thread_id: str, params: Mapping[str, Any]) -> AsyncIterator[Any]:
        """``runs.stream(thread_id, agent_id=..., **params)``, event by event."""
        keywords = _create_params(params)
        opened = _Opened()
        with _azure_errors():
            stream = await self._runs.stream(
                thread_id=thread_id, event_handler=_async_handler(), cls=opened, **keywords, **_NO_RETRIES
            )
        async for event in self._events(stream.event_handler, opened):
            yield event

    async def submit_stream(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> AsyncIterator[Any]:
        """``runs.submit_tool_outputs_stream(...)``, event by event."""
        handler, opened = _async_handler(), _Opened()
        with _azure_errors():
            await self._runs.submit_tool_outputs_stream(
                thread_id=thread_id,
                run_id=run_id,
                tool_outputs=_tool_outputs(outputs),
                event_handler=handler,
                cls=opened,
                **_NO_RETRIES,
            )
        async for event in self._events(handler, opened):
            yield event
