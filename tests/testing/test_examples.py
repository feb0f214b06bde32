"""Tests for runfsm.testing.examples: a fresh fake per hypothesis example, its strategies, the plugin's check.

No fixture is involved in the property tests below, so no health check needs suppressing.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis.errors import InvalidArgument

from runfsm import RunStatus
from runfsm.testing.examples import FAULT_KINDS, FakeAPI, fake_apis, fault_plans, run_scripts, virtual_time
from runfsm.testing.fake import FakeAssistants, RunScript
from runfsm.testing.fake.conduct import ClientBug

SEEN: list[FakeAssistants] = []
"""The fakes of earlier examples, kept alive (an ``id`` is only unique among live objects)."""


@virtual_time(max_examples=20)
@given(api=fake_apis(faults=True, user_cancels=True, transport="in-process"))
def test_each_example_gets_a_fresh_fake(api: FakeAPI) -> None:
    """A new fake per example: no runs, no requests, its own faults waiting for the client's run."""
    assert all(api.fake is not earlier for earlier in SEEN)
    SEEN.append(api.fake)
    assert api.fake.run_ids() == []
    assert api.fake.requests == []
    assert all(f.next_run and f.run_id is None for f in api.fake.pending_faults())
    api.fake.check_client()  # nothing done: nothing broken


@settings(max_examples=60, deadline=None)
@given(script=run_scripts(max_tool_calls=4, max_tool_rounds=2))
def test_run_scripts_draw_rounds_of_parallel_calls(script: RunScript) -> None:
    """0 to M rounds, each of 1 to N calls; every script is a legal lifecycle (RunScript checks it)."""
    rounds = script.statuses.count(RunStatus.RequiresAction)
    assert rounds <= 2
    assert len(script.tool_rounds) == rounds
    assert all(1 <= len(calls) <= 4 for calls in script.tool_rounds)


@settings(max_examples=40, deadline=None)
@given(plan=fault_plans(max_faults=3))
def test_fault_plans_stay_within_what_the_sdk_absorbs(plan: list[object]) -> None:
    """Faults aim at the next run; failed polls add up to at most the SDK's two retries."""
    from runfsm.testing.fake import Fault

    faults = [f for f in plan if isinstance(f, Fault)]
    assert len(faults) <= 3
    assert all(f.next_run for f in faults)
    assert sum(f.times for f in faults if f.route == "retrieve_run" and f.kind != "slow") <= 2


def test_strategy_arguments_are_checked_eagerly() -> None:
    """Bad options fail when the strategy is built, naming the option."""
    with pytest.raises(InvalidArgument, match="max_tool_calls"):
        run_scripts(max_tool_calls=0)
    with pytest.raises(InvalidArgument, match="kinds"):
        fault_plans(kinds=("lightning",))
    with pytest.raises(InvalidArgument, match="transport"):
        fake_apis(transport="carrier pigeon")  # type: ignore[arg-type]
    assert len(FAULT_KINDS) == 6


def test_a_fake_api_used_directly_checks_on_exit() -> None:
    """Without the plugin: ``with api:`` judges the client when the block ends."""
    api = FakeAPI(script=RunScript(["queued", "in_progress", "completed"]), options={"transport": "in-process"})

    def returns_at_once() -> None:
        with api:
            thread = api.client.beta.threads.create()
            api.client.beta.threads.runs.create(thread_id=thread.id, assistant_id="a")

    with pytest.raises(ClientBug, match="never abandons a live run"):
        returns_at_once()
    assert api.history() == [RunStatus.Queued, RunStatus.InProgress, RunStatus.Completed]  # played out


CLIENT_TEST = """
from hypothesis import given
import pytest
from runfsm.testing.examples import fake_apis, virtual_time

def returns_at_once(client, thread_id):
    return client.beta.threads.runs.create(thread_id=thread_id, assistant_id="a")

@pytest.mark.runfsm_fake(poll_after_ms=1234, {extra})
@virtual_time
@given(api=fake_apis(transport="in-process"))
def test_client(api):
    assert api.fake.poll_after_ms == 1234
    returns_at_once(api.client, api.client.beta.threads.create().id)
"""


def test_the_plugin_judges_every_example_and_shrinks(pytester: pytest.Pytester) -> None:
    """A client returning on a live run fails through the plugin's check, with the story; marker options apply."""
    pytester.makepyfile(test_it=CLIENT_TEST.format(extra="max_requests=99"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ClientBug*", "*never abandons a live run*", "*what happened*"])


def test_the_check_can_be_turned_off(pytester: pytest.Pytester) -> None:
    """``@pytest.mark.runfsm_fake(check=False)``: the example is not judged."""
    pytester.makepyfile(test_it=CLIENT_TEST.format(extra="check=False"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=1)
