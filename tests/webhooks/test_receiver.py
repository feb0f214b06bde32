"""The framework-free receiver: answers, durability before the answer, ordering, callbacks once, fill and track."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import TYPE_CHECKING, Any

import pytest

from runfsm.testing.fake.webhooks import TEST_SECRET as SECRET
from runfsm.testing.fake.webhooks import signed_event as delivery
from runfsm.webhooks import Entered, Receiver, default_lifecycles

if TYPE_CHECKING:
    from collections.abc import Callable

RESPONSE, BATCH = default_lifecycles()
R = RESPONSE.by_name()
B = BATCH.by_name()


def test_a_new_event_is_stored_before_the_answer_and_applied_after(make_receiver: Callable[..., Receiver]) -> None:
    """A new event is stored before the answer and applied after.

    ``handle`` commits the event and answers 200; nothing is applied until ``drain`` (the work after
    the answer), and a second receiver on the same file sees the queued event at once.
    """
    receiver = make_receiver()
    answer = receiver.handle(*delivery("msg_1", "response.completed", "resp_1", 100))
    assert answer.status == 200
    assert json.loads(answer.body) == {"ok": True, "duplicate": False, "ignored": False}
    other = Receiver(receiver.store.path, secret=SECRET)
    assert other.store.pending_count() == 1
    queued = other.store.object("resp_1")
    assert queued is not None
    assert "state" not in queued  # heard of, not applied yet
    assert receiver.drain() == 1
    assert receiver.store.object("resp_1")["state"] == "Completed"  # type: ignore[index]
    other.close()


@pytest.mark.parametrize(
    ("tamper", "status"),
    [("signature", 401), ("stale", 401), ("future", 401), ("body", 400), ("not json", 400), ("huge", 413)],
)
def test_refused_deliveries_change_nothing(make_receiver: Callable[..., Receiver], tamper: str, status: int) -> None:
    """Refused deliveries change nothing.

    A bad signature, a timestamp six minutes old or ahead, a signed body that is not an event, a
    body that is not JSON, a body over the size limit: refused with a 4xx, and the store is untouched.
    """
    receiver = make_receiver(max_body=4096)
    now = time.time()
    headers, body = delivery("msg_1", "response.completed", "resp_1", 100)
    if tamper == "signature":
        headers, _ = delivery("msg_1", "response.completed", "resp_1", 100, secret="whsec_" + "QUJD" * 8)
    elif tamper in ("stale", "future"):
        headers, body = delivery(
            "msg_1", "response.completed", "resp_1", 100, timestamp=now + (-360 if tamper == "stale" else 360)
        )
    elif tamper in ("body", "not json", "huge"):
        from runfsm.testing.fake.webhooks import sign

        body = {"body": b'{"id": "evt_1", "type": "response.completed"}', "not json": b"{oops", "huge": b" " * 5000}[
            tamper
        ]
        headers = sign(SECRET, "msg_1", now, body)
    answer = receiver.handle(headers, body)
    assert answer.status == status
    assert "error" in json.loads(answer.body)
    assert receiver.store.summary()["distinct_events"] == 0
    assert receiver.drain() == 0


def test_a_repeated_webhook_id_is_counted_not_applied_again(make_receiver: Callable[..., Receiver]) -> None:
    """The same ``webhook-id`` three times (a retry re-signs it): one event, three deliveries, one callback."""
    receiver = make_receiver()
    seen: list[Entered] = []
    receiver.on_change(seen.append)
    answers = [receiver.handle(*delivery("msg_1", "batch.completed", "batch_1", 100)) for _ in range(3)]
    receiver.drain()
    answers.append(receiver.handle(*delivery("msg_1", "batch.completed", "batch_1", 100)))
    receiver.drain()
    assert [json.loads(a.body)["duplicate"] for a in answers] == [False, True, True, True]
    events = receiver.store.object("batch_1")["events"]  # type: ignore[index]
    assert [(e["key"], e["deliveries"], e["verdict"]) for e in events] == [("msg_1", 4, "applied")]
    assert [(e.object_id, e.state.name) for e in seen] == [("batch_1", "Completed")]


def test_events_of_other_kinds_are_acknowledged_and_recorded_as_ignored(make_receiver: Callable[..., Receiver]) -> None:
    """Events of other kinds are acknowledged and recorded as ignored.

    A signed event of a type no lifecycle follows (``fine_tuning.job.succeeded``) gets 200 (so the sender
    stops retrying) and is kept as ``ignored``: accounted for, never applied.
    """
    receiver = make_receiver()
    answer = receiver.handle(*delivery("msg_1", "fine_tuning.job.succeeded", "ftjob_1", 100))
    assert answer.status == 200
    assert json.loads(answer.body)["ignored"] is True
    receiver.drain()
    assert receiver.store.summary()["events"] == {"ignored": 1}
    assert receiver.store.object("ftjob_1")["events"][0]["verdict"] == "ignored"  # type: ignore[index]


def test_callbacks_fire_once_per_state_in_the_objects_order(make_receiver: Callable[..., Receiver]) -> None:
    """Callbacks fire once per state in the objects order.

    A tracked batch, then its terminal webhook: on_enter fires for the states entered (inferred
    ones flagged), once each, even when the webhook and a late poll arrive again after a restart.
    """
    receiver = make_receiver()
    entered: list[tuple[str, bool]] = []
    completed: list[Entered] = []
    receiver.on_change(lambda e: entered.append((e.state.name, e.inferred)))
    receiver.on_enter(B["Completed"], completed.append)
    receiver.track({"id": "batch_1", "object": "batch", "status": "validating", "created_at": 100, "expires_at": 86500})
    receiver.handle(*delivery("msg_done", "batch.completed", "batch_1", 900))
    receiver.drain()
    assert entered == [("Validating", False), ("InProgress", True), ("Finalizing", True), ("Completed", False)]
    receiver.close()

    again = make_receiver()
    again.on_change(lambda e: entered.append((e.state.name, e.inferred)))
    again.handle(*delivery("msg_done", "batch.completed", "batch_1", 900))
    again.observe_polled({"id": "batch_1", "object": "batch", "status": "in_progress", "in_progress_at": 200})
    again.drain()
    assert len(entered) == 4
    assert [(c.object_id, c.previous.name, c.inferred) for c in completed] == [("batch_1", "Finalizing", False)]
    verdicts = [e["verdict"] for e in again.store.object("batch_1")["events"]]  # type: ignore[index]
    assert verdicts == ["applied", "late", "applied"]  # by object time: created 100, polled 200 (late), done 900


def test_a_failing_callback_is_recorded_and_the_others_still_run(make_receiver: Callable[..., Receiver]) -> None:
    """A callback that raises does not stop the others nor re-run later: the error is kept in the store."""
    receiver = make_receiver()
    ran: list[str] = []

    def broken(entered: Entered) -> None:
        raise RuntimeError("boom")

    receiver.on_enter(R["Failed"], broken)
    receiver.on_change(lambda e: ran.append(e.state.name))
    receiver.handle(*delivery("msg_1", "response.failed", "resp_1", 100))
    receiver.drain()
    receiver.drain()
    assert ran == ["Failed"]
    assert receiver.store.summary()["callback_errors"] == 1
    assert receiver.store.object("resp_1")["entered"][0]["error"] == "RuntimeError: boom"  # type: ignore[index]


def test_on_enter_takes_states_of_the_receivers_lifecycles_only(make_receiver: Callable[..., Receiver]) -> None:
    """A state of another lifecycle (the Assistants run) is refused at registration."""
    from runfsm import RunStatus

    receiver = make_receiver()
    with pytest.raises(ValueError, match="not a state of"):
        receiver.on_enter(RunStatus.Completed, print)


def test_fill_retrieves_the_object_after_its_webhook(make_receiver: Callable[..., Receiver]) -> None:
    """With ``fill=True`` the receiver retrieves the object named by a thin payload and keeps its fields."""
    calls: list[str] = []

    def retrieve(object_id: str) -> dict[str, Any]:
        calls.append(object_id)
        return {"id": object_id, "object": "response", "status": "completed", "created_at": 90, "output_text": "hi"}

    receiver = make_receiver(retrieve=retrieve, fill=True)
    receiver.handle(*delivery("msg_1", "response.completed", "resp_1", 100))
    receiver.drain()
    assert calls == ["resp_1"]
    known = receiver.store.object("resp_1")
    assert known is not None
    assert known["fields"]["output_text"] == "hi"
    assert [e["verdict"] for e in known["events"]] == ["applied", "repeated"]


def test_a_locked_store_answers_503_and_stores_nothing(make_receiver: Callable[..., Receiver]) -> None:
    """A locked store answers 503 and stores nothing.

    While another process holds the file's write lock beyond the store's timeout, the answer is 503
    with ``retry-after`` (the sender retries); nothing is half-written.
    """
    receiver = make_receiver()
    receiver.store.timeout = 0.05
    receiver.store.close()
    blocker = sqlite3.connect(receiver.store.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        answer = receiver.handle(*delivery("msg_1", "response.completed", "resp_1", 100))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert answer.status == 503
    assert answer.headers["retry-after"] == "1"
    assert receiver.store.summary()["distinct_events"] == 0
    assert receiver.handle(*delivery("msg_1", "response.completed", "resp_1", 100)).status == 200


def test_track_sets_the_deadline_from_the_object_or_the_configuration(make_receiver: Callable[..., Receiver]) -> None:
    """Track sets the deadline from the object or the configuration.

    ``expires_at`` plus the grace period when the object has one, else ``created_at`` plus ``overdue_after``;
    tracking twice is a no-op.
    """
    receiver = make_receiver(overdue_after=300, grace=30)
    assert receiver.track(
        {"id": "batch_1", "object": "batch", "status": "validating", "created_at": 100, "expires_at": 1000}
    )
    assert receiver.track({"id": "resp_1", "object": "response", "status": "queued", "created_at": 100})
    assert not receiver.track({"id": "resp_1", "object": "response", "status": "queued", "created_at": 100})
    receiver.drain()
    assert receiver.store.object("batch_1")["deadline"] == 1030  # type: ignore[index]
    assert receiver.store.object("resp_1")["deadline"] == 400  # type: ignore[index]
    with pytest.raises(ValueError, match="pass lifecycle="):
        receiver.track({"id": "x_1", "object": "thread.run", "status": "queued"})
