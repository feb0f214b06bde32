"""Polling background responses and batches (any preset) with the lifecycle's policy: poll_object and its async twin."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm import BATCH_LIFECYCLE, PRESETS, RESPONSE_LIFECYCLE, BatchStatus, Lifecycle
from runfsm.following import (
    BATCH_DEFAULT,
    BY_LIFECYCLE,
    DEFAULT,
    ByStatus,
    Fixed,
    Jitter,
    PollContext,
    PollTimeout,
    apoll_object,
    poll_object,
)
from runfsm.testing.strategies import stream_histories

ALL = pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=list(PRESETS))


class Timeline:
    """A server in virtual time: the object is in ``history[i]`` from ``starts[i]`` on; retrieving costs nothing."""

    def __init__(self, object_type: str | None, history: list[Any], seconds: list[float]) -> None:
        self.object_type = object_type
        self.history = history
        self.starts = [sum(seconds[:i]) for i in range(len(history))]
        self.now = 0.0
        self.retrieves = 0

    def status(self) -> Any:
        return [s for s, start in zip(self.history, self.starts, strict=True) if start <= self.now][-1]

    def retrieve(self) -> dict[str, Any]:
        self.retrieves += 1
        return {"object": self.object_type, "id": "obj_1", "status": self.status().wire}

    async def aretrieve(self) -> dict[str, Any]:
        return self.retrieve()

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.now += seconds


def _timelines(lifecycle: Lifecycle[Any], max_seconds: float) -> st.SearchStrategy[tuple[list[Any], list[float]]]:
    histories = stream_histories(lifecycle=lifecycle, lenient=True, cancel=False, min_tool_rounds=0, depth=2)
    return histories.filter(lambda h: not any(s.is_paused for s in h)).flatmap(
        lambda h: st.tuples(st.just(h), st.lists(st.floats(0.5, max_seconds), min_size=len(h), max_size=len(h)))
    )


@ALL
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_the_default_policy_follows_every_object_to_its_end(lifecycle: Lifecycle[Any], data: st.DataObject) -> None:
    """Whatever the timeline, polling with the preset's policy ends on its final status with nothing rejected."""
    scale = 3600.0 if lifecycle is BATCH_LIFECYCLE else 60.0
    history, seconds = data.draw(_timelines(lifecycle, scale))
    server = Timeline(lifecycle.object_type, history, seconds)
    result = poll_object(server.retrieve, lifecycle=lifecycle, clock=lambda: server.now, sleep=server.sleep)
    assert result.tracker.state is history[-1]
    assert result.tracker.violations == []
    assert result.retrieves == server.retrieves
    assert result.final == {"object": lifecycle.object_type, "id": "obj_1", "status": history[-1].wire}


@ALL
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_the_async_twin_makes_the_same_requests(lifecycle: Lifecycle[Any], data: st.DataObject) -> None:
    """apoll_object retrieves at the same virtual times and ends with the same history as poll_object.

    Each twin gets the preset's policy with its jitter seeded alike.
    """
    history, seconds = data.draw(_timelines(lifecycle, 600.0))
    default = BY_LIFECYCLE[lifecycle.key]
    assert isinstance(default, Jitter)
    sync_server = Timeline(lifecycle.object_type, history, seconds)
    done = poll_object(
        sync_server.retrieve,
        lifecycle=lifecycle,
        policy=dataclasses.replace(default, rng=random.Random(7)),
        clock=lambda: sync_server.now,
        sleep=sync_server.sleep,
    )
    async_server = Timeline(lifecycle.object_type, history, seconds)
    twin = asyncio.run(
        apoll_object(
            async_server.aretrieve,
            lifecycle=lifecycle,
            policy=dataclasses.replace(default, rng=random.Random(7)),
            clock=lambda: async_server.now,
            sleep=async_server.asleep,
        )
    )
    assert (twin.retrieves, twin.elapsed) == (done.retrieves, done.elapsed)
    assert twin.tracker.history == done.tracker.history


def test_a_batch_of_hours_costs_few_retrieves() -> None:
    """A batch validating 2 min, running 3 h and finalizing 10 min: the batch policy needs a few dozen retrieves."""
    b = BatchStatus
    history = [b.Validating, b.InProgress, b.Finalizing, b.Completed]
    seconds = [120.0, 3 * 3600.0, 600.0, 1.0]
    batch = Timeline("batch", history, seconds)
    policy = dataclasses.replace(BATCH_DEFAULT, rng=random.Random(1))  # type: ignore[type-var]  # a Jitter
    result = poll_object(
        batch.retrieve, lifecycle=BATCH_LIFECYCLE, policy=policy, clock=lambda: batch.now, sleep=batch.sleep
    )
    run_policy = Timeline("batch", history, seconds)
    seconds_policy = poll_object(
        run_policy.retrieve,
        lifecycle=BATCH_LIFECYCLE,
        policy=DEFAULT,
        clock=lambda: run_policy.now,
        sleep=run_policy.sleep,
    )
    assert result.tracker.state is b.Completed
    assert result.retrieves <= 45  # 38 with this seed
    assert seconds_policy.retrieves > 10 * result.retrieves  # the run's seconds-scale policy: thousands
    assert result.elapsed - sum(seconds[:-1]) <= 900 * 1.1  # seen within one 15-minute wait (and its jitter)


def test_policies_by_lifecycle_and_by_status_names() -> None:
    """Each preset has a default policy; ByStatus names the statuses of the lifecycle it is given."""
    assert set(BY_LIFECYCLE) == set(PRESETS)
    assert BY_LIFECYCLE["batch"] is BATCH_DEFAULT
    policy = ByStatus(Fixed(60), lifecycle=BATCH_LIFECYCLE, Finalizing=Fixed(5))
    assert policy(PollContext(status=BatchStatus.Finalizing)) == 5
    assert policy(PollContext(status=BatchStatus.InProgress)) == 60
    with pytest.raises(ValueError, match="not a BatchStatus member name; expected one of Null, Validating"):
        ByStatus(Fixed(1), lifecycle=BATCH_LIFECYCLE, RequiresAction=Fixed(1))
    assert RESPONSE_LIFECYCLE.key in BY_LIFECYCLE


def test_a_deadline_raises_with_the_tracker() -> None:
    """timeout: a batch still running past it ends in PollTimeout, which says where it stood."""
    batch = Timeline("batch", [BatchStatus.Validating, BatchStatus.InProgress], [10.0, 10.0])
    with pytest.raises(PollTimeout, match="batch obj_1: still in_progress after 3600 s") as info:
        poll_object(batch.retrieve, lifecycle=BATCH_LIFECYCLE, timeout=3600, clock=lambda: batch.now, sleep=batch.sleep)
    assert info.value.tracker.state is BatchStatus.InProgress


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
def test_a_timeout_that_is_no_positive_number_is_refused_before_any_retrieve(timeout: float) -> None:
    """timeout=0 or NaN: a ValueError before the first retrieve (0 timed out at once, NaN never)."""
    batch = Timeline("batch", [BatchStatus.InProgress], [10.0])
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds or None"):
        poll_object(batch.retrieve, lifecycle=BATCH_LIFECYCLE, timeout=timeout, sleep=batch.sleep)
    assert batch.retrieves == 0


@pytest.mark.parametrize("wait", [float("nan"), float("inf"), -1.0, "1"], ids=["nan", "inf", "negative", "text"])
def test_a_policy_of_your_own_that_says_no_wait_is_an_error_not_a_tight_loop(wait: object) -> None:
    """A NaN wait was read as 0 s: polling without pause, what following runs is meant to prevent."""
    batch = Timeline("batch", [BatchStatus.Validating, BatchStatus.InProgress, BatchStatus.Completed], [5.0] * 3)
    with pytest.raises(ValueError, match=r"the polling policy returned .*: a wait is a finite number of seconds >= 0"):
        poll_object(batch.retrieve, lifecycle=BATCH_LIFECYCLE, policy=lambda ctx: wait, sleep=batch.sleep)  # type: ignore[arg-type,return-value]
    assert batch.retrieves == 1


def test_a_lifecycle_given_by_its_key_is_refused_with_the_call_that_gives_it() -> None:
    """The following API takes Lifecycle objects; a preset's key gets the call that gives one."""
    with pytest.raises(TypeError, match=r"for a preset give runfsm.preset\('batch'\)"):
        poll_object(lambda: "completed", lifecycle="batch")  # type: ignore[arg-type]


def test_what_is_not_callable_is_refused_by_name() -> None:
    """retrieve=client.batches.retrieve(batch_id) (an object, not a function), or policy=3: named, before any call."""
    with pytest.raises(TypeError, match=r"retrieve is what fetches the object, a function of no arguments"):
        poll_object({"object": "batch", "status": "completed"}, lifecycle=BATCH_LIFECYCLE)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="policy must be callable"):
        poll_object(lambda: "completed", lifecycle=BATCH_LIFECYCLE, policy=3)  # type: ignore[arg-type]
