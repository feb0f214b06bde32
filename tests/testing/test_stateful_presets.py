"""The stateful machine per lifecycle preset: runs, background responses and batches, each with its own bugs caught.

For every preset a correct blocking client (polls at the server's hint, answers tool calls where
the lifecycle pauses, stops only on a terminal status) passes; buggy ones are caught by the
built-in check they break, for each preset where the bug can exist: taking ``cancelling`` for
the end (runs and batches: a response is cancelled at once), polling in a tight loop that
ignores ``openai-poll-after-ms``, and polling a finished object again and again. Clients use
the real openai SDK against the fake's runs, background responses and batches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import openai
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from runfsm.lifecycles import BATCH_LIFECYCLE, PRESETS, RESPONSE_LIFECYCLE, RUN_LIFECYCLE
from runfsm.testing.examples import fault_kinds
from runfsm.testing.stateful import (
    MACHINES,
    BatchLifecycleMachine,
    LifecycleMachine,
    ResponseLifecycleMachine,
    RunLifecycleMachine,
    machine_for,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from runfsm.lifecycle import Lifecycle

pytestmark = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")

LIFECYCLES = list(PRESETS.values())
IDS = list(PRESETS)
PASS_SETTINGS = settings(
    max_examples=25, stateful_step_count=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
# stops at the first failing example; derandomized, so a bug the search finds it always finds
FIND_SETTINGS = settings(PASS_SETTINGS, max_examples=300, phases=[Phase.generate], derandomize=True)


def _resource(client: openai.OpenAI, lifecycle: Lifecycle[Any], thread_id: str) -> tuple[Any, Callable[..., Any]]:
    """The SDK resource that holds the lifecycle's objects, and its create call."""
    if lifecycle is RUN_LIFECYCLE:
        runs = client.beta.threads.runs
        return runs, lambda: runs.create(thread_id=thread_id, assistant_id="asst_1")
    if lifecycle is RESPONSE_LIFECYCLE:
        return client.responses, lambda: client.responses.create(model="gpt-1", input="hi", background=True)
    return client.batches, lambda: client.batches.create(
        input_file_id="file_1", endpoint="/v1/responses", completion_window="24h"
    )


def follow(
    client: openai.OpenAI,
    lifecycle: Lifecycle[Any],
    *,
    sleep: Callable[[float], None],
    thread_id: str = "",
    ended: Callable[[Lifecycle[Any], str], bool] | None = None,
    honour_hint: bool = True,
    repolls: int = 0,
) -> Any:
    """A blocking client for any preset: create, poll at the hint until ended, answer tool calls where paused.

    The correct one has ``ended`` = the lifecycle's terminal statuses, honours the hint, looks again
    when its tool outputs are refused (the object moved on meanwhile) and polls no more once it
    ended; the bugs are its options.
    """
    is_ended = ended if ended is not None else (lambda lc, status: lc.parse(status).is_terminal)
    resource, create = _resource(client, lifecycle, thread_id)
    extra = {"thread_id": thread_id} if lifecycle is RUN_LIFECYCLE else {}
    obj = create()
    hint = 1.0
    while not is_ended(lifecycle, obj.status):
        if obj.status == "requires_action":
            calls = obj.required_action.submit_tool_outputs.tool_calls
            outputs = [{"tool_call_id": c.id, "output": "42"} for c in calls]
            try:
                obj = resource.submit_tool_outputs(obj.id, tool_outputs=outputs, **extra)
                continue
            except openai.BadRequestError:
                pass  # it moved on since we looked (someone else cancelled, it expired): look again
        else:
            sleep(hint if honour_hint else 0.05)
        raw = resource.with_raw_response.retrieve(obj.id, **extra)
        hint = int(raw.headers.get("openai-poll-after-ms", 1000)) / 1000
        obj = raw.parse()
    for _ in range(repolls):
        sleep(hint)
        resource.retrieve(obj.id, **extra)
    return obj


def machine(lifecycle: Lifecycle[Any], **options: Any) -> type[LifecycleMachine]:
    """The lifecycle's machine preset, with :func:`follow` (given ``options``) as its blocking client."""
    base = machine_for(lifecycle)

    if lifecycle is RUN_LIFECYCLE:

        def run_client(self: Any, client: openai.OpenAI, thread_id: str, *, sleep: Callable[[float], None]) -> Any:
            return follow(client, lifecycle, sleep=sleep, thread_id=thread_id, **options)
    else:

        def run_client(self: Any, client: openai.OpenAI, *, sleep: Callable[[float], None]) -> Any:  # type: ignore[misc]
            return follow(client, lifecycle, sleep=sleep, **options)

    attributes: dict[str, Any] = {
        "run_client": run_client,
        "cancel_rules": True,  # someone else cancels, for every preset (runs: off by default)
        # polls only: the SDK re-sends a dropped submit blindly, which no client survives
        "fault_kinds": tuple(k for k in fault_kinds(lifecycle) if "submit" not in k),
    }
    return cast("type[LifecycleMachine]", type(f"{base.__name__}Client", (base,), attributes))


def _falsify(machine_class: type[LifecycleMachine]) -> str:
    with pytest.raises(AssertionError) as info:  # ClientBug is an AssertionError, as is the give-up check
        run_state_machine_as_test(machine_class, settings=FIND_SETTINGS)
    return str(info.value)


def test_each_preset_has_its_machine() -> None:
    """MACHINES and machine_for give the preset's machine by key or lifecycle; each machine names its lifecycle."""
    assert list(MACHINES) == list(PRESETS)
    assert machine_for("batch") is BatchLifecycleMachine
    assert machine_for(RESPONSE_LIFECYCLE) is ResponseLifecycleMachine
    assert machine_for(RUN_LIFECYCLE) is RunLifecycleMachine
    assert all(m.lifecycle is PRESETS[key] for key, m in MACHINES.items())
    with pytest.raises(ValueError, match="no machine for lifecycle 'thread'"):
        machine_for("thread")


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=IDS)
def test_a_correct_client_passes(lifecycle: Lifecycle[Any]) -> None:
    """Polls at the hint, answers tool calls where the run pauses, stops only on terminal: no check fails."""
    run_state_machine_as_test(machine(lifecycle), settings=PASS_SETTINGS)


@pytest.mark.parametrize("lifecycle", [RUN_LIFECYCLE, BATCH_LIFECYCLE], ids=["run", "batch"])
def test_taking_cancelling_for_the_end_is_caught(lifecycle: Lifecycle[Any]) -> None:
    """A client that stops at ``cancelling`` (someone cancelled) is caught: it stopped watching a live object."""
    buggy = machine(lifecycle, ended=lambda lc, status: status == "cancelling" or lc.parse(status).is_terminal)
    message = _falsify(buggy)
    assert f"the client stopped watching {lifecycle.key}" in message, message
    assert "while it is cancelling" in message, message


def test_a_response_has_no_cancelling_to_mistake() -> None:
    """A response's cancel goes straight to cancelled: the same buggy client passes the response machine."""
    buggy = machine(RESPONSE_LIFECYCLE, ended=lambda lc, status: status == "cancelling" or lc.parse(status).is_terminal)
    run_state_machine_as_test(buggy, settings=PASS_SETTINGS)


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=IDS)
def test_a_tight_polling_loop_is_caught(lifecycle: Lifecycle[Any]) -> None:
    """Polling every 0.05 s under a 1 s openai-poll-after-ms breaks the poll-hint rule, for every preset."""
    message = _falsify(machine(lifecycle, honour_hint=False))
    assert "honours the poll hint" in message, message
    assert f"polled {lifecycle.key} " in message, message


@pytest.mark.slow
@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=IDS)
def test_polling_a_finished_object_again_and_again_is_caught(lifecycle: Lifecycle[Any]) -> None:
    """Three more polls after a terminal status: 'stops on every terminal status', for every preset."""
    message = _falsify(machine(lifecycle, repolls=3))
    assert "stops on every terminal status" in message, message


class BatchStepClient(BatchLifecycleMachine):
    """A step client of a batch: one retrieve per step, done on a terminal status."""

    def __init__(self) -> None:
        super().__init__()
        self.done = False

    def client_step(self) -> None:
        if not self.done:
            batch = self.client.batches.retrieve(self.object_id)
            self.done = BATCH_LIFECYCLE.parse(batch.status).is_terminal

    def client_done(self) -> bool:
        return self.done


TestBatchStepClient = BatchStepClient.TestCase
TestBatchStepClient.settings = PASS_SETTINGS


@pytest.mark.parametrize("machine_class", [ResponseLifecycleMachine, BatchLifecycleMachine], ids=["response", "batch"])
def test_documented_edges_only(machine_class: type[LifecycleMachine]) -> None:
    """With lenient = False the server's moves never take a lenient edge of the preset."""
    lenient_seen: list[str] = []

    class Strict(machine_class):  # type: ignore[misc, valid-type]
        lenient = False

        def client_step(self) -> None:
            pass

        def teardown(self) -> None:
            lenient_seen.extend(
                f"{e.source.name}->{e.dest.name}"
                for obj in self.fake.background.objects.values()
                for o in obj.tracker.history
                for e in o.lenient
            )
            super().teardown()

    Strict.check_gives_up = False
    run_state_machine_as_test(Strict, settings=PASS_SETTINGS)
    assert lenient_seen == []
