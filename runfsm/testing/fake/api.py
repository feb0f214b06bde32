"""The fake Assistants API itself: threads, messages, runs that play scripts, faults and the request log.

:class:`FakeAssistants` is transport-free: :meth:`FakeAssistants.handle` takes a method, a path,
a query and a body and returns a :class:`FakeResponse`. The loopback server
(:mod:`runfsm.testing.fake.server`) and the in-process transport (:mod:`runfsm.testing.fake.transport`) only
translate HTTP to and from it.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs

from runfsm.invariants import EXPIRY_WINDOW_S
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.status import RunStatus, parse_status
from runfsm.testing.fake.clock import VirtualClock
from runfsm.testing.fake.objects import (
    api_error,
    list_page,
    message_object,
    run_object,
    run_step_object,
    thread_object,
    tool_call,
)
from runfsm.testing.fake.script import RunScript, ScriptLike, Step
from runfsm.tracker import RunTracker
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    import openai

__all__ = ["DEFAULT_SCRIPT", "Fault", "FakeAssistants", "FakeResponse", "RecordedRequest", "Route"]

Route = Literal[
    "create_thread",
    "retrieve_thread",
    "create_message",
    "list_messages",
    "create_run",
    "list_runs",
    "retrieve_run",
    "submit_tool_outputs",
    "cancel_run",
    "list_run_steps",
    "unknown",
]

DEFAULT_SCRIPT: tuple[tuple[str, float], ...] = (("queued", 1.0), ("in_progress", 2.0), ("completed", 0.0))
"""What a run plays when no script was queued for it."""

_JSON = {"content-type": "application/json"}
_SSE = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake received, as the request log keeps it."""

    method: str
    path: str
    route: Route
    status_code: int
    """The status code answered (0 for a dropped connection)."""
    at: float
    """Virtual time when it arrived."""
    thread_id: str | None = None
    run_id: str | None = None
    stream: bool = False
    fault: str | None = None
    """The injected fault that answered it (``"429"``, ``"500"``, ``"drop"``, ``"slow"``), if any."""
    run_status: str | None = None
    """The run's status once the request was handled (wire value), for requests the fake served about a run."""


@dataclass(slots=True)
class Fault:
    """A fault to inject into the next matching requests (see :meth:`FakeAssistants.inject`).

    ``kind``: ``"status"`` answers ``status_code`` with the API's error body (429 carries
    ``retry-after`` / ``retry-after-ms`` when given); ``"drop"`` closes the connection with no
    complete answer (``processed=True``: after the request took effect, as when a response is
    lost on the way back); ``"slow"`` lets ``seconds`` of virtual time pass (and
    ``real_seconds`` of real time, for client timeout tests) before answering normally;
    ``"garble"`` answers normally but with ``status`` in place of the run's status (a status
    the client does not know); ``"cut"`` ends an SSE stream after ``events`` events, with no
    ``done`` (a stream broken on the way).
    """

    kind: Literal["status", "drop", "slow", "garble", "cut"]
    route: Route | None = None
    run_id: str | None = None
    times: int = 1
    status_code: int = 500
    retry_after: float | None = None
    retry_after_ms: int | None = None
    seconds: float = 0.0
    real_seconds: float = 0.0
    processed: bool = False
    status: str = ""
    events: int = 0

    def matches(self, route: Route, run_id: str | None) -> bool:
        """True if this fault applies to a request on ``route`` about ``run_id``."""
        return (
            self.times > 0
            and (self.route is None or self.route == route)
            and (self.run_id is None or self.run_id == run_id)
        )


@dataclass(slots=True)
class FakeResponse:
    """What the fake answers: status, headers and body (JSON, or a complete SSE stream)."""

    status_code: int
    headers: dict[str, str]
    body: bytes
    stream: bool = False
    drop: bool = False
    """Close the connection instead of completing the response."""
    real_delay: float = 0.0
    """Real seconds to wait before answering (the ``slow`` fault's ``real_seconds``)."""

    def json(self) -> Any:
        """The body parsed as JSON (not for streams)."""
        return json.loads(self.body)


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

    @property
    def expires_at(self) -> int:
        return self.created_at + EXPIRY_WINDOW_S


Sink = list[tuple[str, dict[str, Any]]]


class _HTTPError(Exception):
    def __init__(self, status_code: int, message: str, *, type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.type = type


class FakeAssistants:
    """An in-memory Assistants API whose runs play scripted histories on a virtual clock.

    Every status a run enters is fed to its own ``RunTracker(mode="stream", on_illegal="raise")``
    (in :attr:`trackers`), so the fake cannot serve an illegal lifecycle: it would raise instead.

    ``poll_after_ms`` is sent as the ``openai-poll-after-ms`` header on run responses (None:
    no header). ``max_requests`` bounds a runaway client: past that many requests about one run
    (or about no run: threads, messages) the next ones get a 500 with ``x-should-retry: false``
    and :attr:`budget_exceeded` is set. Counting per run lets one fake serve many runs (one
    server for all of a property test's examples).
    """

    def __init__(
        self,
        *,
        clock: VirtualClock | None = None,
        script: ScriptLike | Callable[[], ScriptLike] = DEFAULT_SCRIPT,
        poll_after_ms: int | None = 1000,
        max_requests: int = 10_000,
    ) -> None:
        if poll_after_ms is not None and (not isinstance(poll_after_ms, int) or poll_after_ms < 0):
            raise ValueError(f"poll_after_ms must be an int >= 0 or None, got {poll_after_ms!r}")
        if not isinstance(max_requests, int) or max_requests < 1:
            raise ValueError(f"max_requests must be an int >= 1, got {max_requests!r}")
        self.clock = clock if clock is not None else VirtualClock()
        self._default: Callable[[], ScriptLike] | RunScript = (
            script if callable(script) and not isinstance(script, RunScript) else RunScript.coerce(script)
        )
        self.poll_after_ms = poll_after_ms
        self.max_requests = max_requests
        self.budget_exceeded = False
        self.requests: list[RecordedRequest] = []
        """Every request received, in order."""
        self.trackers: dict[str, RunTracker] = {}
        """The lifecycle tracker of every run, by run id."""
        self._lock = threading.RLock()
        self._scripts: deque[RunScript] = deque()
        self._faults: list[Fault] = []
        self._threads: dict[str, _Thread] = {}
        self._runs: dict[str, _Run] = {}
        self._ids = itertools.count(1)
        self._budget: Counter[str | None] = Counter()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self._threads)} threads, {len(self._runs)} runs, {self.clock!r}>"

    # ------------------------------------------------------------------ test-facing API

    def queue_run(self, script: ScriptLike, **options: Any) -> RunScript:
        """Make the next created run play ``script`` (scripts are used in the order queued).

        ``script`` is a :class:`~runfsm.testing.fake.script.RunScript` or a history for one
        (``options`` go to its constructor). Returns the checked script.
        """
        if isinstance(script, RunScript):
            if options:
                raise TypeError("queue_run: pass options to RunScript(...) or a plain history, not both")
            checked = script
        else:
            checked = RunScript(script, **options) if options else RunScript.coerce(script)
        with self._lock:
            self._scripts.append(checked)
        return checked

    def inject(self, fault: Fault) -> Fault:
        """Apply ``fault`` to the next ``fault.times`` matching requests."""
        if not isinstance(fault, Fault):
            raise TypeError(f"inject takes a Fault, got {fault!r}")
        if fault.times < 1:
            raise ValueError(f"Fault.times must be >= 1, got {fault.times}")
        with self._lock:
            self._faults.append(fault)
        return fault

    def fail_next(
        self,
        status_code: int = 500,
        *,
        route: Route | None = None,
        run_id: str | None = None,
        times: int = 1,
        retry_after: float | None = None,
        retry_after_ms: int | None = None,
    ) -> Fault:
        """Answer the next matching requests with ``status_code`` (429: a rate limit, 5xx: a server error)."""
        if not 400 <= status_code <= 599:
            raise ValueError(f"status_code must be an HTTP error status (400-599), got {status_code}")
        return self.inject(
            Fault(
                "status",
                route=route,
                run_id=run_id,
                times=times,
                status_code=status_code,
                retry_after=retry_after,
                retry_after_ms=retry_after_ms,
            )
        )

    def drop_next(
        self, *, route: Route | None = None, run_id: str | None = None, times: int = 1, processed: bool = False
    ) -> Fault:
        """Close the connection on the next matching requests (``processed``: after they took effect)."""
        return self.inject(Fault("drop", route=route, run_id=run_id, times=times, processed=processed))

    def slow_next(
        self,
        seconds: float,
        *,
        route: Route | None = None,
        run_id: str | None = None,
        times: int = 1,
        real_seconds: float = 0.0,
    ) -> Fault:
        """Let ``seconds`` of virtual time (and ``real_seconds`` of real time) pass before answering."""
        if seconds < 0 or real_seconds < 0 or not math.isfinite(seconds) or not math.isfinite(real_seconds):
            raise ValueError("slow_next takes finite seconds >= 0")
        return self.inject(
            Fault("slow", route=route, run_id=run_id, times=times, seconds=seconds, real_seconds=real_seconds)
        )

    def garble_next(
        self, status: str, *, route: Route | None = "retrieve_run", run_id: str | None = None, times: int = 1
    ) -> Fault:
        """Answer the next matching run responses with ``"status": status`` (e.g. a status no client knows)."""
        return self.inject(Fault("garble", route=route, run_id=run_id, times=times, status=status))

    def cut_stream_next(
        self, *, events: int = 1, route: Route | None = "create_run", run_id: str | None = None, times: int = 1
    ) -> Fault:
        """End the next matching SSE streams after ``events`` events, without ``done`` (the run goes on)."""
        if events < 0:
            raise ValueError(f"cut_stream_next takes events >= 0, got {events}")
        return self.inject(Fault("cut", route=route, run_id=run_id, times=times, events=events))

    def count(self, route: Route | None = None, *, run_id: str | None = None) -> int:
        """How many requests matched ``route`` (None: any) and ``run_id`` (None: any)."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (route is None or r.route == route) and (run_id is None or r.run_id == run_id)
            )

    def run_ids(self) -> list[str]:
        """Ids of every run created, in creation order."""
        with self._lock:
            return list(self._runs)

    def status(self, run_id: str) -> RunStatus:
        """The run's status now (time-driven moves applied)."""
        with self._lock:
            run = self._runs[run_id]
            self._settle(run)
            return run.status

    def history(self, run_id: str) -> list[RunStatus]:
        """The statuses run ``run_id`` went through so far (time-driven moves applied), in order."""
        with self._lock:
            self._settle(self._runs[run_id])
            return [o.state for o in self.trackers[run_id].history if o.state is not RunStatus.Created]

    def move(self, run_id: str, status: RunStatus | str) -> RunStatus:
        """Make the server move run ``run_id`` to ``status`` now, along a server edge of the lifecycle.

        For tests that drive runs step by step (the stateful machine): queue scripts whose
        steps are ``STUCK`` and call this. Raises ``ValueError`` naming the allowed statuses
        when ``status`` is not a server-driven successor of the run's current status.
        """
        target = parse_status(status)
        with self._lock:
            run = self._runs[run_id]
            self._settle(run)
            allowed = self.server_moves(run_id)
            if target not in allowed:
                names = ", ".join(s.wire or s.name for s in allowed) or "nothing"
                raise ValueError(f"run {run_id} is {run.status}; the server can move it to {names}, not {target}")
            self._enter(run, target, self.clock.now(), None)
            return run.status

    def server_moves(self, run_id: str) -> tuple[RunStatus, ...]:
        """The statuses the server may move run ``run_id`` to from where it is now (server edges)."""
        with self._lock:
            run = self._runs[run_id]
            self._settle(run)
            return tuple(
                dest
                for dest in RUN_LIFECYCLE.successors(run.status)
                if (edge := RUN_LIFECYCLE.edge(run.status, dest)) is not None and edge.trigger is Trigger.SERVER
            )

    def warnings(self) -> list[str]:
        """Field-invariant warnings the trackers found on runs the fake served (should be none)."""
        with self._lock:
            return [f"{rid}: {w}" for rid, t in self.trackers.items() for o in t.history for w in o.warnings]

    def client(self, **options: Any) -> openai.OpenAI:
        """A real ``openai.OpenAI`` talking to this fake in-process, sleeping on the virtual clock."""
        from runfsm.testing.fake.transport import openai_client  # noqa: PLC0415 - keeps openai out until used

        return openai_client(self, **options)

    def async_client(self, **options: Any) -> openai.AsyncOpenAI:
        """A real ``openai.AsyncOpenAI`` talking to this fake in-process, sleeping on the virtual clock."""
        from runfsm.testing.fake.transport import async_openai_client  # noqa: PLC0415

        return async_openai_client(self, **options)

    # ------------------------------------------------------------------ HTTP entry point

    def handle(
        self, method: str, path: str, *, query: str = "", body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> FakeResponse:
        """Answer one request (``path`` with or without the ``/v1`` prefix)."""
        del headers  # accepted for symmetry with HTTP; the fake ignores auth and beta headers
        method = method.upper()
        route, thread_id, run_id = _route(method, path)
        with self._lock:
            now = self.clock.now()
            if self._budget[run_id] >= self.max_requests:
                self.budget_exceeded = True
                response = _error_response(
                    500, f"runfsm fake: request budget of {self.max_requests} exhausted", type="server_error"
                )
                response.headers["x-should-retry"] = "false"
                self._log(
                    method=method,
                    path=path,
                    route=route,
                    response=response,
                    at=now,
                    thread_id=thread_id,
                    run_id=run_id,
                    fault="budget",
                )
                return response
            runs_before = len(self._runs)
            fault = self._take_fault(route, run_id)
            if fault is not None and fault.kind == "slow":
                self.clock.advance(fault.seconds)
            if fault is not None and fault.kind == "status":
                response = _status_fault(fault)
            elif fault is not None and fault.kind == "drop" and not fault.processed:
                response = FakeResponse(0, {}, b"", drop=True)
            else:
                response = self._dispatch(
                    route, method=method, thread_id=thread_id, run_id=run_id, query=query, body=body
                )
                if fault is not None and fault.kind == "drop":
                    response = FakeResponse(0, {}, b"", drop=True)
                elif (
                    fault is not None and fault.kind == "garble" and not response.stream and response.status_code == 200
                ):
                    response.body = json.dumps({**response.json(), "status": fault.status}).encode()
                elif fault is not None and fault.kind == "cut" and response.stream:
                    chunks = response.body.split(b"\n\n")[: fault.events]
                    response.body = b"".join(chunk + b"\n\n" for chunk in chunks)
            if fault is not None and fault.kind == "slow":
                response.real_delay = fault.real_seconds
            if route == "create_run" and len(self._runs) > runs_before:  # name the run it created
                run_id = next(reversed(self._runs))
            served = fault is None or fault.kind == "slow" or (fault.kind == "drop" and fault.processed)
            run = self._runs.get(run_id) if run_id is not None and served else None
            run_status = run.status.wire if run is not None else None
            fault_name = None
            if fault is not None:
                fault_name = str(fault.status_code) if fault.kind == "status" else fault.kind
            self._log(
                method=method,
                path=path,
                route=route,
                response=response,
                at=now,
                thread_id=thread_id,
                run_id=run_id,
                fault=fault_name,
                run_status=run_status,
            )
            return response

    def _log(
        self,
        *,
        method: str,
        path: str,
        route: Route,
        response: FakeResponse,
        at: float,
        thread_id: str | None,
        run_id: str | None,
        fault: str | None,
        run_status: str | None = None,
    ) -> None:
        self._budget[run_id] += 1
        self.requests.append(
            RecordedRequest(
                method=method,
                path=path.split("?", 1)[0],
                route=route,
                status_code=0 if response.drop else response.status_code,
                at=at,
                thread_id=thread_id,
                run_id=run_id,
                stream=response.stream,
                fault=fault,
                run_status=run_status,
            )
        )

    def _take_fault(self, route: Route, run_id: str | None) -> Fault | None:
        for fault in self._faults:
            if fault.matches(route, run_id):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _dispatch(
        self, route: Route, *, method: str, thread_id: str | None, run_id: str | None, query: str, body: bytes
    ) -> FakeResponse:
        try:
            params = _parse_body(body) if method == "POST" else {}
            q = {k: v[-1] for k, v in parse_qs(query).items()}
            if route == "create_thread":
                return _json(self._create_thread(params))
            if route == "unknown":
                raise _HTTPError(404, f"Invalid URL ({method} /v1{_strip_prefix(thread_id or '')})")
            assert thread_id is not None
            thread = self._get_thread(thread_id)
            if route == "retrieve_thread":
                return _json(thread_object(thread.id, created_at=thread.created_at, metadata=thread.metadata))
            if route == "create_message":
                return _json(self._create_message(thread, params))
            if route == "list_messages":
                items = thread.messages
                if "run_id" in q:
                    items = [m for m in items if m.get("run_id") == q["run_id"]]
                return _json(_paginate(items, q))
            if route == "create_run":
                return self._create_run(thread, params)
            if route == "list_runs":
                for r in thread.runs:
                    self._settle(r)
                return _json(_paginate([self._run_json(r) for r in thread.runs], q))
            assert run_id is not None
            run = self._get_run(thread, run_id)
            if route == "retrieve_run":
                self._settle(run)
                return self._run_response(run)
            if route == "submit_tool_outputs":
                return self._submit(run, params)
            if route == "cancel_run":
                return self._cancel(run)
            if route == "list_run_steps":
                self._settle(run)
                return _json(_paginate(run.steps, q))
            raise _HTTPError(404, f"Invalid URL ({method} {route})")  # pragma: no cover - routes are exhaustive
        except _HTTPError as err:
            return _error_response(err.status_code, err.message, type=err.type)

    # ------------------------------------------------------------------ resources

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def _now_int(self) -> int:
        return int(self.clock.now())

    def _get_thread(self, thread_id: str) -> _Thread:
        thread = self._threads.get(thread_id)
        if thread is None:
            raise _HTTPError(404, f"No thread found with id '{thread_id}'.")
        return thread

    def _get_run(self, thread: _Thread, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None or run.thread is not thread:
            raise _HTTPError(404, f"No run found with id '{run_id}'.")
        return run

    def _active_run(self, thread: _Thread) -> _Run | None:
        for run in thread.runs:
            self._settle(run)
            if not run.status.is_terminal:
                return run
        return None

    def _create_thread(self, params: Mapping[str, Any]) -> dict[str, Any]:
        thread = _Thread(self._new_id("thread"), self._now_int(), _metadata(params))
        self._threads[thread.id] = thread
        for message in params.get("messages") or ():
            if isinstance(message, Mapping):
                self._add_message(thread, role=str(message.get("role", "user")), text=_text_of(message.get("content")))
        return thread_object(thread.id, created_at=thread.created_at, metadata=thread.metadata)

    def _create_message(self, thread: _Thread, params: Mapping[str, Any]) -> dict[str, Any]:
        active = self._active_run(thread)
        if active is not None:
            raise _HTTPError(400, f"Can't add messages to {thread.id} while a run {active.id} is active.")
        role = params.get("role")
        if role not in ("user", "assistant"):
            raise _HTTPError(400, f"Invalid value: {role!r}. Supported values are: 'user' and 'assistant'.")
        if "content" not in params:
            raise _HTTPError(400, "Missing required parameter: 'content'.")
        return self._add_message(thread, role=role, text=_text_of(params["content"]))

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

    # ------------------------------------------------------------------ runs

    def _next_script(self) -> RunScript:
        if self._scripts:
            return self._scripts.popleft()
        if isinstance(self._default, RunScript):
            return self._default
        return RunScript.coerce(self._default())

    def _create_run(self, thread: _Thread, params: Mapping[str, Any]) -> FakeResponse:
        assistant_id = params.get("assistant_id")
        if not isinstance(assistant_id, str) or not assistant_id:
            raise _HTTPError(400, "Missing required parameter: 'assistant_id'.")
        active = self._active_run(thread)
        if active is not None:
            raise _HTTPError(400, f"Thread {thread.id} already has an active run {active.id}.")
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
            metadata=_metadata(params),
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
            raise _HTTPError(400, f'Runs in status "{run.status.wire}" do not accept tool outputs.')
        outputs = params.get("tool_outputs")
        if not isinstance(outputs, list):
            raise _HTTPError(400, "Missing required parameter: 'tool_outputs'.")
        given = sorted(str(o.get("tool_call_id")) for o in outputs if isinstance(o, Mapping))
        expected = sorted(str(c["id"]) for c in run.tool_calls)
        if given != expected:
            raise _HTTPError(400, f"Expected tool outputs for call_ids {expected}, got {given}")
        for step in run.steps:
            if step["type"] == "tool_calls" and step["status"] == "in_progress":
                step["status"] = "completed"
                step["completed_at"] = self._now_int()
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
            raise _HTTPError(400, f"Cannot cancel run with status '{run.status.wire}'.")
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
            if edge is not None and edge.trigger is Trigger.SERVER and math.isfinite(run.current.seconds):
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

    def _play(self, run: _Run, sink: Sink) -> FakeResponse:
        """Stream: let virtual time run until the run pauses or ends; return the SSE response."""
        self._settle(run, sink)
        while not run.status.is_terminal and not run.status.is_paused:
            move = self._next_move(run)
            if move is None:  # pragma: no cover - every active status can expire
                break
            self.clock.advance_to(move[0])
            self._settle(run, sink)
        chunks = [_sse(name, data) for name, data in sink]
        chunks.append(b"event: done\ndata: [DONE]\n\n")
        return FakeResponse(200, dict(_SSE), b"".join(chunks), stream=True)

    def _enter(self, run: _Run, status: RunStatus, at: float, sink: Sink | None) -> None:
        """Move ``run`` into ``status`` at virtual time ``at``: fields, side objects, tracker, stream events."""
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
            run.tool_calls = [dict(c) for c in run.script.tool_calls] or [
                tool_call(f"call_{run.id.removeprefix('run_')}_{run.rounds}")
            ]
            step = self._new_step(run, stamp, {"type": "tool_calls", "tool_calls": run.tool_calls})
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
            for step in run.steps:
                if step["status"] == "in_progress":
                    step["status"] = "expired" if status is RunStatus.Expired else "cancelled"
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
        )

    def _run_json(self, run: _Run) -> dict[str, Any]:
        return self._run_json_as(run, run.status)

    def _run_response(self, run: _Run) -> FakeResponse:
        response = _json(self._run_json(run))
        if self.poll_after_ms is not None:
            response.headers["openai-poll-after-ms"] = str(self.poll_after_ms)
        return response


# ---------------------------------------------------------------------- helpers


def _strip_prefix(path: str) -> str:
    path = path.split("?", 1)[0]
    return path[3:] if path.startswith("/v1/") else path


def _route(method: str, path: str) -> tuple[Route, str | None, str | None]:
    """Map a method and path to a route name, thread id and run id."""
    parts = [p for p in _strip_prefix(path).split("/") if p]
    n = len(parts)
    if n == 0 or parts[0] != "threads":
        return "unknown", _strip_prefix(path), None
    if n == 1 and method == "POST":
        return "create_thread", None, None
    tid = parts[1] if n > 1 else None
    if n == 2 and method == "GET":
        return "retrieve_thread", tid, None
    if n == 3 and parts[2] == "messages":
        return ("create_message" if method == "POST" else "list_messages"), tid, None
    if n >= 3 and parts[2] == "runs":
        if n == 3:
            return ("create_run" if method == "POST" else "list_runs"), tid, None
        rid = parts[3]
        if n == 4 and method == "GET":
            return "retrieve_run", tid, rid
        if n == 5 and method == "POST" and parts[4] == "submit_tool_outputs":
            return "submit_tool_outputs", tid, rid
        if n == 5 and method == "POST" and parts[4] == "cancel":
            return "cancel_run", tid, rid
        if n == 5 and method == "GET" and parts[4] == "steps":
            return "list_run_steps", tid, rid
    return "unknown", _strip_prefix(path), None


def _parse_body(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise _HTTPError(400, "We could not parse the JSON body of your request.") from None
    if not isinstance(data, dict):
        raise _HTTPError(400, "We could not parse the JSON body of your request.")
    return data


def _metadata(params: Mapping[str, Any]) -> dict[str, str]:
    meta = params.get("metadata")
    return {str(k): str(v) for k, v in meta.items()} if isinstance(meta, Mapping) else {}


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Iterable):
        return "".join(
            str(part.get("text", "")) for part in content if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return ""


def _paginate(items: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
    ordered = list(items) if query.get("order") == "asc" else list(reversed(items))
    if "after" in query:
        ids = [i["id"] for i in ordered]
        ordered = ordered[ids.index(query["after"]) + 1 :] if query["after"] in ids else []
    try:
        limit = max(1, min(100, int(query.get("limit", "20"))))
    except ValueError:
        raise _HTTPError(400, f"Invalid 'limit': expected an integer, got {query['limit']!r}.") from None
    return list_page(ordered[:limit], has_more=len(ordered) > limit)


def _json(data: Mapping[str, Any], status_code: int = 200) -> FakeResponse:
    return FakeResponse(status_code, dict(_JSON), json.dumps(data).encode())


def _error_response(status_code: int, message: str, *, type: str = "invalid_request_error") -> FakeResponse:
    code = "rate_limit_exceeded" if status_code == 429 else None
    return _json(api_error(message, type=type, code=code), status_code)


def _status_fault(fault: Fault) -> FakeResponse:
    if fault.status_code == 429:
        response = _error_response(
            429, "Rate limit reached for requests (runfsm fake). Please try again later.", type="requests"
        )
    elif fault.status_code >= 500:
        response = _error_response(
            fault.status_code,
            "The server had an error while processing your request. Sorry about that!",
            type="server_error",
        )
    else:
        response = _error_response(fault.status_code, f"runfsm fake: injected {fault.status_code}")
    if fault.retry_after is not None:
        response.headers["retry-after"] = f"{fault.retry_after:g}"
    if fault.retry_after_ms is not None:
        response.headers["retry-after-ms"] = str(fault.retry_after_ms)
    return response


def _sse(event: str, data: Mapping[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
