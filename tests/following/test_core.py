"""The shared decision core: any legal run is followed to its real end, and the sync and async twins agree.

Run histories are drawn from the lifecycle declaration (server edges and tool-output rounds), played by
the fake API, and followed through the real openai client on a virtual clock.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm import RUN_LIFECYCLE, RunStatus, RunTracker, Trigger
from runfsm.following.backoff import ByStatus, Fixed, Jitter, Schedule
from runfsm.following.core import DEFAULT_EXPIRY, DEFAULT_GRACE, FollowCore, StepKind
from runfsm.following.watcher import AsyncWatcher, Watcher
from runfsm.testing.fake import STUCK, FakeAssistants

pytestmark = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")

_FOLLOWABLE = (Trigger.SERVER, Trigger.SUBMIT_TOOL_OUTPUTS)


@st.composite
def scripts(draw: st.DrawFn) -> list[Any]:
    """A legal history from queued, by server edges and tool-output rounds, with durations (some stuck)."""
    state = RunStatus.Queued
    script: list[Any] = []
    for _ in range(10):
        seconds = draw(st.sampled_from([STUCK]) | st.floats(0.05, 40)) if not state.is_paused else 1.0
        script.append((state.wire, seconds))
        if state.is_terminal or seconds == STUCK:
            break
        options = [
            e.dest
            for e in RUN_LIFECYCLE.edges
            if e.source is state and e.trigger in _FOLLOWABLE and e.dest is not RunStatus.Expired
        ]
        state = draw(st.sampled_from(sorted(options)))
    return script


def tools(run: Any) -> list[dict[str, str]]:
    """Answer every tool call."""
    return [{"tool_call_id": c.id, "output": "1"} for c in run.required_action.submit_tool_outputs.tool_calls]


def policy() -> Any:
    """A jittered schedule with its own seeded generator (the twins must draw the same waits)."""
    return Jitter(ByStatus(Schedule(((0, 1.0), (10, 3.0))), Queued=Fixed(0.5)), fraction=0.2, rng=random.Random(7))


@pytest.mark.slow
@settings(max_examples=25)
@given(scripts())
def test_any_legal_run_is_followed_to_its_real_end(script: list[Any]) -> None:
    """Whatever legal history the server plays, the watch ends where the server says, with no violation."""
    fake = FakeAssistants(poll_after_ms=None)
    fake.queue_run(script)
    client = fake.client()
    run = client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="a")
    tracker = RunTracker(on_illegal="raise")
    result = Watcher(client, clock=fake.clock.now, sleep=fake.clock.sleep).poll(run, on_action=tools, tracker=tracker)
    assert result.status is fake.status(run.id)
    assert result.status.is_terminal
    assert not tracker.violations
    assert result.retrieves == fake.count("retrieve_run")
    assert result.retrieves <= (DEFAULT_EXPIRY + DEFAULT_GRACE) / 1.9 + 5


@pytest.mark.slow
@settings(max_examples=15)
@given(scripts())
def test_sync_and_async_twins_make_the_same_decisions(script: list[Any]) -> None:
    """Same script, same policy: the twins send the same requests at the same virtual times."""

    def sync_log() -> list[tuple[str, float]]:
        fake = FakeAssistants()
        fake.queue_run(script)
        client = fake.client()
        run = client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="a")
        t0 = fake.clock.now()
        Watcher(client, policy=policy(), clock=fake.clock.now, sleep=fake.clock.sleep).poll(run, on_action=tools)
        return [(r.route, round(r.at - t0, 6)) for r in fake.requests[2:]]

    def async_log() -> list[tuple[str, float]]:
        fake = FakeAssistants()
        fake.queue_run(script)
        client = fake.client()
        run = client.beta.threads.runs.create(client.beta.threads.create().id, assistant_id="a")
        t0 = fake.clock.now()
        watcher = AsyncWatcher(fake.async_client(), policy=policy(), clock=fake.clock.now, sleep=fake.clock.async_sleep)
        asyncio.run(watcher.poll(run, on_action=tools))
        return [(r.route, round(r.at - t0, 6)) for r in fake.requests[2:]]

    assert sync_log() == async_log()


def _core(**options: Any) -> FollowCore:
    now = [1000.0]
    return FollowCore("thread_1", "run_1", tracker=RunTracker("run_1"), clock=lambda: now[0], **options)


def test_deadline_is_the_earlier_of_the_callers_and_expiry_plus_grace() -> None:
    """The caller's timeout wins when shorter; otherwise expires_at (from the responses) plus grace."""
    core = _core(timeout=30)
    assert core.deadline == 1030
    core = _core(grace=15)
    assert core.deadline == 1000 + DEFAULT_EXPIRY + 15
    step = core.on_event(
        {"event": "thread.run.queued", "data": {"id": "run_1", "status": "queued", "expires_at": 1200}}
    )
    assert step is None
    assert core.deadline == 1215


def test_a_run_whose_expires_at_is_null_still_has_a_finite_deadline() -> None:
    """Azure deep-research runs report expires_at null throughout: the watch still ends (started + 600 s + grace)."""
    core = _core(grace=15)
    for status in ("queued", "in_progress"):
        core.on_event({"event": f"thread.run.{status}", "data": {"id": "run_1", "status": status, "expires_at": None}})
    assert core.deadline == 1000 + DEFAULT_EXPIRY + 15 < float("inf")


def test_handler_output_is_checked_with_a_clear_error() -> None:
    """A handler returning something other than a list of tool-output mappings is named in a TypeError."""
    core = _core(has_handler=True)
    run = {
        "id": "run_1",
        "object": "thread.run",
        "status": "requires_action",
        "required_action": {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [{"id": "c1"}]}},
    }
    step = core.on_event({"event": "thread.run.requires_action", "data": run})
    assert step is not None
    assert step.kind is StepKind.HANDLE
    with pytest.raises(TypeError, match="must return a list of tool outputs"):
        core.handled("42")
    with pytest.raises(TypeError, match="tool output 0"):
        core.handled([{"output": "42"}])
    assert core.handled([{"tool_call_id": "c1", "output": "42"}]).kind is StepKind.SUBMIT
