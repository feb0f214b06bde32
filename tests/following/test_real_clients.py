"""The kit proven on real client code: the openai SDK over loopback HTTP, runs drawn from the lifecycle.

Two polling loops run against :class:`~runfsm.testing.fake.FakeAssistantsServer`: the loop published in
the seed essay (``shared/seeds/001_*``: backoff from 0.5 s, no requires_action branch, gives up
after 60 s) and a careful one (polls as ``openai-poll-after-ms`` says, answers requires_action,
stops on a terminal status only). :func:`_problems` judges a client from the fake's request log
and the fake's own record of the run's statuses. The careful loop has no problem on any drawn run;
for the seed loop, hypothesis finds and shrinks a short run showing each of its bugs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from runfsm import RunStatus
from runfsm.testing.strategies import stream_histories

if TYPE_CHECKING:
    import openai

    from runfsm.testing.fake import FakeAssistantsServer

pytestmark = [
    pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning"),
    pytest.mark.runfsm_fake(check=False),  # these tests make the refused calls and bad loops on purpose
]

R = RunStatus
POLL_AFTER_S = 1.0
ClientLoop = Callable[["openai.OpenAI", str, str, Callable[[float], None], Callable[[], float]], str]


def seed_essay_loop(
    client: openai.OpenAI, thread_id: str, run_id: str, sleep: Callable[[float], None], now: Callable[[], float]
) -> str:
    """The seed essay's loop, unchanged but for time.sleep / time.time being injected."""
    wait_time = 0.5
    max_wait_time = 5.0
    max_total_wait = 60.0
    start_time = now()
    while True:
        elapsed = now() - start_time
        if elapsed > max_total_wait:
            return "timeout"
        run = client.beta.threads.runs.retrieve(thread_id=thread_id, run_id=run_id)
        if run.status == "completed":
            return run.status
        if run.status in ["failed", "expired", "cancelled"]:
            return run.status
        sleep(wait_time)
        wait_time = min(wait_time * 1.5, max_wait_time)


def careful_loop(
    client: openai.OpenAI, thread_id: str, run_id: str, sleep: Callable[[float], None], now: Callable[[], float]
) -> str:
    """Polls when the server says, answers every requires_action, stops only on a terminal status."""
    del now  # no give-up: the server ends every run by expires_at
    for _ in range(10_000):  # bounded: 600 s at the fastest poll-after the API sends is far less
        raw = client.beta.threads.runs.with_raw_response.retrieve(run_id, thread_id=thread_id)
        run = raw.parse()
        status = RunStatus.parse(run.status)  # an unknown status raises a clear UnknownStatus
        if status.is_terminal:
            return run.status
        if status.is_paused and run.required_action is not None:
            calls = run.required_action.submit_tool_outputs.tool_calls
            client.beta.threads.runs.submit_tool_outputs(
                run_id, thread_id=thread_id, tool_outputs=[{"tool_call_id": c.id, "output": "ok"} for c in calls]
            )
        sleep(int(raw.headers.get("openai-poll-after-ms", "1000")) / 1000)
    raise AssertionError("careful_loop: no terminal status after 10 000 polls")


def _problems(server: FakeAssistantsServer, run_id: str, result: str) -> list[str]:
    """What a client did wrong with one run, judged from the fake's request log (which status each poll saw)."""
    problems: list[str] = []
    final = server.status(run_id)
    if not final.is_terminal:
        problems.append(f"stopped watching ({result}) while the run was {final}")
    log = [r for r in server.requests if r.run_id == run_id and r.route in ("retrieve_run", "submit_tool_outputs")]
    polls = [r for r in log if r.route == "retrieve_run"]
    gaps = [b.at - a.at for a, b in itertools.pairwise(polls)]
    if any(g < POLL_AFTER_S - 1e-6 for g in gaps):  # float slack: times are ~1.75e9 s
        problems.append(f"polled {min(gaps):g} s after a poll; the server asked for {POLL_AFTER_S:g} s")
    idle = 0
    for r in log:
        if r.route == "submit_tool_outputs":
            idle = 0
        elif r.run_status == "requires_action":
            idle += 1
            if idle == 2:
                problems.append("polled requires_action again without submitting tool outputs")
    finished = sum(1 for r in polls if r.run_status is not None and RunStatus.parse(r.run_status).is_terminal)
    if finished > 1:
        problems.append(f"polled a finished run {finished - 1} more times")
    return problems


def _play(
    server: FakeAssistantsServer, client: openai.OpenAI, loop: ClientLoop, case: tuple[list[RunStatus], int]
) -> list[str]:
    history, seconds = case
    server.clock.advance_to(math.ceil(server.clock.now()))  # each run starts on a whole second: replayable
    server.queue_run(history, seconds=seconds)
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    result = loop(client, thread.id, run.id, server.clock.sleep, server.clock.now)
    return _problems(server, run.id, result)


RUNS = st.tuples(stream_histories(cancel=False, max_length=12, depth=2), st.integers(0, 40))


@pytest.mark.slow
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])  # one server, many runs
@given(case=RUNS)
def test_careful_loop_has_no_problem(
    fake_server: FakeAssistantsServer, fake_client: openai.OpenAI, case: tuple[list[RunStatus], int]
) -> None:
    """On every drawn run the careful loop polls as asked, answers tools, and stops only when the run ended."""
    assert _problems_or_none(fake_server, fake_client, careful_loop, case) == []


def _problems_or_none(
    server: FakeAssistantsServer, client: openai.OpenAI, loop: ClientLoop, case: tuple[list[RunStatus], int]
) -> list[str]:
    problems = _play(server, client, loop, case)
    rejected = [r for r in server.requests if r.status_code == 400]
    return problems + [f"the API refused a {r.route}" for r in rejected]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        # requires_action from 2s to 3s: the seed loop's polls (0, 0.5, 1.25, ..., 15.4, 20.4) see it twice at s=7
        ("polled requires_action again", ([R.Queued, R.InProgress, R.RequiresAction, R.Expired], 7)),
        ("stopped watching", ([R.Queued, R.InProgress, R.Completed], 31)),  # alive past the 60 s give-up
        ("polled 0.5 s after a poll", ([R.Queued, R.Expired], 1)),
        ("polled a finished run", ([R.Queued, R.InProgress, R.Incomplete], 0)),
    ],
    ids=["hangs-on-requires_action", "abandons-a-live-run", "wastes-requests", "loops-on-incomplete"],
)
def test_seed_loop_bugs_are_found_and_shrunk(
    fake_server: FakeAssistantsServer,
    fake_client: openai.OpenAI,
    problem: str,
    expected: tuple[list[RunStatus], int],
) -> None:
    """Hypothesis finds a run showing each bug of the seed loop and shrinks it to the shortest, simplest one."""

    def shows(case: tuple[list[RunStatus], int]) -> bool:
        return any(problem in p for p in _play(fake_server, fake_client, seed_essay_loop, case))

    found: Any = find(RUNS, shows, settings=settings(max_examples=200, database=None))
    history, seconds = found
    # the known minimal example (shrinking reaches it in practice; never anything larger than it)
    assert (len(history), seconds) <= (len(expected[0]), expected[1])
    assert history[0] is R.Queued
    assert history[-1].is_terminal
