"""The run statuses (the eleven ``RunStatus`` members), and status parsing for every lifecycle.

:func:`parse_status` and :func:`read_run` read the Assistants run by default; given another
lifecycle (``lifecycle=RESPONSE_LIFECYCLE``) they use that lifecycle's parser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

from runfsm.exceptions import NotARunStatus, UnknownStatus
from runfsm.parsing import Snapshot, StatusParser
from runfsm.vocabulary import LifecycleState, StateKind

if TYPE_CHECKING:
    from runfsm.lifecycle import Lifecycle

__all__ = [
    "RUN_PARSER",
    "TOOL_CALLS_FIELD",
    "RunSnapshot",
    "RunStatus",
    "checked_aliases",
    "parse_status",
    "read_run",
    "status_aliases",
    "tool_call_ids",
]

_S = TypeVar("_S", bound=LifecycleState)


class RunStatus(LifecycleState):
    """The status of an Assistants run, with the ordinals of the published ``RunStatus`` enum.

    The ordinals are identities, not lifecycle order (Completed=4 < RequiresAction=5):
    never compare them to judge progress. ``wire`` is the API's string (None for the two
    client-side members), ``event`` the stream event announcing the status.

    >>> RunStatus.parse("in_progress") is RunStatus.InProgress
    True
    >>> RunStatus.InProgress.wire, RunStatus.InProgress.event
    ('in_progress', 'thread.run.in_progress')
    """

    Null = 0, None, StateKind.CLIENT, None
    Created = 1, None, StateKind.CLIENT, "thread.run.created"
    Queued = 2, "queued", StateKind.ACTIVE, "thread.run.queued"
    InProgress = 3, "in_progress", StateKind.ACTIVE, "thread.run.in_progress"
    Completed = 4, "completed", StateKind.TERMINAL, "thread.run.completed"
    RequiresAction = 5, "requires_action", StateKind.PAUSED, "thread.run.requires_action"
    Expired = 6, "expired", StateKind.TERMINAL, "thread.run.expired"
    Cancelling = 7, "cancelling", StateKind.ACTIVE, "thread.run.cancelling"
    Cancelled = 8, "cancelled", StateKind.TERMINAL, "thread.run.cancelled"
    Failed = 9, "failed", StateKind.TERMINAL, "thread.run.failed"
    Incomplete = 10, "incomplete", StateKind.TERMINAL, "thread.run.incomplete"

    @classmethod
    def parse(cls, value: object) -> RunStatus:
        """Same as :func:`parse_status`."""
        return parse_status(value)

    @classmethod
    def wire_values(cls) -> tuple[str, ...]:
        """The API's status strings, in ordinal order."""
        return tuple(m.wire for m in cls if m.wire is not None)


# ----------------------------------------------------------------------------- parsing

RUN_PARSER: StatusParser[RunStatus] = StatusParser(
    RunStatus,
    object_type="thread.run",
    ignored_events=frozenset({"thread.created", "error", "done"}),
    ignored_prefixes=("thread.run.step.", "thread.message."),
    related_objects=("thread",),
    fields=(
        "id",
        "object",
        "status",
        "thread_id",
        "created_at",
        "started_at",
        "expires_at",
        "completed_at",
        "failed_at",
        "cancelled_at",
        "last_error",
        "required_action",
        "incomplete_details",
        "usage",
    ),
)
"""Every way an Assistants run status is written: the run lifecycle's parser."""

RunSnapshot = Snapshot
"""What one observation says about a run (see :class:`~runfsm.parsing.Snapshot`)."""


@overload
def parse_status(value: object) -> RunStatus: ...
@overload
def parse_status(value: object, lifecycle: Lifecycle[_S]) -> _S: ...
def parse_status(value: object, lifecycle: Lifecycle[_S] | None = None) -> RunStatus | _S:
    """Turn any spelling of a status into a member of the lifecycle's state enum (run statuses by default).

    Accepts a member; a wire string (``"in_progress"``); a member name in the usual spellings
    (``"InProgress"``, ``"IN_PROGRESS"``, ``"in-progress"``, ``"RunStatus.InProgress"``);
    an ordinal (``3`` or ``"3"``); a stream event name (``"thread.run.in_progress"``;
    ``"thread.run.created"`` gives ``Created``) or, for responses and batches, a webhook type
    (``"batch.completed"``); an openai object or stream event; an ``azure-ai-agents``
    ``RunStatus`` member, ``ThreadRun`` or stream item; or the same as plain dicts (JSON as
    logged). Azure's Python enum has no ``incomplete``; the service (newer API versions,
    guardrail stops) and its stream events (``thread.run.incomplete``) do, and it reads as
    ``Incomplete`` like any other spelling.

    Raises :class:`~runfsm.exceptions.UnknownStatus` (a ``ValueError``) for anything else, and
    :class:`~runfsm.exceptions.NotARunStatus` for events about something else (run steps,
    messages, response output deltas).

    >>> parse_status("thread.run.requires_action")
    <RunStatus.RequiresAction: 5>
    >>> parse_status({"object": "thread.run", "status": "expired"})
    <RunStatus.Expired: 6>
    >>> from runfsm.lifecycles import BATCH_LIFECYCLE
    >>> parse_status("finalizing", BATCH_LIFECYCLE)
    <BatchStatus.Finalizing: 4>
    """
    if lifecycle is None:
        return RUN_PARSER.parse(value)
    return lifecycle.parser.parse(value)


@overload
def read_run(value: object) -> Snapshot[RunStatus]: ...
@overload
def read_run(value: object, lifecycle: Lifecycle[_S]) -> Snapshot[_S]: ...
def read_run(value: object, lifecycle: Lifecycle[_S] | None = None) -> Snapshot[RunStatus] | Snapshot[_S]:
    """Read status, id and fields from an object, a stream event, a webhook payload or a bare status.

    Run objects (the default lifecycle): openai ``Run`` instances, ``azure-ai-agents``
    ``ThreadRun`` models (mappings of their JSON) or dicts with ``"status"`` (and usually
    ``"object": "thread.run"`` and ``"id"``). Stream events: openai event objects, dicts
    ``{"event": "thread.run.completed", "data": {...}}``, and the items an ``azure-ai-agents``
    stream yields, ``(event, data, handler's return)`` tuples (or ``(event, data)``; lists as
    JSON logs them). Anything :func:`parse_status` accepts gives a snapshot with no id and no
    fields. Another lifecycle reads its own objects, events and webhook payloads.

    >>> read_run(("thread.run.incomplete", {"id": "run_1", "status": "incomplete"}, None)).status
    <RunStatus.Incomplete: 10>
    """
    if lifecycle is None:
        return RUN_PARSER.read(value)
    return lifecycle.parser.read(value)


def _get(value: Any, name: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


TOOL_CALLS_FIELD: Final = "required_action"
"""The field of a paused run object that names the tool calls it waits for (read by :func:`tool_call_ids`)."""


def tool_call_ids(fields: Any) -> frozenset[str] | None:
    """The ids of the tool calls a ``requires_action`` run object asks for; None when it names none.

    Reads ``required_action.submit_tool_outputs.tool_calls[*].id`` from a dict (JSON as logged)
    or an SDK object (openai ``Run``, azure ``ThreadRun``). A compact log has no run objects,
    so it has no ids: None, not an empty set.

    >>> sorted(tool_call_ids({"required_action": {"submit_tool_outputs": {"tool_calls": [{"id": "call_1"}]}}}))
    ['call_1']
    >>> tool_call_ids({"status": "requires_action"}) is None
    True
    """
    action = _get(fields, TOOL_CALLS_FIELD)
    submit = _get(action, "submit_tool_outputs") if action is not None else None
    calls = _get(submit, "tool_calls") if submit is not None else None
    if not calls or isinstance(calls, (str, bytes, Mapping)) or not isinstance(calls, Iterable):
        return None  # a number, an object...: no list of calls, so no ids (never a TypeError)
    ids = [_get(call, "id") for call in calls]
    return frozenset(str(i) for i in ids if i is not None) or None


StatusAliases = Mapping[str, Any]
"""Misspelled status constants some clients wrote, mapped to the status meant (see :func:`status_aliases`)."""


def alias_key(text: str, lifecycle: Lifecycle[Any] | None = None) -> str:
    """How an alias is looked up: lower case, stripped, without the lifecycle's event prefix.

    The prefix is one of the lifecycle's status event and webhook names' (``thread.run.`` for
    the run, the default; ``response.``; ``batch.``), so ``thread.run.canceled``,
    ``response.canceled`` and ``batch.canceled`` are each looked up as ``canceled`` by their
    own lifecycle.

    >>> from runfsm.lifecycles import BATCH_LIFECYCLE
    >>> alias_key(" Thread.Run.Canceled "), alias_key("batch.canceled", BATCH_LIFECYCLE)
    ('canceled', 'canceled')
    """
    key = text.strip().lower()
    parser = RUN_PARSER if lifecycle is None else lifecycle.parser
    return parser.strip_event_prefix(key)


def status_aliases(
    pairs: Mapping[str, object] | Iterable[str], lifecycle: Lifecycle[Any] | None = None
) -> dict[str, Any]:
    """Aliases for statuses some clients misspelled: ``{"canceled": "cancelled"}`` or ``["canceled=cancelled"]``.

    An alias applies where a status is unknown: a wire value, or a status event or webhook
    name of the lifecycle (``thread.run.*``, ``response.*``, ``batch.*``: see :func:`alias_key`);
    it never renames a status runfsm knows. ``lifecycle``: whose statuses (the run's by
    default). Raises ``ValueError`` for a malformed pair, an
    alias that is already a status, a target that is not one, or an alias given two targets.

    >>> status_aliases(["canceled=cancelled"])
    {'canceled': <RunStatus.Cancelled: 8>}
    """
    if isinstance(pairs, (str, bytes)):
        raise TypeError(f"status_aliases takes a list of pairs, such as [{pairs!r}], or a mapping; got one string")
    items = pairs.items() if isinstance(pairs, Mapping) else (_split_alias(text) for text in pairs)
    parse = RUN_PARSER.parse if lifecycle is None else lifecycle.parser.parse
    known = RUN_PARSER.known if lifecycle is None else lifecycle.parser.known
    out: dict[str, Any] = {}
    for alias, target in items:
        key = alias_key(str(alias), lifecycle)
        if not key:
            raise ValueError(f"status alias {alias!r}: the alias is empty")
        try:
            parse(key)
        except (UnknownStatus, NotARunStatus):
            pass
        else:
            raise ValueError(f"status alias {alias!r}: {key!r} is already a status; an alias only names an unknown one")
        try:
            status = parse(target)
        except UnknownStatus:
            raise ValueError(
                f"status alias {alias!r}={target!r}: {target!r} is not a status (expected one of {', '.join(known)})"
            ) from None
        if out.get(key, status) is not status:
            raise ValueError(
                f"status alias {alias!r}={target!r}: {key!r} is already an alias of {out[key].wire!r}; "
                "an alias names one status"
            )
        out[key] = status
    return out


def _split_alias(text: str) -> tuple[str, str]:
    alias, sep, target = str(text).partition("=")
    if not sep or not alias.strip() or not target.strip():
        raise ValueError(f"status alias {text!r}: expected ALIAS=STATUS, as in canceled=cancelled")
    return alias, target.strip()


def checked_aliases(aliases: object, lifecycle: Lifecycle[Any] | None = None) -> StatusAliases:
    """``aliases`` as a tracker reads them: built by :func:`status_aliases` unless they already were.

    A plain mapping of names (``{"canceled": "cancelled"}``) is read by :func:`status_aliases`
    (its ``ValueError`` for a bad pair); anything but a mapping is a ``TypeError``.

    >>> checked_aliases({"Canceled": "cancelled"})
    {'canceled': <RunStatus.Cancelled: 8>}
    """
    if aliases is None:
        return {}
    if not isinstance(aliases, Mapping):
        raise TypeError(
            "aliases is a mapping of alias to status, such as {'canceled': 'cancelled'}; "
            f"got {type(aliases).__name__}"
        )
    state_type = RunStatus if lifecycle is None else lifecycle.state_type
    if all(isinstance(status, state_type) for status in aliases.values()):
        return aliases
    return status_aliases(aliases, lifecycle)


def aliased_snapshot(value: object, status: _S, lifecycle: Lifecycle[Any] | None = None) -> Snapshot[_S]:
    """The snapshot of ``value`` (whose status was unknown) read with ``status`` in its place.

    ``value`` as the lifecycle's parser reads it: an object; an SSE log's ``{"event": ..., "data":
    {...}}``; a Responses stream event ``{"type": ..., "response": {...}}``; a webhook payload
    ``{"type": ..., "data": {"id": ...}}`` (thin: the id, no fields to check).
    """
    if not isinstance(value, Mapping):
        return Snapshot(status)
    payload_key = (RUN_PARSER if lifecycle is None else lifecycle.parser).payload_key
    data: object = value
    thin = False
    if "event" in value and "status" not in value:
        data = value.get("data")
        if payload_key is not None and isinstance(data, Mapping) and payload_key in data:
            data = data[payload_key]
    elif "type" in value and "status" not in value:
        if payload_key is not None and payload_key in value:
            data = value[payload_key]
        elif "data" in value:
            data, thin = value["data"], True
    if not isinstance(data, Mapping):
        return Snapshot(status)
    run_id = data.get("id")
    return Snapshot(status, run_id if isinstance(run_id, str) else None, None if thin else data)
