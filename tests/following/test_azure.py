"""Following Azure AI Foundry Agents runs: the watchers and schedulers with the real ``azure-ai-agents`` clients.

Every test drives the SDK's own ``AgentsClient`` (or ``azure.ai.agents.aio.AgentsClient``) against
the fake's Azure surface over loopback HTTP. The watcher is handed the client itself and picks
:class:`~runfsm.following.azure.AzureAgentsRuns`; properties show it follows drawn runs exactly
as it does with the ``openai`` client, and the asyncio twin as the sync one.
"""

from __future__ import annotations

import asyncio
import math
import random
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from azure.ai.agents.models import ThreadRun
from azure.core.exceptions import HttpResponseError, IncompleteReadError, ServiceRequestError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runfsm import RunStatus
from runfsm.exceptions import ApiError
from runfsm.following.azure import AsyncAzureAgentsRuns, AzureAgentsRuns, parse_event, translate_azure_error
from runfsm.following.backoff import ByStatus, Fixed, Jitter, PollPolicy, Schedule
from runfsm.following.core import WatchResult
from runfsm.following.scheduler import AsyncScheduler, Scheduler
from runfsm.following.watcher import AsyncWatcher, Watcher
from runfsm.testing.fake import STUCK, FakeAssistantsServer
from runfsm.testing.strategies import stream_histories

if TYPE_CHECKING:
    import openai
    from azure.ai.agents import AgentsClient

    from runfsm.testing.fake.script import StepLike

pytestmark = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")

R = RunStatus
ONE_ROUND: list[StepLike] = ["queued", ("in_progress", 4), "requires_action", "queued", ("in_progress", 3), "completed"]
"""A run with one tool round."""
Case = tuple[list[RunStatus], int]


def tools(run: Any) -> list[dict[str, str]]:
    """Answer every tool call of a ``requires_action`` run (an SDK ``ThreadRun``) with "18C"."""
    return [{"tool_call_id": c.id, "output": "18C"} for c in run.required_action.submit_tool_outputs.tool_calls]


async def async_tools(run: Any) -> list[dict[str, str]]:
    """The coroutine twin of :func:`tools`."""
    await asyncio.sleep(0)
    return tools(run)


def statuses(result: WatchResult) -> list[RunStatus]:
    """The statuses the watch observed, in order (client calls left out)."""
    return [o.status for o in result.tracker.history if o.status is not None]


def _watcher(server: FakeAssistantsServer, client: Any) -> Watcher:
    return Watcher(client, clock=server.clock.now, sleep=server.clock.sleep)


def _async_watcher(server: FakeAssistantsServer, client: Any) -> AsyncWatcher:
    return AsyncWatcher(client, clock=server.clock.now, sleep=server.clock.async_sleep)


def test_importing_the_following_wing_imports_no_azure() -> None:
    """``runfsm.following`` (watchers, schedulers, adapters) imports azure only when an adapter is built."""
    code = (
        "import sys, runfsm.following, runfsm.following.azure; print([m for m in sys.modules if m.startswith('azure')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_agents_clients_get_the_azure_adapters(fake_server: FakeAssistantsServer, fake_agents_client: Any) -> None:
    """A watcher or scheduler given an ``AgentsClient`` uses the Azure adapter; a sync/async mix-up is a TypeError."""
    assert isinstance(Watcher(fake_agents_client).api, AzureAgentsRuns)
    assert isinstance(Scheduler(fake_agents_client, per_minute=60).api, AzureAgentsRuns)
    with pytest.raises(TypeError, match=r"takes the asyncio azure\.ai\.agents\.aio\.AgentsClient"):
        AsyncWatcher(fake_agents_client)
    with pytest.raises(TypeError, match=r"AzureAgentsRuns takes an azure\.ai\.agents\.AgentsClient, got str"):
        AzureAgentsRuns("client")

    async def build() -> None:
        async with fake_server.async_agents_client() as client:
            assert isinstance(AsyncWatcher(client).api, AsyncAzureAgentsRuns)
            assert isinstance(AsyncScheduler(client, per_minute=60).api, AsyncAzureAgentsRuns)
            with pytest.raises(TypeError, match=r"takes the synchronous azure\.ai\.agents\.AgentsClient"):
                Watcher(client)

    asyncio.run(build())


def test_poll_follows_a_tool_round(fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient) -> None:
    """``Watcher.poll`` on a created run answers the tool round and ends when the run does, with the SDK's model."""
    fake_server.queue_run(ONE_ROUND)
    thread = fake_agents_client.threads.create()
    run = fake_agents_client.runs.create(thread_id=thread.id, agent_id="asst_1")
    result = _watcher(fake_server, fake_agents_client).poll(run, on_action=tools)
    assert result.status is R.Completed
    assert isinstance(result.run, ThreadRun)
    assert (result.submits, result.failures) == (1, 0)
    assert statuses(result)[-1] is R.Completed
    assert R.RequiresAction in statuses(result)
    assert fake_server.status(run.id) is R.Completed
    assert result.retrieves == fake_server.count("retrieve_run", run_id=run.id)
    assert [w for o in result.tracker.history for w in o.warnings] == []  # ThreadRun fields pass the invariants


def test_watch_follows_the_streams_without_a_retrieve(
    fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient
) -> None:
    """``Watcher.watch`` creates the run with ``runs.stream``, submits with ``submit_tool_outputs_stream``: no polls."""
    fake_server.queue_run(ONE_ROUND)
    thread = fake_agents_client.threads.create()
    result = _watcher(fake_server, fake_agents_client).watch(thread.id, assistant_id="asst_1", on_action=tools)
    assert result.status is R.Completed
    assert (result.retrieves, result.streams, result.submits) == (0, 2, 1)
    assert statuses(result) == [R.Created, *fake_server.history(result.tracker.run_id or "")]
    assert result.tracker.mode == "stream"


def test_a_broken_stream_falls_back_to_polling(
    fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient
) -> None:
    """A create stream cut after two events: the watch goes on by polling and still sees the run end."""
    fake_server.queue_run(["queued", ("in_progress", 5), "completed"])
    fake_server.cut_stream_next(events=2)
    thread = fake_agents_client.threads.create()
    result = _watcher(fake_server, fake_agents_client).watch(thread.id, assistant_id="asst_1")
    assert result.fell_back
    assert result.status is R.Completed
    assert result.retrieves >= 1


@pytest.mark.parametrize("outcome", ["cancelled", "completed"])
def test_cancel_follows_cancelling_to_the_real_end(
    fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient, outcome: str
) -> None:
    """``Watcher.cancel`` sends ``runs.cancel`` and follows ``cancelling`` to what comes, a cancel race included."""
    fake_server.queue_run(["queued", ("in_progress", STUCK)], cancel_seconds=3, cancel_outcome=outcome)
    thread = fake_agents_client.threads.create()
    run = fake_agents_client.runs.create(thread_id=thread.id, agent_id="asst_1")
    result = _watcher(fake_server, fake_agents_client).cancel(run)
    assert result.status is RunStatus.parse(outcome)
    assert result.cancels == 1
    assert R.Cancelling in statuses(result)


def test_an_incomplete_run_ends_the_watch(fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient) -> None:
    """A guardrail stop (``incomplete``, ``content_filter``), absent from Azure's enum, ends the watch as terminal."""
    fake_server.queue_run(["queued", ("in_progress", 2), "incomplete"], incomplete_reason="content_filter")
    thread = fake_agents_client.threads.create()
    run = fake_agents_client.runs.create(thread_id=thread.id, agent_id="asst_1")
    result = _watcher(fake_server, fake_agents_client).poll(run)
    assert result.status is R.Incomplete
    assert result.run.incomplete_details.reason == "content_filter"


def test_failures_are_retried_on_the_watchers_clock(
    fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient
) -> None:
    """A 429 (retry-after: 6) and a dropped answer: the watcher retries (the SDK's retries are off), the run ends."""
    fake_server.queue_run(["queued", ("in_progress", 20), "completed"])
    thread = fake_agents_client.threads.create()
    run = fake_agents_client.runs.create(thread_id=thread.id, agent_id="asst_1")
    fake_server.fail_next(429, retry_after=6, route="retrieve_run")
    fake_server.drop_next(route="retrieve_run")
    result = _watcher(fake_server, fake_agents_client).poll(run)
    assert result.status is R.Completed
    assert result.failures == 2
    log = [r for r in fake_server.requests if r.route == "retrieve_run" and r.run_id == run.id]
    assert [r.status_code for r in log[:3]] == [429, 0, 200]
    assert log[1].at - log[0].at >= 6


def test_tool_outputs_refused_for_an_expired_run(
    fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient
) -> None:
    """Outputs submitted after the run expired: the API's refusal is kept and the watch ends at ``expired``."""
    fake_server.queue_run(["queued", ("in_progress", 2), ("requires_action", STUCK)])
    thread = fake_agents_client.threads.create()
    run = fake_agents_client.runs.create(thread_id=thread.id, agent_id="asst_1")

    def slow_tools(run: Any) -> list[dict[str, str]]:
        fake_server.clock.advance(700)  # the tool takes longer than the run may live
        return tools(run)

    result = _watcher(fake_server, fake_agents_client).poll(run, on_action=slow_tools)
    assert result.status is R.Expired
    assert result.rejection == 'Runs in status "expired" do not accept tool outputs.'


def test_the_scheduler_follows_many_azure_runs(
    fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient
) -> None:
    """``Scheduler`` with an ``AgentsClient``: every run ends, tool rounds answered, within its budget."""
    scheduler = Scheduler(
        fake_agents_client, per_minute=120, clock=fake_server.clock.now, sleep=fake_server.clock.sleep
    )
    runs = []
    for i in range(5):
        fake_server.queue_run(ONE_ROUND if i % 2 else ["queued", ("in_progress", 3 + i), "completed"])
        thread = fake_agents_client.threads.create()
        runs.append(fake_agents_client.runs.create(thread_id=thread.id, agent_id="asst_1"))
        scheduler.add(runs[-1], on_action=tools)
    results = scheduler.run()
    assert {run.id: getattr(results[run.id], "status", None) for run in runs} == {run.id: R.Completed for run in runs}
    assert scheduler.max_in_window() <= 120


def test_the_async_twins_follow_azure_runs(fake_server: FakeAssistantsServer) -> None:
    """``AsyncWatcher`` (poll, watch, cancel) and ``AsyncScheduler`` with ``azure.ai.agents.aio.AgentsClient``."""

    async def scenario() -> tuple[WatchResult, WatchResult, WatchResult, dict[str, Any]]:
        async with fake_server.async_agents_client() as client:
            watcher = _async_watcher(fake_server, client)
            fake_server.queue_run(ONE_ROUND)
            thread = await client.threads.create()
            run = await client.runs.create(thread_id=thread.id, agent_id="asst_1")
            polled = await watcher.poll(run, on_action=async_tools)
            fake_server.queue_run(ONE_ROUND)
            watched = await watcher.watch(thread.id, assistant_id="asst_1", on_action=async_tools)
            fake_server.queue_run(["queued", ("in_progress", STUCK)], cancel_seconds=2)
            cancelled = await watcher.cancel(await client.runs.create(thread_id=thread.id, agent_id="asst_1"))
            scheduler = AsyncScheduler(
                client, per_minute=120, clock=fake_server.clock.now, sleep=fake_server.clock.async_sleep
            )
            for _ in range(3):
                fake_server.queue_run(ONE_ROUND)
                other = await client.threads.create()
                scheduler.add(await client.runs.create(thread_id=other.id, agent_id="asst_1"), on_action=async_tools)
            return polled, watched, cancelled, await scheduler.run()

    polled, watched, cancelled, scheduled = asyncio.run(scenario())
    assert (polled.status, polled.submits) == (R.Completed, 1)
    assert (watched.status, watched.retrieves, watched.streams) == (R.Completed, 0, 2)
    assert cancelled.status is R.Cancelled
    assert [getattr(r, "status", r) for r in scheduled.values()] == [R.Completed] * 3


def test_the_async_adapter_survives_a_cut_stream_and_a_dropped_answer(fake_server: FakeAssistantsServer) -> None:
    """Over aiohttp too: a create stream cut short falls back to polling; a dropped retrieve is retried."""

    async def scenario() -> WatchResult:
        async with fake_server.async_agents_client() as client:
            fake_server.queue_run(["queued", ("in_progress", 6), "completed"])
            fake_server.cut_stream_next(events=2)
            fake_server.drop_next(route="retrieve_run")
            thread = await client.threads.create()
            return await _async_watcher(fake_server, client).watch(thread.id, assistant_id="asst_1")

    result = asyncio.run(scenario())
    assert result.fell_back
    assert result.status is R.Completed
    assert result.failures == 1
    assert next(r.status_code for r in fake_server.requests if r.route == "retrieve_run") == 0


def test_azure_errors_become_api_errors() -> None:
    """azure-core's exceptions map to the watcher's kinds; anything else is not translated."""
    for err in (ServiceRequestError("refused"), IncompleteReadError("cut")):
        api = translate_azure_error(err)
        assert api is not None
        assert (api.kind, api.message) == ("connection", f"{type(err).__name__}: {err.message}")
    assert translate_azure_error(ValueError("x")) is None
    error = ApiError("boom", kind="timeout")
    assert translate_azure_error(error) is error


def test_http_errors_keep_status_message_and_retry_after(
    fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient
) -> None:
    """A 429 from the service becomes ``rate_limited`` with ``retry_after``; a 400 is ``rejected`` with its message."""
    thread = fake_agents_client.threads.create()
    fake_server.fail_next(429, retry_after=4, route="create_run")
    with pytest.raises(HttpResponseError) as limited:
        fake_agents_client.runs.create(thread_id=thread.id, agent_id="asst_1", retry_total=0)
    api = translate_azure_error(limited.value)
    assert api is not None
    assert (api.kind, api.status_code, api.retry_after) == ("rate_limited", 429, 4.0)
    with pytest.raises(HttpResponseError) as refused:
        fake_agents_client.runs.get(thread_id=thread.id, run_id="run_missing", retry_total=0)
    api = translate_azure_error(refused.value)
    assert api is not None
    assert (api.kind, api.message) == ("rejected", "No run found with id 'run_missing'.")


def test_stream_events_parse_like_the_sdk_reads_them() -> None:
    """Run events carry a ``ThreadRun``; others their JSON; ``done`` its text; an ``error`` event raises."""
    run = parse_event('event: thread.run.queued\ndata: {"id": "run_1", "object": "thread.run", "status": "queued"}')
    assert isinstance(run["data"], ThreadRun)
    assert run["data"].id == "run_1"
    assert parse_event('event: thread.message.delta\ndata: {"id": "m"}') == {
        "event": "thread.message.delta",
        "data": {"id": "m"},
    }
    assert parse_event("event: done\ndata: [DONE]") == {"event": "done", "data": "[DONE]"}
    with pytest.raises(ApiError, match="the stream reported an error"):
        parse_event("event: error\ndata: server_error")


# ----------------------------------------------------------------------------- same answers as openai

RUNS = st.tuples(stream_histories(cancel=False, max_length=10, depth=2), st.integers(0, 20))


def seeded_default() -> PollPolicy:
    """The ``DEFAULT`` preset with its jitter seeded: two watchers with it wait the same."""
    return Jitter(ByStatus(Schedule(((0, 2.2), (25, 3.0))), Queued=Fixed(2.0)), fraction=0.05, rng=random.Random(7))


def _follow(server: FakeAssistantsServer, run: Any, client: Any) -> WatchResult:
    watcher = Watcher(client, policy=seeded_default(), clock=server.clock.now, sleep=server.clock.sleep)
    return watcher.poll(run, on_action=tools)


def _start(server: FakeAssistantsServer, case: Case) -> None:
    history, seconds = case
    server.clock.advance_to(math.ceil(server.clock.now()))  # both runs start on a whole second: same timings
    server.queue_run(history, seconds=seconds)


def _summary(result: WatchResult) -> tuple[list[RunStatus], int, int, int]:
    return statuses(result), result.retrieves, result.submits, result.failures


@pytest.mark.slow
@pytest.mark.runfsm_fake(poll_after_ms=None)  # Azure sends no polling hint: neither side gets one
@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])  # one server, many runs
@given(case=RUNS)
def test_polling_an_azure_run_gives_the_same_answers_as_an_openai_run(
    fake_server: FakeAssistantsServer, fake_client: openai.OpenAI, fake_agents_client: AgentsClient, case: Case
) -> None:
    """A drawn run polled through ``AgentsClient`` and through ``openai.OpenAI``: same statuses, same requests."""
    _start(fake_server, case)
    thread = fake_client.beta.threads.create()
    openai_run = fake_client.beta.threads.runs.create(thread.id, assistant_id="a")
    with_openai = _follow(fake_server, openai_run, fake_client)
    _start(fake_server, case)
    thread_id = fake_agents_client.threads.create().id
    run = fake_agents_client.runs.create(thread_id=thread_id, agent_id="a")
    with_azure = _follow(fake_server, run, fake_agents_client)
    assert _summary(with_azure) == _summary(with_openai)
    assert with_azure.status is fake_server.status(run.id)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=RUNS)
def test_watching_with_the_async_client_gives_the_same_answers_as_the_sync_one(
    fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient, case: Case
) -> None:
    """``AsyncWatcher.watch`` with the aio ``AgentsClient`` sees what ``Watcher.watch`` sees with the sync one."""
    _start(fake_server, case)
    thread_id = fake_agents_client.threads.create().id
    sync = _watcher(fake_server, fake_agents_client).watch(thread_id, assistant_id="a", on_action=tools)

    async def watch() -> WatchResult:
        async with fake_server.async_agents_client() as client:
            return await _async_watcher(fake_server, client).watch(thread_id, assistant_id="a", on_action=async_tools)

    _start(fake_server, case)
    asynchronous = asyncio.run(watch())
    assert _summary(asynchronous) == _summary(sync)
    assert (asynchronous.streams, asynchronous.status) == (sync.streams, sync.status)
