"""How the watchers and the scheduler address a lifecycle's API: the same verbs for all, bound to the core's ids.

A run is addressed by its thread and its id (:class:`~runfsm.following.client.RunsAPI`); a
background response or a batch by its id alone (:class:`~runfsm.following.resources.ObjectsAPI`).
:class:`RunCalls` and :class:`ObjectCalls` turn the shells' verbs (retrieve, submit, cancel,
locate, the streams) into the API's calls for one :class:`~runfsm.following.core.FollowCore`,
and say what the API can do (``can_locate``: find a run whose create stream broke; ``can_resume``:
open a broken stream again after its last event). Each serves a sync API and its asyncio twin:
it returns what the API returns (a reply, or an awaitable of one), and the shell calls or awaits it.

:func:`calls_for` picks the binding of a lifecycle from :data:`ADDRESSING`, the one table saying
how each preset's API addresses its objects, and the adapter from :mod:`runfsm.following.adapters`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runfsm.following.adapters import STREAM_METHODS, async_runs_api, objects_api, runs_api
from runfsm.following.reading import value_of
from runfsm.lifecycles import RUN_LIFECYCLE

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from runfsm.following.client import ToolOutput
    from runfsm.following.core import FollowCore
    from runfsm.lifecycle import Lifecycle

__all__ = ["ADDRESSING", "ObjectCalls", "RunCalls", "calls_for", "split_run"]


def split_run(run: object, thread_id: str | None) -> tuple[str, str, object | None]:
    """``(thread_id, run_id, run object or None)`` from a run object or a run id."""
    if isinstance(run, str):
        if thread_id is None:
            raise TypeError("thread_id= is required when the run is given by id")
        return thread_id, run, None
    run_id = run.get("id") if isinstance(run, dict) else getattr(run, "id", None)
    owner = run.get("thread_id") if isinstance(run, dict) else getattr(run, "thread_id", None)
    if not isinstance(run_id, str):
        raise TypeError(f"expected a run id or a run object with an 'id', got {type(run).__name__}")
    thread = thread_id if thread_id is not None else owner
    if not isinstance(thread, str):
        raise TypeError("thread_id= is required: the run object does not name its thread")
    return thread, run_id, run


class RunCalls:
    """The verbs over a :class:`~runfsm.following.client.RunsAPI` (or its asyncio twin): ``(thread_id, run_id)``."""

    can_locate = True
    can_resume = False

    def __init__(self, api: Any, lifecycle: Lifecycle[Any]) -> None:
        self.api = api
        self.lifecycle = lifecycle

    def split(self, obj: object, thread_id: str | None) -> tuple[str | None, str, object | None]:
        """``(thread_id, run_id, run object or None)`` from what the caller gave."""
        return split_run(obj, thread_id)

    def retrieve(self, core: FollowCore[Any]) -> Any:
        """Retrieve the run."""
        return self.api.retrieve(core.thread_id, core.run_id)

    def submit(self, core: FollowCore[Any], outputs: Sequence[ToolOutput]) -> Any:
        """Submit the round's tool outputs."""
        return self.api.submit_tool_outputs(core.thread_id, core.run_id, outputs)

    def cancel(self, core: FollowCore[Any]) -> Any:
        """Ask for a cancel."""
        return self.api.cancel(core.thread_id, core.run_id)

    def locate(self, core: FollowCore[Any]) -> Any:
        """The thread's newest run (after a create stream broke before naming its run)."""
        return self.api.latest_run(core.thread_id)

    def steps(self, core: FollowCore[Any]) -> Any:
        """The run's steps, oldest first (after a submit whose answer was lost)."""
        return self.api.list_run_steps(core.thread_id, core.run_id)

    def opener(
        self, thread_id: str | None, assistant_id: str | None, params: Mapping[str, Any]
    ) -> tuple[str, Callable[[], Any]]:
        """``(thread_id, open the create stream)`` for ``watch``: a run needs its thread and ``assistant_id=``."""
        if not isinstance(thread_id, str) or not isinstance(assistant_id, str):
            raise TypeError("watch() creates a run: it takes the thread id and assistant_id=")
        body = {"assistant_id": assistant_id, **params}
        return thread_id, lambda: self.api.create_stream(thread_id, body)

    def submit_stream(self, core: FollowCore[Any], outputs: Sequence[ToolOutput]) -> Any:
        """Submit tool outputs with ``stream=True``."""
        return self.api.submit_stream(core.thread_id, core.run_id, outputs)

    def resume_stream(self, core: FollowCore[Any]) -> Any:  # pragma: no cover - the core never asks (can_resume)
        """Runs' streams cannot be resumed."""
        raise TypeError("an Assistants run stream cannot be resumed")


class ObjectCalls:
    """The verbs over an :class:`~runfsm.following.resources.ObjectsAPI` (or its asyncio twin): the object's id."""

    can_locate = False

    def __init__(self, api: Any, lifecycle: Lifecycle[Any]) -> None:
        self.api = api
        self.lifecycle = lifecycle
        self.can_stream = callable(getattr(api, "create_stream", None))
        self.can_resume = callable(getattr(api, "resume_stream", None))

    @property
    def _what(self) -> str:
        return self.lifecycle.title.lower()

    def split(self, obj: object, thread_id: str | None) -> tuple[str | None, str, object | None]:
        """``(None, object id, object or None)``; an object of another kind is refused."""
        if thread_id is not None:
            raise TypeError(f"a {self._what} has no thread: thread_id= is for runs")
        if isinstance(obj, str):
            return None, obj, None
        object_id = value_of(obj, "id")
        if not isinstance(object_id, str):
            raise TypeError(f"expected a {self._what} id or object with an 'id', got {type(obj).__name__}")
        kind = value_of(obj, "object")
        if isinstance(kind, str) and kind != self.lifecycle.object_type:
            raise TypeError(f"expected a {self.lifecycle.object_type} object, got a {kind} object ({object_id})")
        return None, object_id, obj

    def retrieve(self, core: FollowCore[Any]) -> Any:
        """Retrieve the object."""
        return self.api.retrieve(core.run_id)

    def submit(self, core: FollowCore[Any], outputs: Sequence[ToolOutput]) -> Any:  # pragma: no cover
        """Never asked: only a paused state asks for tool outputs, and these lifecycles have none."""
        raise TypeError(f"a {self._what} takes no tool outputs")

    def cancel(self, core: FollowCore[Any]) -> Any:
        """Ask for a cancel."""
        return self.api.cancel(core.run_id)

    def steps(self, core: FollowCore[Any]) -> Any:  # pragma: no cover - the core never asks (no submits)
        """Never asked (see :meth:`submit`)."""
        raise TypeError(f"a {self._what} has no run steps")

    def locate(self, core: FollowCore[Any]) -> Any:  # pragma: no cover - the core never asks (can_locate)
        """Objects addressed by id cannot be looked for."""
        raise TypeError(f"a {self._what} whose create broke cannot be looked for")

    def opener(
        self, thread_id: str | None, assistant_id: str | None, params: Mapping[str, Any]
    ) -> tuple[None, Callable[[], Any]]:
        """``(None, open the create stream)`` for ``watch``; ``params`` are the create call's."""
        if not self.can_stream:
            raise TypeError(f"a {self._what} has no stream here: follow it with poll()")
        if thread_id is not None or assistant_id is not None:
            raise TypeError(f"a {self._what} has no thread or assistant: watch() takes the create call's parameters")
        return None, lambda: self.api.create_stream(params)

    def submit_stream(self, core: FollowCore[Any], outputs: Sequence[ToolOutput]) -> Any:  # pragma: no cover
        """Never asked (see :meth:`submit`)."""
        raise TypeError(f"a {self._what} takes no tool outputs")

    def resume_stream(self, core: FollowCore[Any]) -> Any:
        """The object's stream again, after the last event the core saw."""
        return self.api.resume_stream(core.run_id, core.sequence)


ADDRESSING: Mapping[str, type[RunCalls] | type[ObjectCalls]] = {RUN_LIFECYCLE.key: RunCalls}
"""How each preset's API addresses its objects, by key: a run by its thread and id; any other by its id alone."""


def calls_for(
    client: Any, lifecycle: Lifecycle[Any], *, who: str, aio: bool, methods: tuple[str, ...] = STREAM_METHODS
) -> RunCalls | ObjectCalls:
    """The verbs for following ``lifecycle``'s objects through ``client`` (a TypeError names what is accepted)."""
    binding = ADDRESSING.get(lifecycle.key, ObjectCalls)
    if binding is RunCalls:
        api = async_runs_api(client, who=who, methods=methods) if aio else runs_api(client, who=who, methods=methods)
        return RunCalls(api, lifecycle)
    return ObjectCalls(objects_api(client, lifecycle, who=who, aio=aio), lifecycle)
