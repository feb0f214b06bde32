"""The run tracker: stream and poll modes, client calls, rejections, callbacks, persistence, threads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runfsm import (
    RUN_LIFECYCLE,
    CallbackError,
    IllegalTransition,
    MissingClientCall,
    NotARunStatus,
    Outcome,
    RunStatus,
    RunTracker,
    StateEntered,
    Trigger,
    UnknownStatus,
    WrongRun,
)

R = RunStatus


@st.composite
def lifecycle_paths(draw: st.DrawFn, *, max_steps: int = 14) -> list[RunStatus]:
    """A walk through the declaration from Null: every consecutive pair is a direct edge."""
    path = [RUN_LIFECYCLE.initial]
    for _ in range(max_steps):
        successors = RUN_LIFECYCLE.successors(path[-1])
        if not successors:
            break
        path.append(draw(st.sampled_from(successors)))
    return path[1:]


def _call_of(source: RunStatus, dest: RunStatus) -> Trigger | None:
    edge = RUN_LIFECYCLE.edge(source, dest)
    assert edge is not None
    return edge.trigger if edge.trigger.is_client_call else None


@given(lifecycle_paths())
def test_any_path_observed_as_a_stream_is_accepted(path: list[RunStatus]) -> None:
    """Every walk through the declaration, seen event by event, is accepted edge by edge."""
    tracker = RunTracker("run_s", mode="stream", on_illegal="raise")
    for status in path:
        assert tracker.observe(status).outcome is Outcome.ACCEPTED
    assert tracker.state is path[-1]


@given(lifecycle_paths(), st.data())
def test_any_polled_subsequence_is_accepted_when_its_calls_are_recorded(
    path: list[RunStatus], data: st.DataObject
) -> None:
    """Polls see a subsequence (with repeats); with the client calls it crosses recorded, nothing is rejected."""
    keep = data.draw(st.lists(st.booleans(), min_size=len(path), max_size=len(path)))
    repeat = data.draw(st.lists(st.booleans(), min_size=len(path), max_size=len(path)))
    tracker = RunTracker("run_p", mode="poll", on_illegal="raise")
    full = [RUN_LIFECYCLE.initial, *path]
    seen_any = False
    for i, status in enumerate(path):
        call = _call_of(full[i], status)
        if call is not None and seen_any:
            tracker.record_call(call)
        if keep[i] or i == len(path) - 1:
            obs = tracker.observe(status)
            assert obs.accepted, obs
            seen_any = True
            if repeat[i]:
                assert tracker.observe(status).outcome is Outcome.REPEATED
    assert tracker.state is path[-1]
    # the inferred states plus the observed ones re-trace a legal path
    walked = [o.source for o in tracker.history if o.outcome in (Outcome.ACCEPTED, Outcome.INFERRED)]
    assert all(isinstance(s, RunStatus) for s in walked)


@given(
    st.sampled_from(sorted(RUN_LIFECYCLE.terminal)),
    st.sampled_from(list(RunStatus)),
    st.sampled_from(["stream", "poll"]),
    st.booleans(),
)
def test_leaving_a_terminal_state_is_always_rejected(
    terminal: RunStatus, nxt: RunStatus, mode: str, calls: bool
) -> None:
    """Whatever follows a terminal status (even with calls recorded) is rejected, and the state stays."""
    tracker = RunTracker("run_t", mode=mode, on_illegal="record")  # type: ignore[arg-type]
    path = RUN_LIFECYCLE.route(R.Null, terminal, calls=[Trigger.CANCEL, Trigger.SUBMIT_TOOL_OUTPUTS])
    assert path is not None
    for status in (*path.inferred, terminal):
        tracker.observe(status)
    assert tracker.state is terminal
    if calls:
        tracker.submitted_tool_outputs()
        tracker.cancel_requested()
    obs = tracker.observe(nxt)
    if nxt is terminal:
        assert obs.outcome is Outcome.REPEATED
    else:
        assert obs.outcome is Outcome.ILLEGAL
        assert obs.state is terminal
    assert tracker.state is terminal


def test_poll_mode_infers_skipped_states_and_stream_mode_rejects_them() -> None:
    """Queued -> completed is a normal poll (in_progress happened in between) but impossible in a stream."""
    poll = RunTracker("r", mode="poll")
    poll.observe("queued")
    obs = poll.observe("completed")
    assert obs.outcome is Outcome.INFERRED
    assert obs.inferred == (R.InProgress,)

    stream = RunTracker("r", mode="stream", on_illegal="record")
    stream.observe("queued")
    assert stream.observe("completed").outcome is Outcome.ILLEGAL
    assert stream.state is R.Queued


def test_first_poll_may_find_the_run_anywhere_and_a_late_stream_is_joined_mid_run() -> None:
    """Polling can begin mid-run (START); a stream capture that begins after queued is JOINED there, not illegal."""
    poll = RunTracker("r", mode="poll")
    assert poll.observe("failed").outcome is Outcome.START
    assert poll.is_terminal
    stream = RunTracker("r", mode="stream", on_illegal="raise")
    joined = stream.observe("thread.run.requires_action")
    assert (joined.outcome, joined.accepted, stream.state) == (Outcome.JOINED, True, RunStatus.RequiresAction)
    stream.submitted_tool_outputs()
    assert stream.observe("thread.run.queued").outcome is Outcome.ACCEPTED
    assert not stream.violations


def test_a_stream_that_starts_at_the_start_and_then_skips_a_state_stays_illegal() -> None:
    """Joining mid-run is only about the first status: created then in_progress (queued skipped) is illegal."""
    stream = RunTracker("r", mode="stream", on_illegal="record")
    assert stream.observe("thread.run.created").outcome is Outcome.ACCEPTED
    assert stream.observe("thread.run.in_progress").outcome is Outcome.ILLEGAL
    assert RunTracker("s", mode="stream").observe("thread.run.queued").outcome is Outcome.ACCEPTED


def test_joining_mid_run_fires_the_enter_callback_of_the_state_joined() -> None:
    """A joined state is entered (once): callbacks see it like a poll's first status."""
    seen: list[RunStatus] = []
    stream = RunTracker("r", mode="stream", on_illegal="raise")
    stream.on_enter(RunStatus.InProgress, lambda event: seen.append(event.state))
    stream.observe_all(["in_progress", "in_progress", "completed"])
    assert seen == [RunStatus.InProgress]
    assert stream.is_terminal


def test_a_submit_explains_the_return_to_queued_only_once_recorded() -> None:
    """in_progress then queued needs a submit: rejected as a missing call, accepted once the call is recorded."""
    tracker = RunTracker("run_x", mode="poll", on_illegal="record")
    tracker.observe_all(["queued", "in_progress"])
    rejected = tracker.observe("queued")
    assert rejected.outcome is Outcome.ILLEGAL
    assert rejected.missing_calls == (Trigger.SUBMIT_TOOL_OUTPUTS,)
    assert tracker.state is R.InProgress

    call = tracker.submitted_tool_outputs()
    assert call.outcome is Outcome.CALL
    assert call.warnings, "a submit while the run was last seen in_progress is worth a warning"
    assert tracker.pending_calls == {Trigger.SUBMIT_TOOL_OUTPUTS}
    obs = tracker.observe("queued")
    assert obs.outcome is Outcome.INFERRED
    assert obs.inferred == (R.RequiresAction,)
    assert obs.calls == (Trigger.SUBMIT_TOOL_OUTPUTS,)
    assert tracker.pending_calls == frozenset(), "a call explains one jump"


def test_a_directly_observed_client_edge_proves_the_call() -> None:
    """requires_action then queued is legal with no call recorded: seeing it proves the submit happened."""
    tracker = RunTracker("r", mode="poll", on_illegal="raise")
    tracker.observe_all(["queued", "requires_action"])
    obs = tracker.observe("queued")
    assert obs.outcome is Outcome.ACCEPTED
    assert obs.calls == (Trigger.SUBMIT_TOOL_OUTPUTS,)


def test_unrecorded_calls_can_be_assumed_and_are_marked() -> None:
    """With on_missing_call="assume" the jump is accepted but marked as needing an unrecorded call."""
    tracker = RunTracker("r", mode="poll", on_missing_call="assume")
    tracker.observe_all(["queued", "in_progress"])
    obs = tracker.observe("cancelled")
    assert obs.outcome is Outcome.UNRECORDED_CALL
    assert obs.missing_calls == (Trigger.CANCEL,)
    assert obs.inferred == (R.Cancelling,)
    assert tracker.state is R.Cancelled


def test_repeating_the_status_is_a_recorded_no_op() -> None:
    """Seeing in_progress twice is a normal re-observation."""
    tracker = RunTracker("r", mode="stream")
    tracker.observe_all(["queued", "in_progress"])
    obs = tracker.observe("in_progress")
    assert obs.outcome is Outcome.REPEATED
    assert len(tracker.history) == 3


def test_a_new_tool_round_between_polls_is_inferred_from_the_recorded_submit() -> None:
    """requires_action, submit, requires_action again: a whole round (queued, in_progress) happened unseen."""
    tracker = RunTracker("r", mode="poll", on_illegal="raise")
    tracker.observe_all(["queued", "requires_action"])
    tracker.submitted_tool_outputs()
    obs = tracker.observe("requires_action")
    assert obs.outcome is Outcome.INFERRED
    assert obs.inferred == (R.Queued, R.InProgress)


def test_lenient_edges_are_accepted_and_marked() -> None:
    """Cancelling -> completed is undocumented but possible: accepted, with the lenient edge named."""
    tracker = RunTracker("r", mode="stream", on_illegal="raise")
    tracker.observe_all(["queued", "in_progress", "cancelling"])
    obs = tracker.observe("completed")
    assert obs.outcome is Outcome.ACCEPTED
    assert [(e.source, e.dest) for e in obs.lenient] == [(R.Cancelling, R.Completed)]


def test_illegal_jump_logs_one_structured_warning(caplog: pytest.LogCaptureFixture) -> None:
    """The default policy logs one WARNING on the runfsm logger with run id, from, to, mode and allowed targets."""
    tracker = RunTracker("run_log", mode="stream")
    tracker.observe_all(["queued", "in_progress", "completed"])
    with caplog.at_level(logging.WARNING, logger="runfsm"):
        obs = tracker.observe("in_progress")
    assert obs.outcome is Outcome.ILLEGAL
    assert len(caplog.records) == 1
    record = caplog.records[0]
    assert record.name == "runfsm"
    assert record.levelno == logging.WARNING
    assert record.__dict__["run_id"] == "run_log"
    assert record.__dict__["source"] == "completed"
    assert record.__dict__["target"] == "in_progress"
    assert record.__dict__["mode"] == "stream"
    assert record.__dict__["allowed"] == []
    assert "completed -> in_progress" in record.getMessage()


def test_raise_policy_raises_with_structured_fields_and_keeps_the_attempt() -> None:
    """on_illegal="raise": IllegalTransition carries run id, source, target, index, mode and allowed targets."""
    tracker = RunTracker("run_r", mode="stream", on_illegal="raise")
    tracker.observe_all(["queued", "in_progress"])
    with pytest.raises(IllegalTransition) as info:
        tracker.observe("queued")
    err = info.value
    assert (err.run_id, err.source, err.target, err.index, err.mode) == ("run_r", R.InProgress, R.Queued, 2, "stream")
    assert R.RequiresAction in err.allowed
    assert tracker.state is R.InProgress
    assert tracker.history[-1].outcome is Outcome.ILLEGAL


def test_missing_call_raises_its_own_subclass() -> None:
    """A poll jump that needs an unrecorded submit raises MissingClientCall (an IllegalTransition)."""
    tracker = RunTracker("r", mode="poll", on_illegal="raise")
    tracker.observe_all(["queued", "in_progress"])
    with pytest.raises(MissingClientCall, match="submit_tool_outputs") as info:
        tracker.observe("queued")
    assert info.value.missing == (Trigger.SUBMIT_TOOL_OUTPUTS,)


def test_record_policy_is_silent(caplog: pytest.LogCaptureFixture) -> None:
    """on_illegal="record" keeps the rejection in the history and logs nothing."""
    tracker = RunTracker("r", mode="stream", on_illegal="record")
    with caplog.at_level(logging.DEBUG, logger="runfsm"):
        tracker.observe_all(["queued", "completed"])
    assert not caplog.records
    assert tracker.violations == [tracker.history[1]]


def test_unknown_status_is_recorded_never_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    """An unknown status leaves the state, is kept in the history and logged; with raise it raises UnknownStatus."""
    tracker = RunTracker("r", mode="poll")
    tracker.observe("in_progress")
    with caplog.at_level(logging.WARNING, logger="runfsm"):
        obs = tracker.observe({"object": "thread.run", "id": "r", "status": "paused_for_lunch"})
    assert obs.outcome is Outcome.UNKNOWN_STATUS
    assert tracker.state is R.InProgress
    assert "paused_for_lunch" in obs.warnings[0]
    assert len(caplog.records) == 1

    strict = RunTracker("r", on_illegal="raise")
    with pytest.raises(UnknownStatus):
        strict.observe("paused_for_lunch")
    assert strict.history[-1].outcome is Outcome.UNKNOWN_STATUS


def test_run_step_events_are_refused_clearly() -> None:
    """A run-step event is not fed by mistake: NotARunStatus, and nothing is recorded."""
    tracker = RunTracker("r")
    with pytest.raises(NotARunStatus):
        tracker.observe({"event": "thread.run.step.created", "data": {"id": "step_1"}})
    assert tracker.history == []


def test_another_runs_object_is_refused() -> None:
    """A tracker follows one run: another run's object raises WrongRun; the first id seen is adopted."""
    tracker = RunTracker()
    tracker.observe({"object": "thread.run", "id": "run_a", "status": "queued"})
    assert tracker.run_id == "run_a"
    with pytest.raises(WrongRun, match="run_b"):
        tracker.observe({"object": "thread.run", "id": "run_b", "status": "queued"})


def test_field_invariants_are_warnings_never_rejections() -> None:
    """A failed run without last_error is accepted, with the broken invariant recorded."""
    tracker = RunTracker("r", mode="poll", on_illegal="raise")
    tracker.observe({"object": "thread.run", "id": "r", "status": "in_progress", "started_at": 1})
    obs = tracker.observe({"object": "thread.run", "id": "r", "status": "failed", "failed_at": 5})
    assert obs.outcome is Outcome.ACCEPTED
    assert obs.warnings == ("failed: last_error is not set",)


def test_invalid_options_are_refused_eagerly() -> None:
    """Misspelt modes and policies fail at construction with the accepted values named."""
    with pytest.raises(ValueError, match="mode must be one of"):
        RunTracker(mode="polling")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="on_illegal"):
        RunTracker(on_illegal="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="on_missing_call"):
        RunTracker(on_missing_call="guess")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="record_call"):
        RunTracker().record_call(Trigger.SERVER)


# ----------------------------------------------------------------------------- callbacks


def test_callbacks_fire_on_entering_states_including_inferred_ones_in_order() -> None:
    """Registered callbacks fire once per entered state, inferred states first and marked as inferred."""
    seen: list[tuple[RunStatus, RunStatus, bool, RunStatus]] = []

    def record(event: StateEntered) -> None:
        seen.append((event.previous, event.state, event.inferred, event.tracker.state))

    tracker = RunTracker("r", mode="poll")
    for status in RunStatus:
        tracker.on_enter(status, record)
    tracker.observe("queued")
    tracker.observe("requires_action")
    tracker.observe("requires_action")  # a repeat enters nothing
    assert seen == [
        (R.Null, R.Queued, False, R.Queued),
        (R.Queued, R.InProgress, True, R.InProgress),
        (R.InProgress, R.RequiresAction, False, R.RequiresAction),
    ]


def test_subclass_hooks_fire_transitions_style() -> None:
    """A subclass method on_enter_<State> is called like a transitions callback."""

    class ToolRunner(RunTracker):
        __slots__ = ("actions",)

        def __init__(self, run_id: str) -> None:
            super().__init__(run_id, mode="stream")
            self.actions: list[int] = []

        def on_enter_RequiresAction(self, event: StateEntered) -> None:
            self.actions.append(event.observation.index)

    runner = ToolRunner("r")
    runner.observe_all(["queued", "in_progress", "requires_action", "queued", "in_progress", "requires_action"])
    assert runner.actions == [2, 5]


def test_a_failing_callback_does_not_corrupt_the_tracker() -> None:
    """The state and history are updated, later callbacks still run, then CallbackError carries the error."""
    calls: list[str] = []

    def boom(event: StateEntered) -> None:
        calls.append("boom")
        raise RuntimeError("handler bug")

    def after(event: StateEntered) -> None:
        calls.append("after")

    tracker = RunTracker("r", mode="poll")
    tracker.on_enter(R.InProgress, boom)
    tracker.on_enter(R.Completed, after)
    tracker.observe("queued")
    with pytest.raises(CallbackError, match="handler bug") as info:
        tracker.observe("completed")
    assert isinstance(info.value.__cause__, RuntimeError)
    assert calls == ["boom", "after"]
    assert tracker.state is R.Completed
    assert tracker.history[-1].outcome is Outcome.INFERRED
    assert tracker.observe("completed").outcome is Outcome.REPEATED


def test_start_mid_run_enters_the_first_state() -> None:
    """When polling starts at requires_action, its callback fires (nothing is inferred before it)."""
    entered: list[tuple[RunStatus, bool]] = []
    tracker = RunTracker("r", mode="poll")
    tracker.on_enter(R.RequiresAction, lambda e: entered.append((e.state, e.inferred)))
    tracker.observe("requires_action")
    assert entered == [(R.RequiresAction, False)]
    assert tracker.state is R.RequiresAction


def test_on_enter_checks_its_arguments() -> None:
    """on_enter takes a RunStatus and a callable."""
    tracker = RunTracker()
    with pytest.raises(TypeError):
        tracker.on_enter("queued", print)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tracker.on_enter(R.Queued, "print")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- persistence


@given(lifecycle_paths(), st.integers(min_value=0, max_value=20))
def test_a_restored_tracker_continues_exactly_like_the_original(path: list[RunStatus], cut: int) -> None:
    """Serialize mid-run, restore, continue: same states, same outcomes as never stopping."""
    cut = min(cut, len(path))
    original = RunTracker("run_j", mode="poll", on_illegal="record", clock=None)
    for status in path[:cut]:
        original.observe(status.wire or status.name)
    restored = RunTracker.from_json(original.to_json(), clock=None)
    assert restored.to_dict() == original.to_dict()
    for status in path[cut:]:
        a, b = original.observe(status), restored.observe(status)
        assert (a.outcome, a.state, a.inferred) == (b.outcome, b.state, b.inferred)
    assert restored.history == original.history


def test_serialized_history_holds_raw_inputs_as_json() -> None:
    """Openai objects and dicts are stored JSON-safe; pending calls survive a restart."""
    tracker = RunTracker("r", mode="poll", clock=lambda: 42.0)
    tracker.observe({"object": "thread.run", "id": "r", "status": "requires_action", "required_action": None})
    tracker.submitted_tool_outputs()
    data = tracker.to_dict()
    assert data["history"][0]["raw"]["status"] == "requires_action"
    assert data["history"][0]["time"] == 42.0
    assert data["pending_calls"] == ["submit_tool_outputs"]
    restored = RunTracker.from_dict(data)
    assert restored.pending_calls == {Trigger.SUBMIT_TOOL_OUTPUTS}
    assert restored.observe("in_progress").outcome is Outcome.INFERRED


def test_restoring_something_else_fails_clearly() -> None:
    """A document that is not a saved tracker is refused with the expected format named."""
    with pytest.raises(ValueError, match=r"runfsm\.tracker/1"):
        RunTracker.from_dict({"format": "something"})


# ----------------------------------------------------------------------------- threads


def test_trackers_of_different_runs_are_safe_from_different_threads() -> None:
    """Eight threads drive their own trackers (with callbacks, so through the shared machine) at once."""
    path = ["queued", "in_progress", "requires_action", "queued", "in_progress", "completed"]
    errors: list[BaseException] = []
    results: dict[int, list[RunStatus]] = {}
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            entered: list[RunStatus] = []

            def remember(event: StateEntered) -> None:
                entered.append(event.state)

            barrier.wait()
            for _ in range(200):
                tracker = RunTracker(f"run_{n}", mode="stream", on_illegal="raise")
                entered.clear()
                for status in RunStatus:
                    tracker.on_enter(status, remember)
                tracker.observe_all(path)
            results[n] = list(entered)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    expected = [RunStatus.parse(s) for s in path]
    assert all(v == expected for v in results.values())


def test_clock_is_injected() -> None:
    """Observation times come from the injected clock unless given explicitly."""
    ticks = iter([10.0, 20.0])
    clock: Callable[[], float] = lambda: next(ticks)  # noqa: E731
    tracker = RunTracker("r", clock=clock)
    assert tracker.observe("queued").time == 10.0
    assert tracker.observe("in_progress", at=15.5).time == 15.5
    assert tracker.observe("completed").time == 20.0


@pytest.mark.parametrize(
    "alone",
    ["queued", b"queued", {"id": "run_1", "status": "queued"}],
    ids=["a string", "bytes", "a run object"],
)
def test_one_item_given_as_a_history_is_refused_not_read_piece_by_piece(alone: object) -> None:
    """observe_all("queued") would observe 'q', 'u', 'e'...: a TypeError says to give a list."""
    tracker = RunTracker("run_1")
    with pytest.raises(TypeError, match=r"values is one .*give a list, such as \["):
        tracker.observe_all(alone)  # type: ignore[arg-type]
    assert tracker.history == []


def test_a_lifecycle_given_by_its_presets_key_is_refused_with_the_call_that_gives_it() -> None:
    """RunTracker(lifecycle="batch") failed later on 'str' object has no attribute 'initial'."""
    with pytest.raises(TypeError, match=r"got 'batch': for a preset give runfsm.preset\('batch'\)"):
        RunTracker("batch_1", lifecycle="batch")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"lifecycle takes a Lifecycle, got 3$"):
        RunTracker("run_1", lifecycle=3)  # type: ignore[arg-type]


def _is_no_status(word: str) -> bool:
    try:
        RunStatus.parse(word)
    except UnknownStatus:
        return word.strip("_") != ""
    return False


_MISSPELLINGS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(_is_no_status)


@given(
    pairs=st.dictionaries(_MISSPELLINGS, st.sampled_from([s.wire for s in RunStatus if s.wire]), max_size=3),
    picks=st.lists(st.integers(min_value=0, max_value=20), max_size=12),
)
def test_aliases_given_as_plain_names_read_as_status_aliases_builds_them(
    pairs: dict[str, str], picks: list[int]
) -> None:
    """{'canceled': 'cancelled'} works as is: the tracker reads it as status_aliases would."""
    from runfsm.status import status_aliases

    words = [*pairs, *(s.wire for s in RunStatus if s.wire)]
    history = [words[k % len(words)] for k in picks]
    plain = RunTracker("run_1", mode="poll", on_illegal="record", clock=None, aliases=dict(pairs))
    built = RunTracker("run_1", mode="poll", on_illegal="record", clock=None, aliases=status_aliases(pairs))
    assert [(o.outcome, o.state) for o in plain.observe_all(history)] == [
        (o.outcome, o.state) for o in built.observe_all(history)
    ]


def test_aliases_that_are_no_mapping_or_name_a_status_are_refused() -> None:
    """What status_aliases refuses, the tracker refuses, with its message."""
    with pytest.raises(TypeError, match=r"aliases is a mapping of alias to status.*got list"):
        RunTracker("run_1", aliases=["canceled=cancelled"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'cancelled' is already a status"):
        RunTracker("run_1", aliases={"cancelled": "failed"})
    with pytest.raises(ValueError, match="'nope' is not a status"):
        RunTracker("run_1", aliases={"canceled": "nope"})


def test_a_clock_that_is_no_function_is_refused_when_the_tracker_is_made() -> None:
    """RunTracker(clock=time.time()) (the time, not the function) failed at the first observation."""
    with pytest.raises(TypeError, match="clock must be a function returning the time"):
        RunTracker("run_1", clock=1_700_000_000.0)  # type: ignore[arg-type]
