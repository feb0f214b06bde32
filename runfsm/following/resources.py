"""The client protocol for objects addressed by their id alone (background responses, batches), and its openai adapters.

:class:`ObjectsAPI` / :class:`AsyncObjectsAPI` are what following such an object by polling
needs: retrieve and cancel. :class:`ObjectStreamsAPI` / :class:`AsyncObjectStreamsAPI` add the
stream of an object created with ``stream=true`` and its resumption after the last event seen
(``starting_after``), what a background response has and a batch has not.

The adapters wrap the real ``openai`` clients' resources with the SDK's retries turned off,
for the reasons given in :mod:`runfsm.following.client` (the watcher retries, on its clock and
under the scheduler's budget): :class:`OpenAIResponses` (``client.responses``; creates with
``background=true``) and :class:`OpenAIBatches` (``client.batches``), and their asyncio twins.
They read the ``openai-poll-after-ms`` header and translate the SDK's errors into
:class:`~runfsm.exceptions.ApiError`, as the run adapters do. This module imports openai only
inside the adapters' constructors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from runfsm.following.client import Reply, acall, aevents, call, events

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Mapping

__all__ = [
    "AsyncObjectStreamsAPI",
    "AsyncObjectsAPI",
    "AsyncOpenAIBatches",
    "AsyncOpenAIResponses",
    "ObjectStreamsAPI",
    "ObjectsAPI",
    "OpenAIBatches",
    "OpenAIResponses",
]


class ObjectsAPI(Protocol):
    """The calls a synchronous watcher makes to follow an object by polling. Each raises ``ApiError``."""

    def retrieve(self, object_id: str) -> Reply:
        """Retrieve the object."""
        ...

    def cancel(self, object_id: str) -> Reply:
        """Ask the server to cancel the object."""
        ...


class ObjectStreamsAPI(ObjectsAPI, Protocol):
    """:class:`ObjectsAPI` with the object's stream: what ``Watcher.watch`` needs."""

    def create_stream(self, params: Mapping[str, Any]) -> Iterator[Any]:
        """Create the object with ``stream=true``; yield its SSE events."""
        ...

    def resume_stream(self, object_id: str, after: int | None) -> Iterator[Any]:
        """The object's stream again, from the event after ``sequence_number`` ``after`` (None: from the start)."""
        ...


class AsyncObjectsAPI(Protocol):
    """The asyncio twin of :class:`ObjectsAPI`."""

    async def retrieve(self, object_id: str) -> Reply:
        """Retrieve the object."""
        ...

    async def cancel(self, object_id: str) -> Reply:
        """Ask the server to cancel the object."""
        ...


class AsyncObjectStreamsAPI(AsyncObjectsAPI, Protocol):
    """The asyncio twin of :class:`ObjectStreamsAPI`."""

    def create_stream(self, params: Mapping[str, Any]) -> AsyncIterator[Any]:
        """Create the object with ``stream=true``; yield its SSE events."""
        ...

    def resume_stream(self, object_id: str, after: int | None) -> AsyncIterator[Any]:
        """The object's stream again, from the event after ``sequence_number`` ``after`` (None: from the start)."""
        ...


def _resource(client: Any, name: str, *, who: str, aio: bool) -> Any:
    import openai  # noqa: PLC0415 - the optional dependency, imported by those who use it

    wanted = openai.AsyncOpenAI if aio else openai.OpenAI
    if not isinstance(client, wanted):
        raise TypeError(f"{who} takes an openai.{wanted.__name__} client, got {type(client).__name__}")
    return getattr(client.with_options(max_retries=0), name)


def _create_params(params: Mapping[str, Any]) -> dict[str, Any]:
    for name in ("background", "stream"):
        if name in params and params[name] is not True:
            raise ValueError(f"a followed response is created with {name}=True, got {name}={params[name]!r}")
    return {**params, "background": True, "stream": True}


def _resume_params(after: int | None) -> dict[str, Any]:
    return {"stream": True} if after is None else {"stream": True, "starting_after": after}


class OpenAIResponses:
    """:class:`ObjectStreamsAPI` over ``openai.OpenAI().responses``: background responses."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._responses = _resource(client, "responses", who="OpenAIResponses", aio=False)

    def retrieve(self, object_id: str) -> Reply:
        """``responses.retrieve`` (through ``with_raw_response``, for the hint header)."""
        return call(self._responses.with_raw_response.retrieve, object_id)

    def cancel(self, object_id: str) -> Reply:
        """``responses.cancel``: background responses only; a final response is returned as it is."""
        return call(self._responses.with_raw_response.cancel, object_id)

    def create_stream(self, params: Mapping[str, Any]) -> Iterator[Any]:
        """``responses.create(background=True, stream=True, **params)``, event by event."""
        body = _create_params(params)
        return events(lambda: self._responses.create(**body))

    def resume_stream(self, object_id: str, after: int | None) -> Iterator[Any]:
        """``responses.retrieve(id, stream=True, starting_after=after)``, event by event."""
        return events(lambda: self._responses.retrieve(object_id, **_resume_params(after)))


class AsyncOpenAIResponses:
    """:class:`AsyncObjectStreamsAPI` over ``openai.AsyncOpenAI().responses``."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._responses = _resource(client, "responses", who="AsyncOpenAIResponses", aio=True)

    async def retrieve(self, object_id: str) -> Reply:
        """See :meth:`OpenAIResponses.retrieve`."""
        return await acall(self._responses.with_raw_response.retrieve, object_id)

    async def cancel(self, object_id: str) -> Reply:
        """See :meth:`OpenAIResponses.cancel`."""
        return await acall(self._responses.with_raw_response.cancel, object_id)

    def create_stream(self, params: Mapping[str, Any]) -> AsyncIterator[Any]:
        """See :meth:`OpenAIResponses.create_stream`."""
        body = _create_params(params)
        return aevents(lambda: self._responses.create(**body))

    def resume_stream(self, object_id: str, after: int | None) -> AsyncIterator[Any]:
        """See :meth:`OpenAIResponses.resume_stream`."""
        return aevents(lambda: self._responses.retrieve(object_id, **_resume_params(after)))


class OpenAIBatches:
    """:class:`ObjectsAPI` over ``openai.OpenAI().batches`` (batches have no stream)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._batches = _resource(client, "batches", who="OpenAIBatches", aio=False)

    def retrieve(self, object_id: str) -> Reply:
        """``batches.retrieve`` (through ``with_raw_response``, for the hint header)."""
        return call(self._batches.with_raw_response.retrieve, object_id)

    def cancel(self, object_id: str) -> Reply:
        """``batches.cancel``: answered ``cancelling``; ``cancelled`` follows."""
        return call(self._batches.with_raw_response.cancel, object_id)


class AsyncOpenAIBatches:
    """:class:`AsyncObjectsAPI` over ``openai.AsyncOpenAI().batches``."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._batches = _resource(client, "batches", who="AsyncOpenAIBatches", aio=True)

    async def retrieve(self, object_id: str) -> Reply:
        """See :meth:`OpenAIBatches.retrieve`."""
        return await acall(self._batches.with_raw_response.retrieve, object_id)

    async def cancel(self, object_id: str) -> Reply:
        """See :meth:`OpenAIBatches.cancel`."""
        return await acall(self._batches.with_raw_response.cancel, object_id)
