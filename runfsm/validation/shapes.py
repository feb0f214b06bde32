"""History shapes: a run's statuses and client calls as small codes, judged from precomputed tables.

A *shape* is what a run's history is without its locations: the mode and the sequence of
statuses (as ordinals 0-10) and client calls (:data:`SUBMIT_CODE`, :data:`CANCEL_CODE`).
:func:`judge_shape` replays a shape on tables precomputed from ``RUN_LIFECYCLE.lookup`` and
``RUN_LIFECYCLE.route`` and returns a :class:`Shape` (the verdict without run id, locations and
field warnings), or ``None`` when the history needs the tracker's full account (an illegal jump,
an unknown status, an unrecorded client call). Bulk validation judges each distinct shape once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from runfsm.lifecycle import DOCUMENTED, LENIENT, SAME, Edge, Route
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.status import RunStatus
from runfsm.verdict import Step, StepKind
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    from runfsm.tracker import Mode

__all__ = [
    "BY_ORDINAL",
    "CANCEL_CODE",
    "CODE_CALL",
    "ILLEGAL_STEPS",
    "IS_PAUSED",
    "IS_TERMINAL",
    "SHAPES_MAX",
    "SUBMIT_CODE",
    "Shape",
    "call_code",
    "judge_shape",
    "shared_step",
]

_LOOKUP = RUN_LIFECYCLE.lookup
_TERMINAL = RUN_LIFECYCLE.terminal
_INITIAL = RUN_LIFECYCLE.initial

#
# Everything the per-record path needs is precomputed from RUN_LIFECYCLE into tuples indexed
# by ordinal (RunStatus is an IntEnum), so that no enum is hashed per record.

_STATES = RUN_LIFECYCLE.states
BY_ORDINAL: tuple[RunStatus, ...] = tuple(sorted(RunStatus, key=int))
_SIZE = len(BY_ORDINAL)
assert all(int(s) == i for i, s in enumerate(BY_ORDINAL)), "the tables below index states by ordinal"
IS_TERMINAL: tuple[bool, ...] = tuple(any(int(t) == i for t in _TERMINAL) for i in range(_SIZE))
IS_PAUSED: tuple[bool, ...] = tuple(s.is_paused for s in BY_ORDINAL)
_EDGE_TABLE: tuple[tuple[Edge[RunStatus] | None, ...], ...] = tuple(
    tuple(RUN_LIFECYCLE.edge(a, b) if a in _STATES and b in _STATES else None for b in BY_ORDINAL) for a in BY_ORDINAL
)
_CALL_BITS: dict[Trigger, int] = {Trigger.SUBMIT_TOOL_OUTPUTS: 1, Trigger.CANCEL: 2}
_CALLS_OF_MASK: tuple[frozenset[Trigger], ...] = tuple(
    frozenset(t for t, bit in _CALL_BITS.items() if mask & bit) for mask in range(4)
)
_BITS_OF_EDGE: tuple[tuple[int, ...], ...] = tuple(
    tuple(_CALL_BITS.get(e.trigger, 0) if e is not None else 0 for e in row) for row in _EDGE_TABLE
)


class _Path:
    """A poll route, precomputed: what a jump along it adds to a verdict."""

    __slots__ = ("bits", "inferred", "lenient", "pairs")

    def __init__(self, route: Route[RunStatus]) -> None:
        self.inferred = route.inferred
        self.lenient = route.lenient
        self.bits = sum(_CALL_BITS[c] for c in route.calls)
        """The recorded calls the route uses up."""
        self.pairs = tuple((e.source, e.dest, e.is_lenient) for e in route.edges)


def _route_row(mask: int, a: RunStatus) -> tuple[_Path | None, ...]:
    routes = (RUN_LIFECYCLE.route(a, b, calls=_CALLS_OF_MASK[mask]) for b in BY_ORDINAL)
    return tuple(None if route is None else _Path(route) for route in routes)


_ROUTES: tuple[tuple[tuple[_Path | None, ...], ...], ...] = tuple(
    tuple(_route_row(mask, a) for a in BY_ORDINAL) for mask in range(4)
)
"""``_ROUTES[pending calls mask][source][dest]``: ``RUN_LIFECYCLE.route``, precomputed."""

_StepCache = list[list[list[list[Step]]]]


def _step_cache() -> _StepCache:
    return [[[[], []] for _ in range(_SIZE)] for _ in range(_SIZE)]


_STEP_CACHES: dict[StepKind, _StepCache] = {kind: _step_cache() for kind in StepKind}
_START = _STEP_CACHES[StepKind.START]
_OBSERVED = _STEP_CACHES[StepKind.OBSERVED]
_INFERRED = _STEP_CACHES[StepKind.INFERRED]
ILLEGAL_STEPS = _STEP_CACHES[StepKind.ILLEGAL]


_STEPS_CACHED: Final = 1024


def shared_step(table: _StepCache, source: RunStatus, dest: RunStatus, lenient: bool, index: int) -> Step:
    """Steps are small immutable values: share them instead of building one per record."""
    cache = table[source][dest][lenient]
    if index < len(cache):
        return cache[index]
    kind = next(k for k, t in _STEP_CACHES.items() if t is table)
    if index >= _STEPS_CACHED:
        return Step(source, dest, kind, lenient, index)
    while len(cache) <= index:  # fill the gap: a later run asks for the indices in between
        cache.append(Step(source, dest, kind, lenient, len(cache)))
    return cache[index]


SUBMIT_CODE, CANCEL_CODE = 16, 17
"""How client calls appear in a run's code list (statuses appear as themselves, ordinals 0-10)."""
_CODE_BITS: dict[int, int] = {
    SUBMIT_CODE: _CALL_BITS[Trigger.SUBMIT_TOOL_OUTPUTS],
    CANCEL_CODE: _CALL_BITS[Trigger.CANCEL],
}
CODE_CALL: dict[int, Trigger] = {SUBMIT_CODE: Trigger.SUBMIT_TOOL_OUTPUTS, CANCEL_CODE: Trigger.CANCEL}
SHAPES_MAX: Final = 8192
"""Shapes a bulk validation keeps judged, per mode (in two generations of half each)."""


class Shape:
    """What a run's history shape (mode and sequence of statuses and calls) makes of it, without locations.

    Runs with the same shape get the same verdict apart from the run id, the locations and
    the field warnings, so shapes are judged once and remembered (up to ``SHAPES_MAX`` of them).
    """

    __slots__ = ("codes", "ended", "final", "inferred", "lenient", "mode", "notes", "observations", "steps", "tally")

    def __init__(
        self,
        *,
        mode: Mode,
        codes: bytes,
        final: RunStatus,
        observations: int,
        inferred: list[tuple[int, tuple[RunStatus, ...]]],
        lenient: list[Edge[RunStatus]],
        steps: list[Step],
        notes: list[tuple[int, str]],
    ) -> None:
        self.mode: Mode = mode
        self.codes = codes
        """The shape itself: statuses and calls as codes."""
        self.final = final
        self.observations = observations
        self.inferred = tuple(inferred)
        self.lenient = tuple(lenient)
        self.steps = tuple(steps)
        self.notes = tuple(notes)
        """Warnings about recorded calls: (index, message)."""
        self.ended = IS_TERMINAL[final]
        """True if the history ends in a terminal status (legal), False if unfinished."""
        self.tally = (self.ended, observations, len(self.inferred), len(self.lenient))
        """What a summary counts of a run of this shape (see :data:`runfsm.validation.ledger.Tally`)."""


def judge_shape(mode: Mode, codes: bytearray) -> Shape | None:
    """Replay a history shape on the lookup table and the routes; None if it needs the tracker.

    The same decisions as ``RunTracker`` in record/assume mode, for histories with no
    illegal jump, unknown status or unrecorded call (property-tested against it).
    """
    state = _INITIAL
    pending = 0
    poll = mode == "poll"
    observations = 0
    steps: list[Step] = []
    notes: list[tuple[int, str]] = []
    inferred: list[tuple[int, tuple[RunStatus, ...]]] = []
    lenient_edges: list[Edge[RunStatus]] = []
    for index, code in enumerate(codes):
        if code >= SUBMIT_CODE:
            if IS_TERMINAL[state]:
                notes.append((index, f"{CODE_CALL[code].value} recorded after the run ended ({state})"))
            elif code == SUBMIT_CODE and state is not RunStatus.RequiresAction:
                notes.append((index, f"submit_tool_outputs recorded while the run was last seen {state}"))
            pending |= _CODE_BITS[code]
            continue
        dest = BY_ORDINAL[code]
        kind = _LOOKUP[state][dest]
        path: _Path | None = None
        if kind == SAME:
            if pending and poll:
                found = _ROUTES[pending][state][dest]
                if found is not None and found.bits:
                    path = found
        elif state is _INITIAL and poll:
            steps.append(shared_step(_START, state, dest, False, index))
            state = dest
        elif kind in (DOCUMENTED, LENIENT):
            lenient = kind == LENIENT
            if lenient:
                edge = _EDGE_TABLE[state][dest]
                assert edge is not None
                lenient_edges.append(edge)
            pending &= ~_BITS_OF_EDGE[state][dest]
            steps.append(shared_step(_OBSERVED, state, dest, lenient, index))
            state = dest
        elif poll:
            path = _ROUTES[pending][state][dest]
            if path is None:
                return None
        else:
            return None
        if path is not None:
            inferred.append((index, path.inferred))
            lenient_edges.extend(path.lenient)
            pending &= ~path.bits
            for a, b, lenient in path.pairs:
                steps.append(shared_step(_INFERRED, a, b, lenient, index))
            state = dest
        observations += 1
    return Shape(
        mode=mode,
        codes=bytes(codes),
        final=state,
        observations=observations,
        inferred=inferred,
        lenient=lenient_edges,
        steps=steps,
        notes=notes,
    )


def call_code(call: Trigger | None) -> int:
    """The code of a client call in a shape."""
    return SUBMIT_CODE if call is Trigger.SUBMIT_TOOL_OUTPUTS else CANCEL_CODE
