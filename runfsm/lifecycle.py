"""The one declaration of the run lifecycle, and every view derived from it.

``RUN_EDGES`` is the edge table (states are the rows of :class:`~runfsm.status.RunStatus`);
``RUN_LIFECYCLE`` builds from it the shared ``transitions`` machine, the successor sets,
the frozen lookup table used on fast paths, the routes a poller may have skipped, and the
JSON export. No other module lists statuses or edges: diagrams, strategies, the README
table and the fake server all read this one.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from runfsm.exceptions import LifecycleError
from runfsm.fields import FieldChecks
from runfsm.parsing import Snapshot, StatusParser
from runfsm.vocabulary import LifecycleState, StateKind, Trigger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from transitions import Machine

__all__ = [
    "ENTER_HOOK",
    "Edge",
    "EdgeKind",
    "Lifecycle",
    "PerLifecycle",
    "Route",
    "Source",
    "edges_from_table",
]

S = TypeVar("S", bound=LifecycleState)
T = TypeVar("T")

ENTER_HOOK = "_runfsm_entered"
"""Name of the model method every state of the shared machine calls on entering."""


class EdgeKind(enum.Enum):
    """How sure we are an edge exists."""

    DOCUMENTED = "documented"
    """In the API reference or the lifecycle documentation."""
    LENIENT = "lenient"
    """Undocumented, but evidence (or "cancellation is attempted but not guaranteed") makes it possible."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where a piece of evidence comes from: the key cited in brackets (``[R2]``), a title and a URL."""

    key: str
    title: str
    url: str


_CITATION = re.compile(r"\[([^\]]+)\]")


def cited_keys(evidence: str) -> tuple[str, ...]:
    """The source keys an evidence text cites, in order: ``"... [S1, S2]"`` gives ``("S1", "S2")``."""
    return tuple(key.strip() for group in _CITATION.findall(evidence) for key in group.split(",") if key.strip())


@dataclass(frozen=True, slots=True)
class Edge(Generic[S]):
    """One legal direct transition."""

    source: S
    dest: S
    kind: EdgeKind
    trigger: Trigger
    evidence: str

    @property
    def is_lenient(self) -> bool:
        """True for edges accepted on evidence rather than documentation."""
        return self.kind is EdgeKind.LENIENT


def edges_from_table(table: Iterable[tuple[S, tuple[S, ...], EdgeKind, Trigger, str]]) -> tuple[Edge[S], ...]:
    """Expand table rows ``(source, destinations, kind, trigger, evidence)`` into one edge per destination."""
    return tuple(
        Edge(source, dest, kind, trigger, evidence)
        for source, dests, kind, trigger, evidence in table
        for dest in dests
    )


@dataclass(frozen=True, slots=True)
class Route(Generic[S]):
    """How a polled jump is explained: the unobserved states in between and what the path used."""

    source: S
    dest: S
    inferred: tuple[S, ...]
    edges: tuple[Edge[S], ...]

    @property
    def calls(self) -> frozenset[Trigger]:
        """The client calls the path needs."""
        return frozenset(e.trigger for e in self.edges if e.trigger.is_client_call)

    @property
    def lenient(self) -> tuple[Edge[S], ...]:
        """The lenient edges on the path."""
        return tuple(e for e in self.edges if e.is_lenient)


# ----------------------------------------------------------------------------- the model

ILLEGAL, DOCUMENTED, LENIENT, SAME = 0, 1, 2, 3
"""Codes of :attr:`Lifecycle.lookup`."""

_CLIENT_CALLS = (Trigger.SUBMIT_TOOL_OUTPUTS, Trigger.CANCEL)
_CALL_SETS: tuple[frozenset[Trigger], ...] = tuple(
    frozenset(c) for r in range(len(_CLIENT_CALLS) + 1) for c in itertools.combinations(_CLIENT_CALLS, r)
)


class Lifecycle(Generic[S]):
    """A lifecycle: a state enum plus an edge table, and the views derived from them.

    Immutable after construction. Every view is computed from ``edges``; the shared
    ``transitions`` machine is built on first use.
    """

    def __init__(
        self,
        name: str,
        states: type[S],
        edges: Iterable[Edge[S]],
        *,
        initial: S,
        key: str | None = None,
        object_type: str | None = None,
        title: str | None = None,
        sources: Iterable[Source] = (),
        webhooks: Mapping[str, S] | None = None,
        parser: StatusParser[S] | None = None,
        field_checks: FieldChecks[S] | None = None,
    ) -> None:
        self.name = name
        self.key = key if key is not None else name
        """The short name the CLI and the preset registry use (``run``, ``response``, ``batch``)."""
        self.object_type = object_type
        """The ``object`` field of this lifecycle's API objects (``thread.run``, ``response``, ``batch``)."""
        self.title = title if title is not None else name
        """A human name for diagrams and reports."""
        self.states: tuple[S, ...] = tuple(states)
        self.state_type = states
        self.initial = initial
        self.edges: tuple[Edge[S], ...] = tuple(edges)
        self.terminal: frozenset[S] = frozenset(s for s in self.states if s.kind is StateKind.TERMINAL)
        self.paused: frozenset[S] = frozenset(s for s in self.states if s.kind is StateKind.PAUSED)
        self.sources: Mapping[str, Source] = {source.key: source for source in sources}
        """The evidence's sources by key: every key an edge cites when any sources are given."""
        self.webhooks: Mapping[str, S] = dict(webhooks or {})
        """Webhook event types (``response.completed``) and the status each announces."""
        self.events: Mapping[str, S] = {s.event: s for s in self.states if s.event is not None}
        """Stream event names and the status each announces."""
        self.parser: StatusParser[S] = (
            parser if parser is not None else StatusParser(states, object_type=object_type, names=self.webhooks)
        )
        """Reads this lifecycle's statuses, objects, stream events and webhook payloads."""
        self.field_checks: FieldChecks[S] = field_checks if field_checks is not None else FieldChecks({}, states=states)
        """This lifecycle's field invariants, compiled (none unless given)."""
        for event, state in self.webhooks.items():
            if state not in self.states:
                raise LifecycleError(f"{name}: webhook {event} maps to {state!r}, not a state of this lifecycle")
        if self.sources:
            for edge in self.edges:
                unknown = [k for k in cited_keys(edge.evidence) if k not in self.sources]
                if unknown:
                    raise LifecycleError(
                        f"{name}: edge {edge.source.name} -> {edge.dest.name} cites {', '.join(unknown)},"
                        " which the sources do not list"
                    )
        self._edge_map: dict[tuple[S, S], Edge[S]] = {}
        for edge in self.edges:
            if (edge.source, edge.dest) in self._edge_map:
                raise LifecycleError(f"{name}: edge {edge.source.name} -> {edge.dest.name} declared twice")
            if edge.source in self.terminal:
                raise LifecycleError(f"{name}: terminal state {edge.source.name} has an edge out")
            if edge.dest is initial or edge.source is edge.dest:
                raise LifecycleError(f"{name}: edge {edge.source.name} -> {edge.dest.name} is not allowed")
            self._edge_map[(edge.source, edge.dest)] = edge
        self._successors: dict[S, tuple[S, ...]] = {
            s: tuple(sorted((e.dest for e in self.edges if e.source is s), key=int)) for s in self.states
        }
        size = max(int(s) for s in self.states) + 1
        rows = [[ILLEGAL] * size for _ in range(size)]
        for s in self.states:
            rows[int(s)][int(s)] = SAME
        for edge in self.edges:
            rows[int(edge.source)][int(edge.dest)] = LENIENT if edge.is_lenient else DOCUMENTED
        self.lookup: tuple[tuple[int, ...], ...] = tuple(tuple(r) for r in rows)
        """``lookup[source][dest]``: ILLEGAL, DOCUMENTED, LENIENT, or SAME (a repeat), by ordinal."""

    def __repr__(self) -> str:
        return f"<Lifecycle {self.name!r}: {len(self.states)} states, {len(self.edges)} edges>"

    # -- queries

    def _check_states(self, method: str, *states: object) -> None:
        """``TypeError`` for what is no state of this lifecycle: a string, another lifecycle's member.

        The queries take the lifecycle's own members (or their ordinals): a status in another
        spelling would be no key (``edge("queued", "in_progress")`` was None, an edge missing in
        silence), and another lifecycle's member would be read by its ordinal.
        """
        for state in states:
            if type(state) is self.state_type or (isinstance(state, int) and not isinstance(state, (bool, enum.Enum))):
                continue
            kind = type(state).__name__
            hint = f": parse_status({state!r}, lifecycle) reads a spelling" if isinstance(state, str) else ""
            raise TypeError(
                f"{self.name}: {method} takes {self.state_type.__name__} members, got {kind} {state!r}{hint}"
            )

    def edge(self, source: S, dest: S) -> Edge[S] | None:
        """The direct edge from ``source`` to ``dest``, or None."""
        if type(source) is not self.state_type or type(dest) is not self.state_type:
            self._check_states("edge", source, dest)
        return self._edge_map.get((source, dest))

    def successors(self, state: S) -> tuple[S, ...]:
        """The states reachable from ``state`` by one edge, in ordinal order."""
        if type(state) is not self.state_type:
            self._check_states("successors", state)
        return self._successors[state]

    def is_legal(self, source: S, dest: S) -> bool:
        """True if ``source -> dest`` is a direct edge (documented or lenient)."""
        if type(source) is not self.state_type or type(dest) is not self.state_type:
            self._check_states("is_legal", source, dest)
        return self.lookup[source][dest] in (DOCUMENTED, LENIENT)

    def reachable(self, state: S) -> frozenset[S]:
        """Every state reachable from ``state`` by one or more edges."""
        self._check_states("reachable", state)
        seen: set[S] = set()
        todo = list(self._successors[state])
        while todo:
            s = todo.pop()
            if s not in seen:
                seen.add(s)
                todo.extend(self._successors[s])
        return frozenset(seen)

    # -- poll routes

    @cached_property
    def _routes(self) -> dict[tuple[S, S, frozenset[Trigger]], Route[S]]:
        table: dict[tuple[S, S, frozenset[Trigger]], Route[S]] = {}
        for calls in _CALL_SETS:
            for source in self.states:
                for dest, route in self._shortest_from(source, calls).items():
                    table[(source, dest, calls)] = route
        return table

    def _shortest_from(self, source: S, calls: frozenset[Trigger]) -> dict[S, Route[S]]:
        """Best path to every state: fewest edges, then fewest lenient edges, then lowest ordinals."""
        usable = [e for e in self.edges if not e.trigger.is_client_call or e.trigger in calls]
        out: dict[S, list[Edge[S]]] = {}
        for e in usable:
            out.setdefault(e.source, []).append(e)
        best: dict[S, Route[S]] = {}
        heap: list[tuple[int, int, tuple[int, ...], S, tuple[Edge[S], ...]]] = []
        for e in out.get(source, []):
            heapq.heappush(heap, (1, int(e.is_lenient), (int(e.dest),), e.dest, (e,)))
        while heap:
            length, lenient, key, state, path = heapq.heappop(heap)
            if state in best:
                continue
            best[state] = Route(source, state, tuple(e.dest for e in path[:-1]), path)
            if state is source:
                continue
            for e in out.get(state, []):
                if e.dest not in best:
                    heapq.heappush(
                        heap, (length + 1, lenient + int(e.is_lenient), (*key, int(e.dest)), e.dest, (*path, e))
                    )
        return best

    def route(self, source: S, dest: S, *, calls: Iterable[Trigger] = ()) -> Route[S] | None:
        """How a poller that saw ``source`` and then ``dest`` explains the jump.

        The path uses server edges, plus client-call edges whose trigger is in ``calls``
        (the calls known to have happened). ``source == dest`` asks for a cycle of at
        least one edge. Among the shortest paths, the one with fewest lenient edges wins.
        Returns None when no such path exists.
        """
        if type(source) is not self.state_type or type(dest) is not self.state_type:
            self._check_states("route", source, dest)
        allowed = frozenset(c for c in calls if c.is_client_call)
        return self._routes.get((source, dest, allowed))

    # -- transitions

    def trigger_name(self, state: S) -> str:
        """The ``transitions`` trigger that observes ``state`` (its wire value, or its lower-case name)."""
        return state.wire if state.wire is not None else state.name.lower()

    @cached_property
    def machine(self) -> Machine:
        """The one shared ``transitions.Machine``: states are the enum, triggers the observed statuses.

        It has no models: trackers drive it with ``machine.events[name].trigger(tracker)``,
        so starting to track a run costs nothing here (no ``add_model``). Each state calls
        the model's ``_runfsm_entered(event_data)`` on entering.
        """
        from transitions import Machine  # noqa: PLC0415  (kept out of `import runfsm`)

        machine = Machine(
            model=None,
            states=self.state_type,
            initial=self.initial,
            transitions=[
                {"trigger": self.trigger_name(e.dest), "source": e.source, "dest": e.dest} for e in self.edges
            ],
            auto_transitions=False,
            send_event=True,
            name=self.name,
        )
        for state in self.states:
            machine.get_state(state).add_callback("enter", ENTER_HOOK)
        return machine

    # -- export

    def to_dict(self) -> dict[str, Any]:
        """The declaration as plain JSON-ready data (states, initial state, edges)."""
        return {
            "name": self.name,
            "key": self.key,
            "object": self.object_type,
            "initial": self.initial.name,
            "states": [
                {"name": s.name, "ordinal": int(s), "wire": s.wire, "kind": s.kind.value, "event": s.event}
                for s in self.states
            ],
            "edges": [
                {
                    "source": e.source.name,
                    "dest": e.dest.name,
                    "kind": e.kind.value,
                    "trigger": e.trigger.value,
                    "evidence": e.evidence,
                }
                for e in self.edges
            ],
            "webhooks": {event: state.name for event, state in self.webhooks.items()},
            "sources": [{"key": s.key, "title": s.title, "url": s.url} for s in self.sources.values()],
        }

    def parse(self, value: object) -> S:
        """The status ``value`` stands for, read by this lifecycle's parser (see :func:`runfsm.status.parse_status`)."""
        return self.parser.parse(value)

    def read(self, value: object) -> Snapshot[S]:
        """Status, id and fields of one observation (see :func:`runfsm.status.read_run`)."""
        return self.parser.read(value)

    def check_fields(self, status: S, fields: Mapping[str, Any]) -> tuple[str, ...]:
        """One message per field invariant of ``status`` that the object ``fields`` breaks."""
        return self.field_checks.check(status, fields)

    def webhook_status(self, event_type: str) -> S | None:
        """The status a webhook event type announces (``"batch.completed"`` gives ``Completed``), or None."""
        return self.webhooks.get(event_type)

    @property
    def client_calls(self) -> frozenset[Trigger]:
        """The client calls some edge of this lifecycle needs (``cancel``; ``submit_tool_outputs`` for runs)."""
        return frozenset(e.trigger for e in self.edges if e.trigger.is_client_call)

    def by_name(self) -> Mapping[str, S]:
        """States keyed by member name."""
        return {s.name: s for s in self.states}


class PerLifecycle(Generic[T]):
    """What a layer derives from a lifecycle (tables, SQL...): built once per lifecycle object, then shared.

    Kept by the object's ``id`` together with the object (kept alive, and compared): a lifecycle
    unpickled in a worker process (a Spark worker, reused across tasks) is a new object, and its
    ``id`` may be that of one freed before, whose derivations are not its own.

    >>> from runfsm.lifecycles import RUN_LIFECYCLE
    >>> names = PerLifecycle(lambda lc: [s.name for s in lc.states])
    >>> names(RUN_LIFECYCLE) is names(RUN_LIFECYCLE)
    True
    """

    __slots__ = ("_build", "_found")

    def __init__(self, build: Callable[[Lifecycle[Any]], T]) -> None:
        self._build = build
        self._found: dict[int, tuple[Lifecycle[Any], T]] = {}

    def __call__(self, lifecycle: Lifecycle[Any]) -> T:
        """The derivation for ``lifecycle``, built now if this object has none yet."""
        found = self._found.get(id(lifecycle))
        if found is not None and found[0] is lifecycle:
            return found[1]
        value = self._build(lifecycle)
        self._found[id(lifecycle)] = (lifecycle, value)
        return value
