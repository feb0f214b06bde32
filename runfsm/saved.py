"""The saved-tracker document (``runfsm.tracker/1``): reading it back, every field checked.

:meth:`RunTracker.to_dict <runfsm.tracker.RunTracker.to_dict>` writes the document;
:func:`read_saved` checks one field by field and against the lifecycle before anything is
restored. A document is refused with :class:`~runfsm.exceptions.SavedTrackerError` naming
the field (``history[12].state``) when it is malformed (a missing key, a wrong type, a
name the lifecycle does not know, a key the format does not have) or inconsistent:

- each entry's ``index`` is its position, its ``source`` the previous entry's ``state``
  (the lifecycle's initial state for the first);
- each entry is a step the tracker could have taken: an accepted entry names a direct edge
  of the lifecycle and the lenient edge and client call it used, an inferred one a path of
  edges through its ``inferred`` states, a rejected one a state left unchanged, a call entry
  one client call;
- ``state`` is the last entry's ``state``, and ``pending_calls`` are exactly the client
  calls the history recorded and did not use up.

Keys a :meth:`~runfsm.tracker.RunTracker.to_dict` always writes may be left out of older
documents: ``run_id`` (None), ``keep_raw`` (true), ``pending_calls`` and ``history`` (empty),
``round_calls`` and ``answered_calls`` (None: the tool-call ids are not known),
and per entry ``time`` and ``raw`` (None), ``inferred``, ``lenient``, ``calls``,
``missing_calls`` and ``warnings`` (empty). Reading is one pass over the history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from runfsm.exceptions import SavedTrackerError
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    from runfsm.lifecycle import Edge, Lifecycle
    from runfsm.vocabulary import LifecycleState

__all__ = ["FORMAT", "OUTCOMES", "MakeEntry", "SavedTracker", "Step", "read_entry", "read_saved"]

FORMAT = "runfsm.tracker/1"
"""The ``format`` field of every saved tracker."""

OUTCOMES = (
    "start",
    "joined",
    "accepted",
    "inferred",
    "repeated",
    "unrecorded_call",
    "illegal",
    "unknown_status",
    "call",
)
"""The ``outcome`` values of history entries (the values of :class:`runfsm.observation.Outcome`)."""

_SETTINGS = {
    "mode": ("stream", "poll"),
    "on_illegal": ("log", "raise", "record"),
    "on_missing_call": ("reject", "assume"),
}
_DOCUMENT_KEYS = frozenset(
    {"format", "lifecycle", "run_id", "keep_raw", "state", "pending_calls", "round_calls", "answered_calls"}
    | {"history", *_SETTINGS}
)
_ENTRY_KEYS = frozenset(
    {"index", "time", "raw", "status", "source", "state", "outcome"}
    | {"inferred", "lenient", "calls", "missing_calls", "warnings"}
)
_REQUIRED_STEP_KEYS = ("status", "source", "state", "outcome")
_CALLS = {t.value: t for t in Trigger if t.is_client_call}
_REJECTED = frozenset({"illegal", "unknown_status"})
_EMPTY: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Step:
    """What one history entry says happened, checked: everything but its index, time, raw input and warnings.

    Entries repeat (a long history is a few kinds of step many times), so a document's
    reader checks each distinct step once.
    """

    status: LifecycleState | None
    source: LifecycleState
    state: LifecycleState
    outcome: str
    inferred: tuple[LifecycleState, ...]
    lenient: tuple[Edge[Any], ...]
    calls: tuple[Trigger, ...]
    missing_calls: tuple[Trigger, ...]


E = TypeVar("E")

MakeEntry = Callable[
    [int, "float | None", object, "Step", "tuple[str, ...]"],
    E,
]
"""Builds the restored history entry from its index, time, raw input, checked step and warnings."""


@dataclass(frozen=True, slots=True)
class SavedTracker(Generic[E]):
    """A saved tracker document, checked and decoded."""

    run_id: str | None
    mode: str
    on_illegal: str
    on_missing_call: str
    keep_raw: bool
    state: LifecycleState
    pending_calls: frozenset[Trigger]
    round_calls: frozenset[str] | None
    """The tool-call ids of the paused round the run is in (None: not known)."""
    answered_calls: frozenset[str] | None
    """The tool-call ids of the round the last recorded submit answered (None: not known)."""
    history: list[E]


def _fail(field: str, detail: str) -> SavedTrackerError:
    return SavedTrackerError(detail, field=field)


_MISSING: Any = object()
_NO_LIST: list[Any] = []


class _Reader:
    """Decodes and checks history entries against one lifecycle (lookups built once per document)."""

    def __init__(self, lifecycle: Lifecycle[Any]) -> None:
        self.lifecycle = lifecycle
        self.names: dict[str, LifecycleState] = dict(lifecycle.by_name())
        self.known = ", ".join(self.names)
        self.steps: dict[tuple[object, ...], Step] = {}

    def state(self, value: object, field: str) -> LifecycleState:
        state = self.names.get(value) if isinstance(value, str) else None
        if state is None:
            raise _fail(field, f"{value!r} is not a state of lifecycle {self.lifecycle.name!r} (one of {self.known})")
        return state

    def states(self, value: object, field: str) -> tuple[LifecycleState, ...]:
        items = _list(value, field)
        return tuple(self.state(v, f"{field}[{i}]") for i, v in enumerate(items))

    def edges(self, value: object, field: str) -> tuple[Edge[Any], ...]:
        edges: list[Edge[Any]] = []
        for i, pair in enumerate(_list(value, field)):
            where = f"{field}[{i}]"
            if not isinstance(pair, list) or len(pair) != 2:
                raise _fail(where, f"expected a [source, dest] pair of state names, got {pair!r}")
            source, dest = self.state(pair[0], f"{where}[0]"), self.state(pair[1], f"{where}[1]")
            edge = self.lifecycle.edge(source, dest)
            if edge is None or not edge.is_lenient:
                raise _fail(where, f"{source.name} -> {dest.name} is not a lenient edge of {self.lifecycle.name!r}")
            edges.append(edge)
        return tuple(edges)

    def entry(self, data: object, field: str, make: MakeEntry[E]) -> tuple[E, Step]:
        """One history entry, decoded and checked on its own (the chain is checked by the caller)."""
        if type(data) is not dict:
            if not isinstance(data, Mapping):
                raise _fail(field, f"expected an object (a history entry), got {type(data).__name__}")
            data = dict(data)
        if not _ENTRY_KEYS.issuperset(data):
            extra = sorted(str(k) for k in data if k not in _ENTRY_KEYS)
            raise _fail(f"{field}.{extra[0]}", "not a field of a history entry")
        index = data.get("index", _MISSING)
        if type(index) is not int:
            raise _fail(f"{field}.index", "missing" if index is _MISSING else f"expected an integer, got {index!r}")
        time = data.get("time")
        if time is not None and type(time) is not float and type(time) is not int:
            raise _fail(f"{field}.time", f"expected a number or null, got {time!r}")
        warnings = data.get("warnings", _NO_LIST)
        warned = () if warnings.__class__ is list and not warnings else _strings(warnings, f"{field}.warnings")
        step = self.step(data, field)
        return make(index, time, data.get("raw"), step, warned), step

    def step(self, data: dict[Any, Any], field: str) -> Step:
        """The entry's step: looked up by its raw fields, decoded and checked the first time it is seen."""
        inferred = data.get("inferred", _NO_LIST)
        lenient = data.get("lenient", _NO_LIST)
        calls = data.get("calls", _NO_LIST)
        missing = data.get("missing_calls", _NO_LIST)
        lists = (inferred, lenient, calls, missing)
        key: tuple[object, ...] | None = None
        if (
            inferred.__class__ is list
            and lenient.__class__ is list
            and calls.__class__ is list
            and missing.__class__ is list
            and (not lenient or all(p.__class__ is list for p in lenient))
        ):
            key = (
                data.get("status", _MISSING),
                data.get("source", _MISSING),
                data.get("state", _MISSING),
                data.get("outcome", _MISSING),
                tuple(inferred) if inferred else (),
                tuple(map(tuple, lenient)) if lenient else (),
                tuple(calls) if calls else (),
                tuple(missing) if missing else (),
            )
            try:
                step = self.steps.get(key)
            except TypeError:  # an unhashable element: decoding names the field
                key, step = None, None
            if step is not None:
                return step
        for name in _REQUIRED_STEP_KEYS:
            if name not in data:
                raise _fail(f"{field}.{name}", "missing")
        status_name = data["status"]
        step = Step(
            status=None if status_name is None else self.state(status_name, f"{field}.status"),
            source=self.state(data["source"], f"{field}.source"),
            state=self.state(data["state"], f"{field}.state"),
            outcome=_choice(data["outcome"], OUTCOMES, f"{field}.outcome"),
            inferred=self.states(lists[0], f"{field}.inferred"),
            lenient=self.edges(lists[1], f"{field}.lenient"),
            calls=_calls(lists[2], f"{field}.calls"),
            missing_calls=_calls(lists[3], f"{field}.missing_calls"),
        )
        self.check_step(step, data.get("raw"), field)
        if key is not None and step.outcome != "call":  # a call's check reads raw, which is not in the key
            self.steps[key] = step
        return step

    def check_step(self, e: Step, raw: object, field: str) -> None:
        """The entry is a step the tracker could have taken from ``e.source``."""
        outcome = e.outcome
        if outcome in ("call", "unknown_status"):
            if e.status is not None:
                raise _fail(f"{field}.status", f"a {outcome!r} entry has no status, got {e.status.name}")
        elif e.status is None:
            raise _fail(f"{field}.status", f"a {outcome!r} entry names the observed status, got null")
        if outcome in ("call", "unknown_status", "illegal", "repeated"):
            if e.state is not e.source:
                raise _fail(f"{field}.state", f"a {outcome!r} entry leaves the state at {e.source.name}")
        elif e.state is not e.status:
            raise _fail(f"{field}.state", f"a {outcome!r} entry moves to its status {_name(e.status)}")
        if outcome not in ("inferred", "unrecorded_call") and e.inferred:
            raise _fail(f"{field}.inferred", f"only inferred entries list inferred states, this one is {outcome!r}")
        if outcome not in ("illegal", "unrecorded_call") and e.missing_calls:
            raise _fail(f"{field}.missing_calls", f"a {outcome!r} entry misses no call")
        expected_lenient: tuple[Edge[Any], ...] = ()
        expected_calls: tuple[Trigger, ...] = ()
        if outcome == "call":
            if len(e.calls) != 1 or raw != e.calls[0].value:
                raise _fail(f"{field}.calls", f"a call entry records one client call, named in raw; got {e.calls}")
            expected_calls = e.calls
        elif outcome == "repeated":
            if e.status is not e.source:
                raise _fail(f"{field}.status", f"a repeat observes the state it is in, {e.source.name}")
        elif outcome in ("start", "joined"):
            assert e.status is not None
            if e.source is not self.lifecycle.initial or e.status is self.lifecycle.initial:
                raise _fail(
                    f"{field}.outcome", f"a {outcome} leaves {self.lifecycle.initial.name}, not {e.source.name}"
                )
            if outcome == "joined" and self.lifecycle.edge(e.source, e.status) is not None:
                raise _fail(f"{field}.outcome", f"{e.source.name} -> {e.status.name} is an edge: accepted, not joined")
        elif outcome == "accepted":
            assert e.status is not None
            edge = self.lifecycle.edge(e.source, e.status)
            if edge is None:
                raise _fail(f"{field}.status", f"{e.source.name} -> {e.status.name} is not an edge of the lifecycle")
            expected_lenient = (edge,) if edge.is_lenient else ()
            expected_calls = (edge.trigger,) if edge.trigger.is_client_call else ()
        elif outcome == "illegal":
            assert e.status is not None
            if e.status is e.source or self.lifecycle.edge(e.source, e.status) is not None:
                raise _fail(f"{field}.outcome", f"{e.source.name} -> {e.status.name} is legal, not illegal")
        elif outcome in ("inferred", "unrecorded_call"):
            assert e.status is not None
            path: list[Edge[Any]] = []
            at = e.source
            for i, state in enumerate((*e.inferred, e.status)):
                edge = self.lifecycle.edge(at, state)
                if edge is None:
                    where = f"{field}.inferred[{i}]" if i < len(e.inferred) else f"{field}.status"
                    raise _fail(where, f"{at.name} -> {state.name} is not an edge of the lifecycle")
                path.append(edge)
                at = state
            expected_lenient = tuple(p for p in path if p.is_lenient)
            expected_calls = tuple(sorted({p.trigger for p in path if p.trigger.is_client_call}, key=_value))
            if outcome == "unrecorded_call" and (not e.missing_calls or not set(e.missing_calls) <= set(e.calls)):
                raise _fail(f"{field}.missing_calls", "an unrecorded call is one of the calls the path used")
        if e.lenient != expected_lenient:
            raise _fail(f"{field}.lenient", f"the step uses the lenient edges {_pairs(expected_lenient)}")
        if e.calls != expected_calls:
            raise _fail(f"{field}.calls", f"the step uses the client calls {[c.value for c in expected_calls]}")


def _value(trigger: Trigger) -> str:
    return trigger.value


def _name(state: LifecycleState | None) -> str:
    return "null" if state is None else state.name


def _pairs(edges: Sequence[Edge[Any]]) -> list[list[str]]:
    return [[e.source.name, e.dest.name] for e in edges]


def _list(value: object, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(field, f"expected a list, got {type(value).__name__}")
    return value


def _choice(value: object, allowed: tuple[str, ...], field: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise _fail(field, f"expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _calls(value: object, field: str) -> tuple[Trigger, ...]:
    calls: list[Trigger] = []
    for i, name in enumerate(_list(value, field)):
        call = _CALLS.get(name) if isinstance(name, str) else None
        if call is None:
            raise _fail(f"{field}[{i}]", f"expected a client call ({', '.join(_CALLS)}), got {name!r}")
        if calls and _value(call) <= _value(calls[-1]):
            raise _fail(f"{field}[{i}]", "client calls are listed once each, sorted")
        calls.append(call)
    return tuple(calls)


def _ids(value: object, field: str) -> frozenset[str] | None:
    return None if value is None else frozenset(_strings(value, field))


def _strings(value: object, field: str) -> tuple[str, ...]:
    items = _list(value, field)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise _fail(f"{field}[{i}]", f"expected a string, got {type(item).__name__}")
    return tuple(items)


def read_entry(data: object, *, lifecycle: Lifecycle[Any], make: MakeEntry[E]) -> E:
    """Check one history entry on its own (as ``Observation.from_dict`` reads it); fields are named ``entry.*``."""
    return _Reader(lifecycle).entry(data, "entry", make)[0]


def read_saved(data: object, *, lifecycle: Lifecycle[Any], make: MakeEntry[E]) -> SavedTracker[E]:
    """Check a saved tracker document (the decoded JSON) and decode it; raise SavedTrackerError naming the field.

    ``make`` builds each restored history entry (the tracker passes one that builds an
    :class:`~runfsm.observation.Observation`).
    """
    if not isinstance(data, Mapping):
        raise _fail("<document>", f"expected a JSON object (a saved tracker), got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise _fail("format", f"not a saved runfsm tracker (format {data.get('format')!r}, expected {FORMAT!r})")
    if data.get("lifecycle") != lifecycle.name:
        raise _fail("lifecycle", f"saved for lifecycle {data.get('lifecycle')!r}, restoring into {lifecycle.name!r}")
    extra = sorted(str(k) for k in data if k not in _DOCUMENT_KEYS)
    if extra:
        raise _fail(extra[0], "not a field of a saved tracker")
    run_id = data.get("run_id")
    if run_id is not None and not isinstance(run_id, str):
        raise _fail("run_id", f"expected a string or null, got {run_id!r}")
    settings = {key: _choice(data.get(key), allowed, key) for key, allowed in _SETTINGS.items()}
    keep_raw = data.get("keep_raw", True)
    if not isinstance(keep_raw, bool):
        raise _fail("keep_raw", f"expected true or false, got {keep_raw!r}")
    reader = _Reader(lifecycle)
    if "state" not in data:
        raise _fail("state", "missing")
    state = reader.state(data["state"], "state")
    pending = _calls(data.get("pending_calls", _EMPTY), "pending_calls")

    at = lifecycle.initial
    calls: set[Trigger] = set()
    history: list[E] = []
    append = history.append
    entry = reader.entry
    for i, item in enumerate(_list(data.get("history", _EMPTY), "history")):
        made, step = entry(item, f"history[{i}]", make)
        if step.source is not at:
            raise _fail(f"history[{i}].source", f"expected {at.name} (where the entry before left the run)")
        if item["index"] != i:
            raise _fail(f"history[{i}].index", f"expected {i} (the entry's position), got {item['index']}")
        if step.calls:
            if step.outcome == "call":
                calls.add(step.calls[0])
            elif step.outcome not in _REJECTED:
                calls.difference_update(step.calls)
        at = step.state
        append(made)
    if state is not at:
        raise _fail("state", f"the history leaves the run at {at.name}, the document says {state.name}")
    if set(pending) != calls:
        names = sorted(c.value for c in calls)
        said = [c.value for c in pending]
        raise _fail("pending_calls", f"the history leaves {names} recorded and unused, the document says {said}")
    return SavedTracker(
        run_id=run_id,
        mode=settings["mode"],
        on_illegal=settings["on_illegal"],
        on_missing_call=settings["on_missing_call"],
        keep_raw=keep_raw,
        state=state,
        pending_calls=frozenset(pending),
        round_calls=_ids(data.get("round_calls"), "round_calls"),
        answered_calls=_ids(data.get("answered_calls"), "answered_calls"),
        history=history,
    )
