"""The small client protocol the watcher and the scheduler talk to (``RunsAPI``), and its openai adapters.

:class:`RunsAPI` / :class:`AsyncRunsAPI` are the seven calls a watcher needs (retrieve, submit
tool outputs, cancel, the two SSE streams, the thread's newest run, to find a run whose
create stream broke before naming it, and the run's steps, to learn whether a submit whose
answer was lost was applied). :class:`OpenAIRuns` / :class:`AsyncOpenAIRuns`
implement them with the real ``openai`` client: they read the ``openai-poll-after-ms`` header
through ``with_raw_response``, and translate the SDK's errors into :class:`~runfsm.exceptions.ApiError`
with the server's ``retry-after`` in seconds.

Who retries: the adapters use ``client.with_options(max_retries=0)``. The watcher retries
instead, because it must (1) sleep on the injected clock, (2) spend the scheduler's shared
request budget and pause every run on a 429, and (3) never resend ``submit_tool_outputs`` blindly:
after a failed submit it retrieves the run first, since the submit may have been applied, and
when the run still waits for the same call ids it lists the run's steps to tell that round from
the next one reusing the ids.
The SDK's retries would do none of that, and would hide each retried request from the budget.

This module imports openai only inside the adapters' constructors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, cast

from runfsm.exceptions import ApiError

__all__ = [
    "AsyncOpenAIRuns",
    "AsyncRunsAPI",
    "OpenAIRuns",
    "STEPS_PAGE",
    "Reply",
    "RunsAPI",
    "ToolOutput",
    "acall",
    "aevents",
    "call",
    "events",
    "parse_hint",
    "retry_after",
    "translate_error",
]

ToolOutput = Mapping[str, Any]
"""One tool output: ``{"tool_call_id": "call_1", "output": "42"}``."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A run returned by the API, with the server's polling hint (seconds) if the response had one."""

    run: Any
    hint: float | None = None


class RunsAPI(Protocol):
    """The calls a synchronous watcher makes. Each raises :class:`ApiError` on failure."""

    def retrieve(self, thread_id: str, run_id: str) -> Reply:
        """Retrieve the run."""
        ...

    def submit_tool_outputs(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> Reply:
        """Submit all the tool outputs of one requires_action round."""
        ...

    def cancel(self, thread_id: str, run_id: str) -> Reply:
        """Ask the server to cancel the run."""
        ...

    def create_stream(self, thread_id: str, params: Mapping[str, Any]) -> Iterator[Any]:
        """Create a run with ``stream=True``; yield its SSE events."""
        ...

    def latest_run(self, thread_id: str) -> Reply | None:
        """The thread's newest run (None if it has none): finds a run whose create stream broke early."""
        ...

    def submit_stream(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> Iterator[Any]:
        """Submit tool outputs with ``stream=True``; yield the SSE events that follow."""
        ...

    def list_run_steps(self, thread_id: str, run_id: str) -> list[Any]:
        """All the run's steps, oldest first (every page): ``GET /threads/{t}/runs/{r}/steps``."""
        ...


class AsyncRunsAPI(Protocol):
    """The calls an asynchronous watcher makes. Each raises :class:`ApiError` on failure."""

    async def retrieve(self, thread_id: str, run_id: str) -> Reply:
        """Retrieve the run."""
        ...

    async def submit_tool_outputs(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> Reply:
        """Submit all the tool outputs of one requires_action round."""
        ...

    async def cancel(self, thread_id: str, run_id: str) -> Reply:
        """Ask the server to cancel the run."""
        ...

    def create_stream(self, thread_id: str, params: Mapping[str, Any]) -> AsyncIterator[Any]:
        """Create a run with ``stream=True``; yield its SSE events."""
        ...

    async def latest_run(self, thread_id: str) -> Reply | None:
        """The thread's newest run (None if it has none): finds a run whose create stream broke early."""
        ...

    def submit_stream(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> AsyncIterator[Any]:
        """Submit tool outputs with ``stream=True``; yield the SSE events that follow."""
        ...

    async def list_run_steps(self, thread_id: str, run_id: str) -> list[Any]:
        """All the run's steps, oldest first (every page): ``GET /threads/{t}/runs/{r}/steps``."""
        ...


STEPS_PAGE = 100
"""Run steps asked for per page when listing them (the API's largest ``limit``)."""


def parse_hint(value: str | None) -> float | None:
    """``openai-poll-after-ms`` (milliseconds, text) in seconds; None when absent or not a number."""
    if value is None:
        return None
    try:
        ms = float(value)
    except ValueError:
        return None
    return ms / 1000 if 0 <= ms < float("inf") else None


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """The server's ``retry-after-ms`` / ``retry-after`` in seconds; None when absent, a date, or over an hour."""
    if not headers:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue  # an HTTP date: rare for this API; fall back to the backoff
        if 0 <= seconds < 3600:
            return seconds
    return None


def translate_error(err: BaseException) -> ApiError | None:
    """An :class:`ApiError` for an openai or httpx2 exception, or None if ``err`` is neither."""
    import httpx2  # noqa: PLC0415 - openai's HTTP library; only the adapters need it
    import openai  # noqa: PLC0415 - heavy; only the adapters need it

    if isinstance(err, ApiError):
        return err
    if isinstance(err, openai.APITimeoutError):
        return ApiError(str(err), kind="timeout")
    if isinstance(err, openai.APIConnectionError):
        return ApiError(str(err), kind="connection")
    if isinstance(err, openai.APIStatusError):
        code = err.status_code
        headers = err.response.headers if err.response is not None else None
        kind = "rate_limited" if code == 429 else "server_error" if code >= 500 else "rejected"
        message = err.message
        body = err.body
        if isinstance(body, Mapping) and isinstance(body.get("message"), str):
            message = body["message"]
        return ApiError(message, kind=kind, status_code=code, retry_after=retry_after(headers))
    if isinstance(err, openai.APIError):
        # An ``event: error`` inside an SSE stream: the stream is unusable, the run may be fine.
        return ApiError(str(err), kind="connection")
    if isinstance(err, httpx2.TimeoutException):
        return ApiError(f"{type(err).__name__}: {err}", kind="timeout")
    if isinstance(err, (httpx2.HTTPError, httpx2.StreamError)):
        return ApiError(f"{type(err).__name__}: {err}", kind="connection")
    return None


@contextmanager
def _translating() -> Iterator[None]:
    """Raise the SDK's errors (openai, httpx2) as :class:`ApiError`; let anything else through as it is."""
    try:
        yield
    except Exception as err:
        api_error = translate_error(err)
        if api_error is None:
            raise
        raise api_error from err


def call(fn: Any, *args: Any, **kwargs: Any) -> Reply:
    """Call a ``with_raw_response`` method: the object and the ``openai-poll-after-ms`` hint; errors translated."""
    with _translating():
        raw = fn(*args, **kwargs)
        obj = raw.parse()
    return Reply(obj, parse_hint(raw.headers.get("openai-poll-after-ms")))


async def acall(fn: Any, *args: Any, **kwargs: Any) -> Reply:
    """The asyncio twin of :func:`call`."""
    with _translating():
        raw = await fn(*args, **kwargs)
        obj = raw.parse()
    return Reply(obj, parse_hint(raw.headers.get("openai-poll-after-ms")))


def events(open_stream: Callable[[], Any]) -> Iterator[Any]:
    """The events of the SSE stream ``open_stream()`` opens (an openai ``Stream``), errors translated."""
    with _translating(), open_stream() as stream:
        yield from stream


async def aevents(open_stream: Callable[[], Awaitable[Any]]) -> AsyncIterator[Any]:
    """The asyncio twin of :func:`events` (an openai ``AsyncStream``)."""
    with _translating():
        stream = await open_stream()
        async with stream:
            async for event in stream:
                yield event


class OpenAIRuns:
    """:class:`RunsAPI` over ``openai.OpenAI`` (its own retries turned off: the watcher retries)."""

    def __init__(self, client: Any) -> None:
        import openai  # noqa: PLC0415 - the optional dependency, imported by those who use it

        if not isinstance(client, openai.OpenAI):
            raise TypeError(f"OpenAIRuns takes an openai.OpenAI client, got {type(client).__name__}")
        self.client = client
        self._runs = client.with_options(max_retries=0).beta.threads.runs
        self.steps_page = STEPS_PAGE
        """Run steps asked for per page by :meth:`list_run_steps`."""

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Reply:
        return call(fn, *args, **kwargs)

    def retrieve(self, thread_id: str, run_id: str) -> Reply:
        """Retrieve the run (through ``with_raw_response``, for the hint header)."""
        return self._call(self._runs.with_raw_response.retrieve, run_id, thread_id=thread_id)

    def submit_tool_outputs(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> Reply:
        """Submit tool outputs."""
        return self._call(
            self._runs.with_raw_response.submit_tool_outputs,
            run_id,
            thread_id=thread_id,
            tool_outputs=cast("Any", list(outputs)),
        )

    def cancel(self, thread_id: str, run_id: str) -> Reply:
        """Request cancellation."""
        return self._call(self._runs.with_raw_response.cancel, run_id, thread_id=thread_id)

    def latest_run(self, thread_id: str) -> Reply | None:
        """``runs.list(thread_id, limit=1, order="desc")``: the newest run, or None."""
        try:
            page = self._runs.list(thread_id, limit=1, order="desc")
        except Exception as err:
            api_error = translate_error(err)
            if api_error is None:
                raise
            raise api_error from err
        return Reply(page.data[0]) if page.data else None

    def list_run_steps(self, thread_id: str, run_id: str) -> list[Any]:
        """``runs.steps.list(run_id, thread_id=..., order="asc")``, every page (the SDK follows the cursor)."""
        with _translating():
            return list(self._runs.steps.list(run_id, thread_id=thread_id, order="asc", limit=self.steps_page))

    def _events(self, open_stream: Any) -> Iterator[Any]:
        return events(open_stream)

    def create_stream(self, thread_id: str, params: Mapping[str, Any]) -> Iterator[Any]:
        """``runs.create(thread_id, stream=True, **params)``, event by event."""
        return self._events(lambda: self._runs.create(thread_id, stream=True, **params))

    def submit_stream(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> Iterator[Any]:
        """``runs.submit_tool_outputs(..., stream=True)``, event by event."""
        return self._events(
            lambda: self._runs.submit_tool_outputs(
                run_id, thread_id=thread_id, tool_outputs=cast("Any", list(outputs)), stream=True
            )
        )


class AsyncOpenAIRuns:
    """:class:`AsyncRunsAPI` over ``openai.AsyncOpenAI`` (its own retries turned off: the watcher retries)."""

    def __init__(self, client: Any) -> None:
        import openai  # noqa: PLC0415 - the optional dependency, imported by those who use it

        if not isinstance(client, openai.AsyncOpenAI):
            raise TypeError(f"AsyncOpenAIRuns takes an openai.AsyncOpenAI client, got {type(client).__name__}")
        self.client = client
        self._runs = client.with_options(max_retries=0).beta.threads.runs
        self.steps_page = STEPS_PAGE
        """Run steps asked for per page by :meth:`list_run_steps`."""

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Reply:
        return await acall(fn, *args, **kwargs)

    async def retrieve(self, thread_id: str, run_id: str) -> Reply:
        """Retrieve the run (through ``with_raw_response``, for the hint header)."""
        return await self._call(self._runs.with_raw_response.retrieve, run_id, thread_id=thread_id)

    async def submit_tool_outputs(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> Reply:
        """Submit tool outputs."""
        return await self._call(
            self._runs.with_raw_response.submit_tool_outputs,
            run_id,
            thread_id=thread_id,
            tool_outputs=cast("Any", list(outputs)),
        )

    async def cancel(self, thread_id: str, run_id: str) -> Reply:
        """Request cancellation."""
        return await self._call(self._runs.with_raw_response.cancel, run_id, thread_id=thread_id)

    async def latest_run(self, thread_id: str) -> Reply | None:
        """``runs.list(thread_id, limit=1, order="desc")``: the newest run, or None."""
        try:
            page = await self._runs.list(thread_id, limit=1, order="desc")
        except Exception as err:
            api_error = translate_error(err)
            if api_error is None:
                raise
            raise api_error from err
        return Reply(page.data[0]) if page.data else None

    async def list_run_steps(self, thread_id: str, run_id: str) -> list[Any]:
        """``runs.steps.list(run_id, thread_id=..., order="asc")``, every page (the SDK follows the cursor)."""
        with _translating():
            pages = self._runs.steps.list(run_id, thread_id=thread_id, order="asc", limit=self.steps_page)
            return [step async for step in pages]

    def _events(self, open_stream: Any) -> AsyncIterator[Any]:
        return aevents(open_stream)

    def create_stream(self, thread_id: str, params: Mapping[str, Any]) -> AsyncIterator[Any]:
        """``runs.create(thread_id, stream=True, **params)``, event by event."""
        return self._events(lambda: self._runs.create(thread_id, stream=True, **params))

    def submit_stream(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> AsyncIterator[Any]:
        """``runs.submit_tool_outputs(..., stream=True)``, event by event."""
        return self._events(
            lambda: self._runs.submit_tool_outputs(
                run_id, thread_id=thread_id, tool_outputs=cast("Any", list(outputs)), stream=True
            )
        )
