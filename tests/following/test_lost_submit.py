"""A submit whose answer was lost, and a run that waits for the same call ids: the run's steps decide, not a guess.

The server applied the submit of round 1 and the connection dropped before its answer; by the next
retrieve the run is already in round 2, which reuses round 1's tool-call ids. The run object looks
exactly as it would if the submit had never arrived. Sending round 1's outputs again would answer
round 2 with them (the server accepts: the ids match), so the watcher and the scheduler list the
run's steps instead: round 1's step completed with the outputs sent means the submit was applied
and round 2 goes to the handler; round 1's step still in progress means it was not, and the same
outputs are sent again. When the steps cannot be listed, or do not settle it, following stops
with :class:`~runfsm.following.errors.SubmitInDoubt` and the run is left waiting.

Every follower (``Watcher.poll``, ``Watcher.watch`` over SSE, ``Scheduler``, and their asyncio
twins) is driven with the real ``openai`` client and the real ``azure-ai-agents`` client against
the fake over loopback HTTP, on the fake's virtual clock. Each round's outputs are read back from
the fake's run steps through the openai client.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runfsm import RunStatus
from runfsm.exceptions import ApiError
from runfsm.following.backoff import Fixed, RetryPolicy
from runfsm.following.core import WatchResult
from runfsm.following.errors import SubmitInDoubt, WatchError
from runfsm.following.scheduler import AsyncScheduler, Scheduler
from runfsm.following.watcher import AsyncWatcher, Watcher
from runfsm.testing.fake import FakeAssistants, FakeAssistantsServer, RunScript
from runfsm.testing.fake.objects import tool_call

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")

Sdk = Literal["openai", "azure"]
Mode = Literal["poll", "watch", "schedule"]
Outcome = WatchResult | WatchError

SAME_IDS = [tool_call("call_same")]
"""Every round asks for one call with this id (as some agents do: ids are only unique per round)."""


def two_rounds(gap: float = 0.0) -> RunScript:
    """Two rounds with the same call id; after the first submit the run is back in requires_action within ``gap`` s."""
    return RunScript(
        [
            "queued",
            ("in_progress", 2),
            "requires_action",
            ("queued", gap / 2),
            ("in_progress", gap / 2),
            "requires_action",
            "queued",
            "in_progress",
            "completed",
        ],
        tool_calls=SAME_IDS,
    )


class Handler:
    """Answers each call with ``round k`` (or always ``same``); records the rounds it was given."""

    def __init__(self, *, same: bool = False) -> None:
        self.same = same
        self.calls = 0

    def __call__(self, run: Any) -> list[dict[str, str]]:
        self.calls += 1
        output = "same" if self.same else f"round {self.calls}"
        return [{"tool_call_id": c.id, "output": output} for c in run.required_action.submit_tool_outputs.tool_calls]


def round_outputs(fake: FakeAssistants, thread_id: str, run_id: str) -> list[list[str | None]]:
    """The outputs each round's ``tool_calls`` step shows, oldest round first (read with the openai client)."""
    with fake.client() as client:
        steps = list(client.beta.threads.runs.steps.list(run_id, thread_id=thread_id, order="asc"))
    return [
        [call.function.output for call in step.step_details.tool_calls if call.type == "function"]
        for step in steps
        if step.step_details.type == "tool_calls"
    ]


def _create(server: FakeAssistantsServer, sdk: Sdk) -> tuple[str, Any]:
    """A thread and a run on it, created with ``sdk``'s client: ``(thread id, the SDK's run object)``."""
    if sdk == "openai":
        with server.client() as client:
            thread = client.beta.threads.create()
            return thread.id, client.beta.threads.runs.create(thread.id, assistant_id="asst_1")
    with server.agents_client() as agents:
        thread_id = agents.threads.create().id
        return thread_id, agents.runs.create(thread_id=thread_id, agent_id="asst_1")


def follow(
    server: FakeAssistantsServer,
    sdk: Sdk,
    mode: Mode,
    *,
    aio: bool,
    handler: Callable[[Any], Any],
    retry: RetryPolicy | None = None,
    started: bool = False,
) -> tuple[str, str, Outcome]:
    """Follow the next queued run with ``sdk``'s real client: ``(thread id, run id, result or WatchError)``.

    ``watch`` creates the run itself; the other modes create it first and follow the run object
    ``runs.create`` returned (``started``: follow it by id once it is in progress instead, so the
    follower has not seen it from the start).
    """
    options: dict[str, Any] = {"policy": Fixed(1.0), "retry": retry, "clock": server.clock.now}
    run: Any = None
    if mode == "watch":
        with server.client() as client:
            thread_id, run_id = client.beta.threads.create().id, ""
    else:
        thread_id, run = _create(server, sdk)
        run_id = run.id
        if started:
            server.clock.advance(1.5)
            run = run_id

    def sync(client: Any) -> Outcome:
        if mode == "schedule":
            scheduler = Scheduler(client, per_minute=600, sleep=server.clock.sleep, **options)
            scheduler.add(run, thread_id=thread_id, on_action=handler)
            return scheduler.run()[run_id]
        watcher = Watcher(client, sleep=server.clock.sleep, **options)
        try:
            if mode == "watch":
                return watcher.watch(thread_id, assistant_id="asst_1", on_action=handler)
            return watcher.poll(run, thread_id=thread_id, on_action=handler)
        except WatchError as err:
            return err

    async def asynchronous(client: Any) -> Outcome:
        if mode == "schedule":
            scheduler = AsyncScheduler(client, per_minute=600, sleep=server.clock.async_sleep, **options)
            scheduler.add(run, thread_id=thread_id, on_action=handler)
            return (await scheduler.run())[run_id]
        watcher = AsyncWatcher(client, sleep=server.clock.async_sleep, **options)
        try:
            if mode == "watch":
                return await watcher.watch(thread_id, assistant_id="asst_1", on_action=handler)
            return await watcher.poll(run, thread_id=thread_id, on_action=handler)
        except WatchError as err:
            return err

    async def with_async_client() -> Outcome:
        if sdk == "openai":
            client = server.async_client()
            try:
                return await asynchronous(client)
            finally:
                await client.close()
        async with server.async_agents_client() as agents:
            return await asynchronous(agents)

    if aio:
        outcome = asyncio.run(with_async_client())
    elif sdk == "openai":
        with server.client() as client:
            outcome = sync(client)
    else:
        with server.agents_client() as agents:
            outcome = sync(agents)
    if mode == "watch" and isinstance(outcome, WatchResult):
        run_id = outcome.tracker.run_id or ""
    elif mode == "watch" and isinstance(outcome, WatchError):
        run_id = outcome.run_id or ""
    return thread_id, run_id, outcome


FOLLOWERS = [
    pytest.param(sdk, mode, aio, id=f"{sdk}-{'async-' if aio else ''}{mode}")
    for sdk in ("openai", "azure")
    for mode in ("poll", "watch", "schedule")
    for aio in (False, True)
]


LOSSES = [
    pytest.param((True, 2, "was applied"), id="answer-lost"),
    pytest.param((False, 3, "was not applied"), id="request-lost"),
]
"""(the drop is ``processed``, submits sent in all, the note the decision leaves)."""


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize(("sdk", "mode", "aio"), FOLLOWERS)
def test_after_a_lost_submit_each_round_gets_its_own_outputs(
    fake_server: FakeAssistantsServer, sdk: Sdk, mode: Mode, aio: bool, loss: tuple[bool, int, str]
) -> None:
    """A submit's connection drops; the run then waits for the same call id: one step listing settles which round it is.

    ``answer-lost``: the server applied round 1 and round 2 already waits; it goes to the handler.
    Before the run steps were read, round 1's outputs were sent again and the server took them as
    round 2's: the steps showed ``round 1`` twice and the handler was called once.
    ``request-lost``: round 1's step still waits, so the same outputs are sent again, once.
    """
    processed, submits, decided = loss
    fake_server.queue_run(two_rounds())
    fake_server.drop_next(route="submit_tool_outputs", processed=processed)
    handler = Handler()
    thread_id, run_id, outcome = follow(fake_server, sdk, mode, aio=aio, handler=handler)
    assert isinstance(outcome, WatchResult), outcome
    assert outcome.step_listings == fake_server.count("list_run_steps") == 1
    assert round_outputs(fake_server, thread_id, run_id) == [["round 1"], ["round 2"]]
    assert (outcome.status, handler.calls, fake_server.count("submit_tool_outputs")) == (
        RunStatus.Completed,
        2,
        submits,
    )
    assert any(decided in note for note in outcome.notes)


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("sdk", ["openai", "azure"])
def test_identical_outputs_are_told_apart_by_counting_rounds(
    fake_server: FakeAssistantsServer, sdk: Sdk, aio: bool
) -> None:
    """Both rounds answered ``same``: the steps look alike, but a run followed from the start counts its rounds."""
    fake_server.queue_run(two_rounds())
    fake_server.drop_next(route="submit_tool_outputs", processed=True)
    handler = Handler(same=True)
    thread_id, run_id, outcome = follow(fake_server, sdk, "poll", aio=aio, handler=handler)
    assert isinstance(outcome, WatchResult), outcome
    assert round_outputs(fake_server, thread_id, run_id) == [["same"], ["same"]]
    assert (outcome.status, handler.calls, fake_server.count("submit_tool_outputs")) == (RunStatus.Completed, 2, 2)


@pytest.mark.runfsm_fake(check=False)  # the run is left waiting on purpose: that is the fail-safe
@pytest.mark.parametrize("mode", ["poll", "schedule"])
@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("sdk", ["openai", "azure"])
def test_what_the_steps_cannot_settle_stops_with_submit_in_doubt(
    fake_server: FakeAssistantsServer, sdk: Sdk, aio: bool, mode: Mode
) -> None:
    """Identical outputs, and a run first seen in progress (earlier rounds unknown): no resend, no second handler call.

    The error is the watch's outcome (the scheduler's result for that run); the run still waits.
    """
    fake_server.queue_run(two_rounds())
    fake_server.drop_next(route="submit_tool_outputs", processed=True)
    handler = Handler(same=True)
    _, run_id, outcome = follow(fake_server, sdk, mode, aio=aio, handler=handler, started=True)
    assert isinstance(outcome, SubmitInDoubt), outcome
    assert outcome.call_ids == ("call_same",)
    assert "did not see the run's earlier rounds" in str(outcome)
    assert (handler.calls, fake_server.count("submit_tool_outputs")) == (1, 1)
    assert fake_server.status(run_id) is RunStatus.RequiresAction


@pytest.mark.runfsm_fake(check=False)  # the run is left waiting on purpose: that is the fail-safe
@pytest.mark.parametrize("code", [500, 403])
@pytest.mark.parametrize("mode", ["poll", "watch", "schedule"])
@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("sdk", ["openai", "azure"])
def test_steps_that_cannot_be_listed_stop_with_submit_in_doubt(
    fake_server: FakeAssistantsServer, sdk: Sdk, aio: bool, mode: Mode, code: int
) -> None:
    """The listing keeps failing (5xx: retried up to ``max_consecutive``; 4xx: at once): the cause is the ApiError."""
    fake_server.queue_run(two_rounds())
    fake_server.drop_next(route="submit_tool_outputs", processed=True)
    fake_server.fail_next(code, route="list_run_steps", times=10)
    handler = Handler()
    retry = RetryPolicy(max_consecutive=2)
    _, run_id, outcome = follow(fake_server, sdk, mode, aio=aio, handler=handler, retry=retry)
    assert isinstance(outcome, SubmitInDoubt), outcome
    assert isinstance(outcome.__cause__, ApiError)
    assert outcome.__cause__.status_code == code
    assert fake_server.count("list_run_steps") == (3 if code == 500 else 1)
    assert (handler.calls, fake_server.count("submit_tool_outputs")) == (1, 1)
    assert fake_server.status(run_id) is RunStatus.RequiresAction


def test_a_listing_retried_after_a_5xx_still_decides(fake_server: FakeAssistantsServer) -> None:
    """One failed listing is retried; the second decides as the first would have."""
    fake_server.queue_run(two_rounds())
    fake_server.drop_next(route="submit_tool_outputs", processed=True)
    fake_server.fail_next(503, route="list_run_steps")
    handler = Handler()
    thread_id, run_id, outcome = follow(fake_server, "openai", "poll", aio=False, handler=handler)
    assert isinstance(outcome, WatchResult), outcome
    assert outcome.step_listings == fake_server.count("list_run_steps") == 2
    assert round_outputs(fake_server, thread_id, run_id) == [["round 1"], ["round 2"]]


@st.composite
def lost_submit_runs(draw: st.DrawFn) -> tuple[RunScript, list[str], bool]:
    """A run of 1-4 rounds (ids repeating across rounds or not), a fault per submit, per-round or identical outputs."""
    rounds = draw(st.integers(1, 4))
    repeat = draw(st.booleans())
    history: list[Any] = ["queued", ("in_progress", 2)]
    for _ in range(rounds):
        gap = draw(st.sampled_from([0.0, 0.4, 3.0]))
        history += ["requires_action", ("queued", gap / 2), ("in_progress", gap / 2)]
    history.append("completed")
    ids = [tool_call("call_same")] if repeat else []
    faults = draw(st.lists(st.sampled_from(["none", "lost answer", "lost request"]), min_size=rounds, max_size=rounds))
    return RunScript(history, tool_calls=ids), faults, draw(st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=lost_submit_runs(), mode=st.sampled_from(["poll", "watch"]))
def test_every_round_is_answered_once_with_its_own_outputs(case: tuple[RunScript, list[str], bool], mode: str) -> None:
    """Whatever the rounds, ids and lost answers: each round gets its own outputs; the handler runs once a round.

    Followed from the run's start (polled from its create, or watched over SSE), so nothing is left
    in doubt: identical outputs are told apart by counting rounds.
    """
    script, faults, same = case
    fake = FakeAssistants()
    fake.queue_run(script)
    handler = Handler(same=same)

    def answer(run: Any) -> list[dict[str, str]]:
        outputs = handler(run)
        fault = faults[handler.calls - 1]  # an IndexError if the handler were called more often than there are rounds
        if fault != "none":  # for this round's submit, the next one sent
            fake.drop_next(route="submit_tool_outputs", processed=fault == "lost answer")
        return outputs

    client = fake.client()
    thread = client.beta.threads.create()
    watcher = Watcher(client, policy=Fixed(1.0), clock=fake.clock.now, sleep=fake.clock.sleep)
    if mode == "watch":
        result = watcher.watch(thread.id, assistant_id="asst_1", on_action=answer)
    else:
        run = client.beta.threads.runs.create(thread.id, assistant_id="asst_1")
        result = watcher.poll(run, on_action=answer)
    rounds = len(faults)
    expected = [["same" if same else f"round {k}"] for k in range(1, rounds + 1)]
    assert result.status is RunStatus.Completed
    assert not result.tracker.violations
    assert round_outputs(fake, thread.id, result.tracker.run_id or "") == expected
    assert handler.calls == rounds
    assert fake.count("submit_tool_outputs") == rounds + faults.count("lost request")
