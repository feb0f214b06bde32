"""The fake's run steps as the API lists them: one ``tool_calls`` step per round, waiting, then completed with outputs.

What the watcher relies on after a lost submit: a step per ``requires_action`` round, in progress
while the run waits for that round's outputs, completed (with each function call's ``output``)
once they are submitted, ended with the run otherwise; ids, ``created_at`` order, ``asc``/``desc``
and pagination as the API pages lists. Read with the real ``openai`` and ``azure-ai-agents``
clients over loopback, and through the watcher's adapters (``list_run_steps``), page by page.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from runfsm import RunStatus
from runfsm.following.azure import AsyncAzureAgentsRuns, AzureAgentsRuns
from runfsm.following.client import AsyncOpenAIRuns, OpenAIRuns
from runfsm.testing.fake import FakeAssistantsServer, RunScript
from runfsm.testing.fake.objects import tool_call

if TYPE_CHECKING:
    import openai
    from azure.ai.agents import AgentsClient

pytestmark = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")

ROUND = ["in_progress", "requires_action", "queued"]
THREE_ROUNDS = RunScript(
    ["queued", *ROUND, *ROUND, *ROUND, "in_progress", "completed"],
    tool_calls=[tool_call("call_a"), tool_call("call_b")],
)
"""Three rounds of the same two calls, then a reply."""


def _answer(client: openai.OpenAI, thread_id: str, run_id: str, output: str) -> None:
    run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]  # requires_action
    client.beta.threads.runs.submit_tool_outputs(
        run_id, thread_id=thread_id, tool_outputs=[{"tool_call_id": c.id, "output": f"{output} {c.id}"} for c in calls]
    )


def _until(server: FakeAssistantsServer, run_id: str, status: RunStatus) -> None:
    while server.status(run_id) is not status:
        server.clock.advance(1.0)


def _start(server: FakeAssistantsServer, client: openai.OpenAI) -> tuple[str, str]:
    """A thread and a run playing :data:`THREE_ROUNDS`: ``(thread id, run id)``."""
    server.queue_run(THREE_ROUNDS)
    thread = client.beta.threads.create()
    return thread.id, client.beta.threads.runs.create(thread.id, assistant_id="asst_1").id


@pytest.mark.runfsm_fake(check=False)  # the test plays the client by hand, polling as it likes
def test_a_step_per_round_waits_then_shows_its_outputs(
    fake_server: FakeAssistantsServer, fake_client: openai.OpenAI
) -> None:
    """Round 1 answered, round 2 waiting: two tool_calls steps, completed with outputs, then in progress with none."""
    thread_id, run_id = _start(fake_server, fake_client)
    _until(fake_server, run_id, RunStatus.RequiresAction)
    _answer(fake_client, thread_id, run_id, "first")
    _until(fake_server, run_id, RunStatus.RequiresAction)
    steps = list(fake_client.beta.threads.runs.steps.list(run_id, thread_id=thread_id, order="asc"))
    assert [(s.type, s.status) for s in steps] == [("tool_calls", "completed"), ("tool_calls", "in_progress")]
    shown = [[(c.id, c.function.output) for c in s.step_details.tool_calls] for s in steps]  # type: ignore[union-attr]  # tool_calls steps, function calls
    assert shown == [[("call_a", "first call_a"), ("call_b", "first call_b")], [("call_a", None), ("call_b", None)]]
    assert steps[0].completed_at is not None
    assert steps[1].completed_at is None
    assert len({s.id for s in steps}) == 2
    assert steps[0].created_at <= steps[1].created_at
    newest_first = fake_client.beta.threads.runs.steps.list(run_id, thread_id=thread_id)
    assert [s.id for s in newest_first] == [s.id for s in reversed(steps)]
    required = fake_client.beta.threads.runs.retrieve(run_id, thread_id=thread_id).required_action
    assert [c.id for c in required.submit_tool_outputs.tool_calls] == ["call_a", "call_b"]  # type: ignore[union-attr]  # requires_action


@pytest.mark.runfsm_fake(check=False)  # the run is left to expire on purpose
def test_a_round_left_unanswered_expires_with_its_run(
    fake_server: FakeAssistantsServer, fake_client: openai.OpenAI
) -> None:
    """A waiting round's step ends as its run does: expired, with ``expired_at``."""
    thread_id, run_id = _start(fake_server, fake_client)
    _until(fake_server, run_id, RunStatus.Expired)
    (step,) = fake_client.beta.threads.runs.steps.list(run_id, thread_id=thread_id)
    assert (step.status, step.expired_at is not None) == ("expired", True)


@pytest.mark.runfsm_fake(check=False)  # the test plays the client by hand, polling as it likes
def test_the_adapters_list_every_page_oldest_first(
    fake_server: FakeAssistantsServer, fake_client: openai.OpenAI, fake_agents_client: AgentsClient
) -> None:
    """Four steps, two a page: every adapter (openai, Azure; sync, async) returns all four, oldest first."""
    thread_id, run_id = _start(fake_server, fake_client)
    for output in ("first", "second", "third"):
        _until(fake_server, run_id, RunStatus.RequiresAction)
        _answer(fake_client, thread_id, run_id, output)
    _until(fake_server, run_id, RunStatus.Completed)
    expected = [s.id for s in fake_client.beta.threads.runs.steps.list(run_id, thread_id=thread_id, order="asc")]
    assert len(expected) == 4  # three rounds and the reply

    def ids(steps: list[Any]) -> list[str]:
        return [str(s["id"] if isinstance(s, dict) or hasattr(s, "keys") else s.id) for s in steps]

    openai_runs, azure_runs = OpenAIRuns(fake_client), AzureAgentsRuns(fake_agents_client)
    before = fake_server.count("list_run_steps")
    for adapter in (openai_runs, azure_runs):
        adapter.steps_page = 2
        assert ids(adapter.list_run_steps(thread_id, run_id)) == expected
    # openai reads has_more (2 pages); Azure's pager cannot, so a full last page costs it one empty page more
    assert fake_server.count("list_run_steps") - before == 2 + 3

    async def listed() -> list[list[str]]:
        client = fake_server.async_client()
        try:
            async with fake_server.async_agents_client() as agents:
                found = []
                for adapter in (AsyncOpenAIRuns(client), AsyncAzureAgentsRuns(agents)):
                    adapter.steps_page = 3
                    found.append(ids(await adapter.list_run_steps(thread_id, run_id)))
                return found
        finally:
            await client.close()

    assert asyncio.run(listed()) == [expected, expected]
