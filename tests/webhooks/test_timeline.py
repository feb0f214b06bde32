"""Applying samples in the object's own order: late, repeated and reordered deliveries never move a tracker back."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from runfsm.lifecycle import Lifecycle
from runfsm.tracker import RunTracker
from runfsm.vocabulary import LifecycleState
from runfsm.webhooks import default_lifecycles
from runfsm.webhooks.timeline import Entered, Sample, Verdict, apply, new_tracker

LIFECYCLES = default_lifecycles()


@st.composite
def lives(draw: st.DrawFn) -> tuple[Lifecycle[Any], list[tuple[LifecycleState, float]]]:
    """A lifecycle and one legal life in it, from the create to a terminal state, with rising times."""
    lifecycle = draw(st.sampled_from(LIFECYCLES))
    state = lifecycle.initial
    life: list[tuple[LifecycleState, float]] = []
    t = 1_700_000_000.0
    while not state.is_terminal:
        state = draw(st.sampled_from(lifecycle.successors(state)))
        t += draw(st.integers(1, 100))
        life.append((state, t))
    return lifecycle, life


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[Lifecycle[Any], list[tuple[LifecycleState, float]], list[list[Sample]]]:
    """What was heard of a life, in the order it arrived.

    A life, and what was heard of it: some of its states (the terminal one always), re-announced
    under new keys, shuffled, and cut into batches that arrive one after the other.
    """
    lifecycle, life = draw(lives())
    heard = [s for s in life[:-1] if draw(st.booleans())] + [life[-1]]
    samples = [Sample(f"k{i}", state, at) for i, (state, at) in enumerate(heard)]
    copies = draw(st.lists(st.sampled_from(samples), max_size=4))
    samples += [Sample(f"copy{i}", s.state, s.at) for i, s in enumerate(copies)]
    shuffled = draw(st.permutations(samples))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(shuffled) - 1)), max_size=3)))
    batches, start = [], 0
    for cut in [*cuts, len(shuffled)]:
        batches.append(list(shuffled[start:cut]))
        start = cut
    return lifecycle, life, [b for b in batches if b]


@given(deliveries())
def test_any_arrival_order_ends_where_the_object_ended(
    case: tuple[Lifecycle[Any], list[tuple[LifecycleState, float]], list[list[Sample]]],
) -> None:
    """Any arrival order ends where the object ended.

    Whatever the order, the copies and the batching (with the tracker saved and restored between
    batches, as across restarts): the tracker ends in the object's final state, every sample gets one
    verdict and none is illegal, the tracker never moves backwards, and each state is entered once.
    """
    lifecycle, life, batches = case
    tracker = new_tracker("obj_1", lifecycle)
    timeline_at: float | None = None
    entered: list[Entered] = []
    verdicts: dict[str, Verdict] = {}
    states = [tracker.state]
    for batch in batches:
        tracker = RunTracker.from_json(tracker.to_json(), clock=None, lifecycle=lifecycle)
        timeline_at, judged, new = apply(tracker, timeline_at, batch)
        for j in judged:
            assert j.sample.key not in verdicts
            verdicts[j.sample.key] = j.verdict
        entered += new
        states.append(tracker.state)
    assert tracker.state is life[-1][0]
    assert set(verdicts) == {s.key for b in batches for s in b}
    assert Verdict.ILLEGAL not in verdicts.values()
    for before, after in itertools.pairwise(states):
        assert after is before or after in lifecycle.reachable(before)
    assert len({e.state for e in entered}) == len(entered)
    assert entered[-1].state is life[-1][0]


@given(lives())
def test_in_order_every_state_heard_is_entered_as_observed(case: tuple[Lifecycle[Any], list[Any]]) -> None:
    """Heard in order, each state of the life is applied once, entered once, not inferred."""
    lifecycle, life = case
    tracker = new_tracker("obj_1", lifecycle)
    _, judged, entered = apply(tracker, None, [Sample(f"k{i}", s, t) for i, (s, t) in enumerate(life)])
    assert [j.verdict for j in judged] == [Verdict.APPLIED] * len(life)
    assert [(e.state, e.inferred) for e in entered] == [(s, False) for s, _ in life]


def test_a_state_already_left_is_late_and_a_regression_is_illegal() -> None:
    """A state already left is late and a regression is illegal.

    An older state arriving after a newer one is late (recorded, not applied); a terminal state
    after another terminal state is illegal (the tracker records the violation, the state stays).
    """
    response = LIFECYCLES[0]
    s = response.by_name()
    tracker = new_tracker("resp_1", response)
    at, judged, entered = apply(tracker, None, [Sample("a", s["Completed"], 20.0)])
    assert [e.state.name for e in entered] == ["Completed"]  # the first sample: watching starts there
    at, judged, entered = apply(tracker, at, [Sample("b", s["InProgress"], 10.0), Sample("c", s["Completed"], 20.0)])
    assert [j.verdict for j in judged] == [Verdict.LATE, Verdict.REPEATED]
    assert entered == []
    _, judged, _ = apply(tracker, at, [Sample("d", s["Cancelled"], 30.0)])
    assert [j.verdict for j in judged] == [Verdict.ILLEGAL]
    assert tracker.state is s["Completed"]
    assert tracker.violations[-1].status is s["Cancelled"]
