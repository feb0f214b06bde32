"""Tests for runfsm.testing.stateful: the machine moves a run along the lifecycle and catches client bugs.

A correct client passes as a plain ``TestCase``; three buggy clients (from the seed essay's loop
and a stale-state bug) are each caught by the built-in check they break. Blocking client
functions run under ``run_client`` and are judged by all of the fake's rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import openai
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from runfsm import RunStatus
from runfsm.testing.stateful import RunLifecycleMachine

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")

MACHINE_SETTINGS = settings(
    max_examples=40, stateful_step_count=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


class CorrectClient(RunLifecycleMachine):
    """Polls, answers every requires_action with all its tool outputs, stops only on a terminal status."""

    def __init__(self) -> None:
        super().__init__()
        self.done = False

    def client_step(self) -> None:
        if self.done:
            return
        run = self.client.beta.threads.runs.retrieve(self.run_id, thread_id=self.thread_id)
        status = RunStatus.parse(run.status)
        if status.is_paused and run.required_action is not None:
            calls = run.required_action.submit_tool_outputs.tool_calls
            self.client.beta.threads.runs.submit_tool_outputs(
                self.run_id,
                thread_id=self.thread_id,
                tool_outputs=[{"tool_call_id": c.id, "output": "ok"} for c in calls],
            )
        elif status.is_terminal:
            self.done = True

    def client_done(self) -> bool:
        return self.done


TestCorrectClient = CorrectClient.TestCase
TestCorrectClient.settings = MACHINE_SETTINGS


class SeedEssayClient(RunLifecycleMachine):
    """The seed essay's loop: no requires_action branch, 'done' on four statuses, gives up after 60 s."""

    def __init__(self) -> None:
        super().__init__()
        self.done = False
        self.started = self.clock.now()

    def client_step(self) -> None:
        if self.done:
            return
        if self.clock.now() - self.started > 60:
            self.done = True  # "Timeout: run did not complete in 60s"
            return
        run = self.client.beta.threads.runs.retrieve(self.run_id, thread_id=self.thread_id)
        if run.status in ("completed", "failed", "expired", "cancelled"):
            self.done = True

    def client_done(self) -> bool:
        return self.done


class RetryingSubmitClient(CorrectClient):
    """Retries its submit "to be safe" without re-reading the run: the retry hits a run that is queued again."""

    def client_step(self) -> None:
        run = self.client.beta.threads.runs.retrieve(self.run_id, thread_id=self.thread_id)
        if run.status == "requires_action" and run.required_action is not None:
            outputs = [
                {"tool_call_id": c.id, "output": "ok"} for c in run.required_action.submit_tool_outputs.tool_calls
            ]
            for _ in range(2):
                self.client.beta.threads.runs.submit_tool_outputs(
                    self.run_id,
                    thread_id=self.thread_id,
                    tool_outputs=outputs,  # type: ignore[arg-type]  # dicts of the right shape
                )


# finding the bug is what these tests pin; shrinking it would only cost time here. Generation stops at
# the first failing example, so the bound only matters when a bug is rare in the distribution: 150
# examples missed the partial-submit client once in CI (the wheel run), so the bound is 600.
FIND_SETTINGS = settings(MACHINE_SETTINGS, max_examples=600, phases=[Phase.generate], derandomize=True)


def _falsify(machine: type[RunLifecycleMachine]) -> str:
    with pytest.raises(Exception) as info:  # noqa: PT011 - the machine's assertion or the SDK's 400, whichever comes first
        run_state_machine_as_test(machine, settings=FIND_SETTINGS)
    return str(info.value)


def test_seed_client_is_caught_hanging_or_giving_up() -> None:
    """The seed loop is caught: it waits on requires_action without answering, or abandons a live run."""
    message = _falsify(SeedEssayClient)
    assert "waited in requires_action" in message or "stopped watching run" in message


def test_giving_up_is_caught_on_its_own() -> None:
    """With requires_action out of the picture (check off), the 60 s give-up on a live run is what fails."""

    class GivesUp(SeedEssayClient):
        max_idle_steps_paused = None

    assert "stopped watching run" in _falsify(GivesUp)


def test_hanging_on_requires_action_is_caught_on_its_own() -> None:
    """With the give-up check off, not answering requires_action is what fails."""

    class Hangs(SeedEssayClient):
        check_gives_up = False
        max_idle_steps_paused = 0  # a correct client reacts in the step that sees requires_action

    message = _falsify(Hangs)
    assert "waited in requires_action for 1 client step(s)" in message, message


def test_submits_outside_requires_action_are_caught() -> None:
    """A second submit of the same outputs lands on a queued run: the fake names it a re-send, the API refuses it."""
    message = _falsify(RetryingSubmitClient)
    assert "never re-sends outputs: sent the tool outputs for" in message, message
    assert "submit_tool_outputs run_000002 -> 400 queued" in message, message


def test_client_step_must_be_overridden() -> None:
    """The base class says what to override."""

    class Empty(RunLifecycleMachine):
        pass

    assert "override client_step()" in _falsify(Empty)


def test_documented_edges_only() -> None:
    """With lenient = False the server's moves never take a lenient edge (expiry by the clock still may)."""
    lenient_seen: list[str] = []

    class Strict(CorrectClient):
        lenient = False

        def teardown(self) -> None:
            lenient_seen.extend(
                f"{e.source.name}->{e.dest.name}"
                for t in self.fake.trackers.values()
                for o in t.history
                for e in o.lenient
                if e.dest is not RunStatus.Expired  # queued -> expired: the clock passed expires_at
            )
            super().teardown()

    run_state_machine_as_test(Strict, settings=settings(MACHINE_SETTINGS, max_examples=30))
    assert lenient_seen == []


README_CLIENT = '''
import openai

from runfsm import RunStatus


def ask(client, thread_id, *, sleep):
    """A blocking client: answers every call of every round, honours the hint, polls until the run ends."""
    runs = client.beta.threads.runs
    run = runs.create(thread_id=thread_id, assistant_id="asst_1")
    hint = 1.0
    while not RunStatus.parse(run.status).is_terminal:
        if run.status == "requires_action":
            calls = run.required_action.submit_tool_outputs.tool_calls
            outputs = [{"tool_call_id": c.id, "output": "42"} for c in calls]
            try:
                run = runs.submit_tool_outputs(run.id, thread_id=thread_id, tool_outputs=outputs)
                continue
            except openai.BadRequestError:
                pass  # a retry of a submit that had arrived: look again
        else:
            sleep(hint)
        raw = runs.with_raw_response.retrieve(run.id, thread_id=thread_id)
        hint = int(raw.headers.get("openai-poll-after-ms", 1000)) / 1000
        run = raw.parse()
    return run
'''


def _blocking_client(source: str) -> type[RunLifecycleMachine]:
    namespace: dict[str, object] = {}
    exec(compile(source, "client", "exec"), namespace)  # the client under test, written as users write it
    ask = namespace["ask"]

    class Blocking(RunLifecycleMachine):
        fault_rules = False  # the SDK's blind re-send of a dropped submit is this client's known limit

        def run_client(self, client: openai.OpenAI, thread_id: str, *, sleep: Callable[[float], None]) -> object:
            return ask(client, thread_id, sleep=sleep)  # type: ignore[operator]

    return Blocking


def test_a_blocking_client_function_runs_against_the_machine() -> None:
    """run_client: an ordinary blocking function, its requests and sleeps interleaved with the machine's rules."""
    run_state_machine_as_test(_blocking_client(README_CLIENT), settings=settings(MACHINE_SETTINGS, max_examples=25))


def test_a_blocking_client_answering_one_call_per_round_is_caught() -> None:
    """Rounds of several parallel calls: answering only the first is the API's 400, named 'answers tools in time'."""
    buggy = README_CLIENT.replace("for c in calls]", "for c in calls[:1]]")
    message = _falsify(_blocking_client(buggy))
    assert "answers tools in time" in message, message
    assert "Expected tool outputs for call_ids" in message


def test_a_blocking_client_that_polls_too_fast_is_caught() -> None:
    """A blocking client owns its time: polling faster than openai-poll-after-ms breaks the poll-hint rule."""
    buggy = README_CLIENT.replace("            sleep(hint)", "            sleep(0.1)")
    assert "honours the poll hint" in _falsify(_blocking_client(buggy))


def test_failure_output_lists_steps_not_invariants() -> None:
    """The built-in checks run inside the rules: a failure's steps show no invariant lines."""
    message = _falsify(RetryingSubmitClient)
    assert "invariant" not in message
    assert "_no_rejected_calls" not in message
