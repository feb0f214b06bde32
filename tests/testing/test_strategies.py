"""Tests for runfsm.testing.strategies: every drawn history is what it claims to be, judged by the tracker."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from runfsm import RunStatus, RunTracker, Trigger, check_fields, read_run
from runfsm.lifecycle import Edge
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.testing.strategies import (
    PollEntry,
    illegal_histories,
    observe_entries,
    poll_histories,
    run_dicts,
    runs,
    statuses,
    stream_events,
    stream_histories,
)

R = RunStatus


class TestStreamHistories:
    @given(stream_histories())
    def test_legal_and_terminal(self, history: list[RunStatus]) -> None:
        """Default histories start queued, use direct edges only and end on a terminal status."""
        tracker = RunTracker(mode="stream", on_illegal="raise")
        tracker.observe_all(history)
        assert history[0] is R.Queued
        assert tracker.is_terminal
        assert len(history) <= 30

    @given(stream_histories(lenient=False, max_length=8))
    def test_documented_only(self, history: list[RunStatus]) -> None:
        """lenient=False never takes a lenient edge; max_length bounds the length."""
        tracker = RunTracker(mode="stream", on_illegal="raise")
        assert all(not o.lenient for o in tracker.observe_all(history))
        assert len(history) <= 8

    @given(stream_histories(terminal=False, created=True))
    def test_unfinished_with_created(self, history: list[RunStatus]) -> None:
        """terminal=False may stop anywhere; created=True starts with the thread.run.created status."""
        assert history[:2] == [R.Created, R.Queued]
        RunTracker(mode="stream", on_illegal="raise").observe_all(history)

    @given(stream_histories(min_tool_rounds=3, cancel=True))
    def test_deep_runs(self, history: list[RunStatus]) -> None:
        """min_tool_rounds and cancel=True force several tool rounds and a cancel."""
        assert history.count(R.RequiresAction) >= 3
        assert R.Cancelling in history
        RunTracker(mode="stream", on_illegal="raise").observe_all(history)

    @given(stream_histories(cancel=False, depth=5))
    def test_no_cancel(self, history: list[RunStatus]) -> None:
        """cancel=False never goes through cancelling (depth only weights the walk)."""
        assert R.Cancelling not in history

    def test_depth_reaches_deep_states(self) -> None:
        """With depth, several tool rounds turn up without being forced."""
        find(stream_histories(depth=6), lambda h: h.count(R.RequiresAction) >= 3)

    def test_shrinks_to_the_shortest_example(self) -> None:
        """Counterexamples shrink to short histories: the shortest possible, or close to it."""
        no_db = settings(database=None)
        tools = find(stream_histories(), lambda h: R.RequiresAction in h, settings=no_db)
        assert tools[:3] == [R.Queued, R.InProgress, R.RequiresAction]
        assert len(tools) == 4  # requires_action, then straight to a terminal status
        assert find(stream_histories(lenient=False), lambda h: R.Cancelling in h, settings=no_db) == [
            R.Queued,
            R.InProgress,
            R.Cancelling,
            R.Cancelled,
        ]
        # with lenient edges queued -> cancelling -> cancelled (3) is shortest; the shrinker may stop at 4
        assert len(find(stream_histories(), lambda h: R.Cancelling in h, settings=no_db)) <= 4

    @pytest.mark.parametrize(
        "edge",
        [e for e in RUN_LIFECYCLE.edges if e.source not in (R.Null, R.Created)],
        ids=lambda e: f"{e.source.name}-{e.dest.name}",
    )
    def test_every_edge_of_the_declaration_is_drawn(self, edge: Edge[RunStatus]) -> None:
        """Each edge a stream can show turns up in some drawn history (the strategy walks the declaration)."""
        pair = (edge.source, edge.dest)
        found = find(stream_histories(), lambda h: pair in itertools.pairwise(h))
        assert pair in itertools.pairwise(found)


class TestPollHistories:
    @given(poll_histories())
    def test_accepted_by_a_poll_tracker(self, entries: list[PollEntry]) -> None:
        """Every poll history, client calls included, is accepted by RunTracker(mode='poll')."""
        tracker = RunTracker(mode="poll", on_illegal="raise")
        observe_entries(tracker, entries)
        assert not tracker.violations

    @given(poll_histories(finished=True, mid_run=False))
    def test_finished_from_the_start(self, entries: list[PollEntry]) -> None:
        """finished=True ends on a terminal status; mid_run=False starts at queued."""
        assert entries[0] is R.Queued
        tracker = RunTracker(mode="poll", on_illegal="raise")
        observe_entries(tracker, entries)
        assert tracker.is_terminal

    @given(poll_histories(finished=False))
    def test_unfinished(self, entries: list[PollEntry]) -> None:
        """finished=False stops watching before the run's end."""
        tracker = RunTracker(mode="poll", on_illegal="raise")
        observe_entries(tracker, entries)
        assert not tracker.is_terminal

    @given(poll_histories(min_tool_rounds=2))
    def test_submits_follow_a_seen_requires_action(self, entries: list[PollEntry]) -> None:
        """A submit entry comes right after requires_action was observed (the client needs the tool calls)."""
        for i, entry in enumerate(entries):
            if entry is Trigger.SUBMIT_TOOL_OUTPUTS:
                assert entries[i - 1] is R.RequiresAction

    @given(poll_histories())
    def test_calls_are_what_the_jumps_need(self, entries: list[PollEntry]) -> None:
        """Without the call entries, the only rejections are jumps that need an unrecorded client call."""
        tracker = RunTracker(mode="poll", on_illegal="record")
        tracker.observe_all([e for e in entries if isinstance(e, RunStatus)])
        assert all(o.missing_calls for o in tracker.violations)

    def test_some_histories_need_their_calls(self) -> None:
        """... and such histories exist: the call entries are not decoration."""

        def needs_calls(entries: list[PollEntry]) -> bool:
            tracker = RunTracker(mode="poll", on_illegal="record")
            tracker.observe_all([e for e in entries if isinstance(e, RunStatus)])
            return bool(tracker.violations)

        find(poll_histories(), needs_calls)

    def test_shrinks_to_a_short_example(self) -> None:
        """The simplest poll history with a submit is four entries long."""
        found = find(poll_histories(), lambda h: Trigger.SUBMIT_TOOL_OUTPUTS in h)
        assert len(found) <= 4


class TestIllegalHistories:
    @pytest.mark.parametrize("mode", ["stream", "poll"])
    def test_exactly_one_violation_at_the_index(self, mode: str) -> None:
        """The tracker rejects exactly the returned index, in either mode."""

        @given(illegal_histories(mode=mode))
        def check(case: tuple[list[RunStatus], int]) -> None:
            history, index = case
            tracker = RunTracker(mode=mode, on_illegal="record")  # type: ignore[arg-type]  # parametrized literal
            tracker.observe_all(history)
            assert [o.index for o in tracker.violations] == [index]

        check()


class TestRunObjects:
    @given(st.data())
    def test_dicts_satisfy_the_field_invariants(self, data: st.DataObject) -> None:
        """run_dicts(status) reads back as that status and check_fields finds nothing."""
        status = data.draw(statuses(wire_only=True))
        run = data.draw(run_dicts(status))
        assert read_run(run).status is status
        assert check_fields(status, run) == ()

    @given(runs())
    def test_openai_runs(self, run: Any) -> None:
        """runs() builds openai Run models; the tracker reads them without a field warning."""
        from openai.types.beta.threads import Run

        assert isinstance(run, Run)
        obs = RunTracker(mode="poll").observe(run)
        assert obs.warnings == ()

    @given(stream_events(min_tool_rounds=1))
    def test_stream_events(self, events: list[dict[str, Any]]) -> None:
        """Stream events start with thread.run.created, are one run, legal in stream mode and warning-free."""
        assert events[0]["event"] == "thread.run.created"
        assert len({e["data"]["id"] for e in events}) == 1
        tracker = RunTracker(mode="stream", on_illegal="raise")
        assert all(o.warnings == () for o in tracker.observe_all(events))
        assert tracker.is_terminal


class TestRegistrationAndArguments:
    @given(st.from_type(RunStatus))
    def test_from_type(self, status: RunStatus) -> None:
        """Importing runfsm.testing.strategies registers RunStatus with st.from_type."""
        assert isinstance(status, RunStatus)

    @pytest.mark.parametrize(
        ("factory", "options", "message"),
        [
            (stream_histories, {"max_length": 0}, "max_length=0 must be >= 1"),
            (stream_histories, {"lenient": "yes"}, "lenient='yes' must be True or False"),
            (stream_histories, {"min_tool_rounds": 3, "max_length": 5}, "max_length=5 is too short"),
            (stream_histories, {"cancel": 1}, "cancel=1 must be True, False or None"),
            (stream_histories, {"depth": 0}, "depth=0 must be >= 1"),
            (poll_histories, {"max_repeats": 0}, "max_repeats=0 must be >= 1"),
            (illegal_histories, {"mode": "batch"}, "mode='batch'"),
            (run_dicts, {"status": R.Null}, "client-side"),
            (run_dicts, {"status": "queued"}, "must be a RunStatus"),
            (statuses, {"terminal": "no"}, "terminal='no'"),
        ],
    )
    def test_bad_options_fail_eagerly(self, factory: Any, options: dict[str, Any], message: str) -> None:
        """Options are validated when the strategy is built, with InvalidArgument naming the option."""
        with pytest.raises(InvalidArgument, match=message):
            factory(**options)
