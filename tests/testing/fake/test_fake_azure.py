"""Tests for the fake's Azure AI Foundry Agents surface: the real ``azure-ai-agents`` client over loopback HTTP.

The client is the SDK's own ``AgentsClient`` (sync) and ``azure.ai.agents.aio.AgentsClient``
(aiohttp), authenticated by a static test credential through the SDK's bearer-token policy,
with ``enforce_https`` lifted for loopback only (:mod:`runfsm.testing.fake.azure_clients`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest
from azure.ai.agents.models import BaseAgentEventHandler, ListSortOrder, ThreadRun, ToolOutput
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)

from runfsm import RunStatus
from runfsm.testing.fake import STUCK, FakeAssistantsServer
from runfsm.testing.fake.azure import engine_path, is_azure_path, project_path
from runfsm.testing.fake.azure_clients import StaticTokenCredential, virtual_sdk_sleep

if TYPE_CHECKING:
    from azure.ai.agents import AgentsClient
    from azure.ai.agents.aio import AgentsClient as AsyncAgentsClient

    from runfsm.testing.fake.script import StepLike

pytestmark = pytest.mark.runfsm_fake(check=False)  # tests of the fake's Azure routes leave runs live on purpose

TOOL_ROUND_STATUSES = ("queued", "in_progress", "requires_action", "queued", "in_progress", "completed")
TOOL_ROUND: list[StepLike] = list(zip(TOOL_ROUND_STATUSES, (1, 4, 1, 1, 3, 0), strict=True))
"""A run with one tool round (status, seconds): paused at t+5, completed 4 s after the submit."""


def _outputs(run: ThreadRun) -> list[ToolOutput]:
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    return [ToolOutput(tool_call_id=c.id, output="18C") for c in calls]


class _Events(BaseAgentEventHandler[tuple[str, str]]):
    """Records each event's name and the run status it carries (if any), without submitting anything."""

    def _process_event(self, event_data_str: str) -> tuple[str, str]:
        lines = dict(line.split(": ", 1) for line in event_data_str.splitlines() if ": " in line)
        return lines.get("event", ""), lines.get("data", "")


def test_paths_under_a_project_endpoint_route_like_the_openai_ones() -> None:
    """``/api/projects/<p>/threads/...`` is Azure's; the fake routes it as ``/threads/...``."""
    path = f"{project_path()}/threads/thread_1/runs/run_1"
    assert is_azure_path(path)
    assert engine_path(path) == "/threads/thread_1/runs/run_1"
    assert not is_azure_path("/v1/threads")
    assert engine_path("/v1/threads") == "/v1/threads"
    with pytest.raises(ValueError, match="one non-empty path segment"):
        project_path("a/b")


def test_a_tool_round_through_create_get_submit_and_list(
    fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient
) -> None:
    """Threads, messages and runs work through the SDK's own calls; statuses follow the script in virtual time."""
    client = fake_agents_client
    fake_server.queue_run(TOOL_ROUND)
    thread = client.threads.create()
    message = client.messages.create(thread_id=thread.id, role="user", content="Weather in Paris?")
    run = client.runs.create(thread_id=thread.id, agent_id="asst_1")
    assert (run.status, run.agent_id, run.thread_id) == ("queued", "asst_1", thread.id)
    assert run.expires_at is not None
    fake_server.clock.advance(5)
    paused = client.runs.get(thread_id=thread.id, run_id=run.id)
    assert paused.status == "requires_action"
    queued = client.runs.submit_tool_outputs(thread_id=thread.id, run_id=run.id, tool_outputs=_outputs(paused))
    assert queued.status == "queued"
    fake_server.clock.advance(10)
    assert client.runs.get(thread_id=thread.id, run_id=run.id).status == "completed"
    assert [r.id for r in client.runs.list(thread_id=thread.id, limit=1, order=ListSortOrder.DESCENDING)] == [run.id]
    texts = [m.text_messages[0].text.value for m in client.messages.list(thread_id=thread.id, order="asc")]
    assert texts == ["Weather in Paris?", "Done."]
    assert message.thread_id == thread.id
    assert fake_server.history(run.id) == [RunStatus.parse(s) for s in TOOL_ROUND_STATUSES]
    assert all(r.path.startswith(project_path()) for r in fake_server.requests)
    assert fake_server.warnings() == []


def test_a_deleted_thread_is_gone(fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient) -> None:
    """``threads.delete`` (the cleanup step of Azure's samples) answers ``deleted``; the thread then is a 404."""
    thread = fake_agents_client.threads.create()
    fake_agents_client.threads.delete(thread.id)
    with pytest.raises(ResourceNotFoundError, match="No thread found"):
        fake_agents_client.threads.get(thread.id, retry_total=0)
    assert [r.route for r in fake_server.requests] == ["create_thread", "delete_thread", "retrieve_thread"]


def test_cancel_goes_through_cancelling(fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient) -> None:
    """``runs.cancel`` answers ``cancelling``; the run is ``cancelled`` after the script's cancel time."""
    fake_server.queue_run(["queued", ("in_progress", STUCK)], cancel_seconds=2)
    thread = fake_agents_client.threads.create()
    run = fake_agents_client.runs.create(thread_id=thread.id, agent_id="asst_1")
    assert fake_agents_client.runs.cancel(thread_id=thread.id, run_id=run.id).status == "cancelling"
    fake_server.clock.advance(2)
    assert fake_agents_client.runs.get(thread_id=thread.id, run_id=run.id).status == "cancelled"
    with pytest.raises(HttpResponseError, match="Cannot cancel run with status 'cancelled'") as err:
        fake_agents_client.runs.cancel(thread_id=thread.id, run_id=run.id, retry_total=0)
    assert err.value.status_code == 400


def test_streams_play_the_script_and_the_submit_stream_goes_on(
    fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient
) -> None:
    """``runs.stream`` yields the lifecycle's events up to the pause; ``submit_tool_outputs_stream`` the rest."""
    fake_server.queue_run(TOOL_ROUND)
    thread = fake_agents_client.threads.create()
    with fake_agents_client.runs.stream(thread_id=thread.id, agent_id="asst_1", event_handler=_Events()) as stream:
        first = [name for name, _ in stream]
    run_id = fake_server.run_ids()[-1]
    paused = fake_agents_client.runs.get(thread_id=thread.id, run_id=run_id)
    handler = _Events()
    fake_agents_client.runs.submit_tool_outputs_stream(
        thread_id=thread.id, run_id=run_id, tool_outputs=_outputs(paused), event_handler=handler
    )
    rest = [name for name, _ in handler]
    runs = [n for n in first + rest if n.startswith("thread.run.") and not n.startswith("thread.run.step.")]
    assert runs == ["thread.run.created", *(f"thread.run.{s}" for s in TOOL_ROUND_STATUSES)]
    assert first[-1] == rest[-1] == "done"
    assert [r.stream for r in fake_server.requests if r.route in ("create_run", "submit_tool_outputs")] == [True, True]


def test_the_sdk_event_handler_parses_every_event(fake_server: FakeAssistantsServer, fake_agents_client: Any) -> None:
    """With the SDK's default handler, run events come as ``ThreadRun`` models and messages as ``ThreadMessage``."""
    thread = fake_agents_client.threads.create()
    with fake_agents_client.runs.stream(thread_id=thread.id, agent_id="asst_1") as stream:
        items = list(stream)
    kinds = {name: type(data).__name__ for name, data, _ in items}
    assert kinds["thread.run.completed"] == "ThreadRun"
    assert kinds["thread.message.completed"] == "ThreadMessage"
    assert kinds["thread.message.delta"] == "MessageDeltaChunk"


def test_a_request_without_a_bearer_token_is_refused(fake_server: FakeAssistantsServer) -> None:
    """The Azure surface answers 401 without ``Authorization: Bearer``, and 400 without ``api-version``."""
    path = f"{project_path()}/threads"
    no_auth = fake_server.handle("POST", path, query="api-version=v1", body=b"{}")
    assert no_auth.status_code == 401
    no_version = fake_server.handle("POST", path, body=b"{}", headers={"Authorization": "Bearer t"})
    assert no_version.status_code == 400
    assert "api-version" in no_version.json()["error"]["message"]
    assert (
        fake_server.handle("POST", path, query="api-version=v1", headers={"authorization": "Bearer t"}).status_code
        == 200
    )
    assert [r.status_code for r in fake_server.requests] == [401, 400, 200]


def test_the_sdk_reports_a_401_as_an_authentication_error(fake_server: FakeAssistantsServer) -> None:
    """A credential handing out an empty token gets the SDK's ``ClientAuthenticationError``."""
    with (
        fake_server.agents_client(credential=StaticTokenCredential(token=" ")) as client,
        pytest.raises(ClientAuthenticationError),
    ):
        client.threads.create(retry_total=0)


def test_bearer_tokens_go_over_plain_http_to_loopback_only() -> None:
    """``AllowLoopbackHttp`` lifts the HTTPS check for 127.0.0.1 only: another host still gets the SDK's refusal."""
    from azure.ai.agents import AgentsClient

    from runfsm.testing.fake.azure_clients import AllowLoopbackHttp

    client = AgentsClient(
        "http://agents.example.invalid/api/projects/p", StaticTokenCredential(), per_call_policies=[AllowLoopbackHttp()]
    )
    with client, pytest.raises(ServiceRequestError, match="not permitted for non-TLS"):
        client.threads.create(retry_total=0)


def test_openai_only_headers_stay_off_the_azure_surface(fake_server: FakeAssistantsServer) -> None:
    """Run responses carry ``openai-poll-after-ms`` on ``/v1`` and not under a project endpoint."""
    auth = {"authorization": "Bearer t"}
    thread = fake_server.handle("POST", f"{project_path()}/threads", query="api-version=v1", headers=auth).json()
    body = b'{"assistant_id": "asst_1"}'
    azure = fake_server.handle(
        "POST", f"{project_path()}/threads/{thread['id']}/runs", query="api-version=v1", body=body, headers=auth
    )
    fake_server.clock.advance(10)
    openai = fake_server.handle("GET", f"/v1/threads/{thread['id']}/runs/{azure.json()['id']}")
    assert "openai-poll-after-ms" not in azure.headers
    assert "openai-poll-after-ms" in openai.headers


def test_sdk_retries_sleep_on_the_virtual_clock(
    fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient
) -> None:
    """A 429 with ``retry-after: 7`` is retried by the SDK after 7 virtual seconds, with no real wait."""
    thread = fake_agents_client.threads.create()
    fake_server.fail_next(429, retry_after=7, route="create_run")
    before, started = fake_server.clock.now(), time.monotonic()
    run = fake_agents_client.runs.create(thread_id=thread.id, agent_id="asst_1")
    assert run.status == "queued"
    assert fake_server.clock.now() - before == pytest.approx(7)
    assert time.monotonic() - started < 5
    assert [r.status_code for r in fake_server.requests if r.route == "create_run"] == [429, 200]


def test_create_and_process_waits_in_virtual_time(
    fake_server: FakeAssistantsServer, fake_agents_client: AgentsClient
) -> None:
    """Within ``virtual_sdk_sleep``, the SDK's ``create_and_process`` follows a 41 s run at once, one poll a second."""
    fake_server.queue_run(["queued", ("in_progress", 40), "completed"])
    thread = fake_agents_client.threads.create()
    started = time.monotonic()
    with virtual_sdk_sleep(fake_server.clock):
        run = fake_agents_client.runs.create_and_process(thread_id=thread.id, agent_id="asst_1")
    assert run.status == "completed"
    assert fake_server.count("retrieve_run", run_id=run.id) == 41  # polling_interval=1: t+1 ... t+41, when it ends
    assert time.monotonic() - started < 10
    import azure.ai.agents.operations._patch as ops

    assert vars(ops)["time"] is time  # restored


@pytest.mark.anyio
async def test_the_async_client_drives_a_tool_round(
    fake_server: FakeAssistantsServer, fake_async_agents_client: AsyncAgentsClient
) -> None:
    """``azure.ai.agents.aio.AgentsClient`` (aiohttp) talks to the same fake: create, get, submit, stream."""
    client = fake_async_agents_client
    fake_server.queue_run(TOOL_ROUND)
    thread = await client.threads.create()
    run = await client.runs.create(thread_id=thread.id, agent_id="asst_1")
    fake_server.clock.advance(5)
    paused = await client.runs.get(thread_id=thread.id, run_id=run.id)
    assert paused.status == "requires_action"
    await client.runs.submit_tool_outputs(thread_id=thread.id, run_id=run.id, tool_outputs=_outputs(paused))
    fake_server.clock.advance(10)
    assert (await client.runs.get(thread_id=thread.id, run_id=run.id)).status == "completed"
    stream = await client.runs.stream(thread_id=thread.id, agent_id="asst_1")
    async with stream as events:
        names = [name async for name, _, _ in events]
    assert names[-2:] == ["thread.run.completed", "done"]
