"""The kit proven on the Azure SDK's own loop: ``AgentsClient.runs.create_and_process`` against the fake.

The real ``azure-ai-agents`` client talks to :class:`~runfsm.testing.fake.FakeAssistantsServer`
over loopback HTTP. Runs play histories drawn from the lifecycle; where a history is cancelled,
another client (an operator) sends the cancel the script waits for, as soon as the run reaches
the status the script cancels from. ``create_and_process`` polls while the run is ``queued``,
``in_progress`` or ``requires_action`` and returns on anything else, and the SDK's ``RunStatus``
has eight members. Hypothesis finds and shrinks a run showing each flaw that follows: it returns
a run that is still ``cancelling``, and it returns ``incomplete``, a status its own enum lacks.
runfsm's :class:`~runfsm.following.watcher.Watcher`, given the same client, follows the same
drawn runs to their real end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from runfsm import RunStatus
from runfsm.following.watcher import Watcher
from runfsm.testing.fake.azure_clients import virtual_sdk_sleep
from runfsm.testing.strategies import stream_histories

if TYPE_CHECKING:
    from azure.ai.agents import AgentsClient

    from runfsm.testing.fake import FakeAssistantsServer

pytestmark = pytest.mark.runfsm_fake(
    check=False
)  # the SDK loop's flaws are found by these tests themselves, not by the fixtures' check

R = RunStatus
Case = tuple[list[RunStatus], int, int]
"""A drawn run: its history, the seconds each scripted step lasts, the seconds a cancel takes."""

POLL_S = 10
"""``create_and_process``'s ``polling_interval`` here (the SDK's default is 1 s): a run that waits for
its 600 s expiry costs 60 polls rather than 600, and the flaws are the same at any interval."""

RUNS: st.SearchStrategy[Case] = st.tuples(
    stream_histories(max_length=8, depth=2), st.integers(0, 20), st.integers(0, 5)
)


def get_weather(city: str) -> str:
    """The tool the fake's runs call (``get_weather({"city": "Paris"})``)."""
    return f"sunny in {city}"


class Operator:
    """Another client of the same runs: sends the cancel a drawn history waits for, once the run is there.

    Acts whenever the client under test sleeps (after virtual time passed), before its next request.
    """

    def __init__(self, server: FakeAssistantsServer, operator: AgentsClient) -> None:
        self.server = server
        self.operator = operator
        self.watching: tuple[str, str, list[RunStatus]] | None = None

    def follow(self, thread_id: str, run_id: str, history: list[RunStatus]) -> None:
        self.watching = (thread_id, run_id, history)

    def sleep(self, seconds: float) -> None:
        self.server.clock.sleep(seconds)
        if self.watching is None:
            return
        thread_id, run_id, history = self.watching
        if R.Cancelling not in history:
            return
        before = history[: history.index(R.Cancelling)]
        if self.server.history(run_id) == before:
            self.operator.runs.cancel(thread_id=thread_id, run_id=run_id)
            self.watching = None


@pytest.fixture
def agents(fake_server: FakeAssistantsServer) -> Iterator[AgentsClient]:
    """A real ``AgentsClient`` of the fake, its function tool enabled (so ``create_and_process`` answers tools)."""
    client = fake_server.agents_client()
    client.enable_auto_function_calls({get_weather})
    with client:
        yield client


@pytest.fixture
def operator(fake_server: FakeAssistantsServer) -> Iterator[Operator]:
    """The other client that cancels drawn runs, on its own ``AgentsClient``."""
    with fake_server.agents_client() as client:
        yield Operator(fake_server, client)


def _sdk_problems(server: FakeAssistantsServer, returned: Any) -> list[str]:
    """What is wrong with the run ``create_and_process`` returned, judged by the fake's record of it."""
    from azure.ai.agents.models import RunStatus as AzureRunStatus

    problems: list[str] = []
    status = RunStatus.parse(returned.status)
    if not status.is_terminal:
        problems.append(f"returned while the run was {status} (the server then: {server.status(returned.id)})")
    if returned.status not in {m.value for m in AzureRunStatus}:
        problems.append(f"returned {returned.status!r}, which the SDK's RunStatus does not have")
    return problems


def _create_and_process(server: FakeAssistantsServer, client: AgentsClient, operator: Operator, case: Case) -> Any:
    history, seconds, cancel_seconds = case
    server.clock.advance_to(math.ceil(server.clock.now()))
    server.queue_run(history, seconds=seconds, cancel_seconds=cancel_seconds)
    thread = client.threads.create()
    followed: list[bool] = []

    def sleep(seconds: float) -> None:
        if not followed:  # the run exists by the SDK's first sleep (it sleeps before each poll)
            operator.follow(thread.id, server.run_ids()[-1], history)
            followed.append(True)
        operator.sleep(seconds)

    with virtual_sdk_sleep(server.clock, sleep=sleep):
        return client.runs.create_and_process(thread_id=thread.id, agent_id="asst_1", polling_interval=POLL_S)


def shows(
    problem: str, server: FakeAssistantsServer, client: AgentsClient, operator: Operator
) -> Callable[[Case], bool]:
    """A predicate for ``find``: the drawn run makes ``create_and_process`` show ``problem``."""

    def predicate(case: Case) -> bool:
        returned = _create_and_process(server, client, operator, case)
        return any(problem in p for p in _sdk_problems(server, returned))

    return predicate


@pytest.mark.slow
@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ("returned while the run was cancelling", ([R.Queued, R.Cancelling, R.Cancelled], 1, 0)),
        ("which the SDK's RunStatus does not have", ([R.Queued, R.InProgress, R.Incomplete], 0, 0)),
    ],
    ids=["returns-while-cancelling", "has-no-incomplete"],
)
def test_create_and_process_flaws_are_found_and_shrunk(
    fake_server: FakeAssistantsServer, agents: AgentsClient, operator: Operator, problem: str, expected: Case
) -> None:
    """Hypothesis finds a run showing each flaw of ``create_and_process`` and shrinks it to the smallest one."""
    found: Any = find(
        RUNS,
        shows(problem, fake_server, agents, operator),
        settings=settings(max_examples=300, database=None, phases=[Phase.generate, Phase.shrink]),
    )
    history, seconds, cancel_seconds = found
    assert (len(history), seconds, cancel_seconds) <= (len(expected[0]), expected[1], expected[2])
    assert history[0] is R.Queued
    assert history[-1].is_terminal


def tools(run: Any) -> list[dict[str, str]]:
    """The watcher's tool handler: the same function ``create_and_process`` calls."""
    calls = run.required_action.submit_tool_outputs.tool_calls
    return [{"tool_call_id": c.id, "output": get_weather("Paris")} for c in calls]


def _watch(server: FakeAssistantsServer, client: AgentsClient, operator: Operator, case: Case) -> tuple[str, Any]:
    """Create the drawn run, follow it with ``Watcher.poll`` (the operator cancels as for the SDK): (run id, result)."""
    history, seconds, cancel_seconds = case
    server.clock.advance_to(math.ceil(server.clock.now()))
    server.queue_run(history, seconds=seconds, cancel_seconds=cancel_seconds)
    thread = client.threads.create()
    run = client.runs.create(thread_id=thread.id, agent_id="asst_1")
    operator.follow(thread.id, run.id, history)
    watcher = Watcher(client, clock=server.clock.now, sleep=operator.sleep)
    return run.id, watcher.poll(run, on_action=tools)


@pytest.mark.slow
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])  # one server, many runs
@given(case=RUNS)
def test_the_watcher_follows_the_same_runs_to_their_end(
    fake_server: FakeAssistantsServer, agents: AgentsClient, operator: Operator, case: Case
) -> None:
    """On every drawn run, ``Watcher.poll`` with the same client ends on the status the server ended the run in."""
    run_id, result = _watch(fake_server, agents, operator, case)
    assert result.status.is_terminal
    assert result.status is fake_server.status(run_id)
    assert [r for r in fake_server.requests if r.run_id == run_id and r.status_code >= 400] == []


@pytest.mark.parametrize(
    ("case", "ends"),
    [
        (([R.Queued, R.Cancelling, R.Cancelled], 1, 0), ("cancelling", R.Cancelled)),
        (([R.Queued, R.InProgress, R.Incomplete], 0, 0), ("incomplete", R.Incomplete)),
    ],
    ids=["cancelled-by-another-client", "guardrail-stop"],
)
def test_on_the_shrunk_runs_the_sdk_and_the_watcher_differ(
    fake_server: FakeAssistantsServer, agents: AgentsClient, operator: Operator, case: Case, ends: tuple[str, RunStatus]
) -> None:
    """The two minimal runs: ``create_and_process`` returns what the README warns of; the watcher, the real end."""
    sdk_returns, watcher_ends = ends
    assert _create_and_process(fake_server, agents, operator, case).status == sdk_returns
    assert _watch(fake_server, agents, operator, case)[1].status is watcher_ends
