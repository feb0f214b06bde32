"""Tests for runfsm.testing.fake.api: the fake behaves like the Assistants API where clients depend on it.

Driven through the real openai SDK on the in-process transport (``fake.client()``); the loopback
server is exercised in test_server.py.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm import RunStatus, RunTracker
from runfsm.testing.fake import STUCK, FakeAssistants, Fault, VirtualClock
from runfsm.testing.strategies import stream_histories

if TYPE_CHECKING:
    from collections.abc import Callable

    from openai.types.beta.threads.run_submit_tool_outputs_params import ToolOutput

pytestmark = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")


def _start(fake: FakeAssistants, client: openai.OpenAI) -> tuple[str, str]:
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    return thread.id, run.id


def _outputs(run: object) -> list[ToolOutput]:
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[attr-defined]  # an openai Run
    return [{"tool_call_id": c.id, "output": "42"} for c in calls]


class TestTimeAndScripts:
    def test_default_run_completes_after_three_virtual_seconds(self) -> None:
        """Unscripted runs play queued (1 s), in_progress (2 s), completed, on the virtual clock only."""
        fake = FakeAssistants(clock=VirtualClock(start=1000.0))
        client = fake.client()
        thread_id, run_id = _start(fake, client)
        seen = []
        for _ in range(4):
            seen.append(client.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status)
            fake.clock.advance(1)
        assert seen == ["queued", "in_progress", "in_progress", "completed"]
        run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        assert (run.started_at, run.completed_at, run.expires_at) == (1001, 1003, None)
        polled = [r.run_status for r in fake.requests if r.route == "retrieve_run"]
        assert polled == [*seen, "completed"]  # the log keeps what each poll saw

    def test_create_and_poll_waits_in_virtual_time(self) -> None:
        """The SDK's poll helper sleeps on the clock: a 5-minute run takes no real time, one poll per poll-after."""
        fake = FakeAssistants(poll_after_ms=2000)
        fake.queue_run(["queued", ("in_progress", 300), "completed"])
        client = fake.client()
        thread = client.beta.threads.create()
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id="asst_1")
        assert run.status == "completed"
        assert fake.clock.elapsed == pytest.approx(302)
        assert fake.count("retrieve_run", run_id=run.id) == 152

    def test_expires_at_is_fixed_at_creation_and_not_reset_by_submit(self) -> None:
        """expires_at = created_at + 600; after a submit it is unchanged and the run still expires then."""
        fake = FakeAssistants()
        fake.queue_run(["queued", ("in_progress", 100), "requires_action", "queued", ("in_progress", STUCK)])
        client = fake.client()
        thread_id, run_id = _start(fake, client)
        fake.clock.advance(101)
        run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        assert run.status == "requires_action"
        assert run.expires_at == run.created_at + 600
        after = client.beta.threads.runs.submit_tool_outputs(run_id, thread_id=thread_id, tool_outputs=_outputs(run))
        assert (after.status, after.expires_at, after.started_at) == ("queued", run.expires_at, run.started_at)
        fake.clock.advance_to(run.created_at + 599)
        assert client.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status == "in_progress"
        fake.clock.advance(1)
        assert client.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status == "expired"

    def test_an_unanswered_requires_action_expires(self) -> None:
        """A run waiting for tool outputs expires at expires_at (requires_action -> expired)."""
        fake = FakeAssistants()
        fake.queue_run(["queued", "in_progress", "requires_action", "queued", "in_progress", "completed"])
        client = fake.client()
        _, run_id = _start(fake, client)
        fake.clock.advance(600)
        assert fake.status(run_id) is RunStatus.Expired
        assert [o.state for o in fake.trackers[run_id].history][-2:] == [RunStatus.RequiresAction, RunStatus.Expired]

    def test_unplanned_submit_and_cancel_are_honoured(self) -> None:
        """A cancel the script did not plan goes cancelling -> cancel_outcome after cancel_seconds."""
        fake = FakeAssistants()
        fake.queue_run(["queued", ("in_progress", STUCK)], cancel_outcome="completed", cancel_seconds=5)
        client = fake.client()
        thread_id, run_id = _start(fake, client)
        assert client.beta.threads.runs.cancel(run_id, thread_id=thread_id).status == "cancelling"
        fake.clock.advance(5)
        assert fake.status(run_id) is RunStatus.Completed  # a cancel race: the run finished anyway

    def test_move_follows_server_edges_only(self) -> None:
        """move() takes server edges of the lifecycle; anything else is a ValueError naming the options."""
        fake = FakeAssistants(script=[("queued", STUCK)])
        client = fake.client()
        _, run_id = _start(fake, client)
        assert fake.server_moves(run_id) == (RunStatus.InProgress, RunStatus.Expired, RunStatus.Failed)
        fake.move(run_id, "in_progress")
        with pytest.raises(ValueError, match="can move it to completed, requires_action"):
            fake.move(run_id, "cancelling")  # a client call, not a server move


class TestRealErrors:
    def test_submit_outside_requires_action(self) -> None:
        """Submitting tool outputs to a running run is a 400 with the API's message."""
        fake = FakeAssistants()
        client = fake.client()
        thread_id, run_id = _start(fake, client)
        with pytest.raises(
            openai.BadRequestError, match=re.escape('Runs in status "queued" do not accept tool outputs.')
        ):
            client.beta.threads.runs.submit_tool_outputs(run_id, thread_id=thread_id, tool_outputs=[])

    def test_submit_on_an_expired_run(self) -> None:
        """The error reported in the field for tool outputs that came too late."""
        fake = FakeAssistants()
        fake.queue_run(["queued", "in_progress", "requires_action", "queued", "in_progress", "completed"])
        client = fake.client()
        thread_id, run_id = _start(fake, client)
        fake.clock.advance(700)
        with pytest.raises(
            openai.BadRequestError, match=re.escape('Runs in status "expired" do not accept tool outputs.')
        ):
            client.beta.threads.runs.submit_tool_outputs(run_id, thread_id=thread_id, tool_outputs=[])

    def test_submit_must_answer_every_tool_call(self) -> None:
        """All outputs go in one request: a partial submit is refused."""
        fake = FakeAssistants()
        fake.queue_run(["queued", "in_progress", "requires_action"])
        client = fake.client()
        thread_id, run_id = _start(fake, client)
        fake.clock.advance(2)
        with pytest.raises(openai.BadRequestError, match="Expected tool outputs for call_ids"):
            client.beta.threads.runs.submit_tool_outputs(run_id, thread_id=thread_id, tool_outputs=[])

    def test_cancel_of_a_finished_run(self) -> None:
        """Cancelling a completed run is a 400 naming its status."""
        fake = FakeAssistants()
        client = fake.client()
        thread_id, run_id = _start(fake, client)
        fake.clock.advance(10)
        with pytest.raises(openai.BadRequestError, match=re.escape("Cannot cancel run with status 'completed'.")):
            client.beta.threads.runs.cancel(run_id, thread_id=thread_id)

    def test_thread_with_an_active_run(self) -> None:
        """Messages and new runs are refused while a run is active, accepted once it ended."""
        fake = FakeAssistants()
        client = fake.client()
        thread_id, run_id = _start(fake, client)
        with pytest.raises(openai.BadRequestError, match=f"Can't add messages to {thread_id} while a run {run_id}"):
            client.beta.threads.messages.create(thread_id, role="user", content="more")
        with pytest.raises(
            openai.BadRequestError, match=re.escape(f"Thread {thread_id} already has an active run {run_id}.")
        ):
            client.beta.threads.runs.create(thread_id=thread_id, assistant_id="asst_1")
        fake.clock.advance(3)
        client.beta.threads.messages.create(thread_id, role="user", content="more")

    def test_unknown_ids_and_routes_are_404(self) -> None:
        """Unknown threads, runs and URLs get the API's 404 bodies."""
        fake = FakeAssistants()
        client = fake.client()
        thread_id, _ = _start(fake, client)
        with pytest.raises(openai.NotFoundError, match=re.escape("No thread found with id 'thread_nope'.")):
            client.beta.threads.retrieve("thread_nope")
        with pytest.raises(openai.NotFoundError, match=re.escape("No run found with id 'run_nope'.")):
            client.beta.threads.runs.retrieve("run_nope", thread_id=thread_id)
        assert fake.handle("GET", "/v1/assistants").status_code == 404
        assert fake.handle("POST", "/v1/threads", body=b"{not json").status_code == 400


class TestResponses:
    @pytest.mark.parametrize("ms", [250, 1000, None])
    def test_poll_after_header(self, ms: int | None) -> None:
        """Run responses carry openai-poll-after-ms as configured (none when None)."""
        fake = FakeAssistants(poll_after_ms=ms)
        client = fake.client()
        thread_id, run_id = _start(fake, client)
        raw = client.beta.threads.runs.with_raw_response.retrieve(run_id, thread_id=thread_id)
        assert raw.headers.get("openai-poll-after-ms") == (None if ms is None else str(ms))

    def test_lists_parse_as_sdk_pages(self) -> None:
        """List runs, run steps and messages come back as SDK pages, newest first by default."""
        fake = FakeAssistants()
        client = fake.client()
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id="asst_1")
        assert [r.id for r in client.beta.threads.runs.list(thread_id=thread.id)] == [run.id]
        steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
        assert [(s.type, s.status) for s in steps] == [("message_creation", "completed")]
        texts = [m.content[0].text.value for m in client.beta.threads.messages.list(thread.id).data]  # type: ignore[union-attr]  # text parts
        assert texts == ["Done.", "hi"]
        asc = client.beta.threads.messages.list(thread.id, order="asc", limit=1)
        assert (asc.data[0].role, asc.has_more) == ("user", True)

    def test_stream_events_follow_the_lifecycle(self) -> None:
        """A streamed create sends thread.run.created, queued, ... and ends with event: done / [DONE]."""
        fake = FakeAssistants()
        fake.queue_run(["queued", "in_progress", "requires_action"])
        thread = fake.client().beta.threads.create()
        answer = fake.handle(
            "POST", f"/v1/threads/{thread.id}/runs", body=json.dumps({"assistant_id": "a", "stream": True}).encode()
        )
        blocks = [b for b in answer.body.decode().split("\n\n") if b]
        names = [b.split("\n")[0].removeprefix("event: ") for b in blocks]
        assert names == [
            "thread.run.created",
            "thread.run.queued",
            "thread.run.in_progress",
            "thread.run.step.created",
            "thread.run.requires_action",
            "done",
        ]
        assert blocks[-1] == "event: done\ndata: [DONE]"


class TestFaultsAndLog:
    def test_429_is_retried_by_the_sdk_after_retry_after(self) -> None:
        """A 429 with retry-after: the SDK waits that long (virtual) and retries; the log shows both."""
        fake = FakeAssistants()
        client = fake.client()
        thread_id, run_id = _start(fake, client)
        fake.fail_next(429, route="retrieve_run", retry_after=7)
        before = fake.clock.now()
        client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        log = [(r.route, r.status_code, r.fault) for r in fake.requests if r.route == "retrieve_run"]
        assert log == [("retrieve_run", 429, "429"), ("retrieve_run", 200, None)]
        assert [r.run_status for r in fake.requests if r.route == "retrieve_run"] == [None, "completed"]
        assert fake.clock.now() - before == pytest.approx(7)

    def test_retry_after_ms_wins(self) -> None:
        """retry-after-ms is preferred to retry-after, as the SDK reads them."""
        fake = FakeAssistants()
        client = fake.client()
        fake.fail_next(429, retry_after=30, retry_after_ms=1500)
        client.beta.threads.create()
        assert fake.clock.elapsed == pytest.approx(1.5)

    def test_500_and_drops_are_retried_then_surface(self) -> None:
        """5xx and dropped connections are retried by the SDK; past max_retries they reach the caller."""
        fake = FakeAssistants()
        client = fake.client(max_retries=2)
        fake.fail_next(500, times=1)
        fake.drop_next(times=1)
        client.beta.threads.create()
        assert [r.status_code for r in fake.requests] == [500, 0, 200]
        fake.fail_next(503, times=3)
        with pytest.raises(openai.InternalServerError):
            client.beta.threads.create()

    def test_a_drop_after_processing_duplicates_effects(self) -> None:
        """processed=True loses the answer after the request took effect: a retried create meets the first run."""
        fake = FakeAssistants()
        client = fake.client(max_retries=1)
        thread = client.beta.threads.create()
        fake.drop_next(route="create_run", processed=True)
        with pytest.raises(openai.BadRequestError, match="already has an active run"):
            client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
        assert len(fake.run_ids()) == 1
        lost, retried = [r for r in fake.requests if r.route == "create_run"]
        assert (lost.status_code, lost.fault, lost.run_id) == (0, "drop", fake.run_ids()[0])  # the log names the run
        assert (retried.status_code, retried.run_id) == (400, None)

    def test_slow_answers_take_virtual_time(self) -> None:
        """slow_next lets virtual time pass before answering (the run moved on meanwhile)."""
        fake = FakeAssistants()
        client = fake.client()
        thread_id, run_id = _start(fake, client)
        fake.slow_next(5, route="retrieve_run", run_id=run_id)
        assert client.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status == "completed"

    def test_request_budget_bounds_runaway_clients(self) -> None:
        """Past max_requests about one run, answers are non-retryable 500s; other runs and threads still work."""
        fake = FakeAssistants(max_requests=3)
        client = fake.client()
        thread_id, run_id = _start(fake, client)  # the create counts for the run
        for _ in range(2):
            client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        with pytest.raises(openai.InternalServerError, match="request budget of 3 exhausted"):
            client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        assert fake.budget_exceeded
        assert fake.count(run_id=run_id) == 4  # the refused request is logged, not retried
        fake.clock.advance(3)
        _start(fake, client)  # another thread and run: their own budgets

    def test_fault_arguments_are_checked(self) -> None:
        """Faults with impossible settings are refused at once."""
        fake = FakeAssistants()
        with pytest.raises(ValueError, match="HTTP error status"):
            fake.fail_next(200)
        with pytest.raises(ValueError, match="times must be >= 1"):
            fake.inject(Fault("drop", times=0))
        with pytest.raises(ValueError, match="finite seconds"):
            fake.slow_next(-1)
        with pytest.raises(ValueError, match="poll_after_ms"):
            FakeAssistants(poll_after_ms=-5)


def _play_as_scripted(
    client: openai.OpenAI, thread_id: str, run_id: str, history: list[RunStatus], fake_sleep: Callable[[float], None]
) -> RunStatus:
    """A client that submits exactly where the script plans a submit; polls every virtual second until terminal."""
    plans = [history[i + 1] is RunStatus.Queued for i, s in enumerate(history[:-1]) if s is RunStatus.RequiresAction]
    answered: set[str] = set()
    for _ in range(1000):
        run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        status = RunStatus.parse(run.status)
        if status.is_terminal:
            return status
        if status.is_paused:
            call_ids = {c.id for c in run.required_action.submit_tool_outputs.tool_calls}  # type: ignore[union-attr]  # set in requires_action
            if not call_ids & answered and plans[len(answered)]:
                answered |= call_ids
                client.beta.threads.runs.submit_tool_outputs(run_id, thread_id=thread_id, tool_outputs=_outputs(run))
        fake_sleep(1)
    raise AssertionError("the run did not end within 1000 polls")


@pytest.mark.slow
@settings(max_examples=30)
@given(history=stream_histories(cancel=False), seconds=st.integers(0, 30))
def test_played_histories_are_legal_and_consistent(history: list[RunStatus], seconds: int) -> None:
    """The fake plays a script as written (until expires_at), its stream-mode tracker accepts it, no field warning."""
    fake = FakeAssistants()
    fake.queue_run(history, seconds=seconds)
    client = fake.client()
    thread_id, run_id = _start(fake, client)
    final = _play_as_scripted(client, thread_id, run_id, history, fake.clock.sleep)
    tracker = fake.trackers[run_id]
    assert isinstance(tracker, RunTracker)
    assert not tracker.violations
    assert fake.warnings() == []
    played = [o.state for o in tracker.history]
    if final is RunStatus.Expired and history[-1] is not RunStatus.Expired:  # the 600 s budget ran out first
        assert played[:-1] == history[: len(played) - 1]
    else:
        assert played == history
