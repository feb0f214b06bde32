"""The run statuses: the eleven ``RunStatus`` members and the one parser for every way they are written."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from runfsm.exceptions import NotARunStatus, UnknownStatus
from runfsm.vocabulary import LifecycleState, StateKind

__all__ = [
    "RunSnapshot",
    "RunStatus",
    "parse_status",
    "read_run",
    "status_aliases",
    "tool_call_ids",
]


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

_NOT_RUN_EVENT_PREFIXES = ("thread.run.step.", "thread.message.")
_NOT_RUN_EVENTS = frozenset({"thread.created", "error", "done"})


def _normalize(text: str) -> str:
    key = text.strip().lower()
    if key.startswith("runstatus."):
        key = key[len("runstatus.") :]
    return key.replace("_", "").replace("-", "").replace(" ", "")


def _build_tables() -> tuple[dict[str, RunStatus], dict[str, RunStatus]]:
    exact: dict[str, RunStatus] = {}
    loose: dict[str, RunStatus] = {}
    for member in RunStatus:
        spellings = [member.name, member.name.upper(), str(int(member))]
        if member.wire is not None:
            spellings.append(member.wire)
        if member.event is not None:
            spellings.append(member.event)
        for text in spellings:
            exact[text] = member
            loose[_normalize(text)] = member
    return exact, loose


_EXACT, _LOOSE = _build_tables()
_BY_ORDINAL: tuple[RunStatus, ...] = tuple(RunStatus)
_KNOWN: tuple[str, ...] = tuple(m.wire or m.name for m in RunStatus)


def _parse_text(text: str) -> RunStatus:
    member = _EXACT.get(text)
    if member is not None:
        return member
    member = _LOOSE.get(_normalize(text))
    if member is not None:
        return member
    lowered = text.strip().lower()
    if lowered in _NOT_RUN_EVENTS or lowered.startswith(_NOT_RUN_EVENT_PREFIXES):
        raise NotARunStatus(text.strip())
    raise UnknownStatus(text, _KNOWN)


def parse_status(value: object) -> RunStatus:
    """Turn any spelling of a run status into a :class:`RunStatus`.

    Accepts a ``RunStatus``; a wire string (``"in_progress"``); a member name in the usual
    spellings (``"InProgress"``, ``"IN_PROGRESS"``, ``"in-progress"``, ``"RunStatus.InProgress"``);
    an ordinal (``3`` or ``"3"``); a stream event name (``"thread.run.in_progress"``;
    ``"thread.run.created"`` gives ``Created``); an openai ``Run`` or stream event object;
    an ``azure-ai-agents`` ``RunStatus`` member, ``ThreadRun`` or stream item; or the same
    as plain dicts (JSON as logged). Azure's Python enum has no ``incomplete``; the service
    (newer API versions, guardrail stops) and its stream events (``thread.run.incomplete``)
    do, and it reads as ``Incomplete`` like any other spelling.

    Raises :class:`UnknownStatus` (a ``ValueError``) for anything else, and
    :class:`NotARunStatus` for run-step, message and thread events.

    >>> parse_status("thread.run.requires_action")
    <RunStatus.RequiresAction: 5>
    >>> parse_status({"object": "thread.run", "status": "expired"})
    <RunStatus.Expired: 6>
    """
    if isinstance(value, RunStatus):
        return value
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < len(_BY_ORDINAL):
            return _BY_ORDINAL[value]
        raise UnknownStatus(value, _KNOWN)
    return read_run(value).status


# ----------------------------------------------------------------------------- objects


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """What one observation says about a run: its status and, when known, its id and fields.

    ``fields`` is the run object (a dict, or a read-only view of an openai ``Run``) when the
    observation carried one; it is what the field-invariant checks look at.
    """

    status: RunStatus
    run_id: str | None = None
    fields: Mapping[str, Any] | None = None
    event: str | None = None


class _AttributeView(Mapping[str, Any]):
    """A read-only mapping over an object's attributes (an openai ``Run``) without copying it."""

    __slots__ = ("_obj",)
    _FIELDS: ClassVar[tuple[str, ...]] = (
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
    )

    def __init__(self, obj: object) -> None:
        self._obj = obj

    def __getitem__(self, key: str) -> Any:
        try:
            value = getattr(self._obj, key)
        except AttributeError:
            raise KeyError(key) from None
        if value is not None and hasattr(value, "model_dump"):
            return value.model_dump()
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._FIELDS if hasattr(self._obj, name))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _from_event(event: object, data: object) -> RunSnapshot:
    if not isinstance(event, str):
        raise UnknownStatus(event, _KNOWN, where="stream event name")
    status = _parse_text(event)
    fields: Mapping[str, Any] | None
    if isinstance(data, Mapping):
        fields = data
    elif data is not None and hasattr(data, "status"):
        fields = _AttributeView(data)
    else:
        fields = None
    run_id = fields.get("id") if fields is not None else None
    return RunSnapshot(status, run_id if isinstance(run_id, str) else None, fields, event)


def read_run(value: object) -> RunSnapshot:
    """Read status, run id and fields from a run object, a stream event or a bare status.

    Run objects: openai ``Run`` instances, ``azure-ai-agents`` ``ThreadRun`` models (mappings
    of their JSON) or dicts with ``"status"`` (and usually ``"object": "thread.run"`` and
    ``"id"``). Stream events: openai event objects, dicts ``{"event": "thread.run.completed",
    "data": {...}}``, and the items an ``azure-ai-agents`` stream yields, ``(event, data,
    handler's return)`` tuples (or ``(event, data)``; lists as JSON logs them). Anything
    :func:`parse_status` accepts gives a snapshot with no id and no fields.

    >>> read_run(("thread.run.incomplete", {"id": "run_1", "status": "incomplete"}, None)).status
    <RunStatus.Incomplete: 10>
    """
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return RunSnapshot(parse_status(value))
    if isinstance(value, (tuple, list)) and len(value) in (2, 3) and isinstance(value[0], str):
        return _from_event(value[0], value[1])
    if isinstance(value, Mapping):
        if "event" in value:
            return _from_event(value["event"], value.get("data"))
        obj = value.get("object")
        if obj is not None and obj != "thread.run":
            raise NotARunStatus(f"{obj} object")
        if "status" not in value:
            raise UnknownStatus(value, _KNOWN, where="run object without a 'status' field")
        raw_status = value["status"]
        if not isinstance(raw_status, str):
            raise UnknownStatus(raw_status, _KNOWN, where="'status' field")
        run_id = value.get("id")
        return RunSnapshot(_parse_text(raw_status), run_id if isinstance(run_id, str) else None, value)
    event = getattr(value, "event", None)
    if event is not None:
        return _from_event(event, getattr(value, "data", None))
    status = getattr(value, "status", None)
    if status is not None:
        obj = getattr(value, "object", "thread.run")
        if obj != "thread.run":
            raise NotARunStatus(f"{obj} object")
        run_id = getattr(value, "id", None)
        parsed = parse_status(status)
        return RunSnapshot(parsed, run_id if isinstance(run_id, str) else None, _AttributeView(value))
    raise UnknownStatus(value, _KNOWN, where=f"value of type {type(value).__name__}")


def _get(value: Any, name: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


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
    action = _get(fields, "required_action")
    submit = _get(action, "submit_tool_outputs") if action is not None else None
    calls = _get(submit, "tool_calls") if submit is not None else None
    if not calls or isinstance(calls, (str, bytes)):
        return None
    ids = [_get(call, "id") for call in calls]
    return frozenset(str(i) for i in ids if i is not None) or None


StatusAliases = Mapping[str, RunStatus]
"""Misspelled status constants some clients wrote, mapped to the status meant (see :func:`status_aliases`)."""


def alias_key(text: str) -> str:
    """How an alias is looked up: lower case, stripped, without a ``thread.run.`` event prefix."""
    key = text.strip().lower()
    return key.removeprefix("thread.run.")


def status_aliases(pairs: Mapping[str, object] | Iterable[str]) -> dict[str, RunStatus]:
    """Aliases for statuses some clients misspelled: ``{"canceled": "cancelled"}`` or ``["canceled=cancelled"]``.

    An alias applies where a status is unknown (a wire value or a ``thread.run.*`` event name);
    it never renames a status runfsm knows. Raises ``ValueError`` for a malformed pair, an
    alias that is already a status, or a target that is not one.

    >>> status_aliases(["canceled=cancelled"])
    {'canceled': <RunStatus.Cancelled: 8>}
    """
    items = pairs.items() if isinstance(pairs, Mapping) else (_split_alias(text) for text in pairs)
    out: dict[str, RunStatus] = {}
    for alias, target in items:
        key = alias_key(str(alias))
        if not key:
            raise ValueError(f"status alias {alias!r}: the alias is empty")
        try:
            parse_status(key)
        except (UnknownStatus, NotARunStatus):
            pass
        else:
            raise ValueError(f"status alias {alias!r}: {key!r} is already a status; an alias only names an unknown one")
        try:
            out[key] = parse_status(target)
        except UnknownStatus:
            raise ValueError(
                f"status alias {alias!r}={target!r}: {target!r} is not a status (expected one of {', '.join(_KNOWN)})"
            ) from None
    return out


def _split_alias(text: str) -> tuple[str, str]:
    alias, sep, target = str(text).partition("=")
    if not sep or not alias.strip() or not target.strip():
        raise ValueError(f"status alias {text!r}: expected ALIAS=STATUS, as in canceled=cancelled")
    return alias, target.strip()


def aliased_snapshot(value: object, status: RunStatus) -> RunSnapshot:
    """The snapshot of ``value`` (whose status was unknown) read with ``status`` in its place."""
    if isinstance(value, Mapping):
        data = value.get("data") if "event" in value and "status" not in value else value
        if isinstance(data, Mapping):
            run_id = data.get("id")
            return RunSnapshot(status, run_id if isinstance(run_id, str) else None, data)
    return RunSnapshot(status)
