"""No capability is run-only: for every preset in PRESETS, each capability is built and used on that preset.

One parametrized test per capability, over every lifecycle preset: status parsing, the tracker,
validation (the library, and ``summarize_with`` by every engine installed), the diagram,
the strategies, the stateful machine, the fake (the real openai client creating and retrieving
the preset's object), and following (``poll_object``, the ``Watcher`` and the ``Scheduler``). A
new preset added to PRESETS is checked by every test here without a line changed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from runfsm import RunTracker, parse_status, read_run
from runfsm.drawing import lifecycle_diagram, to_dot, to_mermaid
from runfsm.following import Scheduler, Watcher, WatchResult, poll_object
from runfsm.lifecycles import PRESETS, RUN_LIFECYCLE, preset, preset_for_object
from runfsm.testing.fake import FakeAssistants
from runfsm.testing.stateful import machine_for
from runfsm.testing.strategies import poll_histories, statuses, stream_histories
from runfsm.validation import validate
from runfsm.validation.engines import ENGINES, engine_available, summarize_with
from runfsm.verdict import RunResult
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    from pathlib import Path

    import openai

    from runfsm.lifecycle import Lifecycle

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning"),
]

EVERY_PRESET = pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=list(PRESETS))
ENGINES_INSTALLED = [e for e in ENGINES if e != "auto" and engine_available(e)]


def _a_path_to_the_end(lifecycle: Lifecycle[Any]) -> list[Any]:
    """A documented history from create to a terminal status, by server moves only (the shortest)."""
    created = next(e.dest for e in lifecycle.edges if e.trigger is Trigger.CREATE)
    for end in sorted(lifecycle.terminal, key=int):
        route = lifecycle.route(created, end)
        if route is not None and not route.calls and not route.lenient:
            return [created, *route.inferred, end]
    raise AssertionError(f"{lifecycle.title}: no documented server path from {created} to an end")


def _create(client: openai.OpenAI, lifecycle: Lifecycle[Any]) -> tuple[Any, str | None]:
    """Create the preset's object through the real SDK; and its thread (a run's), which a retrieve needs."""
    if lifecycle is RUN_LIFECYCLE:
        thread = client.beta.threads.create()
        return client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1"), thread.id
    if lifecycle.key == "response":
        return client.responses.create(model="gpt-fake", input="hi", background=True), None
    return client.batches.create(input_file_id="file_1", endpoint="/v1/responses", completion_window="24h"), None


def _retrieve(client: openai.OpenAI, lifecycle: Lifecycle[Any], obj: Any, thread_id: str | None) -> Any:
    if lifecycle is RUN_LIFECYCLE:
        assert thread_id is not None
        return client.beta.threads.runs.retrieve(obj.id, thread_id=thread_id)
    return (client.responses if lifecycle.key == "response" else client.batches).retrieve(obj.id)


@EVERY_PRESET
def test_status_parsing(lifecycle: Lifecycle[Any]) -> None:
    """Every wire status, every stream event and webhook name parses to the preset's state; objects are read."""
    for state in lifecycle.states:
        if state.wire is not None:
            assert parse_status(state.wire, lifecycle) is state
    for name, state in {**lifecycle.events, **lifecycle.webhooks}.items():
        assert parse_status(name, lifecycle) is state
    end = _a_path_to_the_end(lifecycle)[-1]
    snapshot = read_run({"object": lifecycle.object_type, "id": "obj_1", "status": end.wire}, lifecycle)
    assert (snapshot.status, snapshot.run_id) == (end, "obj_1")
    assert preset_for_object(lifecycle.object_type or "") is lifecycle
    assert preset(lifecycle.key) is lifecycle


@EVERY_PRESET
def test_the_tracker(lifecycle: Lifecycle[Any]) -> None:
    """A tracker of the preset follows a documented history to its end, firing a callback per state entered."""
    history = _a_path_to_the_end(lifecycle)
    entered: list[Any] = []
    tracker: RunTracker[Any] = RunTracker("obj_1", mode="stream", on_illegal="raise", lifecycle=lifecycle)
    for state in lifecycle.states:
        tracker.on_enter(state, lambda event: entered.append(event.state))
    tracker.observe_all(history)
    assert (tracker.state, entered, tracker.violations) == (history[-1], history, [])
    assert tracker.is_terminal


@EVERY_PRESET
def test_validation_with_every_engine_installed(lifecycle: Lifecycle[Any], tmp_path: Path) -> None:
    """validate() judges the preset's history; each installed engine summarizes a log of it as the python one does."""
    history = [s for s in _a_path_to_the_end(lifecycle) if s.wire is not None]  # what the API returns
    assert validate([s.wire for s in history], lifecycle=lifecycle).result is RunResult.LEGAL
    backwards = [history[-1].wire, history[0].wire]
    assert validate(backwards, lifecycle=lifecycle).result is RunResult.ILLEGAL
    log = tmp_path / "log.jsonl"
    lines = [{"object": lifecycle.object_type, "id": f"obj_{n}", "status": s.wire} for n in (1, 2) for s in history]
    lines.append({"object": lifecycle.object_type, "id": "obj_3", "status": history[-1].wire})
    lines.append({"object": lifecycle.object_type, "id": "obj_3", "status": history[0].wire})
    log.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    summaries = {
        engine: summarize_with(engine, [str(log)], lifecycle=lifecycle.key, check_fields=False).to_dict()
        for engine in ENGINES_INSTALLED
    }
    assert summaries["python"]["legal"] == 2
    assert summaries["python"]["illegal"] == 1
    assert all(s == summaries["python"] for s in summaries.values()), summaries


@EVERY_PRESET
def test_the_diagram(lifecycle: Lifecycle[Any]) -> None:
    """The preset's diagram has a node per state and an edge per declared edge, in Mermaid and DOT."""
    diagram = lifecycle_diagram(lifecycle)
    assert len(diagram.edges) >= len(lifecycle.edges)
    mermaid, dot = to_mermaid(diagram), to_dot(diagram)
    for state in lifecycle.states:
        if state.wire is not None:
            assert state.wire in mermaid or state.name in mermaid
            assert state.wire in dot or state.name in dot


@EVERY_PRESET
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_strategies(lifecycle: Lifecycle[Any], data: st.DataObject) -> None:
    """statuses, stream_histories and poll_histories draw the preset's states; stream histories are legal."""
    assert data.draw(statuses(lifecycle=lifecycle)) in lifecycle.states
    history = data.draw(stream_histories(lifecycle=lifecycle))
    tracker: RunTracker[Any] = RunTracker(mode="stream", on_illegal="raise", lifecycle=lifecycle)
    tracker.observe_all(history)
    polls = data.draw(poll_histories(lifecycle=lifecycle))
    assert polls is not None


@EVERY_PRESET
def test_the_stateful_machine(lifecycle: Lifecycle[Any]) -> None:
    """The preset's machine runs a correct step client (poll once per step, done on terminal) without a failure."""
    base = machine_for(lifecycle)

    class Client(base):  # type: ignore[misc, valid-type]
        done = False

        def client_step(self) -> None:
            if self.done:
                return
            if lifecycle is RUN_LIFECYCLE:
                run = self.client.beta.threads.runs.retrieve(self.object_id, thread_id=self.thread_id)
                if run.status == "requires_action" and run.required_action is not None:
                    calls = run.required_action.submit_tool_outputs.tool_calls
                    self.client.beta.threads.runs.submit_tool_outputs(
                        self.object_id,
                        thread_id=self.thread_id,
                        tool_outputs=[{"tool_call_id": c.id, "output": "ok"} for c in calls],
                    )
                    return
                status = run.status
            elif lifecycle.key == "response":
                status = self.client.responses.retrieve(self.object_id).status
            else:
                status = self.client.batches.retrieve(self.object_id).status
            self.done = lifecycle.parse(status).is_terminal

        def client_done(self) -> bool:
            return self.done

    assert Client.lifecycle is lifecycle
    run_state_machine_as_test(
        Client, settings=settings(max_examples=10, stateful_step_count=15, deadline=None, database=None)
    )


@EVERY_PRESET
def test_the_fake(lifecycle: Lifecycle[Any]) -> None:
    """The real openai client creates the preset's object on the fake and sees it to the end of its script."""
    fake = FakeAssistants()
    with fake.client(max_retries=0) as client:
        obj, extra = _create(client, lifecycle)
        assert fake.lifecycle_of(obj.id) is lifecycle
        fake.clock.advance(24 * 3600)
        seen = _retrieve(client, lifecycle, obj, extra)
    assert lifecycle.parse(seen.status).is_terminal
    assert fake.object_status(obj.id) is lifecycle.parse(seen.status)
    fake.check_client()


@EVERY_PRESET
def test_following(lifecycle: Lifecycle[Any]) -> None:
    """poll_object, the Watcher and the Scheduler follow the preset's objects to their end on the fake."""
    fake = FakeAssistants()
    with fake.client() as client:
        first, extra = _create(client, lifecycle)
        polled = poll_object(
            lambda: _retrieve(client, lifecycle, first, extra),
            lifecycle=lifecycle,
            clock=fake.clock.now,
            sleep=fake.clock.advance,
        )
        assert polled.tracker.is_terminal
        second, extra2 = _create(client, lifecycle)
        watched = Watcher(client, lifecycle=lifecycle, clock=fake.clock.now, sleep=fake.clock.sleep).poll(
            second, thread_id=extra2
        )
        assert watched.status.is_terminal
        scheduler = Scheduler(client, per_minute=600, clock=fake.clock.now, sleep=fake.clock.sleep)
        third, extra3 = _create(client, lifecycle)
        scheduler.add(third, lifecycle=lifecycle, thread_id=extra3)
        results = scheduler.run()
    (result,) = results.values()
    assert isinstance(result, WatchResult)
    assert result.status.is_terminal
    fake.check_client()
