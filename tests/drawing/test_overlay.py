"""runfsm.drawing.overlay: observed runs counted on the lifecycle's edges, and drawn.

The corpus properties count consecutive statuses straight from the generated histories
(``collections.Counter`` over pairs), never through the overlay, and compare.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import json
import re
import tracemalloc
from collections import Counter
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm.drawing.diagram import EdgeCounts, EdgeRole, _run_dot, to_dot, to_mermaid
from runfsm.drawing.overlay import MAX_DRAWN_PAIRS, Overlay, overlay_diagram
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.status import RunStatus
from runfsm.tracker import Mode, RunTracker
from runfsm.verdict import RunResult, StepKind, Verdict

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from runfsm.drawing.diagram import Diagram, DiagramEdge

R = RunStatus


def _verdict(statuses: Sequence[object], *, mode: Mode = "stream", run_id: str = "run_1") -> Verdict:
    tracker = RunTracker(run_id, mode=mode, on_illegal="record", on_missing_call="assume", clock=None)
    tracker.observe_all(statuses)
    return Verdict.from_tracker(tracker)


def _edge(diagram: Diagram, source: RunStatus, dest: RunStatus, role: EdgeRole | None = None) -> DiagramEdge:
    found = [e for e in diagram.edges if (e.source, e.dest) == (source, dest) and (role is None or e.role is role)]
    assert len(found) == 1, found
    return found[0]


def _dot_edges(diagram: Diagram) -> dict[str, dict[str, str]]:
    """Edge attributes by SVG id, as Graphviz itself parses the DOT (laid out as the renderer does)."""
    out = _run_dot(to_dot(diagram), "json0")
    graph = json.loads(out)
    return {e["id"]: e for e in graph["edges"] if "id" in e}


# ----------------------------------------------------------------------------- counting


def test_stream_run_counts_each_edge_once() -> None:
    """A streamed run counts one observed use per consecutive pair, Null -> queued included."""
    overlay = Overlay()
    overlay.add(_verdict(["queued", "in_progress", "requires_action", "queued", "in_progress", "completed"]))
    assert overlay.counts(R.Null, R.Queued) == EdgeCounts(observed=1)
    assert overlay.counts(R.Queued, R.InProgress) == EdgeCounts(observed=2)
    assert overlay.counts(R.RequiresAction, R.Queued) == EdgeCounts(observed=1)
    assert overlay.counts(R.InProgress, R.Failed) == EdgeCounts()
    assert overlay.entered(R.Queued) == 2
    assert overlay.entered(R.Null) == 1  # every run starts there
    assert overlay.reached == {R.Null, R.Queued, R.InProgress, R.RequiresAction, R.Completed}
    assert overlay.results == {RunResult.LEGAL: 1}


def test_polled_jump_counts_inferred_edges() -> None:
    """Queued -> completed between two polls counts queued -> in_progress -> completed as inferred."""
    overlay = Overlay().update([_verdict(["queued", "completed"], mode="poll")])
    assert overlay.counts(R.Null, R.Queued) == EdgeCounts(started=1)
    assert overlay.counts(R.Queued, R.InProgress) == EdgeCounts(inferred=1)
    assert overlay.counts(R.InProgress, R.Completed) == EdgeCounts(inferred=1)
    assert overlay.entered(R.InProgress) == 1


def test_unrecorded_call_counted_apart() -> None:
    """in_progress -> queued with no recorded submit is counted on the inferred path as an unrecorded call."""
    overlay = Overlay().update([_verdict(["in_progress", "queued"], mode="poll")])
    assert overlay.counts(R.InProgress, R.RequiresAction) == EdgeCounts(unrecorded=1)
    assert overlay.counts(R.RequiresAction, R.Queued) == EdgeCounts(unrecorded=1)


def test_illegal_jump_is_counted_and_not_entered() -> None:
    """An illegal jump is counted on its own pair; its target is not entered by it."""
    overlay = Overlay().update([_verdict(["queued", "in_progress", "completed", "cancelled"])] * 3)
    assert overlay.counts(R.Completed, R.Cancelled) == EdgeCounts(illegal=3)
    assert R.Cancelled not in overlay.reached
    assert overlay.results == {RunResult.ILLEGAL: 3}


def test_add_rejects_what_is_not_a_verdict() -> None:
    """A TypeError naming the wrong type, for a list of statuses passed by mistake."""
    with pytest.raises(TypeError, match="takes a Verdict, got list"):
        Overlay().add(["queued"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="highlight must be a run id"):
        Overlay(highlight=3)  # type: ignore[arg-type]


def test_verdicts_of_another_lifecycle_are_refused_not_drawn_by_their_ordinals() -> None:
    """A batch's verdicts on the run's diagram were counted as the run states of the same numbers."""
    from runfsm.lifecycles import BATCH_LIFECYCLE
    from runfsm.validation import validate

    batch = validate(["validating", "in_progress", "finalizing", "completed"], lifecycle="batch")
    with pytest.raises(ValueError, match=r"verdict is of BatchStatus statuses; this overlay draws .* \(RunStatus\)"):
        overlay_diagram([batch])
    assert overlay_diagram([batch], lifecycle=BATCH_LIFECYCLE).title
    with pytest.raises(ValueError, match="cannot merge an overlay of the"):
        Overlay().merge(Overlay(lifecycle=BATCH_LIFECYCLE))


# ----------------------------------------------------------------------------- drawing


def test_drawn_edges_carry_counts_and_styles() -> None:
    """Counts become labels and widths; inferred-only edges are dashed; lenient stay marked; unused are grey."""
    verdicts = [_verdict(["queued", "in_progress", "completed"], run_id=f"s{i}") for i in range(9)]
    verdicts.append(_verdict(["queued", "completed"], mode="poll", run_id="p"))
    verdicts.append(_verdict(["queued", "expired"], run_id="lenient"))
    diagram = overlay_diagram(verdicts)
    attrs = _dot_edges(diagram)
    assert attrs["edge-Queued-InProgress"]["label"] == "\u00d79, inferred \u00d71"
    assert attrs["edge-Queued-InProgress"]["style"] == "solid"  # seen directly too
    assert attrs["edge-Queued-Expired"]["label"] == "lenient \u00b7 \u00d71"
    assert attrs["edge-Queued-Expired"]["arrowhead"] == "empty"
    assert attrs["edge-Cancelling-Cancelled"].get("label", "") == ""  # unused: no count, drawn grey
    assert attrs["edge-Cancelling-Completed"]["label"] == "lenient"
    assert attrs["edge-Cancelling-Cancelled"]["color"] == "#bdc1c6"
    widths = {k: float(v["penwidth"]) for k, v in attrs.items()}
    assert widths["edge-Queued-InProgress"] > widths["edge-Queued-Expired"] > widths["edge-Cancelling-Cancelled"]

    only_inferred = overlay_diagram([_verdict(["queued", "completed"], mode="poll")])
    assert _dot_edges(only_inferred)["edge-Queued-InProgress"]["style"] == "dashed"


def test_illegal_jumps_are_red_edges_with_counts() -> None:
    """Each illegal pair is an extra red edge labelled ILLEGAL with its count."""
    diagram = overlay_diagram([_verdict(["queued", "in_progress", "completed", "queued"])] * 2)
    edge = _edge(diagram, R.Completed, R.Queued)
    assert edge.role is EdgeRole.ILLEGAL
    assert edge.counts == EdgeCounts(illegal=2)
    attrs = _dot_edges(diagram)["illegal-Completed-Queued"]
    assert (attrs["color"], attrs["label"]) == ("#d93025", "ILLEGAL \u00d72")
    assert "    Completed --> Queued: ILLEGAL \u00d72" in to_mermaid(diagram)


def test_polling_start_is_a_dotted_edge_from_null() -> None:
    """A poll that first saw in_progress draws a dotted start edge Null -> in_progress (not a lifecycle edge)."""
    diagram = overlay_diagram([_verdict(["in_progress", "completed"], mode="poll")])
    edge = _edge(diagram, R.Null, R.InProgress)
    assert (edge.role, edge.counts) == (EdgeRole.START, EdgeCounts(started=1))
    attrs = _dot_edges(diagram)["start-Null-InProgress"]
    assert (attrs["style"], attrs["label"]) == ("dotted", "first seen \u00d71")


def test_unreached_states_are_greyed() -> None:
    """States no run entered get the grey style in DOT and the unreached class in Mermaid."""
    diagram = overlay_diagram([_verdict(["queued", "in_progress", "completed"])])
    grey = {n.state for n in diagram.nodes if not n.reached}
    assert grey == set(RunStatus) - {R.Null, R.Queued, R.InProgress, R.Completed}
    dot = to_dot(diagram)
    for state in RunStatus:
        line = next(x for x in dot.splitlines() if x.strip().startswith(f"{state.name} [id="))
        assert ('fontcolor="#9aa0a6"' in line) == (state in grey)
    unreached = re.search(r"^    class (.+) unreached$", to_mermaid(diagram), flags=re.MULTILINE)
    assert unreached is not None
    assert set(unreached[1].split(", ")) == {s.name for s in grey}


def test_one_run_is_highlighted_as_a_numbered_path() -> None:
    """--run ID: that run's steps are numbered along its path, its states outlined; the first such run wins."""
    overlay = Overlay(highlight="b")
    overlay.add(_verdict(["queued", "in_progress", "completed"], run_id="a"))
    overlay.add(
        _verdict(["queued", "in_progress", "requires_action", "queued", "in_progress", "cancelling"], run_id="b")
    )
    overlay.add(_verdict(["queued", "failed"], run_id="b"))
    diagram = overlay.diagram()
    assert _edge(diagram, R.Queued, R.InProgress).steps == (2, 5)
    assert _edge(diagram, R.InProgress, R.Completed).steps == ()
    assert {n.state for n in diagram.nodes if n.highlighted} == {
        R.Null,
        R.Queued,
        R.InProgress,
        R.RequiresAction,
        R.Cancelling,
    }
    attrs = _dot_edges(diagram)["edge-InProgress-Cancelling"]
    assert attrs["color"] == "#9334e6"
    assert attrs["label"].endswith("run step 6")
    assert "run b highlighted (6 steps)" in diagram.caption


def test_highlighted_illegal_step_is_on_the_red_edge() -> None:
    """A highlighted run's illegal jump is numbered on the red edge, and its target is not outlined."""
    overlay = Overlay(highlight="x")
    overlay.add(_verdict(["queued", "failed", "completed"], run_id="x"))
    diagram = overlay.diagram()
    assert _edge(diagram, R.Failed, R.Completed, EdgeRole.ILLEGAL).steps == (3,)
    attrs = _dot_edges(diagram)["illegal-Failed-Completed"]
    assert (attrs["color"], attrs["fontcolor"], attrs["label"]) == (
        "#d93025",
        "#9334e6",
        "ILLEGAL \u00d71 \u00b7 run step 3",
    )
    assert R.Completed not in {n.state for n in diagram.nodes if n.highlighted}


def test_missing_highlight_is_said_in_the_caption() -> None:
    """A run id that never came is named in the caption, not silently ignored."""
    overlay = Overlay(highlight="nope").update([_verdict(["queued"])])
    assert overlay.highlighted is None
    assert "run nope not found" in overlay.diagram().caption


# ----------------------------------------------------------------------------- corpora


@st.composite
def _stream_runs(draw: st.DrawFn) -> list[RunStatus]:
    """A streamed run: a walk along the lifecycle's edges, sometimes with one illegal status after the end."""
    path = [RunStatus.Null]
    while not path[-1].is_terminal and len(path) < 25:
        nxt = RUN_LIFECYCLE.successors(path[-1])
        path.append(draw(st.sampled_from(nxt)))
    if path[-1].is_terminal and draw(st.booleans()):
        path.append(draw(st.sampled_from([R.Queued, R.InProgress, R.Completed, R.Failed])))
    return path[1:]


@given(st.lists(_stream_runs(), max_size=20))
def test_stream_corpus_counts_match_consecutive_pairs(corpus: list[list[RunStatus]]) -> None:
    """For streamed runs, the overlay's counts are the consecutive (status, next status) pairs of the corpus.

    Pairs leaving a terminal status are the illegal ones (the generator only adds those after the end).
    """
    pairs: Counter[tuple[RunStatus, RunStatus]] = Counter()
    illegal: Counter[tuple[RunStatus, RunStatus]] = Counter()
    for run in corpus:
        for a, b in itertools.pairwise([R.Null, *run]):
            if a.is_terminal and a != b:
                illegal[(a, b)] += 1
            elif a != b:
                pairs[(a, b)] += 1
    overlay = Overlay().update(_verdict(run, run_id=f"r{i}") for i, run in enumerate(corpus))
    used = overlay.edges_used()
    assert {k: v.observed for k, v in used.items() if v.observed} == dict(pairs)
    assert {k: v.illegal for k, v in used.items() if v.illegal} == dict(illegal)
    assert all(v.inferred == v.started == v.unrecorded == 0 for v in used.values())
    assert overlay.runs == len(corpus)


@given(st.lists(st.tuples(_stream_runs(), st.lists(st.booleans(), min_size=25, max_size=25)), max_size=20))
def test_poll_corpus_start_and_end_counts_match(corpus: list[tuple[list[RunStatus], list[bool]]]) -> None:
    """Polled runs (random statuses skipped, the last kept): first-seen and final counts match the corpus.

    However much was skipped in between, the runs entering each final state and the statuses
    polling began at are what the corpus says.
    """
    polled: list[list[RunStatus]] = []
    for run, keep in corpus:
        legal: list[RunStatus] = [s for s in run if s is not R.Created]
        kept = [s for i, s in enumerate(legal) if keep[i] or i == len(legal) - 1]
        if kept and legal[-1].is_terminal and all(not s.is_terminal for s in legal[:-1]):
            polled.append(kept)
    overlay = Overlay().update(_verdict(run, mode="poll", run_id=f"p{i}") for i, run in enumerate(polled))
    first_seen = Counter(run[0] for run in polled)
    ended = Counter(run[-1] for run in polled)
    started = {dest: v.started for (_src, dest), v in overlay.edges_used().items() if v.started}
    assert started == dict(first_seen)
    for state in RUN_LIFECYCLE.terminal:
        assert overlay.entered(state) == ended.get(state, 0)
    assert overlay.results.get(RunResult.LEGAL, 0) == len(polled)


def test_memory_does_not_grow_with_runs() -> None:
    """Only counters are kept: 5,000 runs retain no more memory than 50 (verdicts are dropped)."""
    template = _verdict(["queued", "in_progress", "requires_action", "queued", "completed"])

    def runs(n: int) -> Iterator[Verdict]:
        for i in range(n):
            yield dataclasses.replace(template, run_id=f"run_{i}")  # a new verdict each time

    retained = []
    for n in (50, 5000):
        gc.collect()
        tracemalloc.start()
        overlay = Overlay(highlight="run_7").update(runs(n))
        gc.collect()
        current, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert overlay.runs == n
        retained.append(current)
    assert retained[1] < retained[0] + 16_384, retained


_ANY_HISTORY = st.tuples(
    st.sampled_from(["stream", "poll"]),
    st.lists(st.one_of(st.sampled_from(list(RunStatus)), st.just("bogus_status")), max_size=8),
)


@settings(max_examples=30)
@given(st.lists(_ANY_HISTORY, min_size=1, max_size=8), st.integers(0, 7))
def test_any_overlay_counts_every_step_and_renders(histories: list[tuple[Mode, list[object]]], pick: int) -> None:
    """Any histories (illegal, unknown, repeated statuses): every step counted once, and a valid drawing.

    Graphviz parses the DOT, edge ids are unique, and Mermaid has one line per edge.
    """
    verdicts = [_verdict(h, mode=m, run_id=f"r{i}") for i, (m, h) in enumerate(histories)]
    overlay = Overlay(highlight=f"r{pick % len(verdicts)}").update(verdicts)
    assert sum(c.total for c in overlay.edges_used().values()) == sum(len(v.steps) for v in verdicts)
    for state in RunStatus:
        into = sum(1 for v in verdicts for s in v.steps if s.dest is state and s.kind is not StepKind.ILLEGAL)
        assert overlay.entered(state) == (len(verdicts) if state is RUN_LIFECYCLE.initial else into)
    assert overlay.highlighted == verdicts[pick % len(verdicts)].steps
    diagram = overlay.diagram()
    drawn = _dot_edges(diagram)
    assert len(drawn) == len(diagram.edges) == len({e.id for e in diagram.edges})
    mermaid_edges = [ln for ln in to_mermaid(diagram).splitlines() if " --> " in ln and "[*]" not in ln]
    assert len(mermaid_edges) == len(diagram.edges)


# ----------------------------------------------------------------------------- aggregated illegal jumps

# one illegal jump out of each terminal state: five kinds of illegal jump, more than MAX_DRAWN_PAIRS
_MANY_ILLEGAL = [
    ["queued", "in_progress", "completed", "queued"],
    ["queued", "in_progress", "failed", "in_progress"],
    ["queued", "in_progress", "incomplete", "queued"],
    ["queued", "expired", "in_progress"],
    ["queued", "in_progress", "cancelling", "cancelled", "queued"],
    ["queued", "in_progress", "completed", "failed"],
]


def test_many_kinds_of_illegal_jump_are_aggregated_per_state() -> None:
    """Past MAX_DRAWN_PAIRS kinds, no red edge is drawn: each state says how many illegal jumps left it."""
    overlay = Overlay().update(_verdict(s, run_id=f"r{i}") for i, s in enumerate(_MANY_ILLEGAL))
    assert len(overlay.illegal_jumps()) == 6 > MAX_DRAWN_PAIRS
    diagram = overlay.diagram()
    assert not [e for e in diagram.edges if e.role is EdgeRole.ILLEGAL]
    out = {n.state: n.illegal_out for n in diagram.nodes if n.illegal_out}
    assert out == {R.Completed: 2, R.Failed: 1, R.Incomplete: 1, R.Expired: 1, R.Cancelled: 1}
    dot = to_dot(diagram)
    assert "illegal jumps out \u00d72" in dot
    assert "a state's red line counts the illegal jumps out of it" in dot  # the legend says so
    assert "illegal jumps out \u00d72" in to_mermaid(diagram)


def test_aggregate_never_and_always() -> None:
    """``aggregate="never"`` draws every pair; ``"always"`` none, even for one; a bad value is an error."""
    overlay = Overlay().update(_verdict(s, run_id=f"r{i}") for i, s in enumerate(_MANY_ILLEGAL))
    drawn = [e for e in overlay.diagram(aggregate="never").edges if e.role is EdgeRole.ILLEGAL]
    assert {(e.source, e.dest): e.counts.illegal for e in drawn if e.counts} == dict(overlay.illegal_jumps())
    one = Overlay().update([_verdict(_MANY_ILLEGAL[0])])
    assert [e.role for e in one.diagram().edges].count(EdgeRole.ILLEGAL) == 1  # auto: few pairs, drawn
    always = one.diagram(aggregate="always")
    assert EdgeRole.ILLEGAL not in [e.role for e in always.edges]
    assert [n.illegal_out for n in always.nodes if n.state is R.Completed] == [1]
    with pytest.raises(ValueError, match="aggregate"):
        one.diagram(aggregate="sometimes")  # type: ignore[arg-type]


def test_highlighted_illegal_jump_is_still_drawn_when_aggregated() -> None:
    """The highlighted run's own illegal jump stays an edge on its path, numbered, while the rest aggregate."""
    overlay = Overlay(highlight="r3").update(_verdict(s, run_id=f"r{i}") for i, s in enumerate(_MANY_ILLEGAL))
    illegal = [e for e in overlay.diagram().edges if e.role is EdgeRole.ILLEGAL]
    assert [(e.source, e.dest, e.steps) for e in illegal] == [(R.Expired, R.InProgress, (3,))]


def test_illegal_jumps_ranked() -> None:
    """illegal_jumps(): every kind with its count, the most frequent first."""
    histories = [*_MANY_ILLEGAL, _MANY_ILLEGAL[2], _MANY_ILLEGAL[2]]
    ranked = Overlay().update(_verdict(s, run_id=f"r{i}") for i, s in enumerate(histories)).illegal_jumps()
    assert ranked[0] == ((R.Incomplete, R.Queued), 3)
    assert sum(n for _pair, n in ranked) == 8
    assert [n for _pair, n in ranked] == [3, 1, 1, 1, 1, 1]
