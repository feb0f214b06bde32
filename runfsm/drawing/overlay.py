"""Observed histories drawn on the lifecycle: edge counts accumulated from verdicts.

An :class:`Overlay` takes :class:`~runfsm.verdict.Verdict` objects one at a time and keeps
only counters (one row per edge kind per pair of states) plus the path of the one run to
highlight, so memory does not grow with the number of runs. :meth:`Overlay.diagram` turns
the counts into a :class:`~runfsm.drawing.diagram.Diagram` that any renderer of
:mod:`runfsm.drawing.diagram` draws: each edge's count as its label and line width, edges only ever
inferred between polls dashed, lenient edges marked, illegal jumps as red extra edges (beyond
a few pairs, a count in each state they leave instead: a large corpus is not drawn as a
hairball), states no run reached greyed out, and the highlighted run's steps numbered along
its path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from runfsm.drawing.diagram import Diagram, DiagramEdge, DiagramNode, EdgeCounts, EdgeRole, lifecycle_diagram
from runfsm.lifecycle import Lifecycle
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.verdict import RunResult, Step, StepKind, Verdict

if TYPE_CHECKING:
    from collections.abc import Iterable

    from runfsm.vocabulary import LifecycleState

__all__ = ["MAX_DRAWN_PAIRS", "Aggregate", "Overlay", "overlay_diagram"]

Aggregate = Literal["auto", "never", "always"]
"""How an overlay draws the edges the lifecycle does not declare (see :meth:`Overlay.diagram`)."""

MAX_DRAWN_PAIRS = 4
"""With ``aggregate="auto"``: the most illegal (or first-seen) pairs of states drawn as edges of their own."""

# slots of a counter row: observed, inferred, unrecorded, started, illegal
_SLOT: dict[StepKind, int] = {
    StepKind.OBSERVED: 0,
    StepKind.INFERRED: 1,
    StepKind.UNRECORDED_CALL: 2,
    StepKind.START: 3,
    StepKind.JOINED: 3,  # drawn as where watching began: the caption counts joined runs apart
    StepKind.ILLEGAL: 4,
}


class Overlay:
    """Edge counts of many runs, plus one run's path; feed it verdicts with :meth:`add`.

    ``highlight`` names a run id whose path is kept and drawn (the first verdict with that
    id; later ones with the same id are counted but not drawn again).

    >>> from runfsm import RunStatus, RunTracker
    >>> t = RunTracker("run_1", mode="stream", on_illegal="record")
    >>> _ = t.observe_all(["queued", "in_progress", "completed"])
    >>> overlay = Overlay()
    >>> overlay.add(Verdict.from_tracker(t))
    >>> overlay.counts(RunStatus.Queued, RunStatus.InProgress).observed
    1
    """

    __slots__ = ("_counts", "_entered", "_results", "highlight", "highlighted", "lifecycle", "runs")

    def __init__(self, *, lifecycle: Lifecycle[Any] = RUN_LIFECYCLE, highlight: str | None = None) -> None:
        if not isinstance(lifecycle, Lifecycle):
            raise TypeError(f"lifecycle must be a Lifecycle, got {lifecycle!r}")
        if highlight is not None and not isinstance(highlight, str):
            raise TypeError(f"highlight must be a run id (str) or None, got {highlight!r}")
        self.lifecycle = lifecycle
        self.highlight = highlight
        self.highlighted: tuple[Step, ...] | None = None
        """The highlighted run's steps, once a verdict with that run id was added."""
        self.runs = 0
        """How many verdicts were added."""
        self._counts: dict[tuple[LifecycleState, LifecycleState], list[int]] = {}
        self._entered: dict[LifecycleState, int] = {}
        self._results: dict[RunResult, int] = {}

    def __repr__(self) -> str:
        return f"<Overlay {self.runs} runs, {len(self._counts)} edges used>"

    def add(self, verdict: Verdict) -> None:
        """Count one run's steps (the verdict itself is not kept)."""
        if not isinstance(verdict, Verdict):
            raise TypeError(f"Overlay.add takes a Verdict, got {type(verdict).__name__}")
        if not isinstance(verdict.final, self.lifecycle.state_type):
            raise ValueError(
                f"run {verdict.run_id}'s verdict is of {type(verdict.final).__name__} statuses; this overlay draws "
                f"the {self.lifecycle.name} lifecycle ({self.lifecycle.state_type.__name__}): give the lifecycle "
                "the verdicts were judged by"
            )
        self.runs += 1
        self._results[verdict.result] = self._results.get(verdict.result, 0) + 1
        counts = self._counts
        entered = self._entered
        for step in verdict.steps:
            key = (step.source, step.dest)
            row = counts.get(key)
            if row is None:
                row = counts[key] = [0, 0, 0, 0, 0]
            row[_SLOT[step.kind]] += 1
            if step.kind is not StepKind.ILLEGAL:
                entered[step.dest] = entered.get(step.dest, 0) + 1
        if self.highlighted is None and self.highlight is not None and verdict.run_id == self.highlight:
            self.highlighted = verdict.steps

    def update(self, verdicts: Iterable[Verdict]) -> Overlay:
        """Add every verdict of an iterable (consumed lazily); return the overlay."""
        for verdict in verdicts:
            self.add(verdict)
        return self

    def merge(self, other: Overlay) -> Overlay:
        """Add the counts of another overlay of the same lifecycle (another process's); return this one.

        The highlighted path is this overlay's if it has one, else the other's.
        """
        if not isinstance(other, Overlay):
            raise TypeError(f"Overlay.merge takes an Overlay, got {type(other).__name__}")
        # by name: an overlay from another process holds a copy of the lifecycle
        if (other.lifecycle.key, other.lifecycle.name) != (self.lifecycle.key, self.lifecycle.name):
            raise ValueError(
                f"cannot merge an overlay of the {other.lifecycle.name} lifecycle into one of {self.lifecycle.name}"
            )
        self.runs += other.runs
        for result, n in other._results.items():
            self._results[result] = self._results.get(result, 0) + n
        for key, row in other._counts.items():
            mine = self._counts.setdefault(key, [0] * len(row))
            for slot, n in enumerate(row):
                mine[slot] += n
        for state, n in other._entered.items():
            self._entered[state] = self._entered.get(state, 0) + n
        if self.highlighted is None and self.highlight == other.highlight:
            self.highlighted = other.highlighted
        return self

    # -- reading

    def counts(self, source: LifecycleState, dest: LifecycleState) -> EdgeCounts:
        """How often runs used ``source -> dest``, by kind."""
        row = self._counts.get((source, dest))
        return EdgeCounts(*row) if row is not None else EdgeCounts()

    def entered(self, state: LifecycleState) -> int:
        """How many times runs entered ``state`` (observed, inferred or first seen there).

        Every run begins in the initial state, so for it this is the number of runs.
        """
        if state is self.lifecycle.initial:
            return self.runs
        return self._entered.get(state, 0)

    @property
    def reached(self) -> frozenset[LifecycleState]:
        """The states at least one run entered (the initial state once any run was added)."""
        return frozenset(s for s in self.lifecycle.states if self.entered(s))

    @property
    def results(self) -> dict[RunResult, int]:
        """How many runs ended with each result (results that occurred, in ``RunResult`` order)."""
        return {r: self._results[r] for r in RunResult if r in self._results}

    def edges_used(self) -> dict[tuple[LifecycleState, LifecycleState], EdgeCounts]:
        """Every pair of states some step connected, with its counts, in ordinal order."""
        return {key: EdgeCounts(*self._counts[key]) for key in sorted(self._counts, key=lambda k: (k[0], k[1]))}

    # -- drawing

    def illegal_jumps(self) -> list[tuple[tuple[LifecycleState, LifecycleState], int]]:
        """Every illegal jump observed, with how often, the most frequent first (ties in ordinal order)."""
        pairs = [(key, row[4]) for key, row in self._counts.items() if row[4]]
        return sorted(pairs, key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))

    def diagram(self, *, title: str | None = None, aggregate: Aggregate = "auto") -> Diagram:
        """The lifecycle diagram with these counts drawn on it.

        ``aggregate`` says how the edges the lifecycle does not declare are drawn: illegal jumps,
        and (poll mode) where runs were first seen. ``"never"``: one edge per pair of states.
        ``"always"``: none; each state says how many illegal jumps left it and how many runs were
        first seen in it (the highlighted run's path is still drawn edge by edge). ``"auto"``
        (default): one edge per pair while there are at most :data:`MAX_DRAWN_PAIRS` pairs of a
        kind, aggregated beyond, so that a large corpus is not drawn as a hairball of curves.
        """
        if aggregate not in ("auto", "never", "always"):
            raise ValueError(f"aggregate must be 'auto', 'never' or 'always', got {aggregate!r}")
        base = lifecycle_diagram(self.lifecycle)
        steps_on: dict[tuple[LifecycleState, LifecycleState, bool], list[int]] = {}
        path_states: set[LifecycleState] = set()
        for number, step in enumerate(self.highlighted or (), start=1):
            illegal = step.kind is StepKind.ILLEGAL
            steps_on.setdefault((step.source, step.dest, illegal), []).append(number)
            path_states.add(step.source)
            if not illegal:
                path_states.add(step.dest)
        declared_pairs = {(e.source, e.dest) for e in base.edges}
        illegal_pairs = [key for key, row in self._counts.items() if row[4]]
        start_pairs = [key for key, row in self._counts.items() if row[3] and key not in declared_pairs]
        fold_illegal = aggregate == "always" or (aggregate == "auto" and len(illegal_pairs) > MAX_DRAWN_PAIRS)
        fold_starts = aggregate == "always" or (aggregate == "auto" and len(start_pairs) > MAX_DRAWN_PAIRS)
        illegal_out: dict[LifecycleState, int] = {}
        first_seen: dict[LifecycleState, int] = {}
        if fold_illegal:
            for source, dest in illegal_pairs:
                illegal_out[source] = illegal_out.get(source, 0) + self._counts[(source, dest)][4]
        if fold_starts:
            for _source, dest in start_pairs:
                first_seen[dest] = first_seen.get(dest, 0) + self._counts[(_source, dest)][3]
        reached = self.reached
        nodes = tuple(
            DiagramNode(
                n.state,
                n.label,
                n.kind,
                reached=n.state in reached,
                entered=self.entered(n.state),
                highlighted=n.state in path_states,
                illegal_out=illegal_out.get(n.state, 0),
                first_seen=first_seen.get(n.state, 0),
            )
            for n in base.nodes
        )
        edges: list[DiagramEdge] = []
        for e in base.edges:
            key = (e.source, e.dest)
            row = self._counts.get(key, [0, 0, 0, 0, 0])
            counts = EdgeCounts(row[0], row[1], row[2], row[3], 0)
            steps = tuple(steps_on.get((*key, False), ()))
            edges.append(DiagramEdge(e.source, e.dest, e.role, e.trigger, counts, steps))
        for (source, dest), row in sorted(self._counts.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            key = (source, dest)
            if row[3] and key not in declared_pairs:
                steps = tuple(steps_on.get((source, dest, False), ()))
                if not fold_starts or steps:
                    edges.append(DiagramEdge(source, dest, EdgeRole.START, None, EdgeCounts(started=row[3]), steps))
            if row[4]:
                steps = tuple(steps_on.get((source, dest, True), ()))
                if not fold_illegal or steps:
                    edges.append(DiagramEdge(source, dest, EdgeRole.ILLEGAL, None, EdgeCounts(illegal=row[4]), steps))
        max_count = max((e.counts.total for e in edges if e.counts is not None), default=0)
        return Diagram(
            title=title
            or f"{self.runs} observed run{'s' if self.runs != 1 else ''} on the {self.lifecycle.name} lifecycle",
            initial=self.lifecycle.initial,
            nodes=nodes,
            edges=tuple(edges),
            overlay=True,
            caption=self._caption(),
            highlight=self.highlight,
            max_count=max_count,
        )

    def _caption(self) -> str:
        parts = [f"{r.value} {n}" for r, n in self.results.items()]
        text = ", ".join(parts) if parts else "no runs"
        if self.highlight is not None:
            if self.highlighted is None:
                text += f"; run {self.highlight} not found"
            else:
                text += f"; run {self.highlight} highlighted ({len(self.highlighted)} steps)"
        return text


def overlay_diagram(
    verdicts: Iterable[Verdict],
    *,
    highlight: str | None = None,
    lifecycle: Lifecycle[Any] = RUN_LIFECYCLE,
    title: str | None = None,
    aggregate: Aggregate = "auto",
) -> Diagram:
    """Count ``verdicts`` (consumed lazily, not kept) and return the overlay diagram."""
    overlay = Overlay(lifecycle=lifecycle, highlight=highlight).update(verdicts)
    return overlay.diagram(title=title, aggregate=aggregate)
