"""In-process transport: the real openai client talks to a :class:`FakeAssistants` with no socket.

Built on ``httpx2.MockTransport`` (serves sync and async clients). The openai client factories
here also make the SDK's own waits (the poll helpers' ``openai-poll-after-ms`` sleeps and the
retry back-off) sleep on the fake's virtual clock, so ``create_and_poll`` on a run scripted to
take ten minutes returns at once.

The clients they build are the SDK's own classes, with three differences that stay with them
(``with_options`` copies keep them): their Assistants methods do not warn ``DeprecationWarning``
(:func:`quiet_assistants`; the warning is about OpenAI's service, not about a test's code, and
a project with ``filterwarnings = error`` would fail on it), they sleep on the virtual clock,
and once the fake has judged the client (``stop_on_violation``) they stop it with
:class:`~runfsm.testing.fake.conduct.ClientStopped`.
"""

from __future__ import annotations

import contextlib
import functools
import time
import types
from typing import TYPE_CHECKING, Any, TypeVar

import httpx2

from runfsm.testing.fake.wire import Handler

if TYPE_CHECKING:
    from collections.abc import Callable

    import openai

    from runfsm.testing.fake.clock import VirtualClock

__all__ = [
    "FAKE_BASE_URL",
    "async_openai_client",
    "fake_transport",
    "openai_client",
    "quiet_assistants",
    "use_virtual_sleep",
]

FAKE_BASE_URL = "http://fake-assistants.invalid/v1"
"""The base URL in-process clients use (never resolved: no request leaves the process)."""


def _respond(fake: Handler, request: httpx2.Request) -> httpx2.Response:
    answer = fake.handle(
        request.method,
        request.url.path,
        query=request.url.query.decode() if isinstance(request.url.query, bytes) else str(request.url.query),
        body=request.content,
        headers=dict(request.headers),
    )
    if answer.real_delay:
        time.sleep(answer.real_delay)
    _stop_if_judged(fake)
    if answer.drop:
        raise httpx2.RemoteProtocolError("runfsm fake: connection dropped (injected fault)", request=request)
    return httpx2.Response(answer.status_code, headers=answer.headers, content=answer.body, request=request)


def fake_transport(fake: Handler) -> httpx2.MockTransport:
    """An ``httpx2`` transport (sync and async) answering every request from ``fake``."""
    if not isinstance(fake, Handler):
        raise TypeError(f"fake_transport takes a FakeAssistants (anything with handle() and clock), got {fake!r}")
    return httpx2.MockTransport(lambda request: _respond(fake, request))


def _stop_if_judged(fake: object) -> None:
    check = getattr(fake, "raise_if_stopped", None)
    if check is not None:
        check()


class _JudgedTransport(httpx2.BaseTransport):
    """Loopback HTTP that stops the client once the fake has judged it (the fake answers in another thread).

    ``pool`` is a shared connection pool (the fake host's), which closing the client leaves open.
    """

    def __init__(self, fake: Handler, pool: httpx2.HTTPTransport | None = None) -> None:
        self._fake = fake
        self._shared = pool is not None
        self._pool = pool if pool is not None else httpx2.HTTPTransport()

    def close(self) -> None:
        if not self._shared:
            self._pool.close()

    def __del__(self) -> None:  # as the SDK's own default client does: an unclosed client frees its sockets
        with contextlib.suppress(Exception):  # nothing to do about a failure at collection time
            self.close()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = self._pool.handle_request(request)
        try:
            _stop_if_judged(self._fake)
        except BaseException:
            response.close()
            raise
        return response


class _AsyncJudgedTransport(httpx2.AsyncHTTPTransport):
    def __init__(self, fake: Handler) -> None:
        super().__init__()
        self._fake = fake

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await super().handle_async_request(request)
        try:
            _stop_if_judged(self._fake)
        except BaseException:
            await response.aclose()
            raise
        return response


_ASSISTANTS_RESOURCES = ("assistants", "threads", "threads.runs", "threads.messages", "threads.runs.steps")


def quiet_assistants(client: openai.OpenAI | openai.AsyncOpenAI) -> None:
    """Make ``client``'s Assistants methods stop warning ``DeprecationWarning`` (this client only).

    The SDK marks each Assistants method ``@deprecated``, which warns on every call (hundreds
    of warnings in one small property test). This binds the undecorated methods on the
    client's own resource objects instead, before their ``with_raw_response`` wrappers are
    built; no warning filter changes, so the user's other code warns as before.
    """
    beta: Any = client.beta
    for dotted in _ASSISTANTS_RESOURCES:
        resource: Any = functools.reduce(getattr, dotted.split("."), beta)
        for name in dir(type(resource)):
            plain = _undeprecated(getattr(type(resource), name, None))
            if plain is not None:
                setattr(resource, name, types.MethodType(plain, resource))


def _undeprecated(attr: object) -> Any:
    """The plain function under ``attr``'s decorators if one of them is ``@deprecated`` (else None).

    ``@deprecated`` marks the function it wraps too, and ``functools.wraps`` copies the mark to
    the layers above (the SDK's ``required_args`` check): so the function at the bottom of the
    ``__wrapped__`` chain is the one that does not warn. The layers dropped only validate
    arguments, which the API behind the fake checks again.
    """
    if not callable(attr) or getattr(attr, "__deprecated__", None) is None:
        return None
    layer: Any = attr
    while getattr(layer, "__wrapped__", None) is not None:
        layer = layer.__wrapped__
    return layer if layer is not attr else None


_C = TypeVar("_C", bound="openai.OpenAI | openai.AsyncOpenAI")


def _prepare(client: _C, fake: Handler) -> _C:
    setattr(client, "_runfsm_fake", fake)  # noqa: B010 - an attribute the SDK's class does not declare
    quiet_assistants(client)
    use_virtual_sleep(client, fake.clock, stop=lambda: _stop_if_judged(fake))
    return client


@functools.cache
def _client_classes() -> tuple[type[openai.OpenAI], type[openai.AsyncOpenAI]]:
    import openai  # noqa: PLC0415

    class FakeOpenAI(openai.OpenAI):
        """``openai.OpenAI`` for the fake: quiet, on virtual time; copies stay so."""

        _runfsm_fake: Handler

        def copy(self, *args: Any, **kwargs: Any) -> Any:
            return _prepare(super().copy(*args, **kwargs), self._runfsm_fake)

        with_options = copy

    class AsyncFakeOpenAI(openai.AsyncOpenAI):
        """``openai.AsyncOpenAI`` for the fake: quiet, on virtual time; copies stay so."""

        _runfsm_fake: Handler

        def copy(self, *args: Any, **kwargs: Any) -> Any:
            return _prepare(super().copy(*args, **kwargs), self._runfsm_fake)

        with_options = copy

    return FakeOpenAI, AsyncFakeOpenAI


def use_virtual_sleep(
    client: openai.OpenAI | openai.AsyncOpenAI, clock: VirtualClock, *, stop: Callable[[], None] | None = None
) -> None:
    """Make ``client``'s poll helpers and retry back-off wait on ``clock`` instead of real time.

    Hooks the two places the SDK sleeps: ``client.beta.threads.runs._sleep`` (the poll helpers)
    and ``client._sleep_for_retry`` (429/5xx/connection retries, which still compute the delay
    with the SDK's own ``_calculate_retry_timeout``, honouring ``retry-after-ms`` / ``retry-after``).
    ``stop`` is called before each sleep (the fake's clients stop a judged client there).
    """
    import openai  # noqa: PLC0415 - the fake's core does not need openai

    runs: Any = client.beta.threads.runs
    target: Any = client
    check = stop if stop is not None else (lambda: None)

    def _sleep(seconds: float) -> None:
        check()
        clock.sleep(seconds)

    async def _async_sleep(seconds: float) -> None:
        check()
        await clock.async_sleep(seconds)

    if isinstance(client, openai.AsyncOpenAI):
        runs._sleep = _async_sleep

        async def _async_retry_sleep(
            *, retries_taken: int, max_retries: int, options: Any, response: httpx2.Response | None
        ) -> None:
            delay = target._calculate_retry_timeout(
                max_retries - retries_taken, options, response.headers if response is not None else None
            )
            await _async_sleep(delay)

        target._sleep_for_retry = _async_retry_sleep
        return

    runs._sleep = _sleep

    def _retry_sleep(*, retries_taken: int, max_retries: int, options: Any, response: httpx2.Response | None) -> None:
        delay = target._calculate_retry_timeout(
            max_retries - retries_taken, options, response.headers if response is not None else None
        )
        _sleep(delay)

    target._sleep_for_retry = _retry_sleep


def openai_client(
    fake: Handler,
    *,
    base_url: str | None = None,
    max_retries: int = 2,
    pool: httpx2.HTTPTransport | None = None,
    **options: Any,
) -> openai.OpenAI:
    """A real ``openai.OpenAI`` for ``fake``: in-process unless ``base_url`` (a loopback server's) is given.

    ``pool``: a connection pool to share (loopback only; closing the client leaves it open).
    """
    transport = _JudgedTransport(fake, pool) if base_url is not None else fake_transport(fake)
    client = _client_classes()[0](
        api_key="test",
        base_url=base_url or FAKE_BASE_URL,
        max_retries=max_retries,
        http_client=httpx2.Client(transport=transport),
        **options,
    )
    return _prepare(client, fake)


def async_openai_client(
    fake: Handler, *, base_url: str | None = None, max_retries: int = 2, **options: Any
) -> openai.AsyncOpenAI:
    """A real ``openai.AsyncOpenAI`` for ``fake`` (in-process unless ``base_url`` is given)."""
    transport = _AsyncJudgedTransport(fake) if base_url is not None else fake_transport(fake)
    client = _client_classes()[1](
        api_key="test",
        base_url=base_url or FAKE_BASE_URL,
        max_retries=max_retries,
        http_client=httpx2.AsyncClient(transport=transport),
        **options,
    )
    return _prepare(client, fake)
