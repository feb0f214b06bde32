"""Tests for runfsm.testing.fake.conduct: the fake judges the client's requests, fast, with no false alarms.

Each rule is shown catching the behaviour it names, and its correct counterpart is shown not
caught. Clients are the real openai SDK on the in-process transport; with ``stop_on_violation``
the fake's own client raises ``ClientStopped`` at the first broken rule.
"""

from __future__ import annotations

import warnings

import openai
import pytest

from runfsm import RunStatus
from runfsm.testing.fake import STUCK, FakeAssistants, RunScript
from runfsm.testing.fake.conduct import PROPERTIES, ClientBug, ClientStopped
from runfsm.testing.fake.objects import tool_calls


def _fake(**options: object) -> tuple[FakeAssistants, openai.OpenAI, str]:
    options.setdefault("stop_on_violation", True)
    fake = FakeAssistants(**options)  # type: ignore[arg-type]
    client = fake.client()
    thread = client.beta.threads.create()
    return fake, client, thread.id


def _rules(fake: FakeAssistants) -> list[str]:
    return [v.rule for v in fake.violations]


def test_polling_faster_than_the_hint_stops_the_client() -> None:
    """Two polls closer than openai-poll-after-ms: stopped at the second, with what it did and what was asked."""
    fake, client, thread_id = _fake(poll_after_ms=2000, script=[("queued", STUCK)])
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id="a")
    client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    fake.clock.sleep(0.5)
    with pytest.raises(ClientStopped, match=r"0\.5 s after the previous poll; the server asked for 2 s"):
        client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    assert _rules(fake) == ["poll_hint"]


def test_polling_at_the_hint_and_retrying_errors_sooner_is_fine() -> None:
    """Polls at the hint pass; a retry after a 500 (the SDK's back-off, shorter than the hint) is not a poll."""
    fake, client, thread_id = _fake(poll_after_ms=2000, script=[("queued", STUCK)])
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id="a")
    for _ in range(3):
        client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
        fake.clock.sleep(2.0)
    fake.fail_next(500, route="retrieve_run")
    client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)  # the SDK retries after ~0.5 s
    assert fake.violations == []


def test_repolling_a_terminal_run_is_a_busy_loop() -> None:
    """The third poll after the run was answered completed stops the client (an unknown-status loop costs 3 polls)."""
    fake, client, thread_id = _fake(script=["queued", "in_progress", "completed"], repolls=3)
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id="a")
    fake.clock.sleep(2.0)
    client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)  # completed: shown
    fake.clock.sleep(1.0)
    client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    fake.clock.sleep(1.0)
    client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    fake.clock.sleep(1.0)
    with pytest.raises(ClientStopped, match="3 more time"):
        client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    assert _rules(fake) == ["terminal"]


def test_more_requests_than_virtual_time_allows() -> None:
    """A client that never lets virtual time pass is stopped after about 30 requests, not 10,000."""
    fake, client, thread_id = _fake(script=[("queued", STUCK)])

    def busy_loop() -> None:
        for _ in range(100):
            client.beta.threads.messages.list(thread_id)

    with pytest.raises(ClientStopped, match=r"requests about threads and messages in 0 virtual seconds"):
        busy_loop()
    assert len(fake.requests) < 40
    assert _rules(fake) == ["busy"]


def test_ignoring_retry_after_is_caught_and_the_sdk_honours_it() -> None:
    """A request sooner than a 429's retry-after is a violation; the SDK's own retry waits it out."""
    fake, client, thread_id = _fake(script=[("queued", STUCK)])
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id="a")
    fake.fail_next(429, retry_after=3, route="retrieve_run")
    client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)  # SDK: 429, waits 3 s, retries
    assert fake.violations == []
    once = client.with_options(max_retries=0)
    fake.clock.sleep(1.0)  # the poll hint
    fake.fail_next(429, retry_after=3, route="retrieve_run")
    with pytest.raises(openai.RateLimitError):
        once.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    fake.clock.sleep(1.0)
    with pytest.raises(ClientStopped, match="before the retry-after of 3 s"):
        once.beta.threads.runs.retrieve(run.id, thread_id=thread_id)


def test_partial_tool_outputs_are_the_api_400_and_a_tools_violation() -> None:
    """A submit that leaves a call of the round unanswered: the API's 400, judged under 'answers tools in time'."""
    fake, client, thread_id = _fake(
        script=RunScript(["queued", "in_progress", ("requires_action", STUCK), "expired"], tool_rounds=[tool_calls(2)]),
        stop_on_violation=False,
    )
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id="a")
    fake.clock.sleep(3.0)
    run = client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [c.id for c in calls] == ["call_000002_1_1", "call_000002_1_2"]
    with pytest.raises(openai.BadRequestError, match="Expected tool outputs for call_ids"):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "x"}]
        )
    assert _rules(fake) == ["tools"]
    assert fake.violations[0].property == PROPERTIES["tools"] == "answers tools in time"


def test_resending_outputs_after_a_dropped_connection() -> None:
    """The submit took effect, its answer was lost; sending the same outputs again is named a re-send."""
    fake, client, thread_id = _fake(
        script=RunScript(["queued", "in_progress", ("requires_action", STUCK), "expired"], seconds=1),
        stop_on_violation=False,
    )
    once = client.with_options(max_retries=0)
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id="a")
    fake.clock.sleep(2.0)
    run = client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    assert run.required_action is not None
    outputs = [{"tool_call_id": c.id, "output": "x"} for c in run.required_action.submit_tool_outputs.tool_calls]
    fake.drop_next(route="submit_tool_outputs", processed=True)
    with pytest.raises(openai.APIConnectionError):
        once.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread_id, tool_outputs=outputs)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError):
        once.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread_id, tool_outputs=outputs)  # type: ignore[arg-type]
    assert _rules(fake) == ["resend"]


def test_polling_a_paused_round_without_acting() -> None:
    """Twenty polls of one requires_action round with no submit or cancel: the tools are not being answered."""
    fake, client, thread_id = _fake(script=["queued", "in_progress", "requires_action", "expired"], paused_polls=5)
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id="a")

    def polls_without_acting() -> None:
        for _ in range(10):
            fake.clock.sleep(1.0)
            client.beta.threads.runs.retrieve(run.id, thread_id=thread_id)

    with pytest.raises(ClientStopped, match=r"5 times in requires_action \(round 1, 1 tool call"):
        polls_without_acting()


def test_returning_on_a_live_run_and_the_story() -> None:
    """check_client: a live run is abandoned (cancelling: not waited out); the story plays the rest on virtual time."""
    fake, client, thread_id = _fake(script=["queued", ("in_progress", 10), "completed"])
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id="a")
    with pytest.raises(ClientBug) as info:
        fake.check_client()
    message = str(info.value)
    assert f"never abandons a live run: the client returned at t+0s while run {run.id} was still queued" in message
    assert f"run {run.id}: queued t+0s > in_progress t+1s > completed t+11s" in message
    assert "t+0s create_run run_000002 -> 200 queued" in message

    fake, client, thread_id = _fake(script=[("queued", STUCK)])
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id="a")
    client.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    with pytest.raises(ClientBug, match="waits out cancelling"):
        fake.check_client()


def test_a_correct_client_leaves_no_violation() -> None:
    """The SDK's own create_and_poll / submit_tool_outputs_and_poll, honouring the hint, break no rule."""
    fake, client, thread_id = _fake(
        poll_after_ms=3000,
        script=RunScript(
            ["queued", "in_progress", "requires_action", "queued", "in_progress", "completed"],
            tool_rounds=[tool_calls(3)],
        ),
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id="a")
    assert run.required_action is not None
    outputs = [{"tool_call_id": c.id, "output": "x"} for c in run.required_action.submit_tool_outputs.tool_calls]
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread_id,
        tool_outputs=outputs,  # type: ignore[arg-type]
    )
    assert run.status == "completed"
    fake.check_client()
    assert fake.violations == []


@pytest.mark.parametrize("stale", [False, True], ids=["moved-since-seen", "seen-and-sent-anyway"])
def test_a_call_refused_because_someone_else_cancelled_meanwhile_is_a_race(stale: bool) -> None:
    """The client read requires_action, someone else cancelled, its outputs got the API's 400: no violation.

    The run was cancelling at the call, which the client had not been shown: the API has that race
    too. Sending them once the client was shown cancelling is its own mistake.
    """
    fake, client, thread_id = _fake(
        script=RunScript(
            ["queued", "in_progress", "requires_action", "queued", "in_progress", "completed"],
            tool_rounds=[tool_calls(1)],
        ),
        stop_on_violation=False,
        poll_after_ms=100,
    )
    runs = client.beta.threads.runs
    run = runs.create(thread_id=thread_id, assistant_id="a")
    while run.status != "requires_action":
        fake.clock.sleep(1.0)
        run = runs.retrieve(run.id, thread_id=thread_id)
    assert run.required_action is not None
    outputs = [{"tool_call_id": c.id, "output": "x"} for c in run.required_action.submit_tool_outputs.tool_calls]
    fake.cancel_object(run.id)
    if stale:
        fake.clock.sleep(0.1)
        assert runs.retrieve(run.id, thread_id=thread_id).status == "cancelling"
    with pytest.raises(openai.BadRequestError, match="cancelling"):
        runs.submit_tool_outputs(run.id, thread_id=thread_id, tool_outputs=outputs)  # type: ignore[arg-type]
    assert _rules(fake) == (["tools"] if stale else [])


def test_expiry_is_at_expires_at_whatever_the_durations() -> None:
    """A scripted requires_action -> expired waits until created_at + 600, not one step duration."""
    fake, client, thread_id = _fake(
        script=RunScript(["queued", "in_progress", "requires_action", "expired"], seconds=5)
    )
    run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id="a")
    fake.clock.sleep(599.0)
    assert fake.status(run.id) is RunStatus.RequiresAction
    fake.clock.sleep(1.0)
    assert fake.status(run.id) is RunStatus.Expired
    fake = FakeAssistants(script=RunScript(["queued", "expired"], expires_in=60))
    client = fake.client()
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="a")
    assert run.expires_at == run.created_at + 60
    fake.play_out()
    assert fake.history(run.id) == [RunStatus.Queued, RunStatus.Expired]
    assert fake.clock.elapsed == 60


def test_faults_for_the_next_run() -> None:
    """A next_run fault waits for the run the client creates and hits only requests about it."""
    fake, client, _ = _fake(script=[("queued", STUCK)], stop_on_violation=False)
    fake.fail_next(500, route="retrieve_run", next_run=True, times=1)
    other = client.beta.threads.create()
    run = client.with_options(max_retries=0).beta.threads.runs.create(thread_id=other.id, assistant_id="a")
    with pytest.raises(openai.InternalServerError):
        client.with_options(max_retries=0).beta.threads.runs.retrieve(run.id, thread_id=other.id)
    assert fake.pending_faults() == []
    assert fake.faults_seen[0][2:] == (run.id, "500 on retrieve_run")


def test_the_fakes_clients_warn_no_deprecation() -> None:
    """Assistants calls through the fake's clients (and their with_options copies) warn nothing."""
    fake = FakeAssistants()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = fake.client()
        thread = client.beta.threads.create()
        run = client.with_options(max_retries=0).beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id="a"
        )
        client.beta.threads.messages.list(thread.id)
        client.beta.threads.runs.steps.list(run.id, thread_id=thread.id)
    assert run.status == "completed"
