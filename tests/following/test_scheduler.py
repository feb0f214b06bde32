"""The scheduler: a token bucket keeping any 60 s window within the budget, many runs under it, one result per run."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm import CallbackError, RunStatus
from runfsm.following.core import WatchResult
from runfsm.following.errors import HandlerFailed, HandlerTimeout, UnexpectedRunStatus, WatchError
from runfsm.following.scheduler import AsyncScheduler, Scheduler, TokenBucket
from runfsm.testing.fake import FakeAssistants

pytestmark = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")


def max_in_window(times: list[float], window: float = 60.0) -> int:
    """Largest number of times within any closed window of ``window`` seconds."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] > window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


@given(
    per_minute=st.integers(2, 400),
    burst_fraction=st.floats(0.0, 0.9),
    attempts=st.lists(st.floats(0, 0.5, allow_nan=False), min_size=1, max_size=600),
)
def test_token_bucket_never_exceeds_the_budget_in_any_window(
    per_minute: int, burst_fraction: float, attempts: list[float]
) -> None:
    """Whatever the request pattern (gaps on a virtual clock, taking as soon as ready), any 60 s holds <= per_minute."""
    burst = max(1, min(per_minute - 1, int(per_minute * burst_fraction)))
    bucket = TokenBucket(per_minute, burst=burst, now=0.0)
    now, sent = 0.0, []
    for gap in attempts:
        now += gap
        ready = bucket.ready_at(now)
        if ready > now and gap < 0.25:
            now = ready  # an eager client waits exactly until the next token
        if bucket.take(now):
            sent.append(now)
    assert max_in_window(sent) <= per_minute


def test_token_bucket_rejects_bad_budgets() -> None:
    """Budgets and bursts are validated with messages naming the argument."""
    with pytest.raises(ValueError, match="per_minute"):
        TokenBucket(1)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(10, burst=10)


def tools(run: Any) -> list[dict[str, str]]:
    """Answer every tool call with "ok"."""
    return [{"tool_call_id": c.id, "output": "ok"} for c in run.required_action.submit_tool_outputs.tool_calls]


@settings(max_examples=12)
@given(n=st.integers(1, 12), per_minute=st.integers(4, 40))
def test_many_runs_stay_within_budget_and_all_end(n: int, per_minute: int) -> None:
    """N runs (some with tool calls) under a small budget: every run ends, no 60 s window exceeds the budget."""
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = Scheduler(client, per_minute=per_minute, clock=fake.clock.now, sleep=fake.clock.sleep)
    thread_ids = []
    for i in range(n):
        script: list[Any] = [
            "queued",
            ("in_progress", 3 + i % 7),
            "requires_action",
            "queued",
            "in_progress",
            "completed",
        ]
        fake.queue_run(script if i % 3 == 0 else ["queued", ("in_progress", 2 + i % 11), "completed"])
        thread = client.beta.threads.create()
        thread_ids.append(thread.id)
        scheduler.add(client.beta.threads.runs.create(thread.id, assistant_id="a"), on_action=tools)
    results = scheduler.run()
    assert len(results) == n
    assert all(isinstance(r, WatchResult) and r.status is RunStatus.Completed for r in results.values())
    sent = [r.at for r in fake.requests if r.route in ("retrieve_run", "submit_tool_outputs", "cancel_run")]
    assert max_in_window(sent) <= per_minute
    assert scheduler.max_in_window() <= per_minute


def test_a_429_pauses_every_run() -> None:
    """After a 429 with retry-after: 10, no run sends anything for 10 s."""
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = Scheduler(client, per_minute=600, clock=fake.clock.now, sleep=fake.clock.sleep)
    for _ in range(5):
        fake.queue_run(["queued", ("in_progress", 20), "completed"])
        scheduler.add(client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="a"))
    fake.fail_next(429, route="retrieve_run", retry_after=10)
    results = scheduler.run()
    assert all(isinstance(r, WatchResult) and r.status is RunStatus.Completed for r in results.values())
    log = [r for r in fake.requests if r.route == "retrieve_run"]
    limited = next(r for r in log if r.status_code == 429)
    after = [r.at for r in log if r.at > limited.at]
    assert after
    assert min(after) - limited.at >= 10


def test_runs_needing_action_go_first_and_handlers_may_return_futures() -> None:
    """A run whose tool outputs are ready is submitted before due retrieves of others; a Future handler works."""
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = Scheduler(client, per_minute=12, burst=1, clock=fake.clock.now, sleep=fake.clock.sleep)
    pending: list[Future[Any]] = []

    def later(run: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        fut.set_result(tools(run))
        pending.append(fut)
        return fut

    fake.queue_run(["queued", ("in_progress", 1), "requires_action", "queued", "in_progress", "completed"])
    first = client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="a")
    for _ in range(6):
        fake.queue_run(["queued", ("in_progress", 30), "completed"])
        scheduler.add(client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="a"))
    scheduler.add(first, on_action=later)
    results = scheduler.run()
    assert pending
    result = results[first.id]
    assert isinstance(result, WatchResult)
    paused = next(o.time for o in result.tracker.history if o.status is RunStatus.RequiresAction)
    assert paused is not None
    log = [r for r in fake.requests if r.route in ("retrieve_run", "submit_tool_outputs")]
    seen = max(i for i, r in enumerate(log) if r.at <= paused and r.run_id == first.id)
    submit = next(i for i, r in enumerate(log) if r.route == "submit_tool_outputs")
    # other runs' retrieves were due all along (the budget is tight), yet the submit is the very next request
    assert submit == seen + 1


def test_one_failing_run_does_not_stop_the_others() -> None:
    """A run answering an unknown status ends with its WatchError in the results; the other runs are followed."""
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = Scheduler(client, per_minute=600, clock=fake.clock.now, sleep=fake.clock.sleep)
    runs = []
    for _ in range(3):
        fake.queue_run(["queued", ("in_progress", 8), "completed"])
        runs.append(client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="a"))
        scheduler.add(runs[-1])
    fake.garble_next("on_hold", run_id=runs[1].id)
    results = scheduler.run()
    assert isinstance(results[runs[1].id], UnexpectedRunStatus)
    for run in (runs[0], runs[2]):
        result = results[run.id]
        assert isinstance(result, WatchResult)
        assert result.status is RunStatus.Completed


@settings(max_examples=10)
@given(n=st.integers(1, 12), per_minute=st.integers(4, 40))
def test_async_twin_stays_within_budget_with_requests_in_flight(n: int, per_minute: int) -> None:
    """AsyncScheduler (concurrent requests, coroutine handlers): all runs end, any 60 s window within the budget."""
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = AsyncScheduler(
        fake.async_client(), per_minute=per_minute, clock=fake.clock.now, sleep=fake.clock.async_sleep
    )

    async def async_tools(run: Any) -> list[dict[str, str]]:
        await asyncio.sleep(0)
        return tools(run)

    for i in range(n):
        script: list[Any] = [
            "queued",
            ("in_progress", 2 + i % 5),
            "requires_action",
            "queued",
            "in_progress",
            "completed",
        ]
        fake.queue_run(script if i % 2 else ["queued", ("in_progress", 1 + i % 9), "completed"])
        scheduler.add(
            client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="a"), on_action=async_tools
        )
    fake.fail_next(429, route="retrieve_run", retry_after=5)
    results = asyncio.run(scheduler.run())
    assert len(results) == n
    assert all(isinstance(r, WatchResult) and r.status is RunStatus.Completed for r in results.values())
    sent = [r.at for r in fake.requests if r.route in ("retrieve_run", "submit_tool_outputs", "cancel_run")]
    assert max_in_window(sent) <= per_minute


def test_docstring_examples() -> None:
    """The examples in runfsm.following.scheduler's docstrings are true."""
    import doctest

    import runfsm.following.scheduler

    result = doctest.testmod(runfsm.following.scheduler, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# ----------------------------------------------------------------------------- handlers that fail (issue 11)

_TOOL_SCRIPT: list[Any] = ["queued", ("in_progress", 2), "requires_action", "queued", "in_progress", "completed"]


def _raises(run: Any) -> Any:
    raise RuntimeError("tool crashed")


def _wrong_type(run: Any) -> Any:
    return "ok"


def _wrong_item(run: Any) -> Any:
    return [{"output": "no id"}]


def _failing_future(run: Any) -> Any:
    fut: Future[Any] = Future()
    fut.set_exception(RuntimeError("tool crashed in its pool"))
    return fut


def _cancelled_future(run: Any) -> Any:
    fut: Future[Any] = Future()
    fut.cancel()
    return fut


def _wrong_type_future(run: Any) -> Any:
    fut: Future[Any] = Future()
    fut.set_result(42)
    return fut


BAD_HANDLERS = {
    "raises": (_raises, RuntimeError),
    "wrong-type": (_wrong_type, TypeError),
    "wrong-item": (_wrong_item, TypeError),
    "failing-future": (_failing_future, RuntimeError),
    "cancelled-future": (_cancelled_future, None),
    "future-of-wrong-type": (_wrong_type_future, TypeError),
}


def _three_runs(fake: FakeAssistants, client: Any) -> list[Any]:
    runs = []
    for _ in range(3):
        fake.queue_run(_TOOL_SCRIPT)
        runs.append(client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="a"))
    return runs


def _check_only_the_bad_run_failed(
    results: dict[str, Any], runs: list[Any], kind: type[WatchError], cause: type[BaseException] | None
) -> None:
    assert set(results) == {r.id for r in runs}
    bad = results[runs[1].id]
    assert isinstance(bad, kind)
    assert bad.run_id == runs[1].id
    assert bad.tracker is not None
    assert bad.tracker.state is RunStatus.RequiresAction
    assert (type(bad.__cause__) if cause is not None else bad.__cause__) == cause
    for run in (runs[0], runs[2]):
        result = results[run.id]
        assert isinstance(result, WatchResult)
        assert result.status is RunStatus.Completed


@pytest.mark.parametrize("name", sorted(BAD_HANDLERS))
def test_a_failing_handler_fails_only_its_own_run(name: str) -> None:
    """A handler that raises, returns no tool outputs or a failing future: HandlerFailed for its run, the rest go on."""
    handler, cause = BAD_HANDLERS[name]
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = Scheduler(client, per_minute=600, clock=fake.clock.now, sleep=fake.clock.sleep)
    runs = _three_runs(fake, client)
    for run in runs:
        scheduler.add(run, on_action=handler if run is runs[1] else tools)
    _check_only_the_bad_run_failed(scheduler.run(), runs, HandlerFailed, cause)


@pytest.mark.parametrize("name", sorted(BAD_HANDLERS))
def test_a_failing_handler_fails_only_its_own_run_async(name: str) -> None:
    """The async twin, with the same handlers and with a coroutine handler that raises."""
    handler, cause = BAD_HANDLERS[name]
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = AsyncScheduler(fake.async_client(), per_minute=600, clock=fake.clock.now, sleep=fake.clock.async_sleep)
    runs = _three_runs(fake, client)

    async def crashing(run: Any) -> Any:
        await asyncio.sleep(0)
        raise RuntimeError("async tool crashed")

    for run in runs:
        scheduler.add(run, on_action=handler if run is runs[1] else tools)
    _check_only_the_bad_run_failed(asyncio.run(scheduler.run()), runs, HandlerFailed, cause)

    fake.queue_run(_TOOL_SCRIPT)
    again = client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="a")
    scheduler.add(again, on_action=crashing)
    result = asyncio.run(scheduler.run())[again.id]
    assert isinstance(result, HandlerFailed)
    assert isinstance(result.__cause__, RuntimeError)


def test_a_future_that_never_completes_times_out() -> None:
    """A future that never resolves ends its run with HandlerTimeout after handler_timeout, and is cancelled."""
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = Scheduler(client, per_minute=600, clock=fake.clock.now, sleep=fake.clock.sleep, handler_timeout=30)
    forgotten: list[Future[Any]] = []

    def never(run: Any) -> Future[Any]:
        forgotten.append(Future())
        return forgotten[-1]

    runs = _three_runs(fake, client)
    for run in runs:
        scheduler.add(run, on_action=never if run is runs[1] else tools)
    started = fake.clock.now()
    results = scheduler.run()
    _check_only_the_bad_run_failed(results, runs, HandlerTimeout, None)
    assert forgotten[0].cancelled()
    assert 30 <= fake.clock.now() - started < 40


def test_without_a_timeout_the_run_deadline_still_ends_a_stuck_handler() -> None:
    """No handler_timeout: a future that never resolves is given up at the run's deadline; run() returns."""
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = Scheduler(client, per_minute=600, clock=fake.clock.now, sleep=fake.clock.sleep, idle_wait=1.0)
    runs = _three_runs(fake, client)
    for run in runs:
        scheduler.add(run, on_action=(lambda run: Future()) if run is runs[1] else tools)
    results = scheduler.run()
    _check_only_the_bad_run_failed(results, runs, HandlerTimeout, None)
    assert "deadline" in str(results[runs[1].id])


def test_a_coroutine_that_never_completes_times_out_async() -> None:
    """AsyncScheduler: a coroutine handler that hangs is cancelled at handler_timeout; the others complete."""
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = AsyncScheduler(
        fake.async_client(), per_minute=600, clock=fake.clock.now, sleep=fake.clock.async_sleep, handler_timeout=15
    )
    cancelled: list[bool] = []

    async def hangs(run: Any) -> Any:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    runs = _three_runs(fake, client)
    for run in runs:
        scheduler.add(run, on_action=hangs if run is runs[1] else tools, handler_timeout=None)
    _check_only_the_bad_run_failed(asyncio.run(scheduler.run()), runs, HandlerTimeout, None)
    assert cancelled == [True]


def test_an_async_handler_given_to_the_sync_scheduler_fails_its_run() -> None:
    """The sync scheduler cannot await: a coroutine handler fails its run with a message naming AsyncScheduler."""
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = Scheduler(client, per_minute=600, clock=fake.clock.now, sleep=fake.clock.sleep)

    async def async_tools(run: Any) -> Any:
        return tools(run)

    runs = _three_runs(fake, client)
    for run in runs:
        scheduler.add(run, on_action=async_tools if run is runs[1] else tools)
    results = scheduler.run()
    _check_only_the_bad_run_failed(results, runs, HandlerFailed, None)
    assert "AsyncScheduler" in str(results[runs[1].id])


def test_a_raising_callback_ends_only_its_run() -> None:
    """An on-enter callback that raises is recorded as that run's WatchError (CallbackError as the cause)."""
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = Scheduler(client, per_minute=600, clock=fake.clock.now, sleep=fake.clock.sleep)
    runs = _three_runs(fake, client)
    for run in runs:
        tracker = scheduler.add(run, on_action=tools)
        if run is runs[1]:
            tracker.on_enter(RunStatus.RequiresAction, _raises)
    results = scheduler.run()
    assert set(results) == {r.id for r in runs}
    failed = results[runs[1].id]
    assert isinstance(failed, WatchError)
    assert isinstance(failed.__cause__, CallbackError)
    assert all(isinstance(results[r.id], WatchResult) for r in (runs[0], runs[2]))


def test_each_run_is_added_once_and_timeouts_are_checked() -> None:
    """Adding a followed run again would lose one of its results: refused; handler_timeout must be positive."""
    fake = FakeAssistants(poll_after_ms=None)
    client = fake.client()
    scheduler = Scheduler(client, per_minute=600, clock=fake.clock.now, sleep=fake.clock.sleep)
    (run, *_) = _three_runs(fake, client)
    scheduler.add(run)
    with pytest.raises(ValueError, match="already added"):
        scheduler.add(run.id, thread_id=run.thread_id)
    with pytest.raises(ValueError, match="handler_timeout"):
        Scheduler(client, per_minute=600, handler_timeout=0)
