"""End to end: the fake's background responses and batches, announced by its webhook sender, reconciled.

The real openai client creates them on the fake; the fake's faulty sender announces their ends
to the real receiver; the webhooks lost for good are found by reconcile, which retrieves them
through the same client.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

from runfsm.lifecycles import BATCH_LIFECYCLE, RESPONSE_LIFECYCLE
from runfsm.testing.fake import FakeAssistantsServer
from runfsm.testing.fake.webhooks import TEST_SECRET, DeliveryFaults, WebhookSender
from runfsm.webhooks import Entered, Receiver, Reconciler, WebhookStore, openai_retriever
from runfsm.webhooks.service import ReceiverServer

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def _settle(receiver: Receiver) -> None:
    for _ in range(600):
        summary = receiver.store.summary()
        if summary["events"].get("queued", 0) == 0 and summary["callbacks_pending"] == 0:
            return
        time.sleep(0.05)  # real time: the worker applies after each answer
    raise AssertionError(f"the store did not settle: {receiver.store.summary()}")


def test_the_fakes_objects_end_in_the_store_webhooks_first_reconcile_for_the_lost(
    make_receiver: Callable[..., Receiver],
) -> None:
    """Six background responses and three batches.

    Their terminal webhooks go out with duplicates, reordering, lost answers and bad signatures;
    two are never sent. Every object ends in the store where the fake says it ended; reconcile
    retrieves only the two whose webhook was lost (through the real SDK, over loopback), once each;
    every state entered fires its callback once.
    """
    with FakeAssistantsServer() as fake, fake.client(max_retries=0) as client:
        for outcome in ("completed", "failed", "incomplete", "completed", "completed", "completed"):
            steps = [("queued", 1.0), ("in_progress", 5.0), (outcome, 0.0)]
            fake.background.queue(RESPONSE_LIFECYCLE, steps)
        for outcome in ("completed", "expired", "completed"):
            steps = [("validating", 30.0), ("in_progress", 600.0)]
            steps += [("finalizing", 60.0), ("completed", 0.0)] if outcome == "completed" else [("expired", 0.0)]
            fake.background.queue(BATCH_LIFECYCLE, steps)
        receiver = make_receiver(clock=fake.clock.now, retrieve=openai_retriever(client), overdue_after=120)
        fired: collections.Counter[tuple[str, str]] = collections.Counter()

        def count(entered: Entered) -> None:
            fired.update([(entered.object_id, entered.state.name)])

        receiver.on_change(count)
        created: list[Any] = [client.responses.create(model="gpt-fake", input="hi", background=True) for _ in range(6)]
        created += [
            client.batches.create(input_file_id="file_in", endpoint="/v1/responses", completion_window="24h")
            for _ in range(3)
        ]
        for obj in created:
            receiver.track(obj)
        with ReceiverServer(receiver) as server:
            faults = DeliveryFaults(duplicate=0.3, reorder=True, lose_ack=0.2, bad_signature=0.1)
            sender = WebhookSender(server.url, TEST_SECRET, faults=faults, seed=11)
            fake.clock.advance(10)  # the responses have ended
            deliveries = sender.deliveries_of(fake)
            assert len(deliveries) == 6
            lost = deliveries.pop(1)  # never delivered, whatever the retries
            sender.send(deliveries)
            fake.clock.advance(3600)  # the batches have ended
            batch_deliveries = sender.deliveries_of(fake)
            assert len(batch_deliveries) == 3
            lost_batch = batch_deliveries.pop(0)
            report = sender.send(batch_deliveries)
            assert report.given_up == set()
            _settle(receiver)
            before = fake.count("retrieve_response") + fake.count("retrieve_batch")
            fake.clock.advance(86_400)  # past the batches' expires_at (their deadline), long past the responses'
            passes = Reconciler(receiver, per_minute=60).run_once()
            _settle(receiver)
        assert (passes.due, passes.polled) == (2, 2)
        assert fake.count("retrieve_response") + fake.count("retrieve_batch") - before == 2
        for obj in created:
            known = receiver.store.object(obj.id)
            assert known is not None
            assert known["state"] == fake.background.status(obj.id).name, obj.id
            assert known["polls"] == (1 if obj.id in (lost.object_id, lost_batch.object_id) else 0)
        assert set(fired.values()) == {1}
        assert (lost_batch.object_id, "Completed") in fired or (lost_batch.object_id, "Expired") in fired


def test_the_service_reconciles_what_another_process_tracked(tmp_path: Path) -> None:
    """``runfsm webhooks serve --reconcile`` polls what another process tracked in the same store file.

    The service's ``openai.OpenAI()`` comes from the environment (the fake's URL); the overdue
    response is retrieved once and its status applied.
    """
    store_path = tmp_path / "hooks.sqlite"
    with FakeAssistantsServer() as fake, fake.client(max_retries=0) as client:
        response = client.responses.create(model="gpt-fake", input="hi", background=True)
        fake.clock.advance(10)  # the default script: completed after 6 s
        with Receiver(store_path, secret=TEST_SECRET) as app_side:
            app_side.track(response, deadline=0.0)  # already overdue: its webhook never came
        port = _free_port()
        env = {**os.environ, "HOOK_SECRET": TEST_SECRET, "OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": "test"}
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
            "--reconcile",
            "0.2",
            "--budget",
            "600",
        ]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with WebhookStore(store_path) as store:
                for _ in range(600):
                    known = store.object(response.id)
                    if known is not None and known["state"] == "Completed":
                        break
                    time.sleep(0.05)  # real time: the service's reconcile loop
                else:
                    raise AssertionError(f"not reconciled: {store.object(response.id)}")
                assert known["polls"] == 1
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        assert fake.count("retrieve_response") == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_webhook_log_validates(make_receiver: Callable[..., Receiver], capsys: pytest.CaptureFixture[str]) -> None:
    """``runfsm webhooks log`` of a storm (duplicates, reordering) is a log ``runfsm validate`` reads and finds legal.

    The log holds each event once, in arrival order; sorted by the events' ``created_at``, every
    response's history is legal in the response lifecycle.
    """
    from runfsm.commands.main import main

    receiver = make_receiver()
    with FakeAssistantsServer() as fake, fake.client(max_retries=0) as client:
        for outcome in ("completed", "failed", "cancelled", "incomplete"):
            fake.background.queue(RESPONSE_LIFECYCLE, [("queued", 1.0), ("in_progress", 5.0), (outcome, 0.0)])
        for _ in range(4):
            client.responses.create(model="gpt-fake", input="hi", background=True)
        fake.clock.advance(10)
        with ReceiverServer(receiver) as server:
            faults = DeliveryFaults(duplicate=0.5, reorder=True, lose_ack=0.3)
            sender = WebhookSender(server.url, TEST_SECRET, faults=faults, seed=2)
            sender.send(sender.deliveries_of(fake))
            _settle(receiver)
    assert main(["webhooks", "log", "--store", str(receiver.store.path), "--lifecycle", "response"]) == 0
    log = receiver.store.path.with_suffix(".jsonl")
    log.write_text(capsys.readouterr().out)
    assert len(log.read_text().splitlines()) == 4
    assert main(["validate", str(log), "--lifecycle", "response", "--sort-by", "created_at"]) == 0
    assert "4 " in capsys.readouterr().out
