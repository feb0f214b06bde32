"""The scheduler follows runs, background responses and batches together, under one request budget.

Each object is followed with its own lifecycle's policy (read from the object's ``object``
field), every request spends a token of the one bucket, a 429 pauses everyone, and each object
ends with its own result. The real openai client talks to the fake on its virtual clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm import BATCH_LIFECYCLE, RESPONSE_LIFECYCLE, BatchStatus, ResponseStatus, RunStatus
from runfsm.following import AsyncScheduler, Scheduler, WatchResult
from runfsm.testing.fake import FakeAssistants

pytestmark = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")

SENT = ("retrieve_run", "retrieve_response", "retrieve_batch", "cancel_batch", "cancel_response")


def max_in_window(times: list[float], window: float = 60.0) -> int:
    """The most requests in any closed ``window``-second interval (counted on the fake's side)."""
    return max((sum(1 for u in times if t <= u <= t + window) for t in times), default=0)


def add_mixed(fake: FakeAssistants, client: Any, add: Any, n: int) -> dict[str, Any]:
    """``n`` of each: a run, a background response of a minute or two, a batch of one to three hours."""
    expected: dict[str, Any] = {}
    for i in range(n):
        fake.queue_run(["queued", ("in_progress", 5 + i), "completed"])
        run = client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="a")
        fake.background.queue(RESPONSE_LIFECYCLE, [("queued", 2), ("in_progress", 60 + 30 * i), ("completed", 0)])
        response = client.responses.create(model="gpt-fake", input="hi", background=True)
        script = [("validating", 60), ("in_progress", 3600 * (1 + i % 3)), ("finalizing", 300), ("completed", 0)]
        fake.background.queue(BATCH_LIFECYCLE, script)
        batch = client.batches.create(input_file_id="file_1", endpoint="/v1/responses", completion_window="24h")
        for obj in (run, response, batch):
            add(obj)
        expected |= {
            run.id: RunStatus.Completed,
            response.id: ResponseStatus.Completed,
            batch.id: BatchStatus.Completed,
        }
    return expected


@settings(max_examples=8, deadline=None)
@given(n=st.integers(1, 6), per_minute=st.integers(4, 30))
def test_mixed_objects_share_one_budget_and_all_end(n: int, per_minute: int) -> None:
    """Runs, responses and batches under a small budget: all end, no 60 s window exceeds it, batches poll rarely."""
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = Scheduler(client, per_minute=per_minute, clock=fake.clock.now, sleep=fake.clock.sleep)
    expected = add_mixed(fake, client, scheduler.add, n)
    results = scheduler.run()
    assert {key: r.status for key, r in results.items() if isinstance(r, WatchResult)} == expected
    sent = [r.at for r in fake.requests if r.route in SENT]
    assert max_in_window(sent) <= per_minute
    assert scheduler.max_in_window() <= per_minute
    for key, result in results.items():
        assert isinstance(result, WatchResult)
        assert result.requests == len([r for r in fake.requests if r.route in SENT and r.run_id == key])
        if key.startswith("batch_"):  # BATCH_DEFAULT: minutes between retrieves, hours of work
            assert result.requests <= 40


def test_a_429_on_a_batch_pauses_every_object() -> None:
    """After a 429 with retry-after 20 on a batch, nobody sends anything for 20 s: runs and responses wait too."""
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = Scheduler(client, per_minute=600, clock=fake.clock.now, sleep=fake.clock.sleep)
    add_mixed(fake, client, scheduler.add, 2)
    fake.fail_next(429, retry_after=20, route="retrieve_batch")
    scheduler.run()
    sent = [r for r in fake.requests if r.route in SENT]
    first = next(i for i, r in enumerate(sent) if r.fault == "429")
    assert sent[first + 1].at - sent[first].at >= 20


def test_an_object_by_id_takes_its_lifecycle() -> None:
    """By id, an object needs lifecycle= (the scheduler's lifecycle is assumed otherwise); a batch takes no handler."""
    fake = FakeAssistants()
    client = fake.client()
    batch = client.batches.create(input_file_id="file_1", endpoint="/v1/responses", completion_window="24h")
    scheduler = Scheduler(client, per_minute=60, clock=fake.clock.now, sleep=fake.clock.sleep)
    with pytest.raises(TypeError, match="never waits for tool outputs"):
        scheduler.add(batch, on_action=lambda obj: [])
    tracker = scheduler.add(batch.id, lifecycle=BATCH_LIFECYCLE)
    assert tracker.lifecycle is BATCH_LIFECYCLE
    with pytest.raises(ValueError, match="already added"):
        scheduler.add(batch)
    results = scheduler.run()
    assert results[batch.id].tracker.state is BatchStatus.Completed  # type: ignore[union-attr]


def test_the_async_twin_follows_mixed_objects_within_the_budget() -> None:
    """AsyncScheduler: requests of different objects in flight together, still never over the budget.

    The budget is checked where it is spent: each request takes its token when it starts
    (``scheduler.sent``), and the fake saw exactly those requests. The fake's own arrival times
    are not the send times here: an in-flight request task may reach the in-process fake after
    virtual time has moved on (the openai client's set-up runs in real threads, which lag on a
    loaded machine), so they can bunch up; they are not what the budget bounds.
    """
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    sent: list[float] = []

    async def follow() -> tuple[dict[str, Any], dict[str, Any]]:
        async with fake.async_client() as aclient:
            await aclient.batches.list()
            scheduler = AsyncScheduler(aclient, per_minute=12, clock=fake.clock.now, sleep=fake.clock.async_sleep)
            expected = add_mixed(fake, client, scheduler.add, 3)
            results = await scheduler.run()
        assert scheduler.max_in_window() <= 12
        sent.extend(scheduler.sent)
        return {key: r.status for key, r in results.items() if isinstance(r, WatchResult)}, expected

    seen, expected = asyncio.run(follow())
    assert seen == expected
    assert len(sent) == len([r for r in fake.requests if r.route in SENT])
