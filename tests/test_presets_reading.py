"""Each preset reads its own API: spellings, objects, stream events, webhook payloads, field invariants, tracking."""

from __future__ import annotations

from typing import Any

import pytest

from runfsm import (
    BATCH_LIFECYCLE,
    PRESETS,
    RESPONSE_LIFECYCLE,
    RUN_LIFECYCLE,
    BatchStatus,
    Lifecycle,
    NotARunStatus,
    Outcome,
    ResponseStatus,
    RunStatus,
    RunTracker,
    Trigger,
    UnknownStatus,
    check_fields,
    parse_status,
    read_run,
)

ALL = pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=list(PRESETS))


@ALL
def test_every_spelling_of_every_state_parses_to_it(lifecycle: Lifecycle[Any]) -> None:
    """Wire value, member name (three spellings), ordinal, stream event and webhook type all give the member."""
    for state in lifecycle.states:
        spellings: list[object] = [state, state.name, state.name.upper(), int(state), str(int(state))]
        spellings += [x for x in (state.wire, state.event) if x is not None]
        spellings += [event for event, s in lifecycle.webhooks.items() if s is state]
        for spelling in spellings:
            assert parse_status(spelling, lifecycle) is state, spelling
            assert lifecycle.parse(spelling) is state


@ALL
def test_unknown_statuses_and_other_lifecycles_members_are_refused(lifecycle: Lifecycle[Any]) -> None:
    """A status no preset knows, or another lifecycle's member, raises UnknownStatus naming the known ones."""
    with pytest.raises(UnknownStatus):
        parse_status("paused_forever", lifecycle)
    other = next(p for p in PRESETS.values() if p is not lifecycle)
    with pytest.raises(UnknownStatus):
        parse_status(other.states[1], lifecycle)


def test_run_parsing_is_the_default() -> None:
    """Without a lifecycle, parse_status and read_run read Assistants runs, as they always did."""
    assert parse_status("in_progress") is RunStatus.InProgress
    assert parse_status("in_progress", RESPONSE_LIFECYCLE) is ResponseStatus.InProgress
    assert parse_status("in_progress", BATCH_LIFECYCLE) is BatchStatus.InProgress
    assert read_run({"object": "thread.run", "id": "run_1", "status": "queued"}).run_id == "run_1"


@ALL
def test_objects_of_another_type_are_not_this_lifecycles_status(lifecycle: Lifecycle[Any]) -> None:
    """An object whose ``object`` field names another type raises NotARunStatus, so readers can skip it."""
    with pytest.raises(NotARunStatus):
        read_run({"object": "fine_tuning.job", "id": "ft_1", "status": "running"}, lifecycle)


def test_a_response_object_and_its_stream_events() -> None:
    """Response objects, ``{"type": ..., "response": {...}}`` stream events and output deltas, as the API sends them."""
    obj = {"object": "response", "id": "resp_1", "status": "in_progress", "background": True, "error": None}
    snap = read_run(obj, RESPONSE_LIFECYCLE)
    assert (snap.status, snap.run_id, snap.fields) == (ResponseStatus.InProgress, "resp_1", obj)
    created = {"type": "response.created", "sequence_number": 0, "response": {**obj, "status": "queued"}}
    assert read_run(created, RESPONSE_LIFECYCLE).status is ResponseStatus.Queued  # the status it carries
    done = {"type": "response.completed", "sequence_number": 9, "response": {**obj, "status": "completed"}}
    snap = read_run(done, RESPONSE_LIFECYCLE)
    assert (snap.status, snap.run_id, snap.event) == (ResponseStatus.Completed, "resp_1", "response.completed")
    sse = {"event": "response.in_progress", "data": {"type": "response.in_progress", "response": obj}}
    assert read_run(sse, RESPONSE_LIFECYCLE).run_id == "resp_1"
    with pytest.raises(NotARunStatus):
        read_run({"type": "response.output_text.delta", "sequence_number": 3, "delta": "hi"}, RESPONSE_LIFECYCLE)


def test_the_real_openai_models_are_read() -> None:
    """Openai ``Response``, stream event, ``Batch`` and webhook event models are read like their dicts."""
    from openai.types import Batch
    from openai.types.responses import Response, ResponseCompletedEvent
    from openai.types.webhooks import BatchCompletedWebhookEvent

    response = Response.model_construct(id="resp_2", object="response", status="queued", created_at=1.0)
    assert read_run(response, RESPONSE_LIFECYCLE).status is ResponseStatus.Queued
    finished = Response.model_construct(id="resp_2", object="response", status="completed", completed_at=3.0)
    event = ResponseCompletedEvent.model_construct(type="response.completed", sequence_number=4, response=finished)
    snap = read_run(event, RESPONSE_LIFECYCLE)
    assert (snap.status, snap.run_id) == (ResponseStatus.Completed, "resp_2")
    batch = Batch.model_construct(id="batch_1", object="batch", status="finalizing", finalizing_at=5)
    assert read_run(batch, BATCH_LIFECYCLE).fields is not None
    hook = BatchCompletedWebhookEvent.model_validate(
        {"id": "evt_1", "object": "event", "type": "batch.completed", "created_at": 7, "data": {"id": "batch_1"}}
    )
    hooked = read_run(hook, BATCH_LIFECYCLE)
    assert (hooked.status, hooked.run_id, hooked.fields) == (BatchStatus.Completed, "batch_1", None)


def test_a_thin_webhook_payload_gives_status_and_id_only() -> None:
    """A webhook's ``data`` is the id: the type gives the status, there are no fields to check."""
    payload = {"id": "evt_1", "object": "event", "type": "response.cancelled", "created_at": 1, "data": {"id": "r"}}
    snap = read_run(payload, RESPONSE_LIFECYCLE)
    assert (snap.status, snap.run_id, snap.fields, snap.event) == (ResponseStatus.Cancelled, "r", None, payload["type"])


def test_field_invariants_per_preset() -> None:
    """Each preset checks its own fields: a failed response needs ``error``, a finalizing batch ``finalizing_at``."""
    assert check_fields(ResponseStatus.Failed, {"status": "failed"}, RESPONSE_LIFECYCLE) == (
        "failed: error is not set",
    )
    assert check_fields(ResponseStatus.Completed, {"completed_at": 2, "error": None}, RESPONSE_LIFECYCLE) == ()
    assert check_fields(ResponseStatus.Incomplete, {"incomplete_details": None}, RESPONSE_LIFECYCLE) == (
        "incomplete: incomplete_details.reason is not set",
    )
    assert check_fields(BatchStatus.Finalizing, {"status": "finalizing"}, BATCH_LIFECYCLE) == (
        "finalizing: finalizing_at is not set",
    )
    assert check_fields(BatchStatus.Validating, {}, BATCH_LIFECYCLE) == ()
    assert check_fields(RunStatus.Failed, {"failed_at": 1}) == ("failed: last_error is not set",)


@ALL
def test_clean_predicates_agree_with_the_checks(lifecycle: Lifecycle[Any]) -> None:
    """For every state, the generated clean-case predicate is True exactly when the full check finds nothing."""
    samples: list[dict[str, Any]] = [{}, {"error": {"code": "x"}}, {"completed_at": 1, "error": None}]
    samples += [{stamp: 1} for stamp in ("in_progress_at", "finalizing_at", "failed_at", "cancelled_at")]
    clean = lifecycle.field_checks.clean_checks()
    for state in lifecycle.states:
        for fields in samples:
            assert clean[int(state)](fields) == (lifecycle.check_fields(state, fields) == ()), (state, fields)


def test_tracking_a_background_response_polled() -> None:
    """A polled response: a skipped in_progress is inferred; cancelled follows in_progress directly (one edge)."""
    s = ResponseStatus
    tracker = RunTracker("resp_1", lifecycle=RESPONSE_LIFECYCLE, on_illegal="record")
    assert tracker.observe("queued").outcome is Outcome.START
    assert tracker.observe("completed").inferred == (s.InProgress,)
    assert tracker.observe("in_progress").outcome is Outcome.ILLEGAL  # a final status never changes
    other = RunTracker("resp_2", lifecycle=RESPONSE_LIFECYCLE, on_illegal="record")
    other.observe("in_progress")
    assert other.observe("cancelled").calls == (Trigger.CANCEL,)
    assert other.is_terminal


def test_a_polled_batch_jump_through_cancelling_needs_the_recorded_cancel() -> None:
    """in_progress -> cancelled skips cancelling, a client call's result: refused until the cancel is recorded."""
    b = BatchStatus
    tracker = RunTracker("batch_1", lifecycle=BATCH_LIFECYCLE, on_illegal="record")
    tracker.observe("in_progress")
    refused = tracker.observe("cancelled")
    assert (refused.outcome, refused.missing_calls) == (Outcome.ILLEGAL, (Trigger.CANCEL,))
    tracker.cancel_requested()
    accepted = tracker.observe("cancelled")
    assert (accepted.outcome, accepted.inferred) == (Outcome.INFERRED, (b.Cancelling,))


def test_tracking_a_batch_with_callbacks_and_webhook_payloads() -> None:
    """A batch followed by webhooks and polls: callbacks fire once per state entered, inferred ones included."""
    b = BatchStatus
    entered: list[tuple[BatchStatus, bool]] = []
    tracker = RunTracker("batch_1", mode="poll", lifecycle=BATCH_LIFECYCLE)
    for state in (b.InProgress, b.Finalizing, b.Completed):
        tracker.on_enter(state, lambda e: entered.append((e.state, e.inferred)))
    tracker.observe({"object": "batch", "id": "batch_1", "status": "in_progress", "in_progress_at": 1})
    tracker.observe({"object": "event", "type": "batch.completed", "data": {"id": "batch_1"}})
    assert entered == [(b.InProgress, False), (b.Finalizing, True), (b.Completed, False)]
    assert tracker.history[-1].warnings == ()


def test_a_subclass_hook_is_found_by_state_name_in_any_lifecycle() -> None:
    """``on_enter_<Name>`` methods of a tracker subclass fire for the state of that name, whatever the lifecycle."""
    seen: list[str] = []

    class Tracker(RunTracker[ResponseStatus]):
        def on_enter_Completed(self, event: object) -> None:
            seen.append("completed")

    tracker = Tracker("resp_1", mode="stream", lifecycle=RESPONSE_LIFECYCLE)
    tracker.observe_all(["queued", "in_progress", "completed"])
    assert seen == ["completed"]


def test_a_tool_output_submit_means_nothing_to_a_batch() -> None:
    """Recording a call the lifecycle has no edge for is kept with a warning, never raised."""
    tracker = RunTracker("batch_1", lifecycle=BATCH_LIFECYCLE)
    obs = tracker.record_call(Trigger.SUBMIT_TOOL_OUTPUTS)
    assert obs.warnings == ("submit_tool_outputs recorded, but no edge of the Batch lifecycle needs it",)


@ALL
def test_a_saved_tracker_restores_into_its_own_lifecycle_only(lifecycle: Lifecycle[Any]) -> None:
    """to_json / from_json round-trips per preset; restoring into another preset is refused."""
    tracker = RunTracker("x", lifecycle=lifecycle)
    first = lifecycle.successors(lifecycle.initial)[-1]
    tracker.observe(first.wire)
    back = RunTracker.from_json(tracker.to_json(), lifecycle=lifecycle)
    assert back.state is tracker.state
    assert back.history == tracker.history
    other = RUN_LIFECYCLE if lifecycle is not RUN_LIFECYCLE else BATCH_LIFECYCLE
    with pytest.raises(ValueError, match="saved for lifecycle"):
        RunTracker.from_json(tracker.to_json(), lifecycle=other)
