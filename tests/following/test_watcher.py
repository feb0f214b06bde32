"""The watcher against the fake Assistants API, with the real openai client: polls, streams, tools, cancels, faults.

Every test runs on the fake's virtual clock (``clock=fake.clock.now, sleep=fake.clock.sleep``):
no real sleeping. The sync and async twins are checked on the same scenarios.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any

import pytest

from runfsm import RunStatus, RunTracker
from runfsm.following.backoff import Fixed, RetryPolicy
from runfsm.following.core import DEFAULT_GRACE
from runfsm.following.errors import RequestsFailed, UnexpectedRunStatus, WatchError, WatchTimeout
from runfsm.following.watcher import AsyncWatcher, Watcher
from runfsm.testing.fake import STUCK, FakeAssistants, FakeAssistantsServer, RunScript
from runfsm.testing.fake.objects import tool_call

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")

TOOL_RUN: list[Any] = ["queued", ("in_progress", 5), "requires_action", "queued", ("in_progress", 3), "completed"]


def tools(run: Any) -> list[dict[str, str]]:
    """Answer every tool call with "42"."""
    return [{"tool_call_id": c.id, "output": "42"} for c in run.required_action.submit_tool_outputs.tool_calls]


@pytest.fixture
def fake() -> FakeAssistants:
    """A fresh in-process fake API."""
    return FakeAssistants()


@pytest.fixture
def watcher(fake: FakeAssistants) -> Watcher:
    """A watcher on the fake's virtual clock, with the real openai client."""
    return Watcher(fake.client(), clock=fake.clock.now, sleep=fake.clock.sleep)


def start(fake: FakeAssistants, script: list[Any]) -> Any:
    """Queue ``script`` and create a run that plays it."""
    fake.queue_run(script)
    client = fake.client()
    thread = client.beta.threads.create()
    return client.beta.threads.runs.create(thread.id, assistant_id="asst_1")


class TestPoll:
    def test_follows_a_tool_run_to_completed_and_fires_callbacks(self, fake: FakeAssistants, watcher: Watcher) -> None:
        """Poll: the handler's outputs are submitted, the tracker records the call, on_enter callbacks fire."""
        run = start(fake, TOOL_RUN)
        tracker = RunTracker(mode="poll", on_illegal="raise")
        entered: list[RunStatus] = []
        for status in (RunStatus.RequiresAction, RunStatus.Completed):
            tracker.on_enter(status, lambda e: entered.append(e.state))
        result = watcher.poll(run, on_action=tools, tracker=tracker)
        assert result.status is RunStatus.Completed
        assert entered == [RunStatus.RequiresAction, RunStatus.Completed]
        assert result.submits == 1 == fake.count("submit_tool_outputs")
        assert result.retrieves == fake.count("retrieve_run", run_id=run.id)
        assert not tracker.violations
        assert fake.warnings() == []

    def test_without_a_handler_stops_at_requires_action(self, fake: FakeAssistants, watcher: Watcher) -> None:
        """Like the SDK's runs.poll, a watch with no tool handler returns when the run pauses."""
        result = watcher.poll(start(fake, TOOL_RUN))
        assert result.status is RunStatus.RequiresAction
        assert fake.count("submit_tool_outputs") == 0

    def test_server_hint_is_a_lower_bound(self, fake: FakeAssistants) -> None:
        """With openai-poll-after-ms = 4000, retrieves are never closer than 4 s, whatever the policy says."""
        fake.poll_after_ms = 4000
        watcher = Watcher(fake.client(), policy=Fixed(0.1), clock=fake.clock.now, sleep=fake.clock.sleep)
        run = start(fake, ["queued", ("in_progress", 30), "completed"])
        watcher.poll(run.id, thread_id=run.thread_id)
        times = [r.at for r in fake.requests if r.route == "retrieve_run"]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert gaps
        assert min(gaps) >= 4.0

    def test_a_policy_that_says_no_wait_is_an_error_not_a_tight_loop(self, fake: FakeAssistants) -> None:
        """A policy of your own returning NaN: a clear ValueError after one retrieve, never a burst of them."""
        watcher = Watcher(fake.client(), policy=lambda ctx: float("nan"), clock=fake.clock.now, sleep=fake.clock.sleep)
        run = start(fake, ["queued", ("in_progress", 30), "completed"])
        with pytest.raises(ValueError, match="the polling policy returned nan"):
            watcher.poll(run.id, thread_id=run.thread_id)
        assert fake.count("retrieve_run", run_id=run.id) == 1

    def test_a_lifecycle_given_by_its_key_is_refused(self, fake: FakeAssistants) -> None:
        with pytest.raises(TypeError, match=r"for a preset give runfsm.preset\('response'\)"):
            Watcher(fake.client(), lifecycle="response")  # type: ignore[arg-type]

    def test_retries_429_honouring_retry_after_and_5xx(self, fake: FakeAssistants, watcher: Watcher) -> None:
        """A 429 with retry-after: 7 delays the next retrieve by at least 7 s; 500s are retried; the run is followed."""
        run = start(fake, TOOL_RUN)
        fake.fail_next(429, route="retrieve_run", retry_after=7)
        fake.fail_next(500, route="retrieve_run", times=2)
        result = watcher.poll(run, on_action=tools)
        assert result.status is RunStatus.Completed
        assert result.failures == 3
        log = [r for r in fake.requests if r.route == "retrieve_run"]
        assert log[0].status_code == 429
        assert log[1].at - log[0].at >= 7

    def test_lost_submit_response_is_not_resubmitted(self, fake: FakeAssistants, watcher: Watcher) -> None:
        """A submit applied but its response lost: the watcher retrieves, sees it applied, and submits only once."""
        run = start(fake, TOOL_RUN)
        fake.drop_next(route="submit_tool_outputs", processed=True)
        result = watcher.poll(run, on_action=tools)
        assert result.status is RunStatus.Completed
        assert fake.count("submit_tool_outputs") == 1
        assert not result.tracker.violations

    def test_dropped_submit_is_sent_again(self, fake: FakeAssistants, watcher: Watcher) -> None:
        """A submit lost before the server saw it: the run is still waiting for the same calls, so it is sent again."""
        run = start(fake, TOOL_RUN)
        fake.drop_next(route="submit_tool_outputs")
        calls: list[str] = []

        def handler(r: Any) -> list[dict[str, str]]:
            calls.append(r.id)
            return tools(r)

        result = watcher.poll(run, on_action=handler)
        assert result.status is RunStatus.Completed
        assert len(calls) == 1, "the handler runs once per round; its outputs are reused"
        assert fake.count("submit_tool_outputs") == 2

    def test_expired_rejection_is_reported_not_retried(self, fake: FakeAssistants, watcher: Watcher) -> None:
        """Tools slower than expires_at: the 400 'expired' rejection ends the watch at Expired, with the message."""
        run = start(fake, TOOL_RUN)

        def slow_tools(r: Any) -> list[dict[str, str]]:
            fake.clock.advance(700)
            return tools(r)

        result = watcher.poll(run, on_action=slow_tools)
        assert result.status is RunStatus.Expired
        assert result.rejection == 'Runs in status "expired" do not accept tool outputs.'
        assert fake.count("submit_tool_outputs") == 1

    def test_stuck_run_ends_at_its_expiry_not_a_fixed_budget(self, fake: FakeAssistants, watcher: Watcher) -> None:
        """A run stuck in_progress is followed past 60 s, until the server expires it at created_at + 600."""
        run = start(fake, ["queued", ("in_progress", STUCK)])
        result = watcher.poll(run)
        assert result.status is RunStatus.Expired
        assert fake.clock.now() - run.created_at >= 600

    def test_callers_timeout_raises_with_the_tracker(self, fake: FakeAssistants, watcher: Watcher) -> None:
        """The caller's timeout ends the watch with WatchTimeout naming the run; the run is not lost."""
        run = start(fake, ["queued", ("in_progress", STUCK)])
        with pytest.raises(WatchTimeout, match=run.id) as info:
            watcher.poll(run, timeout=30)
        assert info.value.run_id == run.id
        assert info.value.tracker is not None
        assert info.value.tracker.state is RunStatus.InProgress

    def test_deadline_is_expiry_plus_grace_when_the_server_never_ends_it(self, fake: FakeAssistants) -> None:
        """If a broken server keeps saying in_progress past expires_at, the watch stops at expires_at + grace."""
        watcher = Watcher(fake.client(), clock=fake.clock.now, sleep=fake.clock.sleep, grace=DEFAULT_GRACE)
        run = start(fake, ["queued", ("in_progress", STUCK)])
        fake.garble_next("in_progress", times=10_000)
        with pytest.raises(WatchTimeout, match="expires_at plus the grace period"):
            watcher.poll(run)
        assert run.expires_at + DEFAULT_GRACE <= fake.clock.now() <= run.expires_at + DEFAULT_GRACE + 5

    def test_unknown_status_ends_the_watch_with_a_clear_error(self, fake: FakeAssistants, watcher: Watcher) -> None:
        """A status runfsm does not know stops the watch at once (no loop), naming the status."""
        run = start(fake, ["queued", ("in_progress", 30), "completed"])
        fake.garble_next("paused_for_review")
        with pytest.raises(UnexpectedRunStatus, match="paused_for_review"):
            watcher.poll(run)
        assert fake.count("retrieve_run") == 1

    def test_endless_failures_end_with_requests_failed_when_bounded(self, fake: FakeAssistants) -> None:
        """With RetryPolicy(max_consecutive=3), the fourth 500 in a row ends the watch with RequestsFailed."""
        watcher = Watcher(
            fake.client(), retry=RetryPolicy(max_consecutive=3), clock=fake.clock.now, sleep=fake.clock.sleep
        )
        run = start(fake, ["queued", ("in_progress", 30), "completed"])
        fake.fail_next(500, route="retrieve_run", times=10)
        with pytest.raises(RequestsFailed, match="4 requests failed in a row") as info:
            watcher.poll(run)
        assert info.value.run_id == run.id
        assert fake.count("retrieve_run") == 4

    def test_a_refused_retrieve_is_reported(self, fake: FakeAssistants, watcher: Watcher) -> None:
        """A 404 (the run or thread does not exist) is not retried: RequestsFailed names the request."""
        thread = fake.client().beta.threads.create()
        with pytest.raises(RequestsFailed, match="retrieve was refused"):
            watcher.poll("run_missing", thread_id=thread.id)
        assert fake.count("retrieve_run") == 1


class TestCancel:
    @pytest.mark.parametrize("outcome", ["cancelled", "completed", "failed"])
    def test_follows_cancelling_to_the_real_outcome(self, fake: FakeAssistants, outcome: str) -> None:
        """Cancel is requested and recorded; the watch follows cancelling to whatever comes (not guaranteed)."""
        fake.queue_run(["queued", ("in_progress", 30), "completed"], cancel_outcome=outcome, cancel_seconds=4)
        client = fake.client()
        run = client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="asst_1")
        watcher = Watcher(client, clock=fake.clock.now, sleep=fake.clock.sleep)
        fake.clock.advance(2)
        result = watcher.cancel(run.id, thread_id=run.thread_id, tracker=RunTracker(on_illegal="raise"))
        assert result.status is RunStatus.parse(outcome)
        assert fake.count("cancel_run") == 1
        assert [o.outcome.value for o in result.tracker.history][:2] == ["call", "start"]

    def test_cancel_of_a_run_that_just_ended_reports_its_real_end(self, fake: FakeAssistants) -> None:
        """'Cannot cancel run with status completed': the watcher retrieves once and reports Completed."""
        client = fake.client()
        run = start(fake, ["queued", ("in_progress", 3), "completed"])
        fake.clock.advance(10)
        result = Watcher(client, clock=fake.clock.now, sleep=fake.clock.sleep).cancel(run.id, thread_id=run.thread_id)
        assert result.status is RunStatus.Completed
        assert fake.count("cancel_run") == 1
        assert fake.count("retrieve_run") == 1


class TestStream:
    def test_watch_needs_no_retrieve(self, fake: FakeAssistants, watcher: Watcher) -> None:
        """Stream-first: create and submit streams are joined by run id; zero status retrieves."""
        fake.queue_run(TOOL_RUN)
        thread = fake.client().beta.threads.create()
        tracker = RunTracker(on_illegal="raise")
        result = watcher.watch(thread.id, assistant_id="asst_1", on_action=tools, tracker=tracker)
        assert result.status is RunStatus.Completed
        assert fake.count("retrieve_run") == 0
        assert result.retrieves == 0
        assert result.streams == 2
        assert tracker.mode == "stream"
        assert [o.status for o in tracker.history if o.status is not None] == [
            RunStatus.Created,
            RunStatus.Queued,
            RunStatus.InProgress,
            RunStatus.RequiresAction,
            RunStatus.Queued,
            RunStatus.InProgress,
            RunStatus.Completed,
        ]

    def test_broken_stream_falls_back_to_polling(self, fake: FakeAssistants, watcher: Watcher) -> None:
        """A create stream cut after three events: the watch polls on and still ends at Completed."""
        fake.queue_run(TOOL_RUN)
        thread = fake.client().beta.threads.create()
        fake.cut_stream_next(events=3)
        result = watcher.watch(thread.id, assistant_id="asst_1", on_action=tools)
        assert result.fell_back
        assert result.status is RunStatus.Completed
        assert result.retrieves >= 1
        assert not result.tracker.violations

    def test_create_stream_dropped_after_the_run_was_created_finds_the_run(
        self, fake: FakeAssistants, watcher: Watcher
    ) -> None:
        """The connection drops after the server created the run: the watcher finds it on the thread and follows it."""
        fake.queue_run(TOOL_RUN)
        thread = fake.client().beta.threads.create()
        fake.drop_next(route="create_run", processed=True)
        result = watcher.watch(thread.id, assistant_id="asst_1", on_action=tools)
        assert result.status is RunStatus.Completed
        assert result.fell_back
        assert fake.count("create_run") == 1
        assert fake.count("list_runs") == 1

    def test_create_stream_dropped_before_the_run_existed_creates_it_again(
        self, fake: FakeAssistants, watcher: Watcher
    ) -> None:
        """The connection drops before the server saw the create: the thread has no run, so it is created again."""
        fake.queue_run(TOOL_RUN)
        thread = fake.client().beta.threads.create()
        fake.drop_next(route="create_run")
        result = watcher.watch(thread.id, assistant_id="asst_1", on_action=tools)
        assert result.status is RunStatus.Completed
        assert [r.route for r in fake.requests][1:4] == ["create_run", "list_runs", "create_run"]
        assert len(fake.run_ids()) == 1
        assert result.streams == 2

    @pytest.mark.parametrize("status_code", [429, 500, 503])
    def test_a_create_answered_429_or_5xx_is_retried_without_a_duplicate(
        self, fake: FakeAssistants, watcher: Watcher, status_code: int
    ) -> None:
        """The README's promise holds for the create: 429 and 5xx retried after retry-after, never a duplicate."""
        fake.queue_run(TOOL_RUN)
        thread = fake.client().beta.threads.create()
        fake.fail_next(status_code, route="create_run", times=2, retry_after=3)
        started = fake.clock.now()
        result = watcher.watch(thread.id, assistant_id="asst_1", on_action=tools)
        assert result.status is RunStatus.Completed
        assert fake.count("create_run") == 3
        assert fake.count("list_runs") == 2  # looked on the thread before each re-create
        assert len(fake.run_ids()) == 1
        creates = [r.at for r in fake.requests if r.route == "create_run"]
        assert creates[1] - started >= 3
        assert creates[2] - creates[1] >= 3

    def test_a_create_that_keeps_failing_ends_with_requests_failed(self, fake: FakeAssistants) -> None:
        """Bounded retries: max_consecutive=2 and a create failing three times: RequestsFailed, no run made."""
        watcher = Watcher(
            fake.client(), retry=RetryPolicy(max_consecutive=2), clock=fake.clock.now, sleep=fake.clock.sleep
        )
        thread = fake.client().beta.threads.create()
        fake.fail_next(503, route="create_run", times=5)
        with pytest.raises(RequestsFailed, match="no run was created"):
            watcher.watch(thread.id, assistant_id="asst_1")
        assert fake.run_ids() == []

    def test_looking_for_the_run_is_retried_and_never_leaks_a_raw_error(
        self, fake: FakeAssistants, watcher: Watcher
    ) -> None:
        """The create stream drops after the run was made, listing fails twice: found, followed, one run."""
        fake.queue_run(TOOL_RUN)
        thread = fake.client().beta.threads.create()
        fake.drop_next(route="create_run", processed=True)
        fake.fail_next(500, route="list_runs", times=2)
        result = watcher.watch(thread.id, assistant_id="asst_1", on_action=tools)
        assert result.status is RunStatus.Completed
        assert fake.count("create_run") == 1
        assert fake.count("list_runs") == 3

    def test_a_refused_listing_ends_with_a_watch_error_saying_the_run_may_exist(
        self, fake: FakeAssistants, watcher: Watcher
    ) -> None:
        """Listing refused after a broken create: no second create (it could duplicate), a WatchError, not ApiError."""
        fake.queue_run(TOOL_RUN)
        thread = fake.client().beta.threads.create()
        fake.drop_next(route="create_run", processed=True)
        fake.fail_next(403, route="list_runs")
        with pytest.raises(RequestsFailed, match="may exist"):
            watcher.watch(thread.id, assistant_id="asst_1", on_action=tools)
        assert fake.count("create_run") == 1

    def test_a_new_round_with_the_same_tool_call_ids_goes_to_the_handler(self, fake: FakeAssistants) -> None:
        """Rounds repeating their tool-call ids, the first submit's answer lost: the handler answers each round."""
        rounds: list[Any] = ["queued", ("in_progress", 2), "requires_action", "queued", ("in_progress", 4)]
        script = RunScript(
            [*rounds, "requires_action", "queued", "in_progress", "completed"], tool_calls=[tool_call("call_same")]
        )
        fake.queue_run(script)
        run = fake.client().beta.threads.runs.create(fake.client().beta.threads.create().id, assistant_id="asst_1")
        answered: list[str] = []

        def handler(r: Any) -> list[dict[str, str]]:
            answered.append(f"round {len(answered) + 1}")
            return [{"tool_call_id": "call_same", "output": answered[-1]}]

        fake.drop_next(route="submit_tool_outputs", processed=True)
        watcher = Watcher(fake.client(), policy=Fixed(1.0), clock=fake.clock.now, sleep=fake.clock.sleep)
        result = watcher.poll(run, on_action=handler)
        assert result.status is RunStatus.Completed
        assert answered == ["round 1", "round 2"]
        assert fake.count("submit_tool_outputs") == 2

    def test_refused_create_is_a_clear_error(self, fake: FakeAssistants, watcher: Watcher) -> None:
        """A thread with an active run refuses another: the 400 is reported, nothing is looked for or retried."""
        run = start(fake, ["queued", ("in_progress", STUCK)])
        with pytest.raises(WatchError, match=r"refused to create the run.*already has an active run"):
            watcher.watch(run.thread_id, assistant_id="asst_1")
        assert fake.count("list_runs") == 0


class TestAsync:
    def test_async_twin_polls_with_faults(self, fake: FakeAssistants) -> None:
        """AsyncWatcher: same decisions (429 retried, async tool handler awaited), on the async openai client."""
        run = start(fake, TOOL_RUN)
        watcher = AsyncWatcher(fake.async_client(), clock=fake.clock.now, sleep=fake.clock.async_sleep)

        async def async_tools(r: Any) -> list[dict[str, str]]:
            await asyncio.sleep(0)
            return tools(r)

        fake.fail_next(429, route="retrieve_run", retry_after=2)
        fake.drop_next(route="retrieve_run")
        result = asyncio.run(watcher.poll(run, on_action=async_tools))
        assert result.status is RunStatus.Completed
        assert result.failures == 2

    def test_async_stream_and_cancel(self, fake: FakeAssistants) -> None:
        """AsyncWatcher.watch needs no retrieve; AsyncWatcher.cancel follows to cancelled."""
        fake.queue_run(TOOL_RUN)
        thread = fake.client().beta.threads.create()
        watcher = AsyncWatcher(fake.async_client(), clock=fake.clock.now, sleep=fake.clock.async_sleep)
        result = asyncio.run(watcher.watch(thread.id, assistant_id="asst_1", on_action=tools))
        assert result.status is RunStatus.Completed
        assert fake.count("retrieve_run") == 0
        run = start(fake, ["queued", ("in_progress", STUCK)])
        cancelled = asyncio.run(watcher.cancel(run))
        assert cancelled.status is RunStatus.Cancelled

    def test_async_stream_breaks_and_polls_on(self, fake: FakeAssistants) -> None:
        """AsyncWatcher.watch falls back to polling when the create stream is cut, and when it drops unannounced."""
        watcher = AsyncWatcher(fake.async_client(), clock=fake.clock.now, sleep=fake.clock.async_sleep)
        fake.queue_run(TOOL_RUN)
        thread = fake.client().beta.threads.create()
        fake.cut_stream_next(events=2)
        result = asyncio.run(watcher.watch(thread.id, assistant_id="asst_1", on_action=tools))
        assert result.fell_back
        assert result.status is RunStatus.Completed
        fake.queue_run(TOOL_RUN)
        fake.drop_next(route="create_run", processed=True)
        found = asyncio.run(watcher.watch(fake.client().beta.threads.create().id, assistant_id="a", on_action=tools))
        assert found.status is RunStatus.Completed
        assert fake.count("list_runs") == 1

    def test_async_create_is_retried_and_listing_retried(self, fake: FakeAssistants) -> None:
        """AsyncWatcher.watch: a 503 create is made again after looking; a failing listing is retried."""
        watcher = AsyncWatcher(fake.async_client(), clock=fake.clock.now, sleep=fake.clock.async_sleep)
        fake.queue_run(TOOL_RUN)
        fake.fail_next(503, route="create_run")
        fake.fail_next(500, route="list_runs", times=2)
        thread = fake.client().beta.threads.create()
        result = asyncio.run(watcher.watch(thread.id, assistant_id="asst_1", on_action=tools))
        assert result.status is RunStatus.Completed
        assert (fake.count("create_run"), fake.count("list_runs"), len(fake.run_ids())) == (2, 3, 1)


@pytest.fixture
def server() -> Iterator[FakeAssistantsServer]:
    """The fake served over loopback HTTP."""
    with FakeAssistantsServer() as srv:
        yield srv


def test_over_loopback_http(server: FakeAssistantsServer) -> None:
    """Over real HTTP on 127.0.0.1: a stream watch and a poll with a 500, sync and async."""
    import openai

    clock = server.clock
    with openai.OpenAI(base_url=server.url, api_key="test") as client:
        server.queue_run(TOOL_RUN)
        thread = client.beta.threads.create()
        watcher = Watcher(client, clock=clock.now, sleep=clock.sleep)
        assert watcher.watch(thread.id, assistant_id="a", on_action=tools).status is RunStatus.Completed
        server.queue_run(TOOL_RUN)
        run = client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="a")
        server.fail_next(500, route="retrieve_run")
        assert watcher.poll(run, on_action=tools).status is RunStatus.Completed

    async def follow() -> RunStatus:
        async with openai.AsyncOpenAI(base_url=server.url, api_key="test") as aclient:
            server.queue_run(TOOL_RUN)
            arun = await aclient.beta.threads.runs.create(thread.id, assistant_id="a")
            awatcher = AsyncWatcher(aclient, clock=clock.now, sleep=clock.async_sleep)
            return (await awatcher.poll(arun, on_action=tools)).status

    assert asyncio.run(follow()) is RunStatus.Completed


def test_slow_response_times_out_and_is_retried(server: FakeAssistantsServer) -> None:
    """A response slower than the client's timeout (loopback, 0.5 s real delay vs 0.1 s) is a timeout, retried."""
    import openai

    with openai.OpenAI(base_url=server.url, api_key="test", timeout=0.1) as client:
        server.queue_run(["queued", ("in_progress", 5), "completed"])
        run = client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="a")
        server.slow_next(0.0, route="retrieve_run", real_seconds=0.5)
        result = Watcher(client, clock=server.clock.now, sleep=server.clock.sleep).poll(run)
    assert result.status is RunStatus.Completed
    assert any("timeout" in note for note in result.notes)


def test_docstring_examples() -> None:
    """The examples in runfsm.following.watcher's docstrings are true."""
    import doctest

    import runfsm.following.watcher

    result = doctest.testmod(runfsm.following.watcher, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
