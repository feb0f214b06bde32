"""Which client adapter a watcher or a scheduler uses: the protocol as given, Azure's ``AgentsClient``, or openai.

Clients are recognised without importing their SDKs: an object with the protocol's methods is
used as it is; an ``azure.ai.agents`` ``AgentsClient`` (by its class's module) gets
:class:`~runfsm.following.azure.AzureAgentsRuns`; anything with openai's ``beta`` namespace gets
:class:`~runfsm.following.client.OpenAIRuns` (and their asyncio twins).
"""

from __future__ import annotations

from typing import Any

from runfsm.following.azure import AsyncAzureAgentsRuns, AzureAgentsRuns, is_agents_client
from runfsm.following.client import AsyncOpenAIRuns, AsyncRunsAPI, OpenAIRuns, RunsAPI

__all__ = ["POLL_METHODS", "STREAM_METHODS", "async_runs_api", "runs_api"]

POLL_METHODS = ("retrieve", "submit_tool_outputs", "cancel", "list_run_steps")
"""What following by polling needs (the schedulers): the run's steps settle a submit whose answer was lost."""
STREAM_METHODS = (*POLL_METHODS, "create_stream", "submit_stream", "latest_run")
"""What the watchers need: polling, the two SSE streams, and finding a run whose create stream broke."""


def _has(client: object, methods: tuple[str, ...]) -> bool:
    return all(callable(getattr(client, name, None)) for name in methods)


def _adapter(client: Any, *, who: str, methods: tuple[str, ...], aio: bool) -> Any:
    if _has(client, methods):
        return client
    if is_agents_client(client, aio=aio):
        return AsyncAzureAgentsRuns(client) if aio else AzureAgentsRuns(client)
    if is_agents_client(client, aio=not aio):
        wanted = "azure.ai.agents.aio.AgentsClient" if aio else "azure.ai.agents.AgentsClient"
        raise TypeError(f"{who} takes the {'asyncio' if aio else 'synchronous'} {wanted}, got the other one")
    if hasattr(client, "beta"):
        return AsyncOpenAIRuns(client) if aio else OpenAIRuns(client)
    kinds = (
        "openai.AsyncOpenAI, an azure.ai.agents.aio.AgentsClient or a runfsm.following.AsyncRunsAPI"
        if aio
        else "openai.OpenAI, an azure.ai.agents.AgentsClient or a runfsm.following.RunsAPI"
    )
    raise TypeError(f"{who} takes an {kinds}, got {type(client).__name__}")


def runs_api(client: Any, *, who: str, methods: tuple[str, ...] = STREAM_METHODS) -> RunsAPI:
    """The :class:`~runfsm.following.client.RunsAPI` for ``client``; ``who`` names the caller in the TypeError."""
    api: RunsAPI = _adapter(client, who=who, methods=methods, aio=False)
    return api


def async_runs_api(client: Any, *, who: str, methods: tuple[str, ...] = STREAM_METHODS) -> AsyncRunsAPI:
    """The :class:`~runfsm.following.client.AsyncRunsAPI` for ``client``; ``who`` names the caller in the TypeError."""
    api: AsyncRunsAPI = _adapter(client, who=who, methods=methods, aio=True)
    return api
