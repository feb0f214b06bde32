"""The watcher follows background responses and batches as it follows runs: the real openai client against the fake.

``Watcher(client, lifecycle=...)`` polls with the lifecycle's policy, retries 429 (honouring
``retry-after``), 5xx and dropped connections, fires callbacks once per state entered, follows
a cancel to its real end (``cancelling`` is not the end) and stops on an unknown status. Every
test runs on the fake's virtual clock; requests are counted on the fake's side.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm import BATCH_LIFECYCLE, PRESETS, RESPONSE_LIFECYCLE, BatchStatus, Lifecycle, ResponseStatus, RunTracker
from runfsm.following import (
    AsyncScheduler,
    AsyncWatcher,
    Jitter,
    Scheduler,
    UnexpectedRunStatus,
    Watcher,
    WatchError,
    WatchTimeout,
    poll_object,
)
from runfsm.following.profile import profile
from runfsm.testing.fake import FakeAssistants, FakeAssistantsServer, Route
from runfsm.testing.strategies import stream_histories

OBJECTS = pytest.mark.parametrize("lifecycle", [RESPONSE_LIFECYCLE, BATCH_LIFECYCLE], ids=["response", "batch"])
RETRIEVE: dict[str, Route] = {"response": "retrieve_response", "batch": "retrieve_batch"}
SCRIPTS: dict[str, list[tuple[str, float]]] = {
    "response": [("queued", 3), ("in_progress", 90), ("completed", 0)],
    "batch": [("validating", 120), ("in_progress", 3 * 3600), ("finalizing", 600), ("completed", 0)],
}


def create(client: Any, lifecycle: Lifecycle[Any]) -> Any:
    """Create one object of ``lifecycle`` through the real SDK (a background response, or a batch)."""
    if lifecycle is RESPONSE_LIFECYCLE:
        return client.responses.create(model="gpt-fake", input="hi", background=True)
    return client.batches.create(input_file_id="file_1", endpoint="/v1/responses", completion_window="24h")


def seeded(lifecycle: Lifecycle[Any], seed: int = 7) -> Any:
    """The lifecycle's default policy with its jitter drawn from a seeded generator."""
    policy = profile(lifecycle).policy
    assert isinstance(policy, Jitter)
    return dataclasses.replace(policy, rng=random.Random(seed))


@OBJECTS
def test_a_watcher_follows_the_object_to_its_end_with_the_lifecycles_policy(lifecycle: Lifecycle[Any]) -> None:
    """Polled to completed, each state entered once; every retrieve is counted by the fake and by the result."""
    fake = FakeAssistants()
    fake.background.queue(lifecycle, SCRIPTS[lifecycle.key])
    client = fake.client()
    obj = create(client, lifecycle)
    tracker: RunTracker[Any] = RunTracker(mode="poll", on_illegal="raise", lifecycle=lifecycle)
    entered: list[str] = []
    for state in lifecycle.states:
        tracker.on_enter(state, lambda event: entered.append(event.state.label))
    result = Watcher(client, lifecycle=lifecycle, clock=fake.clock.now, sleep=fake.clock.sleep).poll(
        obj, tracker=tracker
    )
    assert result.status is lifecycle.parse("completed")
    assert entered == [status for status, _ in SCRIPTS[lifecycle.key]]
    assert result.retrieves == fake.count(RETRIEVE[lifecycle.key]) == result.requests
    assert (result.run.id, result.run.status) == (obj.id, "completed")


@OBJECTS
def test_faults_are_retried_and_429_waits_for_retry_after(lifecycle: Lifecycle[Any]) -> None:
    """A 429 (retry-after 40 s), a 500 and a dropped connection: retried, the object still followed to its end."""
    fake = FakeAssistants()
    fake.background.queue(lifecycle, SCRIPTS[lifecycle.key])
    client = fake.client()
    obj = create(client, lifecycle)
    route = RETRIEVE[lifecycle.key]
    fake.fail_next(429, retry_after=40, route=route)
    fake.fail_next(500, route=route)
    fake.drop_next(route=route)
    result = Watcher(client, lifecycle=lifecycle, clock=fake.clock.now, sleep=fake.clock.sleep).poll(obj.id)
    assert result.status is lifecycle.parse("completed")
    assert result.failures == 3
    sent = [r for r in fake.requests if r.route == route]
    assert [r.fault for r in sent[:3]] == ["429", "500", "drop"]
    assert sent[1].at - sent[0].at >= 40  # the server's retry-after, not the backoff's fraction of a second
    assert result.retrieves == len(sent)


def test_a_cancelled_batch_is_followed_through_cancelling_to_cancelled() -> None:
    """cancel() answers cancelling, which is not the end: the watch goes on until the batch is cancelled."""
    fake = FakeAssistants()
    client = fake.client()
    batch = create(client, BATCH_LIFECYCLE)
    fake.clock.advance(60)  # validated, in progress
    watcher = Watcher(client, lifecycle=BATCH_LIFECYCLE, clock=fake.clock.now, sleep=fake.clock.sleep)
    result = watcher.cancel(batch.id)
    statuses = [o.status for o in result.tracker.history if o.status is not None]
    assert statuses == [BatchStatus.Cancelling, BatchStatus.Cancelled]
    assert (result.cancels, fake.count("cancel_batch")) == (1, 1)
    assert result.retrieves == fake.count("retrieve_batch") >= 1


def test_a_cancelled_response_ends_at_once() -> None:
    """A background response has no cancelling: the cancel's answer is the end, no retrieve follows."""
    fake = FakeAssistants()
    client = fake.client()
    response = create(client, RESPONSE_LIFECYCLE)
    result = Watcher(client, lifecycle=RESPONSE_LIFECYCLE, clock=fake.clock.now, sleep=fake.clock.sleep).cancel(
        response.id
    )
    assert result.status is ResponseStatus.Cancelled
    assert (result.cancels, result.retrieves, fake.count("retrieve_response")) == (1, 0, 0)


@OBJECTS
def test_an_unknown_status_ends_the_watch_with_a_clear_error(lifecycle: Lifecycle[Any]) -> None:
    """A status no preset knows stops the watch (as for runs) rather than polling on it."""
    fake = FakeAssistants()
    client = fake.client()
    obj = create(client, lifecycle)
    fake.garble_next("paused", route=RETRIEVE[lifecycle.key])
    watcher = Watcher(client, lifecycle=lifecycle, clock=fake.clock.now, sleep=fake.clock.sleep)
    with pytest.raises(UnexpectedRunStatus, match=rf"{lifecycle.title.lower()} {obj.id}, last seen .*paused"):
        watcher.poll(obj.id)


@pytest.mark.slow
@OBJECTS
def test_a_stuck_object_ends_at_the_lifecycles_deadline(lifecycle: Lifecycle[Any]) -> None:
    """An object that never ends is given up on at its lifetime (a batch's expires_at) plus the grace, not before."""
    fake = FakeAssistants()
    first = SCRIPTS[lifecycle.key][0][0]
    fake.background.queue(lifecycle, [(first, 10 * 86_400.0)])
    client = fake.client()
    obj = create(client, lifecycle)
    start = fake.clock.now()
    with pytest.raises(WatchTimeout) as caught:
        Watcher(client, lifecycle=lifecycle, clock=fake.clock.now, sleep=fake.clock.sleep).poll(obj)
    defaults = profile(lifecycle)
    assert fake.clock.now() - start == pytest.approx(defaults.lifetime + defaults.grace, abs=1.0)
    assert caught.value.tracker is not None
    assert caught.value.tracker.state is lifecycle.parse(first)


def test_arguments_a_lifecycle_does_not_take_are_refused() -> None:
    """No tool handler where nothing pauses, no thread for a batch, no stream for batches, no azure client."""
    fake = FakeAssistants()
    client = fake.client()
    batches = Watcher(client, lifecycle=BATCH_LIFECYCLE)
    with pytest.raises(TypeError, match="never waits for tool outputs"):
        batches.poll("batch_1", on_action=lambda run: [])
    with pytest.raises(TypeError, match="has no thread"):
        batches.poll("batch_1", thread_id="thread_1")
    with pytest.raises(TypeError, match="expected a batch object, got a response object"):
        batches.poll({"id": "resp_1", "object": "response", "status": "queued"})
    with pytest.raises(TypeError, match="no stream"):
        batches.watch(input_file_id="file_1")
    with pytest.raises(ValueError, match="the tracker follows"):
        batches.poll("batch_1", tracker=RunTracker("batch_1"))
    with pytest.raises(TypeError, match=r"a background response with an openai\.OpenAI"):
        Watcher(object(), lifecycle=RESPONSE_LIFECYCLE)


def _timelines(lifecycle: Lifecycle[Any]) -> st.SearchStrategy[list[tuple[str, float]]]:
    """Scripts the fake can play: legal histories from create, each status lasting seconds to (batches) hours."""
    longest = 4 * 3600.0 if lifecycle is BATCH_LIFECYCLE else 600.0
    histories = stream_histories(lifecycle=lifecycle, lenient=True, cancel=False, min_tool_rounds=0, depth=2)
    return histories.flatmap(
        lambda h: st.lists(st.floats(0.5, longest), min_size=len(h), max_size=len(h)).map(
            lambda seconds: [(s.wire, t) for s, t in zip(h, seconds, strict=True)]
        )
    )


@pytest.mark.slow
@OBJECTS
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_the_watcher_sends_the_requests_poll_object_sends(lifecycle: Lifecycle[Any], data: st.DataObject) -> None:
    """Same script, same seeded policy: the watcher retrieves as often as poll_object (the reference) and ends alike.

    So the watcher's requests are the lifecycle policy's: nothing added by the machinery around it.
    """
    script = data.draw(_timelines(lifecycle))

    def reference() -> tuple[int, Any]:
        fake = FakeAssistants()
        fake.background.queue(lifecycle, script)
        client = fake.client()
        obj = create(client, lifecycle)
        resource = client.responses if lifecycle is RESPONSE_LIFECYCLE else client.batches
        done = poll_object(
            lambda: resource.retrieve(obj.id),
            lifecycle=lifecycle,
            policy=seeded(lifecycle),
            clock=fake.clock.now,
            sleep=fake.clock.sleep,
        )
        return fake.count(RETRIEVE[lifecycle.key]), done.tracker.state

    def watched() -> tuple[int, Any]:
        fake = FakeAssistants()
        fake.background.queue(lifecycle, script)
        client = fake.client()
        obj = create(client, lifecycle)
        watcher = Watcher(
            client, lifecycle=lifecycle, policy=seeded(lifecycle), clock=fake.clock.now, sleep=fake.clock.sleep
        )
        result = watcher.poll(obj.id, timeout=10 * 86_400.0)
        assert result.retrieves == fake.count(RETRIEVE[lifecycle.key])
        return result.retrieves, result.status

    assert watched() == reference()


@pytest.mark.slow
@OBJECTS
@settings(max_examples=15, deadline=None)
@given(data=st.data(), faults=st.lists(st.sampled_from(["429", "500", "drop"]), max_size=3))
def test_sync_and_async_twins_send_the_same_requests(
    lifecycle: Lifecycle[Any], data: st.DataObject, faults: list[str]
) -> None:
    """Same script, same faults, same seeded policies: the twins send the same requests at the same virtual times."""
    script = data.draw(_timelines(lifecycle))

    def prepare() -> tuple[FakeAssistants, str]:
        fake = FakeAssistants()
        fake.background.queue(lifecycle, script)
        obj = create(fake.client(), lifecycle)
        for fault in faults:
            if fault == "drop":
                fake.drop_next(route=RETRIEVE[lifecycle.key])
            else:
                fake.fail_next(int(fault), retry_after=5, route=RETRIEVE[lifecycle.key])
        return fake, obj.id

    def log(fake: FakeAssistants) -> list[tuple[str, float, str | None]]:
        return [(r.route, round(r.at, 6), r.fault) for r in fake.requests[1:]]

    fake, object_id = prepare()
    retry = dataclasses.replace(Watcher(fake.client()).retry, rng=random.Random(3))
    policy = seeded(lifecycle)
    sync = Watcher(
        fake.client(), lifecycle=lifecycle, policy=policy, retry=retry, clock=fake.clock.now, sleep=fake.clock.sleep
    )
    done = sync.poll(object_id, timeout=10 * 86_400.0)
    twin_fake, twin_id = prepare()
    twin = AsyncWatcher(
        twin_fake.async_client(),
        lifecycle=lifecycle,
        policy=seeded(lifecycle),
        retry=dataclasses.replace(retry, rng=random.Random(3)),
        clock=twin_fake.clock.now,
        sleep=twin_fake.clock.async_sleep,
    )
    twin_done = asyncio.run(twin.poll(twin_id, timeout=10 * 86_400.0))
    assert log(twin_fake) == log(fake)
    assert (twin_done.status, twin_done.retrieves, twin_done.failures) == (done.status, done.retrieves, done.failures)


def test_over_loopback_http_sync_and_async() -> None:
    """Over real HTTP on 127.0.0.1: a batch polled with a 500 on the way, and a response by the async twin."""
    with FakeAssistantsServer() as server:
        server.background.queue(BATCH_LIFECYCLE, SCRIPTS["batch"])
        with server.client(max_retries=0) as client:
            batch = create(client, BATCH_LIFECYCLE)
            server.fail_next(500, route="retrieve_batch")
            watcher = Watcher(client, lifecycle=BATCH_LIFECYCLE, clock=server.clock.now, sleep=server.clock.sleep)
            assert watcher.poll(batch).status is BatchStatus.Completed

        async def follow() -> Any:
            async with server.async_client(max_retries=0) as aclient:
                response = await aclient.responses.create(model="gpt-fake", input="hi", background=True)
                awatcher = AsyncWatcher(
                    aclient, lifecycle=RESPONSE_LIFECYCLE, clock=server.clock.now, sleep=server.clock.async_sleep
                )
                return (await awatcher.poll(response)).status

        assert asyncio.run(follow()) is ResponseStatus.Completed


def test_a_watch_error_names_the_object_not_a_thread() -> None:
    """Errors about a batch or a response say which object they are about, with no thread."""
    fake = FakeAssistants()
    client = fake.client()
    batch = create(client, BATCH_LIFECYCLE)
    fake.fail_next(400, route="retrieve_batch")
    with pytest.raises(WatchError, match=rf"^batch {batch.id}, last seen validating: retrieve was refused") as caught:
        Watcher(client, lifecycle=BATCH_LIFECYCLE, clock=fake.clock.now, sleep=fake.clock.sleep).poll(batch)
    assert (caught.value.run_id, caught.value.thread_id) == (batch.id, None)


@OBJECTS
def test_the_fakes_conduct_rules_find_nothing_to_blame(lifecycle: Lifecycle[Any]) -> None:
    """A poll hint above the policy's waits, a 429 and a cancel: the fake's rules find no violation.

    The rules judged: the poll hint, retry-after, cancelling waited out, no re-poll of a terminal
    object, no object abandoned.
    """
    fake = FakeAssistants(poll_after_ms=7000)
    fake.background.queue(lifecycle, SCRIPTS[lifecycle.key])
    client = fake.client()
    watcher = Watcher(client, lifecycle=lifecycle, clock=fake.clock.now, sleep=fake.clock.sleep)
    obj = create(client, lifecycle)
    fake.fail_next(429, retry_after=9, route=RETRIEVE[lifecycle.key])
    assert watcher.poll(obj).status.is_terminal
    other = create(client, lifecycle)
    fake.clock.advance(60 if lifecycle is BATCH_LIFECYCLE else 0)  # a batch is cancelled once validated
    assert watcher.cancel(other.id).status is lifecycle.parse("cancelled")
    fake.check_client()
    assert fake.violations == []


def test_a_watcher_ignoring_the_hint_is_caught() -> None:
    """The same watch with respect_hint=False polls a response every 2 s under a 7 s hint: the fake says so."""
    fake = FakeAssistants(poll_after_ms=7000)
    fake.background.queue(RESPONSE_LIFECYCLE, SCRIPTS["response"])
    client = fake.client()
    watcher = Watcher(
        client, lifecycle=RESPONSE_LIFECYCLE, respect_hint=False, clock=fake.clock.now, sleep=fake.clock.sleep
    )
    watcher.poll(create(client, RESPONSE_LIFECYCLE))
    assert {v.rule for v in fake.violations} == {"poll_hint"}


def test_docstring_examples() -> None:
    """The examples in the profile and budget modules' docstrings are true."""
    import doctest
    import importlib

    for name in ("runfsm.following.profile", "runfsm.following.budget"):
        module = importlib.import_module(name)  # runfsm.following.profile is also the function's name
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0
        assert result.failed == 0


def _make(client: Any, lifecycle: Lifecycle[Any]) -> Any:
    """One fresh object of any preset, the run included."""
    if lifecycle.key == "run":
        return client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="asst_1")
    return create(client, lifecycle)


@pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")
@pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=list(PRESETS))
def test_every_following_class_follows_every_preset(lifecycle: Lifecycle[Any]) -> None:
    """Watcher, AsyncWatcher, Scheduler and AsyncScheduler, built for each preset, follow its objects to their end."""
    fake = FakeAssistants()
    client = fake.client()
    now, sleep, async_sleep = fake.clock.now, fake.clock.sleep, fake.clock.async_sleep
    ends = [Watcher(client, lifecycle=lifecycle, clock=now, sleep=sleep).poll(_make(client, lifecycle)).status]
    scheduler = Scheduler(client, per_minute=60, lifecycle=lifecycle, clock=now, sleep=sleep)
    scheduler.add(_make(client, lifecycle))
    ends += [r.tracker.state for r in scheduler.run().values() if r.tracker is not None]

    async def follow() -> list[Any]:
        async with fake.async_client() as aclient:
            watcher = AsyncWatcher(aclient, lifecycle=lifecycle, clock=now, sleep=async_sleep)
            found = [(await watcher.poll(_make(client, lifecycle))).status]
            twin = AsyncScheduler(aclient, per_minute=60, lifecycle=lifecycle, clock=now, sleep=async_sleep)
            twin.add(_make(client, lifecycle))
            return found + [r.tracker.state for r in (await twin.run()).values() if r.tracker is not None]

    ends += asyncio.run(follow())
    assert ends == [lifecycle.parse("completed")] * 4
