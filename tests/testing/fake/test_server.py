"""Tests for runfsm.testing.fake.server: the real openai SDK against the fake over loopback HTTP.

These use the plugin's fixtures (``fake_server``, ``fake_client``, ``fake_async_client``): the
server listens on 127.0.0.1, the client's poll and retry sleeps run on the virtual clock.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import openai
import pytest
from openai import AssistantEventHandler
from typing_extensions import override

from runfsm.testing.fake import STUCK, FakeAssistantsServer

if TYPE_CHECKING:
    from openai.types.beta.threads.run_submit_tool_outputs_params import ToolOutput

    from runfsm.testing.fake.script import StepLike

pytestmark = [
    pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning"),
    pytest.mark.runfsm_fake(check=False),  # these tests make the refused calls and bad loops on purpose
]

TOOL_ROUND: list[StepLike] = [
    "queued",
    ("in_progress", 4),
    "requires_action",
    "queued",
    ("in_progress", 3),
    "completed",
]


def _outputs(run: Any) -> list[ToolOutput]:
    return [{"tool_call_id": c.id, "output": "18C"} for c in run.required_action.submit_tool_outputs.tool_calls]


class _Recorder(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.text = ""

    @override
    def on_event(self, event: Any) -> None:
        self.events.append(event.event)

    @override
    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.text += delta.value or ""


def test_server_url_is_loopback(fake_server: FakeAssistantsServer) -> None:
    """The server listens on 127.0.0.1 on a free port; the base URL ends in /v1."""
    assert fake_server.url.startswith("http://127.0.0.1:")
    assert fake_server.url.endswith("/v1")


def test_create_and_poll_then_submit_tool_outputs_and_poll(
    fake_server: FakeAssistantsServer, fake_client: openai.OpenAI
) -> None:
    """The SDK poll helpers walk a tool round: create_and_poll stops at requires_action, the submit one at completed."""
    fake_server.queue_run(TOOL_ROUND)
    thread = fake_client.beta.threads.create()
    run = fake_client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id="asst_1")
    assert run.status == "requires_action"
    run = fake_client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=_outputs(run)
    )
    assert run.status == "completed"
    routes = [r.route for r in fake_server.requests]
    assert routes.count("submit_tool_outputs") == 1
    # requires_action at t=5 (polls at 0..5), completed at t=9 (polls at 5..9): one poll per poll-after second
    assert fake_server.count("retrieve_run", run_id=run.id) == 6 + 5
    assert fake_server.clock.slept == pytest.approx(9)


def test_stream_with_an_event_handler(fake_server: FakeAssistantsServer, fake_client: openai.OpenAI) -> None:
    """runs.stream and submit_tool_outputs_stream deliver the lifecycle's events to an AssistantEventHandler."""
    fake_server.queue_run(TOOL_ROUND, reply="It is 18C in Paris.")
    thread = fake_client.beta.threads.create()
    first = _Recorder()
    with fake_client.beta.threads.runs.stream(thread_id=thread.id, assistant_id="asst_1", event_handler=first) as s:
        s.until_done()
        run = s.current_run
    assert run is not None
    assert first.events == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.requires_action",
    ]
    second = _Recorder()
    with fake_client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id, run_id=run.id, tool_outputs=_outputs(run), event_handler=second
    ) as s:
        s.until_done()
        assert s.current_run is not None
        assert s.current_run.status == "completed"
    run_events = [e for e in second.events if e.startswith("thread.run.") and ".step." not in e]
    assert run_events == ["thread.run.queued", "thread.run.in_progress", "thread.run.completed"]
    assert second.text == "It is 18C in Paris."
    assert [r.stream for r in fake_server.requests if r.route in ("create_run", "submit_tool_outputs")] == [True, True]


def test_cancel(fake_server: FakeAssistantsServer, fake_client: openai.OpenAI) -> None:
    """Cancel returns cancelling; polling then sees cancelled; a second cancel is refused."""
    fake_server.queue_run(["queued", ("in_progress", STUCK)])
    thread = fake_client.beta.threads.create()
    run = fake_client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    assert fake_client.beta.threads.runs.cancel(run.id, thread_id=thread.id).status == "cancelling"
    done = fake_client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert done.status == "cancelled"
    assert done.cancelled_at is not None
    with pytest.raises(openai.BadRequestError, match=re.escape("Cannot cancel run with status 'cancelled'.")):
        fake_client.beta.threads.runs.cancel(run.id, thread_id=thread.id)


@pytest.mark.runfsm_fake(poll_after_ms=250)
def test_marker_configures_the_fake(fake_server: FakeAssistantsServer, fake_client: openai.OpenAI) -> None:
    """@pytest.mark.runfsm_fake passes options to the fake: here 250 ms between the helper's polls."""
    thread = fake_client.beta.threads.create()
    run = fake_client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id="asst_1")
    assert fake_server.count("retrieve_run", run_id=run.id) == 13  # 3 s at 250 ms, plus the final poll


def test_faults_over_http(fake_server: FakeAssistantsServer) -> None:
    """429 with retry-after, a 500 and a really dropped connection are all retried by the SDK."""
    client = fake_server.client(max_retries=3)
    fake_server.fail_next(429, retry_after=2)
    fake_server.fail_next(500)
    fake_server.drop_next()
    thread = client.beta.threads.create()
    client.close()
    assert thread.id.startswith("thread_")
    assert [(r.status_code, r.fault) for r in fake_server.requests] == [
        (429, "429"),
        (500, "500"),
        (0, "drop"),
        (200, None),
    ]


def test_a_dropped_connection_reaches_a_client_without_retries(fake_server: FakeAssistantsServer) -> None:
    """With retries off, a dropped connection surfaces as openai.APIConnectionError."""
    client = fake_server.client(max_retries=0)
    fake_server.drop_next()
    with pytest.raises(openai.APIConnectionError):
        client.beta.threads.create()
    client.close()


@pytest.mark.anyio
async def test_async_client(fake_server: FakeAssistantsServer, fake_async_client: openai.AsyncOpenAI) -> None:
    """The async SDK works the same over loopback: create_and_poll in virtual time."""
    fake_server.queue_run(["queued", ("in_progress", 60), "completed"])
    thread = await fake_async_client.beta.threads.create()
    run = await fake_async_client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id="asst_1")
    assert run.status == "completed"
    assert fake_server.clock.slept == pytest.approx(61)


def test_server_lifecycle() -> None:
    """A server's url needs it running server; start twice is refused; stop is idempotent; hosts are loopback only."""
    server = FakeAssistantsServer()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
    with server, pytest.raises(RuntimeError, match="already running"):
        server.start()
    server.stop()
    with pytest.raises(ValueError, match="loopback"):
        FakeAssistantsServer(host="0.0.0.0")  # the refused input under test
