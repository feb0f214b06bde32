"""Real ``azure-ai-agents`` clients of the fake: a test credential, plain HTTP on loopback, sleeps in virtual time.

:func:`agents_client` / :func:`async_agents_client` build ``azure.ai.agents.AgentsClient`` and
``azure.ai.agents.aio.AgentsClient`` for a running :class:`~runfsm.testing.fake.FakeAssistantsServer`
(``server.agents_client()`` calls them with its ``azure_endpoint`` and clock). Nothing of the
SDK is replaced; three of its own seams are used:

- **Credential**: :class:`StaticTokenCredential` / :class:`AsyncStaticTokenCredential` are
  ``azure.core`` token credentials returning a fixed ``AccessToken``; the SDK's
  ``BearerTokenCredentialPolicy`` sends it as ``Authorization: Bearer ...``, which the fake
  checks (a request without it gets 401).
- **Plain HTTP**: that policy refuses to send a bearer token over ``http://``
  (``ServiceRequestError: Bearer token authentication is not permitted for non-TLS protected
  (non-https) URLs``). azure-core's supported opt-out is the per-request option
  ``enforce_https=False``; :class:`AllowLoopbackHttp`, added with ``per_call_policies``, sets it
  on every request to a loopback host (127.0.0.1, ::1, localhost) and on no other, so a real
  endpoint keeps the SDK's protection. Without it, pass ``enforce_https=False`` to each call.
- **Time**: the SDK's retry back-off sleeps on the fake's virtual clock
  (:class:`VirtualRetryPolicy`, honouring ``retry-after``), and :func:`virtual_sdk_sleep` makes
  the SDK's own polling loops (``runs.create_and_process`` and the other ``*_and_poll``
  helpers, which call ``time.sleep`` / ``asyncio.sleep``) sleep on the clock too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken
from azure.core.pipeline.policies import AsyncRetryPolicy, RetryPolicy, SansIOHTTPPolicy

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import TracebackType

    from azure.ai.agents import AgentsClient
    from azure.ai.agents.aio import AgentsClient as AsyncAgentsClient
    from azure.core.pipeline import PipelineRequest, PipelineResponse

    from runfsm.testing.fake.clock import VirtualClock

__all__ = [
    "FAKE_TOKEN",
    "AllowLoopbackHttp",
    "AsyncStaticTokenCredential",
    "AsyncVirtualRetryPolicy",
    "StaticTokenCredential",
    "VirtualRetryPolicy",
    "agents_client",
    "async_agents_client",
    "virtual_sdk_sleep",
]

FAKE_TOKEN = "runfsm-fake-token"
"""The bearer token the test credentials hand out."""

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_TOKEN_LIFETIME_S = 24 * 3600


class StaticTokenCredential:
    """An ``azure.core.credentials.TokenCredential`` that always returns the same token (tests only)."""

    def __init__(self, token: str = FAKE_TOKEN) -> None:
        self.token = token

    def get_token(
        self, *scopes: str, claims: str | None = None, tenant_id: str | None = None, **kwargs: Any
    ) -> AccessToken:
        """A fixed token, valid for a day of real time (the SDK refreshes tokens by the wall clock)."""
        return AccessToken(self.token, int(time.time()) + _TOKEN_LIFETIME_S)


class AsyncStaticTokenCredential:
    """The ``AsyncTokenCredential`` twin of :class:`StaticTokenCredential`."""

    def __init__(self, token: str = FAKE_TOKEN) -> None:
        self.token = token

    async def get_token(
        self, *scopes: str, claims: str | None = None, tenant_id: str | None = None, **kwargs: Any
    ) -> AccessToken:
        """A fixed token, valid for a day of real time."""
        return AccessToken(self.token, int(time.time()) + _TOKEN_LIFETIME_S)

    async def close(self) -> None:
        """Nothing to release."""

    async def __aenter__(self) -> AsyncStaticTokenCredential:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class AllowLoopbackHttp(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """A per-call policy: bearer tokens may go over plain HTTP to a loopback host, and only there.

    Sets azure-core's ``enforce_https=False`` request option (read by ``BearerTokenCredentialPolicy``)
    when the URL is ``http://127.0.0.1``, ``http://[::1]`` or ``http://localhost``.
    """

    def on_request(self, request: PipelineRequest[Any]) -> None:
        """Opt this request out of the HTTPS check if it goes to loopback."""
        url = urlsplit(request.http_request.url)
        if url.scheme == "http" and url.hostname in _LOOPBACK:
            request.context.options.setdefault("enforce_https", False)


class VirtualRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
    """azure-core's ``RetryPolicy`` (same decisions, ``retry-after`` honoured) sleeping on a virtual clock."""

    def __init__(self, clock: VirtualClock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock

    def sleep(
        self, settings: dict[str, Any], transport: Any, response: PipelineResponse[Any, Any] | None = None
    ) -> None:
        """Advance the clock by the server's ``retry-after``, else by the back-off."""
        wait = self.get_retry_after(response) if response is not None else None
        self.clock.sleep(wait if wait is not None else self.get_backoff_time(settings))


class AsyncVirtualRetryPolicy(AsyncRetryPolicy):  # type: ignore[type-arg]
    """The asyncio twin of :class:`VirtualRetryPolicy`."""

    def __init__(self, clock: VirtualClock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock

    async def sleep(
        self, settings: dict[str, Any], transport: Any, response: PipelineResponse[Any, Any] | None = None
    ) -> None:
        """Advance the clock by the server's ``retry-after``, else by the back-off."""
        wait = self.get_retry_after(response) if response is not None else None
        await self.clock.async_sleep(wait if wait is not None else self.get_backoff_time(settings))


def agents_client(endpoint: str, *, clock: VirtualClock, **options: Any) -> AgentsClient:
    """A real ``azure.ai.agents.AgentsClient`` of the fake at ``endpoint`` (test credential, retries on ``clock``).

    ``endpoint`` is a server's ``azure_endpoint``. ``options`` go to ``AgentsClient``
    (``api_version=``, ``retry_total=``, ...); a ``credential=`` or ``retry_policy=`` given
    there replaces the test one.
    """
    from azure.ai.agents import AgentsClient  # noqa: PLC0415 - the optional dependency

    credential = options.pop("credential", None) or StaticTokenCredential()
    retry = options.pop("retry_policy", None) or VirtualRetryPolicy(clock, **_retry_options(options))
    policies = [AllowLoopbackHttp(), *options.pop("per_call_policies", ())]
    return AgentsClient(endpoint, credential, retry_policy=retry, per_call_policies=policies, **options)


def async_agents_client(endpoint: str, *, clock: VirtualClock, **options: Any) -> AsyncAgentsClient:
    """The ``azure.ai.agents.aio.AgentsClient`` twin of :func:`agents_client` (needs ``aiohttp``)."""
    from azure.ai.agents.aio import AgentsClient as AsyncAgentsClient  # noqa: PLC0415

    credential: Any = options.pop("credential", None) or AsyncStaticTokenCredential()
    retry = options.pop("retry_policy", None) or AsyncVirtualRetryPolicy(clock, **_retry_options(options))
    policies = [AllowLoopbackHttp(), *options.pop("per_call_policies", ())]
    return AsyncAgentsClient(endpoint, credential, retry_policy=retry, per_call_policies=policies, **options)


def _retry_options(options: dict[str, Any]) -> dict[str, Any]:
    return {name: options.pop(name) for name in list(options) if name.startswith("retry_")}


@contextlib.contextmanager
def virtual_sdk_sleep(clock: VirtualClock, *, sleep: Callable[[float], object] | None = None) -> Iterator[None]:
    """Within the block, the SDK's polling helpers sleep on ``clock`` (``create_and_process`` returns at once).

    ``sleep`` replaces the synchronous sleep (default ``clock.sleep``): a test can let other
    actors move between the SDK's polls, as long as it advances the clock.

    ``azure.ai.agents`` polls with the module-level ``time.sleep`` (sync) and ``asyncio.sleep``
    (async); this swaps those two names in its operation modules for the clock's sleeps and
    restores them on exit. Process-wide while it lasts: use it in tests, not around threads
    that poll the real service.
    """
    from azure.ai.agents.aio.operations import _patch as async_ops  # noqa: PLC0415 - the SDK's polling loops
    from azure.ai.agents.operations import _patch as sync_ops  # noqa: PLC0415

    sync_sleep = clock.sleep if sleep is None else sleep

    class _Time:
        sleep = staticmethod(sync_sleep)

        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

    class _Asyncio:
        sleep = staticmethod(clock.async_sleep)

        def __getattr__(self, name: str) -> Any:
            return getattr(asyncio, name)

    saved = sync_ops.__dict__["time"], async_ops.__dict__["asyncio"]
    setattr(sync_ops, "time", _Time())  # noqa: B010 - the SDK's module globals, not attributes it exports
    setattr(async_ops, "asyncio", _Asyncio())  # noqa: B010
    try:
        yield
    finally:
        setattr(sync_ops, "time", saved[0])  # noqa: B010
        setattr(async_ops, "asyncio", saved[1])  # noqa: B010
