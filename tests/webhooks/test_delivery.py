"""The real receiver (uvicorn on 127.0.0.1, a SQLite file) against the fake's faulty webhook deliveries.

Duplicates, reordering, delays, lost attempts, lost acknowledgements, bad signatures, 503s from a
locked store, a restart and a hard kill in the middle of a storm: no event is lost, none is
applied twice, every callback fires once per state entered, and the store ends consistent.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from runfsm.testing.fake.webhooks import TEST_SECRET as SECRET
from runfsm.testing.fake.webhooks import Delivery, DeliveryFaults, DeliveryReport, WebhookSender
from runfsm.webhooks import Entered, Receiver, WebhookStore, default_lifecycles
from runfsm.webhooks.service import ReceiverServer

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

STORM = DeliveryFaults(duplicate=0.2, reorder=True, delay=(0.0, 0.004), lose=0.1, lose_ack=0.1, bad_signature=0.05)
RESPONSE, BATCH = default_lifecycles()


class World:
    """Objects that lived and ended, and the events announcing their ends (some announced twice)."""

    def __init__(self, n: int, seed: int) -> None:
        rng = random.Random(seed)
        self.objects: list[dict[str, Any]] = []
        self.final: dict[str, str] = {}
        self.events: list[tuple[str, dict[str, Any]]] = []
        for i in range(n):
            if i % 2:
                status = rng.choice(["completed", "failed", "cancelled", "incomplete"])
                start: dict[str, Any] = {"id": f"resp_{i}", "object": "response", "status": "queued"}
                start["created_at"] = 1000 + i
                kind = "response"
            else:
                status = rng.choice(["completed", "failed", "expired", "cancelled"])
                start = {
                    "id": f"batch_{i}",
                    "object": "batch",
                    "status": "validating",
                    "created_at": 1000 + i,
                    "expires_at": 90000 + i,
                }
                kind = "batch"
            end = {**start, "status": status, f"{status}_at": 2000 + i}
            self.objects.append(start)  # batch.failed ends a batch that never ran (validating -> failed)
            lifecycle = RESPONSE if kind == "response" else BATCH
            self.final[start["id"]] = next(s.name for s in lifecycle.states if s.wire == status)
            self.events.append((f"{kind}.{status}", end))
            if rng.random() < 0.2:  # the server announces the same end again, under another webhook-id
                self.events.append((f"{kind}.{status}", end))

    def deliveries(self, sender: WebhookSender) -> list[Delivery]:
        """One delivery per event."""
        return [sender.delivery(kind, obj) for kind, obj in self.events]


def wait_until_settled(store: WebhookStore, *, timeout: float = 30.0) -> dict[str, Any]:
    """The store's summary once nothing is queued and no callback is due (bounded by ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        summary = store.summary()
        if summary["events"].get("queued", 0) == 0 and summary["callbacks_pending"] == 0:
            return summary
        if time.monotonic() > deadline:
            raise AssertionError(f"the store did not settle within {timeout} s: {summary}")
        time.sleep(0.05)  # real time: the receiver's worker applies after answering


def check_store(store: WebhookStore, world: World, report: DeliveryReport, *, killed: bool = False) -> None:
    """Nothing lost, nothing applied twice, every object where it ended, every state entered fired.

    Each 200 the sender saw is one stored delivery; after a kill, a delivery stored just before it
    may have lost its answer (the sender saw a broken connection and retried).
    """
    assert report.given_up == set()
    sent = {a.webhook_id for a in report.attempts}
    stored: dict[str, dict[str, Any]] = {}
    for object_id in store.object_ids():
        known = store.object(object_id)
        assert known is not None
        assert known["state"] == world.final[object_id], object_id
        indexes = [e["obs_index"] for e in known["events"] if e["obs_index"] is not None]
        assert len(indexes) == len(set(indexes))  # no event fed to the tracker twice
        history = known["tracker"]["history"]
        assert len(history) == len(indexes)
        for e in known["events"]:
            stored[e["key"]] = e
            assert e["verdict"] in ("applied", "repeated"), e
        assert all(e["fired_at"] is not None and e["error"] is None for e in known["entered"])
    webhooks = {k: e for k, e in stored.items() if e["source"] == "webhook"}
    assert set(webhooks) == sent  # every event the sender tried was stored (acknowledged or not)
    assert report.acknowledged <= set(webhooks)
    reached = sum(1 for a in report.attempts if a.status == 200)
    stored_deliveries = sum(e["deliveries"] for e in webhooks.values())
    if killed:
        broken = sum(1 for a in report.attempts if a.status is None and a.fault != "lose")
        assert reached <= stored_deliveries <= reached + broken
    else:
        assert stored_deliveries == reached
    assert set(world.final) == set(store.object_ids())


@pytest.fixture
def world() -> World:
    """Forty objects, half responses, half batches."""
    return World(40, seed=7)


def test_a_delivery_storm_loses_nothing_and_applies_nothing_twice(
    make_receiver: Callable[..., Receiver], world: World
) -> None:
    """A delivery storm loses nothing and applies nothing twice.

    Every fault at once, served by uvicorn: the checks of :func:`check_store`, and one callback per
    state entered (the create and the inferred states included).
    """
    receiver = make_receiver()
    fired: collections.Counter[tuple[str, str]] = collections.Counter()
    receiver.on_change(lambda e: fired.update([(e.object_id, e.state.name)]))
    for obj in world.objects:
        receiver.track(obj)
    with ReceiverServer(receiver) as server:
        sender = WebhookSender(server.url, SECRET, faults=STORM, seed=3)
        report = sender.send(world.deliveries(sender))
        wait_until_settled(receiver.store)
    faults = report.faults()
    assert {"duplicate", "lose", "lose_ack", "bad_signature"} <= set(faults)
    assert report.statuses()[401] == faults["bad_signature"]
    check_store(receiver.store, world, report)
    assert set(fired.values()) == {1}
    known = [receiver.store.object(i) for i in receiver.store.object_ids()]
    assert len(fired) == sum(len(k["entered"]) for k in known if k is not None)


def test_a_locked_store_is_answered_503_and_the_sender_retries(
    make_receiver: Callable[..., Receiver], world: World
) -> None:
    """A locked store is answered 503 and the sender retries.

    Another process holds the write lock for a while: deliveries get 503 with retry-after, are retried,
    and all land.
    """
    receiver = make_receiver()
    receiver.store.timeout = 0.02
    with ReceiverServer(receiver) as server:
        blocker = sqlite3.connect(receiver.store.path, isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN EXCLUSIVE")
        release = threading.Timer(0.4, lambda: blocker.execute("ROLLBACK"))
        release.start()
        sender = WebhookSender(server.url, SECRET, seed=4, max_attempts=30, backoff=(0.02, 0.1))
        report = sender.send(world.deliveries(sender))
        release.join()
        blocker.close()
        wait_until_settled(receiver.store)
    assert report.statuses().get(503, 0) > 0
    check_store(receiver.store, world, report)


def test_a_restart_in_the_middle_of_a_storm_resumes_from_the_file(
    make_receiver: Callable[..., Receiver], world: World
) -> None:
    """A restart in the middle of a storm resumes from the file.

    The server and its receiver stop while deliveries are in flight; a new receiver on the same file
    and port takes over: the sender's retries land, trackers resume, each callback fired once overall.
    """
    first = make_receiver()
    fired: collections.Counter[tuple[str, str]] = collections.Counter()

    def count(e: Entered) -> None:
        fired.update([(e.object_id, e.state.name)])

    first.on_change(count)
    for obj in world.objects:
        first.track(obj)
    server = ReceiverServer(first).start()
    port = server.port
    sender = WebhookSender(server.url, SECRET, faults=STORM, seed=5, max_attempts=40, backoff=(0.02, 0.2))
    result: list[DeliveryReport] = []
    storm = threading.Thread(target=lambda: result.append(sender.send(world.deliveries(sender))))
    storm.start()
    while first.store.summary()["distinct_events"] < len(world.objects) + len(world.events) // 3:
        time.sleep(0.005)  # real time: let part of the storm land
    server.stop()
    first.close()
    second = make_receiver()
    second.on_change(count)
    with ReceiverServer(second, port=port):
        storm.join(60)
        wait_until_settled(second.store)
    assert not storm.is_alive()
    check_store(second.store, world, result[0])
    assert set(fired.values()) == {1}


CALLBACK_MODULE = '''
import os

def record(entered):
    """Append one line per state entered to $RUNFSM_TEST_CALLBACKS (O_APPEND: whole lines only)."""
    line = f"{entered.object_id} {entered.state.name} {entered.index}\\n".encode()
    fd = os.open(os.environ["RUNFSM_TEST_CALLBACKS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
'''


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_a_hard_kill_of_the_service_loses_no_acknowledged_event(tmp_path: Path, world: World) -> None:
    """A hard kill of the service loses no acknowledged event.

    ``runfsm webhooks serve`` is killed with SIGKILL in the middle of a storm and started again on the
    same file: every event is in the store and applied once, every object ends where it ended, every
    state entered fired its callback, and at most one callback (the one running at the kill) fired twice.
    """
    store_path = tmp_path / "hooks.sqlite"
    (tmp_path / "kill_callbacks.py").write_text(CALLBACK_MODULE)
    log = tmp_path / "callbacks.log"
    env = {
        **os.environ,
        "HOOK_SECRET": SECRET,
        "RUNFSM_TEST_CALLBACKS": str(log),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    }
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "runfsm",
        "webhooks",
        "serve",
        "--secret-env",
        "HOOK_SECRET",
        "--store",
        str(store_path),
        "--port",
        str(port),
        "--on-change",
        "kill_callbacks:record",
        "--callback-lease",
        "0.5",
    ]

    def start() -> subprocess.Popen[bytes]:
        with (tmp_path / "serve.log").open("ab") as errors:
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        deadline = time.monotonic() + 20
        import socket

        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return process
            except OSError:
                time.sleep(0.05)  # real time: waiting for uvicorn to listen
        process.kill()
        raise AssertionError(f"the service did not start: {(tmp_path / 'serve.log').read_text()}")

    with WebhookStore(store_path) as store:
        tracker = Receiver(store, secret=SECRET)
        for obj in world.objects:
            tracker.track(obj)
        tracker.stop()
        process = start()
        try:
            sender = WebhookSender(
                f"http://127.0.0.1:{port}/",
                SECRET,
                faults=STORM,
                seed=6,
                max_attempts=60,
                backoff=(0.05, 0.3),
                deadline=90,
            )
            result: list[DeliveryReport] = []
            storm = threading.Thread(target=lambda: result.append(sender.send(world.deliveries(sender))))
            storm.start()
            while store.summary()["distinct_events"] < len(world.objects) + len(world.events) // 3:
                time.sleep(0.005)  # real time: let part of the storm land
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            process = start()
            storm.join(90)
            assert not storm.is_alive()
            wait_until_settled(store)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        check_store(store, world, result[0], killed=True)
        fired = collections.Counter(tuple(line.split()[:2]) for line in log.read_text().splitlines())
        entered = {(i, e["state"]) for i in store.object_ids() for e in store.object(i)["entered"]}  # type: ignore[index]
        assert set(fired) == entered
        assert sum(n - 1 for n in fired.values()) <= 1
