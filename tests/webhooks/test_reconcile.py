"""Reconcile: only objects whose terminal webhook is overdue are polled, once per pass, within the budget."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from runfsm.following.backoff import Fixed
from runfsm.testing.fake.webhooks import signed_event
from runfsm.webhooks import Entered, Reconciler, default_lifecycles

if TYPE_CHECKING:
    from collections.abc import Callable

    from runfsm.webhooks import Receiver

RESPONSE, BATCH = default_lifecycles()


class Server:
    """What a retrieve returns, per object id, on a virtual clock; counts the retrieves."""

    def __init__(self) -> None:
        self.now = 10_000.0
        self.objects: dict[str, dict[str, Any]] = {}
        self.retrieves: list[str] = []
        self.broken: set[str] = set()

    def clock(self) -> float:
        return self.now

    def retrieve(self, object_id: str) -> dict[str, Any]:
        self.retrieves.append(object_id)
        if object_id in self.broken:
            raise ConnectionError("connection reset")
        return self.objects[object_id]


def response(object_id: str, status: str, created_at: float, **fields: Any) -> dict[str, Any]:
    """A response object."""
    return {"id": object_id, "object": "response", "status": status, "created_at": created_at, **fields}


@pytest.fixture
def server() -> Server:
    """The simulated API."""
    return Server()


def test_only_overdue_objects_are_polled_once_per_pass(make_receiver: Callable[..., Receiver], server: Server) -> None:
    """Three tracked responses: one announced by its webhook, one overdue, one not yet due.

    A pass polls only the overdue one, once; the poll seeing it completed fires its callbacks
    (the inferred in_progress first), and it is never polled again.
    """
    receiver = make_receiver(retrieve=server.retrieve, overdue_after=600, clock=server.clock)
    entered: list[Entered] = []
    receiver.on_change(entered.append)
    for object_id, created in (("resp_hooked", 9_000), ("resp_lost", 9_000), ("resp_young", 9_900)):
        receiver.track(response(object_id, "queued", created))
    receiver.handle(*signed_event("msg_1", "response.completed", "resp_hooked", 9_100))
    receiver.drain()
    server.objects["resp_lost"] = response("resp_lost", "completed", 9_000, completed_at=9_200)
    reconciler = Reconciler(receiver, policy=Fixed(30.0), per_minute=60)
    report = reconciler.run_once()
    assert (report.due, report.polled, report.failed, report.deferred) == (1, 1, 0, 0)
    assert server.retrieves == ["resp_lost"]
    lost = [(e.state.name, e.inferred) for e in entered if e.object_id == "resp_lost"]
    assert lost == [("Queued", False), ("InProgress", True), ("Completed", False)]
    server.now += 3_600
    server.objects["resp_young"] = response("resp_young", "in_progress", 9_900)
    assert reconciler.run_once().polled == 1
    assert server.retrieves == ["resp_lost", "resp_young"]  # resp_lost ended: never again
    assert receiver.store.object("resp_young")["due_at"] == server.now + 30.0  # type: ignore[index]


def test_the_budget_defers_what_it_cannot_pay_for(make_receiver: Callable[..., Receiver], server: Server) -> None:
    """Twenty overdue objects and a budget of 12 a minute with a burst of 2.

    The first pass polls 2 and defers 18; a later pass polls what the refilled bucket allows;
    no 60 s window ever sees more than 12 retrieves.
    """
    receiver = make_receiver(retrieve=server.retrieve, clock=server.clock)
    for i in range(20):
        receiver.track(response(f"resp_{i}", "queued", 1_000))
        server.objects[f"resp_{i}"] = response(f"resp_{i}", "in_progress", 1_000)
    receiver.drain()
    reconciler = Reconciler(receiver, policy=Fixed(1.0), per_minute=12, burst=2)
    times: list[float] = []
    first = reconciler.run_once()
    assert (first.polled, first.deferred) == (2, 18)
    times += [server.now] * first.polled
    for _ in range(120):
        server.now += 1.0
        done = reconciler.run_once()
        times += [server.now] * done.polled
    assert max(sum(1 for t in times if start <= t < start + 60) for start in times) <= 12
    assert len(times) >= 12


def test_a_failed_retrieve_leaves_the_object_due(make_receiver: Callable[..., Receiver], server: Server) -> None:
    """A retrieve that raises is counted and logged; the object is polled again at its next due time."""
    receiver = make_receiver(retrieve=server.retrieve, clock=server.clock)
    receiver.track(response("resp_1", "queued", 1_000))
    server.broken.add("resp_1")
    reconciler = Reconciler(receiver, policy=Fixed(5.0))
    assert reconciler.run_once().failed == 1
    assert reconciler.run_once().due == 0  # not due again yet
    server.now += 5.0
    server.broken.clear()
    server.objects["resp_1"] = response("resp_1", "failed", 1_000, failed_at=9_000)
    assert reconciler.run_once().polled == 1
    assert receiver.store.object("resp_1")["state"] == "Failed"  # type: ignore[index]


def test_policies_per_lifecycle(make_receiver: Callable[..., Receiver], server: Server) -> None:
    """Batches take hours: a policy per lifecycle spaces their polls in minutes, responses' in seconds."""
    receiver = make_receiver(retrieve=server.retrieve, clock=server.clock)
    receiver.track(response("resp_1", "queued", 1_000))
    receiver.track(
        {"id": "batch_1", "object": "batch", "status": "validating", "created_at": 1_000, "expires_at": 2_000}
    )
    server.objects["resp_1"] = response("resp_1", "in_progress", 1_000)
    server.objects["batch_1"] = {"id": "batch_1", "object": "batch", "status": "in_progress", "created_at": 1_000}
    Reconciler(receiver, policy={"response": Fixed(2.0), BATCH.name: Fixed(600.0)}).run_once()
    assert receiver.store.object("resp_1")["due_at"] == server.now + 2.0  # type: ignore[index]
    assert receiver.store.object("batch_1")["due_at"] == server.now + 600.0  # type: ignore[index]
    with pytest.raises(ValueError, match="no reconcile policy"):
        Reconciler(receiver, policy={RESPONSE.name: Fixed(2.0)})


def test_run_waits_for_the_budget_and_stops_when_told(make_receiver: Callable[..., Receiver], server: Server) -> None:
    """``run`` passes until ``stop`` is set, sleeping (on the injected ``sleep``) until the next due time or token.

    Ten overdue objects, two tokens a pass: it never sleeps less than the bucket needs, and it
    polls each object once until all have ended.
    """
    import threading

    receiver = make_receiver(retrieve=server.retrieve, clock=server.clock)
    for i in range(10):
        receiver.track(response(f"resp_{i}", "queued", 1_000))
        server.objects[f"resp_{i}"] = response(f"resp_{i}", "completed", 1_000, completed_at=1_500)
    reconciler = Reconciler(receiver, per_minute=12, burst=2)
    stop = threading.Event()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        server.now += seconds
        if receiver.store.next_due() is None or len(sleeps) > 100:
            stop.set()

    reconciler.run(stop=stop, interval=30.0, sleep=sleep)
    assert sorted(server.retrieves) == sorted(f"resp_{i}" for i in range(10))
    assert min(sleeps) >= 4.9  # refilled at (12 - 2) / 60 a second: a token every 6 s after the burst of 2
    assert receiver.store.summary()["objects"] == {"background-response": {"Completed": 10}}
