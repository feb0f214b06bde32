"""History shapes: a run's statuses and client calls as small codes, judged from precomputed tables.

A *shape* is what a run's history is without its locations: the mode and the sequence of
statuses (as ordinals, 0-10 for runs) and client calls (:data:`SUBMIT_CODE`, :data:`CANCEL_CODE`).
:func:`judge_shape` replays a shape on :class:`Tables` precomputed from a lifecycle's ``lookup``
and ``route`` (the Assistants run's by default) and returns a :class:`Shape` (the verdict without run id, locations and
field warnings), or ``None`` when the history needs the tracker's full account (an illegal jump,
an unknown status, an unrecorded client call). Bulk validation judges each distinct shape once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from runfsm.exceptions import LifecycleError
from runfsm.lifecycle import DOCUMENTED, LENIENT, SAME, Edge, Lifecycle, PerLifecycle, Route
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.verdict import Step, StepKind
from runfsm.vocabulary import LifecycleState, Trigger

if TYPE_CHECKING:
    from runfsm.status import RunStatus
    from runfsm.tracker import Mode

__all__ = [
    "BY_ORDINAL",
    "CANCEL_CODE",
    "CODE_CALL",
    "ILLEGAL_STEPS",
    "IS_PAUSED",
    "IS_TERMINAL",
    "RUN_TABLES",
    "SHAPES_MAX",
    "SUBMIT_CODE",
    "Shape",
    "StepCache",
    "Tables",
    "call_code",
    "judge_shape",
    "shared_step",
    "tables_for",
]

SUBMIT_CODE, CANCEL_CODE = 16, 17
"""How client calls appear in a run's code list (statuses appear as their ordinals, below 16)."""
_CALL_BITS: dict[Trigger, int] = {Trigger.SUBMIT_TOOL_OUTPUTS: 1, Trigger.CANCEL: 2}
_CALLS_OF_MASK: tuple[frozenset[Trigger], ...] = tuple(
    frozenset(t for t, bit in _CALL_BITS.items() if mask & bit) for mask in range(4)
)
_STEPS_CACHED: Final = 1024


class _Path:
    """A poll route, precomputed: what a jump along it adds to a verdict."""

    __slots__ = ("bits", "inferred", "lenient", "pairs")

    def __init__(self, route: Route[Any]) -> None:
        self.inferred = route.inferred
        self.lenient = route.lenient
        self.bits = sum(_CALL_BITS[c] for c in route.calls)
        """The recorded calls the route uses up."""
        self.pairs = tuple((e.source, e.dest, e.is_lenient) for e in route.edges)


class StepCache:
    """Shared :class:`~runfsm.verdict.Step` values of one kind: ``cells[source][dest][lenient]`` by index."""

    __slots__ = ("cells", "kind")

    def __init__(self, kind: StepKind, size: int) -> None:
        self.kind = kind
        self.cells: list[list[list[list[Step]]]] = [[[[], []] for _ in range(size)] for _ in range(size)]


class Tables:
    """One lifecycle's views, precomputed into tuples indexed by ordinal (no enum is hashed per record).

    Everything the per-record path needs: the lookup table, the edges, the routes a poll jump
    may take for each set of pending calls, which ordinals are terminal, and the shared steps.
    Built once per lifecycle by :func:`tables_for`.
    """

    def __init__(self, lifecycle: Lifecycle[Any]) -> None:
        self.lifecycle = lifecycle
        states = lifecycle.states
        self.by_ordinal: tuple[Any, ...] = tuple(sorted(states, key=int))
        """The states indexed by ordinal."""
        if [int(s) for s in self.by_ordinal] != list(range(len(states))) or len(states) > SUBMIT_CODE:
            raise LifecycleError(f"{lifecycle.name}: bulk validation needs ordinals 0..{len(states) - 1}, below 16")
        size = len(states)
        self.size = size
        self.lookup = lifecycle.lookup
        self.initial = lifecycle.initial
        self.is_terminal: tuple[bool, ...] = tuple(s in lifecycle.terminal for s in self.by_ordinal)
        self.is_paused: tuple[bool, ...] = tuple(s.is_paused for s in self.by_ordinal)
        self.client_calls: frozenset[Trigger] = frozenset(lifecycle.client_calls)
        """The client calls some edge needs (computed from the edges: once, here)."""
        self.edge_table: tuple[tuple[Edge[Any] | None, ...], ...] = tuple(
            tuple(lifecycle.edge(a, b) for b in self.by_ordinal) for a in self.by_ordinal
        )
        self.bits_of_edge: tuple[tuple[int, ...], ...] = tuple(
            tuple(_CALL_BITS.get(e.trigger, 0) if e is not None else 0 for e in row) for row in self.edge_table
        )
        self.routes: tuple[tuple[tuple[_Path | None, ...], ...], ...] = tuple(
            tuple(self._route_row(mask, a) for a in self.by_ordinal) for mask in range(4)
        )
        """``routes[pending calls mask][source][dest]``: ``lifecycle.route``, precomputed."""
        self.steps: dict[StepKind, StepCache] = {kind: StepCache(kind, size) for kind in StepKind}
        self.illegal_steps = self.steps[StepKind.ILLEGAL]

    def _route_row(self, mask: int, a: Any) -> tuple[_Path | None, ...]:
        routes = (self.lifecycle.route(a, b, calls=_CALLS_OF_MASK[mask]) for b in self.by_ordinal)
        return tuple(None if route is None else _Path(route) for route in routes)


_TABLES: Final[PerLifecycle[Tables]] = PerLifecycle(Tables)


def tables_for(lifecycle: Lifecycle[Any]) -> Tables:
    """The precomputed :class:`Tables` of ``lifecycle`` (built on first use, then shared)."""
    return _TABLES(lifecycle)


def shared_step(table: StepCache, source: LifecycleState, dest: LifecycleState, lenient: bool, index: int) -> Step:
    """Steps are small immutable values: share them instead of building one per record."""
    cache = table.cells[source][dest][lenient]
    if index < len(cache):
        return cache[index]
    if index >= _STEPS_CACHED:
        return Step(source, dest, table.kind, lenient, index)
    while len(cache) <= index:  # fill the gap: a later run asks for the indices in between
        cache.append(Step(source, dest, table.kind, lenient, len(cache)))
    return cache[index]


RUN_TABLES: Final = tables_for(RUN_LIFECYCLE)
"""The Assistants run's tables (the default lifecycle)."""
BY_ORDINAL: tuple[RunStatus, ...] = RUN_TABLES.by_ordinal
IS_TERMINAL: tuple[bool, ...] = RUN_TABLES.is_terminal
IS_PAUSED: tuple[bool, ...] = RUN_TABLES.is_paused
ILLEGAL_STEPS: Final = RUN_TABLES.illegal_steps
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
        final: LifecycleState,
        observations: int,
        inferred: list[tuple[int, tuple[LifecycleState, ...]]],
        lenient: list[Edge[Any]],
        steps: list[Step],
        notes: list[tuple[int, str]],
        tables: Tables = RUN_TABLES,
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
        self.ended = tables.is_terminal[final]
        """True if the history ends in a terminal status (legal), False if unfinished."""
        self.tally = (self.ended, observations, len(self.inferred), len(self.lenient))
        """What a summary counts of a run of this shape (see :data:`runfsm.validation.ledger.Tally`)."""


def judge_shape(mode: Mode, codes: bytearray, tables: Tables = RUN_TABLES) -> Shape | None:
    """Replay a history shape on the lookup table and the routes; None if it needs the tracker.

    The same decisions as ``RunTracker`` in record/assume mode, for histories with no
    illegal jump, unknown status or unrecorded call (property-tested against it). ``tables``
    are the lifecycle's (:func:`tables_for`; the Assistants run's by default).
    """
    initial = state = tables.initial
    by_ordinal = tables.by_ordinal
    is_terminal = tables.is_terminal
    lookup = tables.lookup
    routes = tables.routes
    start_steps = tables.steps[StepKind.START]
    observed_steps = tables.steps[StepKind.OBSERVED]
    inferred_steps = tables.steps[StepKind.INFERRED]
    pending = 0
    poll = mode == "poll"
    observations = 0
    steps: list[Step] = []
    notes: list[tuple[int, str]] = []
    inferred: list[tuple[int, tuple[LifecycleState, ...]]] = []
    lenient_edges: list[Edge[Any]] = []
    for index, code in enumerate(codes):
        if code >= SUBMIT_CODE:
            call = CODE_CALL[code]
            if is_terminal[state]:
                notes.append((index, f"{call.value} recorded after the run ended ({state})"))
            elif call not in tables.client_calls:
                title = tables.lifecycle.title
                notes.append((index, f"{call.value} recorded, but no edge of the {title} lifecycle needs it"))
            elif code == SUBMIT_CODE and not state.is_paused:
                notes.append((index, f"submit_tool_outputs recorded while the run was last seen {state}"))
            pending |= _CODE_BITS[code]
            continue
        if code >= len(by_ordinal):
            return None  # not a status of this lifecycle: the tracker explains it
        dest = by_ordinal[code]
        kind = lookup[state][dest]
        path: _Path | None = None
        if kind == SAME:
            if pending and poll:
                found = routes[pending][state][dest]
                if found is not None and found.bits:
                    path = found
        elif state is initial and poll:
            steps.append(shared_step(start_steps, state, dest, False, index))
            state = dest
        elif kind in (DOCUMENTED, LENIENT):
            lenient = kind == LENIENT
            if lenient:
                edge = tables.edge_table[state][dest]
                assert edge is not None
                lenient_edges.append(edge)
            pending &= ~tables.bits_of_edge[state][dest]
            steps.append(shared_step(observed_steps, state, dest, lenient, index))
            state = dest
        elif poll:
            path = routes[pending][state][dest]
            if path is None:
                return None
        else:
            return None
        if path is not None:
            inferred.append((index, path.inferred))
            lenient_edges.extend(path.lenient)
            pending &= ~path.bits
            for a, b, lenient in path.pairs:
                steps.append(shared_step(inferred_steps, a, b, lenient, index))
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
        tables=tables,
    )


def call_code(call: Trigger | None) -> int:
    """The code of a client call in a shape."""
    return SUBMIT_CODE if call is Trigger.SUBMIT_TOOL_OUTPUTS else CANCEL_CODE
