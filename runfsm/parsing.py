"""Reading one lifecycle's statuses: every spelling, API object, stream event and webhook payload.

A :class:`StatusParser` is built from a state enum and what its API writes: the ``object`` type
of its objects, the stream event and webhook names that announce a status, and the events
that are about something else (run steps, output deltas). Each lifecycle carries one
(:attr:`runfsm.lifecycle.Lifecycle.parser`); :func:`runfsm.status.parse_status` and
:func:`runfsm.status.read_run` take the lifecycle and use it.

>>> from runfsm.lifecycles import RESPONSE_LIFECYCLE
>>> RESPONSE_LIFECYCLE.parser.parse("response.in_progress")
<ResponseStatus.InProgress: 2>
>>> snap = RESPONSE_LIFECYCLE.parser.read({"type": "response.completed", "data": {"id": "resp_1"}})
>>> snap.status, snap.run_id, snap.fields
(<ResponseStatus.Completed: 3>, 'resp_1', None)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic

from typing_extensions import TypeVar

from runfsm.exceptions import NotARunStatus, UnknownStatus
from runfsm.vocabulary import LifecycleState

__all__ = ["AttributeView", "Snapshot", "StatusParser"]

S = TypeVar("S", bound=LifecycleState, default=LifecycleState)
_P = TypeVar("_P", bound=LifecycleState)


@dataclass(frozen=True, slots=True)
class Snapshot(Generic[S]):
    """What one observation says about an object: its status and, when known, its id and fields.

    ``fields`` is the object (a dict, or a read-only view of an openai model) when the
    observation carried one; it is what the field-invariant checks look at. A thin webhook
    payload carries only the id: ``fields`` is None then. ``event`` is the stream event or
    webhook type the status came from.
    """

    status: S
    run_id: str | None = None
    fields: Mapping[str, Any] | None = None
    event: str | None = None

    @property
    def object_id(self) -> str | None:
        """The object's id (``run_id`` is its historical name)."""
        return self.run_id


class AttributeView(Mapping[str, Any]):
    """A read-only mapping over an object's attributes (an openai model) without copying it."""

    __slots__ = ("_names", "_obj")

    def __init__(self, obj: object, names: tuple[str, ...]) -> None:
        self._obj = obj
        self._names = names

    def __getitem__(self, key: str) -> Any:
        try:
            value = getattr(self._obj, key)
        except AttributeError:
            raise KeyError(key) from None
        if value is not None and hasattr(value, "model_dump"):
            return value.model_dump()
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._names if hasattr(self._obj, name))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _normalize(text: str, prefix: str) -> str:
    key = text.strip().lower()
    if key.startswith(prefix):
        key = key[len(prefix) :]
    return key.replace("_", "").replace("-", "").replace(" ", "")


def _prefixes(names: list[str]) -> tuple[str, ...]:
    """The distinct ``a.b.`` prefixes of dotted event names ``a.b.c``, longest first."""
    found = {name.lower().rsplit(".", 1)[0] + "." for name in names if "." in name}
    return tuple(sorted(found, key=lambda p: (-len(p), p)))


class StatusParser(Generic[_P]):
    """Turns every way one lifecycle's status is written into a member of its state enum.

    Accepted: a member; a wire string (``"in_progress"``); a member name in the usual spellings
    (``"InProgress"``, ``"IN_PROGRESS"``, ``"in-progress"``, ``"<EnumName>.InProgress"``); an
    ordinal (``3`` or ``"3"``); a stream event name or webhook type; an API object (dict or
    openai model) whose ``object`` is ``object_type``; a stream event (``{"event": ..., "data": ...}``
    as SSE logs write it, or ``{"type": ..., <payload_key>: {...}}`` as the Responses stream sends
    it); an ``(event, data[, returned])`` stream item as ``azure-ai-agents`` yields it; a webhook
    payload (``{"type": ..., "data": {"id": ...}}``).

    ``snapshot_events`` are events whose status is read from the object they carry
    (``response.created`` carries a queued or in-progress response). Events in
    ``ignored_events`` or starting with one of ``ignored_prefixes`` are about something
    else: :class:`~runfsm.exceptions.NotARunStatus`, except a name one level under one of
    :attr:`event_prefixes` (``response.canceled``): that is a status event, and one this
    lifecycle does not know is an :class:`~runfsm.exceptions.UnknownStatus` (which a status
    alias can name), not an event about another object (``response.output_text.delta``).
    """

    def __init__(
        self,
        states: type[_P],
        *,
        object_type: str | None = None,
        names: Mapping[str, _P] | None = None,
        snapshot_events: frozenset[str] = frozenset(),
        ignored_events: frozenset[str] = frozenset(),
        ignored_prefixes: tuple[str, ...] = (),
        payload_key: str | None = None,
        fields: tuple[str, ...] = (),
        related_objects: tuple[str, ...] = (),
    ) -> None:
        self.states = states
        self.object_type = object_type
        self.snapshot_events = snapshot_events
        self.ignored_events = ignored_events
        self.ignored_prefixes = ignored_prefixes
        self.payload_key = payload_key
        """Where a ``{"type": ...}`` stream event carries the object (``"response"``), if anywhere."""
        self.fields = fields
        """The attribute names of an openai model that the field checks may read."""
        self.related_objects = related_objects
        """``object`` prefixes of the same API's other objects (run steps, messages): skipped by the readers."""
        self._prefix = states.__name__.lower() + "."
        self._exact: dict[str, _P] = {}
        self._loose: dict[str, _P] = {}
        for member in states:
            spellings = [member.name, member.name.upper(), str(int(member))]
            if member.wire is not None:
                spellings.append(member.wire)
            if member.event is not None:
                spellings.append(member.event)
            for text in spellings:
                self._add(text, member)
        for text, member in (names or {}).items():
            self._add(text, member)
        self.event_prefixes: tuple[str, ...] = _prefixes(
            [m.event for m in states if m.event is not None] + list(names or ())
        )
        """The prefixes of the status event and webhook names (``thread.run.``, ``response.``, ``batch.``),
        longest first: what a status alias's name is read without (:func:`~runfsm.status.alias_key`)."""
        self._by_ordinal: dict[int, _P] = {int(m): m for m in states}
        self.known: tuple[str, ...] = tuple(m.wire or m.name for m in states)
        """How the statuses are named in error messages."""

    def _add(self, text: str, member: _P) -> None:
        self._exact[text] = member
        self._loose[_normalize(text, self._prefix)] = member

    def __repr__(self) -> str:
        return f"<StatusParser {self.states.__name__} ({self.object_type})>"

    # -- bare statuses

    def parse_text(self, text: str) -> _P:
        """The member a string names; raises UnknownStatus or NotARunStatus."""
        member = self._exact.get(text)
        if member is not None:
            return member
        key = _normalize(text, self._prefix)
        member = self._loose.get(key)
        # an ordinal is spelled by its digits alone: "-1", "1_0" or "1 0" is no ordinal spelled loosely
        if member is not None and (not key.isdigit() or text.strip() == key):
            return member
        lowered = text.strip().lower()
        if lowered in self.ignored_events or (
            self.ignored_prefixes and lowered.startswith(self.ignored_prefixes) and not self._status_level(lowered)
        ):
            raise NotARunStatus(text.strip())
        raise UnknownStatus(text, self.known)

    def strip_event_prefix(self, text: str) -> str:
        """``text`` without the longest of :attr:`event_prefixes` it starts with (as it is otherwise)."""
        for prefix in self.event_prefixes:
            if text.startswith(prefix):
                return text[len(prefix) :]
        return text

    def _status_level(self, lowered: str) -> bool:
        """True for a name one level under a status event prefix (``response.canceled``)."""
        rest = self.strip_event_prefix(lowered)
        return rest != lowered and bool(rest) and "." not in rest

    def parse(self, value: object) -> _P:
        """The member ``value`` stands for (see the class docstring for what is accepted)."""
        if isinstance(value, self.states):
            return value
        if isinstance(value, str):
            return self.parse_text(value)
        if isinstance(value, LifecycleState):
            raise UnknownStatus(value, self.known, where=f"a {type(value).__name__}, not a {self.states.__name__}")
        if isinstance(value, int) and not isinstance(value, bool):
            member = self._by_ordinal.get(value)
            if member is not None:
                return member
            raise UnknownStatus(value, self.known)
        return self.read(value).status

    # -- objects and events

    def _event(self, event: object, payload: object, *, thin: bool = False) -> Snapshot[_P]:
        if not isinstance(event, str):
            raise UnknownStatus(event, self.known, where="stream event name")
        obj: object = payload
        if self.payload_key is not None and isinstance(payload, Mapping) and self.payload_key in payload:
            obj = payload[self.payload_key]
        elif self.payload_key is not None and payload is not None and hasattr(payload, self.payload_key):
            obj = getattr(payload, self.payload_key)
        fields: Mapping[str, Any] | None
        if isinstance(obj, Mapping):
            fields = obj
        elif obj is not None and hasattr(obj, "status"):
            fields = AttributeView(obj, self.fields)
        else:
            fields = None
        if event in self.snapshot_events and fields is not None and fields.get("status") is not None:
            status = self.parse(fields.get("status"))
        else:
            status = self.parse_text(event)
        if fields is None and obj is not None:
            raw_id = obj.get("id") if isinstance(obj, Mapping) else getattr(obj, "id", None)
        else:
            raw_id = fields.get("id") if fields is not None else None
        if thin:  # a webhook's data is the object's id, not the object: no fields to check
            fields = None
        return Snapshot(status, raw_id if isinstance(raw_id, str) else None, fields, event)

    def _wrong_object(self, obj: object) -> NotARunStatus:
        return NotARunStatus(f"{obj} object")

    def read(self, value: object) -> Snapshot[_P]:
        """Status, id and fields of an object, a stream event, a webhook payload or a bare status."""
        if isinstance(value, (str, int)) and not isinstance(value, bool):  # members too: they are ints
            return Snapshot(self.parse(value))
        if isinstance(value, (tuple, list)) and len(value) in (2, 3) and isinstance(value[0], str):
            return self._event(value[0], value[1])  # an azure-ai-agents stream item: (event, data[, returned])
        if isinstance(value, Mapping):
            if "event" in value:
                return self._event(value["event"], value.get("data"))
            obj = value.get("object")
            if "type" in value and obj != self.object_type:
                # a stream event of the Responses kind, or a webhook payload ({"object": "event", ...})
                if "data" in value and self.payload_key not in value:
                    return self._event(value["type"], value["data"], thin=True)
                return self._event(value["type"], value)
            if obj is not None and obj != self.object_type:
                raise self._wrong_object(obj)
            if "status" not in value:
                raise UnknownStatus(value, self.known, where="object without a 'status' field")
            raw_status = value["status"]
            if not isinstance(raw_status, str):
                raise UnknownStatus(raw_status, self.known, where="'status' field")
            raw_id = value.get("id")
            return Snapshot(self.parse_text(raw_status), raw_id if isinstance(raw_id, str) else None, value)
        event = getattr(value, "event", None)
        if isinstance(event, str):
            return self._event(event, getattr(value, "data", None))
        kind = getattr(value, "type", None)
        obj_type = getattr(value, "object", None)
        if isinstance(kind, str) and obj_type != self.object_type:
            if obj_type == "event":
                return self._event(kind, getattr(value, "data", None), thin=True)
            return self._event(kind, value)
        status = getattr(value, "status", None)
        if status is not None:
            obj = obj_type if obj_type is not None else self.object_type
            if obj != self.object_type:
                raise self._wrong_object(obj)
            raw_id = getattr(value, "id", None)
            return Snapshot(
                self.parse(status), raw_id if isinstance(raw_id, str) else None, AttributeView(value, self.fields)
            )
        raise UnknownStatus(value, self.known, where=f"value of type {type(value).__name__}")
