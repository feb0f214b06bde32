"""In-process transport: the real openai client talks to a :class:`FakeAssistants` with no socket.

Built on ``httpx2.MockTransport`` (serves sync and async clients). The openai client factories
here also make the SDK's own waits (the poll helpers' ``openai-poll-after-ms`` sleeps and the
retry back-off) sleep on the fake's virtual clock, so ``create_and_poll`` on a run scripted to
take ten minutes returns at once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx2

from runfsm.testing.fake.wire import Handler

if TYPE_CHECKING:
    import openai

    from runfsm.testing.fake.clock import VirtualClock

__all__ = ["FAKE_BASE_URL", "async_openai_client", "fake_transport", "openai_client", "use_virtual_sleep"]

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
    if answer.drop:
        raise httpx2.RemoteProtocolError("runfsm fake: connection dropped (injected fault)", request=request)
    return httpx2.Response(answer.status_code, headers=answer.headers, content=answer.body, request=request)


def fake_transport(fake: Handler) -> httpx2.MockTransport:
    """An ``httpx2`` transport (sync and async) answering every request from ``fake``."""
    if not isinstance(fake, Handler):
        raise TypeError(f"fake_transport takes a FakeAssistants (anything with handle() and clock), got {fake!r}")
    return httpx2.MockTransport(lambda request: _respond(fake, request))


def use_virtual_sleep(client: openai.OpenAI | openai.AsyncOpenAI, clock: VirtualClock) -> None:
    """Make ``client``'s poll helpers and retry back-off wait on ``clock`` instead of real time.

    Hooks the two places the SDK sleeps: ``client.beta.threads.runs._sleep`` (the poll helpers)
    and ``client._sleep_for_retry`` (429/5xx/connection retries, which still compute the delay
    with the SDK's own ``_calculate_retry_timeout``, honouring ``retry-after-ms`` / ``retry-after``).
    """
    import openai  # noqa: PLC0415 - the fake's core does not need openai

    runs: Any = client.beta.threads.runs
    target: Any = client
    if isinstance(client, openai.AsyncOpenAI):
        runs._sleep = clock.async_sleep

        async def _async_retry_sleep(
            *, retries_taken: int, max_retries: int, options: Any, response: httpx2.Response | None
        ) -> None:
            delay = target._calculate_retry_timeout(
                max_retries - retries_taken, options, response.headers if response is not None else None
            )
            await clock.async_sleep(delay)

        target._sleep_for_retry = _async_retry_sleep
        return

    runs._sleep = clock.sleep

    def _retry_sleep(*, retries_taken: int, max_retries: int, options: Any, response: httpx2.Response | None) -> None:
        delay = target._calculate_retry_timeout(
            max_retries - retries_taken, options, response.headers if response is not None else None
        )
        clock.sleep(delay)

    target._sleep_for_retry = _retry_sleep


def openai_client(fake: Handler, *, base_url: str | None = None, max_retries: int = 2, **options: Any) -> openai.OpenAI:
    """A real ``openai.OpenAI`` for ``fake``: in-process unless ``base_url`` (a loopback server's) is given."""
    import openai  # noqa: PLC0415

    http_client = None if base_url is not None else httpx2.Client(transport=fake_transport(fake))
    client = openai.OpenAI(
        api_key="test",
        base_url=base_url or FAKE_BASE_URL,
        max_retries=max_retries,
        http_client=http_client,
        **options,
    )
    use_virtual_sleep(client, fake.clock)
    return client


def async_openai_client(
    fake: Handler, *, base_url: str | None = None, max_retries: int = 2, **options: Any
) -> openai.AsyncOpenAI:
    """A real ``openai.AsyncOpenAI`` for ``fake`` (in-process unless ``base_url`` is given)."""
    import openai  # noqa: PLC0415

    http_client = None if base_url is not None else httpx2.AsyncClient(transport=fake_transport(fake))
    client = openai.AsyncOpenAI(
        api_key="test",
        base_url=base_url or FAKE_BASE_URL,
        max_retries=max_retries,
        http_client=http_client,
        **options,
    )
    use_virtual_sleep(client, fake.clock)
    return client
