"""Which client adapter a watcher or a scheduler uses: the protocol as given, Azure's ``AgentsClient``, or openai.

Clients are recognised without importing their SDKs: an object with the protocol's methods is
used as it is; an ``azure.ai.agents`` ``AgentsClient`` (by its class's module) gets
:class:`~runfsm.following.azure.AzureAgentsRuns`; anything with openai's ``beta`` namespace gets
:class:`~runfsm.following.client.OpenAIRuns` (and their asyncio twins).

Objects of the other presets (:func:`objects_api`) are reached through an
:class:`~runfsm.following.resources.ObjectsAPI` as given, or the openai adapter of the
preset's resource (:data:`OBJECT_ADAPTERS`: ``responses``, ``batches``). Azure's agents
client serves runs only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runfsm.following.azure import AsyncAzureAgentsRuns, AzureAgentsRuns, is_agents_client
from runfsm.following.client import AsyncOpenAIRuns, AsyncRunsAPI, OpenAIRuns, RunsAPI
from runfsm.following.resources import AsyncOpenAIBatches, AsyncOpenAIResponses, OpenAIBatches, OpenAIResponses
from runfsm.lifecycles import BATCH_LIFECYCLE, RESPONSE_LIFECYCLE

if TYPE_CHECKING:
    from collections.abc import Mapping

    from runfsm.lifecycle import Lifecycle

__all__ = [
    "OBJECT_ADAPTERS",
    "OBJECT_METHODS",
    "POLL_METHODS",
    "STREAM_METHODS",
    "async_runs_api",
    "objects_api",
    "runs_api",
]

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


OBJECT_METHODS = ("retrieve", "cancel")
"""What following an object addressed by its id alone needs (``create_stream`` and ``resume_stream`` are optional)."""

OBJECT_ADAPTERS: Mapping[str, tuple[str, type[Any], type[Any]]] = {
    RESPONSE_LIFECYCLE.key: ("responses", OpenAIResponses, AsyncOpenAIResponses),
    BATCH_LIFECYCLE.key: ("batches", OpenAIBatches, AsyncOpenAIBatches),
}
"""Each preset's openai resource and its adapters (sync, asyncio), by the preset's key."""


def objects_api(client: Any, lifecycle: Lifecycle[Any], *, who: str, aio: bool) -> Any:
    """The :class:`~runfsm.following.resources.ObjectsAPI` (or asyncio twin) following ``lifecycle``'s objects."""
    what = lifecycle.title.lower()
    if _has(client, OBJECT_METHODS) and not hasattr(client, "submit_tool_outputs"):
        return client
    if is_agents_client(client, aio=aio) or is_agents_client(client, aio=not aio):
        raise TypeError(f"{who}: an azure.ai.agents AgentsClient follows runs, not a {what}")
    adapters = OBJECT_ADAPTERS.get(lifecycle.key)
    if adapters is not None and hasattr(client, adapters[0]):
        return adapters[2](client) if aio else adapters[1](client)
    kind = "openai.AsyncOpenAI" if aio else "openai.OpenAI"
    protocol = "AsyncObjectsAPI" if aio else "ObjectsAPI"
    raise TypeError(
        f"{who} follows a {what} with an {kind} or a runfsm.following.{protocol}, got {type(client).__name__}"
    )
