"""The history strategies per lifecycle preset: each draws legal histories of its own table, judged by the tracker."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from runfsm import BATCH_LIFECYCLE, PRESETS, RESPONSE_LIFECYCLE, BatchStatus, Lifecycle, RunTracker, Trigger
from runfsm.testing.strategies import (
    illegal_histories,
    observe_entries,
    poll_histories,
    statuses,
    stream_histories,
)

ALL = pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=list(PRESETS))
FIRST = {"run": "queued", "response": "queued", "batch": "validating"}


@ALL
@given(data=st.data())
def test_stream_histories_are_legal_and_end_terminal(lifecycle: Lifecycle[Any], data: st.DataObject) -> None:
    """A drawn stream history starts at the preset's first status, takes direct edges only and ends terminal."""
    history = data.draw(stream_histories(lifecycle=lifecycle, depth=2))
    assert history[0].wire == FIRST[lifecycle.key]
    assert all(type(s) is lifecycle.state_type for s in history)
    tracker = RunTracker(mode="stream", on_illegal="raise", lifecycle=lifecycle)
    tracker.observe_all(history)
    assert tracker.is_terminal


@ALL
@given(data=st.data())
def test_poll_histories_are_accepted_by_a_polling_tracker(lifecycle: Lifecycle[Any], data: st.DataObject) -> None:
    """A drawn poll history (samples, repeats, recorded calls, maybe mid-run or unfinished) is accepted whole."""
    entries = data.draw(poll_histories(lifecycle=lifecycle))
    tracker = RunTracker(mode="poll", on_illegal="raise", lifecycle=lifecycle)
    observations = observe_entries(tracker, entries)
    assert all(o.accepted for o in observations)
    assert not any(o.missing_calls for o in observations)


@ALL
@pytest.mark.parametrize("mode", ["stream", "poll"])
@given(data=st.data())
def test_illegal_histories_are_rejected_at_their_index_only(
    lifecycle: Lifecycle[Any], mode: str, data: st.DataObject
) -> None:
    """A tracker of the same preset rejects exactly the drawn illegal status, and nothing else."""
    history, index = data.draw(illegal_histories(mode=mode, lifecycle=lifecycle))
    tracker = RunTracker(mode="stream" if mode == "stream" else "poll", on_illegal="record", lifecycle=lifecycle)
    observations = tracker.observe_all(history)
    assert [o.index for o in observations if not o.accepted] == [index]


@ALL
@given(data=st.data())
def test_cancel_true_always_takes_a_cancel_edge(lifecycle: Lifecycle[Any], data: st.DataObject) -> None:
    """cancel=True: the history contains an edge triggered by the client's cancel."""
    history = data.draw(stream_histories(lifecycle=lifecycle, cancel=True))
    triggers = [lifecycle.edge(a, b) for a, b in itertools.pairwise(history)]
    assert any(e is not None and e.trigger is Trigger.CANCEL for e in triggers)


@pytest.mark.parametrize("lifecycle", [RESPONSE_LIFECYCLE, BATCH_LIFECYCLE], ids=["response", "batch"])
def test_every_edge_but_the_create_is_drawn(lifecycle: Lifecycle[Any]) -> None:
    """Each edge of the table (past the create call) appears in some stream history: nothing is unreachable."""
    for edge in lifecycle.edges:
        if edge.source is lifecycle.initial:
            continue
        pair = (edge.source, edge.dest)

        def takes(history: list[Any], pair: tuple[Any, Any] = pair) -> bool:
            return any((a, b) == pair for a, b in itertools.pairwise(history))

        found = find(
            stream_histories(lifecycle=lifecycle, depth=2), takes, settings=settings(max_examples=2000, database=None)
        )
        assert takes(found)


@ALL
@given(data=st.data())
def test_statuses_are_the_presets_own(lifecycle: Lifecycle[Any], data: st.DataObject) -> None:
    """statuses(lifecycle=...) draws only that preset's states; wire_only leaves the client-side ones out."""
    status = data.draw(statuses(lifecycle=lifecycle, wire_only=True))
    assert status in lifecycle.states
    assert status.wire is not None


@given(st.from_type(BatchStatus))
def test_from_type_knows_the_preset_enums(status: BatchStatus) -> None:
    """Importing the strategies registers st.from_type for every preset's state enum."""
    assert isinstance(status, BatchStatus)


def test_options_a_preset_cannot_honour_are_refused() -> None:
    """Tool rounds for a batch, a created state for a response, or a non-lifecycle: InvalidArgument."""
    with pytest.raises(InvalidArgument, match="no tool rounds"):
        stream_histories(lifecycle=BATCH_LIFECYCLE, min_tool_rounds=1)
    with pytest.raises(InvalidArgument, match="created"):
        stream_histories(lifecycle=RESPONSE_LIFECYCLE, created=True)
    with pytest.raises(InvalidArgument, match="must be a Lifecycle"):
        stream_histories(lifecycle="batch")  # type: ignore[arg-type]
