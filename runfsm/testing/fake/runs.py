"""The fake's runs: threads and runs as stored, and the engine that plays a run's script on the virtual clock.

A run moves when time passes (:meth:`RunEngine._settle`), when the client submits tool
outputs or cancels, and when it expires; a stream plays it until it pauses or ends. Every
status entered is fed to the run's own stream-mode tracker, which raises on an illegal move.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.status import RunStatus
from runfsm.testing.fake.objects import message_object, run_object, run_step_object, tool_call
from runfsm.testing.fake.script import RunScript, ScriptLike, Step
from runfsm.testing.fake.wire import SSE_HEADERS, FakeResponse, HTTPError, json_response, metadata_of, sse_event
from runfsm.tracker import RunTracker
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    import itertools
    import threading

    from runfsm.testing.fake.clock import VirtualClock
    from runfsm.testing.fake.wire import RecordedRequest

__all__ = ["RunEngine"]


@dataclass(slots=True)
class _Thread:
    id: str
    created_at: int
    metadata: dict[str, str]
    messages: list[dict[str, Any]] = field(default_factory=list)
    runs: list[_Run] = field(default_factory=list)


@dataclass(slots=True)
class _Run:
    id: str
    thread: _Thread
    assistant_id: str
    script: RunScript
    created_at: int
    tracker: RunTracker
    metadata: dict[str, str]
    model: str
    status: RunStatus = RunStatus.Null
    current: Step | None = None
    plan: deque[Step] = field(default_factory=deque)
    entered_at: float = 0.0
    started_at: int | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    rounds: int = 0
    round_sizes: list[int] = field(default_factory=list)
    next_calls: tuple[dict[str, Any], ...] = ()
    """Tool calls the next round asks for, when set by ``move(..., tool_calls=n)`` (used once)."""
    answered: dict[frozenset[str], tuple[int, float]] = field(default_factory=dict)
    """Tool-call ids of each round answered: the request that answered it (its index) and when."""

    @property
    def expires_at(self) -> int:
        return self.created_at + self.script.expires_in


Sink = list[tuple[str, dict[str, Any]]]

_STEP_ENDS = {RunStatus.Expired: "expired", RunStatus.Failed: "failed"}
"""What a step still in progress becomes when its run ends so (any other end: ``cancelled``)."""


def _step_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A round's tool calls as its ``tool_calls`` run step shows them: function calls with ``output: null``.

    Copies, so the step keeps its round's calls (and, once submitted, their outputs) whatever
    the next rounds ask for; ``required_action`` shows the calls without ``output``, as the API does.
    """
    copies = []
    for call in calls:
        copy = {**call}
        if isinstance(call.get("function"), Mapping):
            copy["function"] = {**call["function"], "output": None}
        copies.append(copy)
    return copies


class RunEngine:
    """The run half of :class:`~runfsm.testing.fake.api.FakeAssistants`: create, submit, cancel, settle, stream."""

    clock: VirtualClock
    poll_after_ms: int | None
    trackers: dict[str, RunTracker]
    _lock: threading.RLock
    _scripts: deque[RunScript]
    _default: Callable[[], ScriptLike] | RunScript
    _runs: dict[str, _Run]
    _ids: itertools.count[int]
    requests: list[RecordedRequest]

    def _round_expired(self, run_id: str, number: int, at: float) -> None:
        """Hook: round ``number`` of run ``run_id`` expired unanswered (the conduct judge listens)."""

    def round_sizes(self, run_id: str) -> list[int]:
        """How many tool calls each ``requires_action`` round of run ``run_id`` asked for, in order."""
        with self._lock:
            return list(self._runs[run_id].round_sizes)

    def _round_of(self, run_id: str) -> tuple[int, int]:
        run = self._runs[run_id]
        return run.rounds, len(run.tool_calls)

    def _answered_round(self, run_id: str, call_ids: frozenset[str]) -> tuple[int, float] | None:
        return self._runs[run_id].answered.get(call_ids)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def _now_int(self) -> int:
        return int(self.clock.now())

    def _active_run(self, thread: _Thread) -> _Run | None:
        for run in thread.runs:
            self._settle(run)
            if not run.status.is_terminal:
                return run
        return None

    def _add_message(
        self, thread: _Thread, *, role: str, text: str, run: _Run | None = None, at: int | None = None
    ) -> dict[str, Any]:
        message = message_object(
            self._new_id("msg"),
            thread_id=thread.id,
            role=role,
            text=text,
            created_at=self._now_int() if at is None else at,
            run_id=run.id if run is not None else None,
            assistant_id=run.assistant_id if run is not None else None,
        )
        thread.messages.append(message)
        return message

    def _next_script(self) -> RunScript:
        if self._scripts:
            return self._scripts.popleft()
        if isinstance(self._default, RunScript):
            return self._default
        return RunScript.coerce(self._default())

    def _create_run(self, thread: _Thread, params: Mapping[str, Any]) -> FakeResponse:
        assistant_id = params.get("assistant_id")
        if not isinstance(assistant_id, str) or not assistant_id:
            raise HTTPError(400, "Missing required parameter: 'assistant_id'.")
        active = self._active_run(thread)
        if active is not None:
            raise HTTPError(400, f"Thread {thread.id} already has an active run {active.id}.")
        script = self._next_script()
        run_id = self._new_id("run")
        tracker = RunTracker(run_id, mode="stream", on_illegal="raise", clock=self.clock.now)
        run = _Run(
            id=run_id,
            thread=thread,
            assistant_id=assistant_id,
            script=script,
            created_at=self._now_int(),
            tracker=tracker,
            metadata=metadata_of(params),
            model=str(params.get("model") or "gpt-4o"),
        )
        self._runs[run_id] = run
        self.trackers[run_id] = tracker
        thread.runs.append(run)
        stream = bool(params.get("stream"))
        sink: Sink | None = [] if stream else None
        if sink is not None:
            created = self._run_json_as(run, RunStatus.Queued)
            tracker.observe({"event": RunStatus.Created.event, "data": created})
            sink.append((str(RunStatus.Created.event), created))
        run.plan = deque(script.steps)
        first = run.plan[0]
        self._enter(run, first.status, float(run.created_at), sink)
        if sink is None:
            self._settle(run)
            return self._run_response(run)
        return self._play(run, sink)

    def _submit(self, run: _Run, params: Mapping[str, Any]) -> FakeResponse:
        self._settle(run)
        edge = RUN_LIFECYCLE.edge(run.status, RunStatus.Queued)
        if edge is None or edge.trigger is not Trigger.SUBMIT_TOOL_OUTPUTS:
            raise HTTPError(400, f'Runs in status "{run.status.wire}" do not accept tool outputs.')
        outputs = params.get("tool_outputs")
        if not isinstance(outputs, list):
            raise HTTPError(400, "Missing required parameter: 'tool_outputs'.")
        given = sorted(str(o.get("tool_call_id")) for o in outputs if isinstance(o, Mapping))
        expected = sorted(str(c["id"]) for c in run.tool_calls)
        if given != expected:
            raise HTTPError(400, f"Expected tool outputs for call_ids {expected}, got {given}")
        run.answered[frozenset(expected)] = (len(self.requests), self.clock.now())
        given_outputs = {str(o.get("tool_call_id")): o.get("output") for o in outputs if isinstance(o, Mapping)}
        for step in run.steps:
            if step["type"] == "tool_calls" and step["status"] == "in_progress":
                step["status"] = "completed"
                step["completed_at"] = self._now_int()
                for call in step["step_details"]["tool_calls"]:  # the API shows each call's output once submitted
                    if call.get("type") == "function":
                        output = given_outputs.get(str(call["id"]))
                        call["function"]["output"] = None if output is None else str(output)
        if not (run.plan and run.plan[0].status is RunStatus.Queued):
            seconds = run.script.steps[0].seconds
            run.plan = deque(
                [Step(RunStatus.Queued, seconds), Step(RunStatus.InProgress, seconds), Step(RunStatus.Completed, 0.0)]
            )
        sink: Sink | None = [] if params.get("stream") else None
        self._enter(run, RunStatus.Queued, self.clock.now(), sink)
        if sink is None:
            self._settle(run)
            return self._run_response(run)
        return self._play(run, sink)

    def _cancel(self, run: _Run) -> FakeResponse:
        self._settle(run)
        if not RUN_LIFECYCLE.is_legal(run.status, RunStatus.Cancelling):
            raise HTTPError(400, f"Cannot cancel run with status '{run.status.wire}'.")
        if not (run.plan and run.plan[0].status is RunStatus.Cancelling):
            run.plan = deque(
                [Step(RunStatus.Cancelling, run.script.cancel_seconds), Step(run.script.cancel_outcome, 0.0)]
            )
        self._enter(run, RunStatus.Cancelling, self.clock.now(), None)
        return self._run_response(run)

    def _next_move(self, run: _Run) -> tuple[float, RunStatus] | None:
        """When and where the run moves next on its own (server edge or expiry), or None."""
        assert run.current is not None
        best: tuple[float, RunStatus] | None = None
        if run.plan:
            nxt = run.plan[0].status
            edge = RUN_LIFECYCLE.edge(run.status, nxt)
            if nxt is RunStatus.Expired:  # the API expires a run at expires_at, not after a step's duration
                best = (float(run.expires_at), nxt) if edge is not None else None
            elif edge is not None and edge.trigger is Trigger.SERVER and math.isfinite(run.current.seconds):
                best = (run.entered_at + run.current.seconds, nxt)
        if RUN_LIFECYCLE.is_legal(run.status, RunStatus.Expired) and (best is None or run.expires_at < best[0]):
            best = (float(run.expires_at), RunStatus.Expired)
        return best

    def _settle(self, run: _Run, sink: Sink | None = None) -> None:
        """Apply every move due by now."""
        now = self.clock.now()
        while not run.status.is_terminal:
            move = self._next_move(run)
            if move is None or move[0] > now:
                return
            self._enter(run, move[1], move[0], sink)

    def play_out(self) -> None:
        """Let virtual time run until every run has ended: the rest of each script plays as the API would.

        What a run does after the client stopped watching it: a paused run waits for its tool
        outputs until ``expires_at``, a stuck one expires then, a cancelling one ends as scripted.
        """
        with self._lock:
            while True:
                moves = [(move[0], run) for run in self._runs.values() if (move := self._live_move(run)) is not None]
                if not moves:
                    return
                when, run = min(moves, key=lambda m: m[0])
                self.clock.advance_to(when)
                self._settle(run)

    def _live_move(self, run: _Run) -> tuple[float, RunStatus] | None:
        self._settle(run)
        return None if run.status.is_terminal else self._next_move(run)

    def _play(self, run: _Run, sink: Sink) -> FakeResponse:
        """Stream: let virtual time run until the run pauses or ends; return the SSE response."""
        self._settle(run, sink)
        while not run.status.is_terminal and not run.status.is_paused:
            move = self._next_move(run)
            if move is None:  # pragma: no cover - every active status can expire
                break
            self.clock.advance_to(move[0])
            self._settle(run, sink)
        chunks = [sse_event(name, data) for name, data in sink]
        chunks.append(b"event: done\ndata: [DONE]\n\n")
        return FakeResponse(200, dict(SSE_HEADERS), b"".join(chunks), stream=True)

    def _enter(self, run: _Run, status: RunStatus, at: float, sink: Sink | None) -> None:
        """Move ``run`` into ``status`` at virtual time ``at``: fields, side objects, tracker, stream events."""
        if status is RunStatus.Expired and run.status is RunStatus.RequiresAction and at >= run.expires_at:
            self._round_expired(run.id, run.rounds, at)  # the clock ran out, not a move made by a test
        if run.plan and run.plan[0].status is status:
            run.current = run.plan.popleft()
        else:  # an expiry (or a client call) the script did not plan here
            run.current = Step(status, math.inf)
            run.plan.clear()
        run.status = status
        run.entered_at = at
        stamp = int(at)
        if status is RunStatus.InProgress and run.started_at is None:
            run.started_at = stamp
        events: Sink = []
        if status is RunStatus.RequiresAction:
            run.rounds += 1
            short = run.id.removeprefix("run_")
            run.tool_calls = [
                {"id": f"call_{short}_{run.rounds}_{n}", **c} if "id" not in c else dict(c)
                for n, c in enumerate(run.next_calls or run.script.calls_for(run.rounds), 1)
            ] or [tool_call(f"call_{short}_{run.rounds}")]
            run.next_calls = ()
            run.round_sizes.append(len(run.tool_calls))
            step = self._new_step(run, stamp, {"type": "tool_calls", "tool_calls": _step_calls(run.tool_calls)})
            events.append(("thread.run.step.created", dict(step)))
        elif status is RunStatus.Completed:
            step = self._new_step(run, stamp, {"type": "message_creation", "message_creation": {"message_id": ""}})
            message = self._add_message(run.thread, role="assistant", text=run.script.reply, run=run, at=stamp)
            step["step_details"]["message_creation"]["message_id"] = message["id"]
            events.append(("thread.run.step.created", {**step, "status": "in_progress", "completed_at": None}))
            events.append(("thread.message.created", {**message, "status": "in_progress", "content": []}))
            events.append(
                (
                    "thread.message.delta",
                    {
                        "id": message["id"],
                        "object": "thread.message.delta",
                        "delta": {
                            "content": [
                                {"index": 0, "type": "text", "text": {"value": run.script.reply, "annotations": []}}
                            ]
                        },
                    },
                )
            )
            events.append(("thread.message.completed", dict(message)))
            step["status"] = "completed"
            step["completed_at"] = stamp
            events.append(("thread.run.step.completed", dict(step)))
        if status.is_terminal:
            ended = _STEP_ENDS.get(status, "cancelled")
            for step in run.steps:
                if step["status"] == "in_progress":
                    step["status"] = ended
                    step[f"{ended}_at"] = stamp
        data = self._run_json(run)
        run.tracker.observe(data, at=at)
        if sink is not None:
            sink.extend(events)
            sink.append((str(status.event), data))

    def _new_step(self, run: _Run, at: int, details: dict[str, Any]) -> dict[str, Any]:
        step = run_step_object(
            self._new_id("step"),
            run_id=run.id,
            thread_id=run.thread.id,
            created_at=at,
            status="in_progress",
            details=details,
            assistant_id=run.assistant_id,
        )
        run.steps.append(step)
        return step

    def _run_json_as(self, run: _Run, status: RunStatus) -> dict[str, Any]:
        return run_object(
            status,
            run_id=run.id,
            thread_id=run.thread.id,
            created_at=run.created_at,
            entered_at=int(run.entered_at) if run.current is not None else run.created_at,
            started_at=run.started_at,
            assistant_id=run.assistant_id,
            tool_calls=run.tool_calls,
            incomplete_reason=run.script.incomplete_reason,
            model=run.model,
            metadata=run.metadata,
            expires_at=run.expires_at,
        )

    def _run_json(self, run: _Run) -> dict[str, Any]:
        return self._run_json_as(run, run.status)

    def _run_response(self, run: _Run) -> FakeResponse:
        return self._hinted(json_response(self._run_json(run)))

    def _hinted(self, response: FakeResponse) -> FakeResponse:
        """``response`` (one run, background response or batch) with the ``openai-poll-after-ms`` poll hint."""
        if self.poll_after_ms is not None:
            response.headers["openai-poll-after-ms"] = str(self.poll_after_ms)
        return response
