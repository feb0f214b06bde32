"""The fake Assistants API itself: threads and messages, the request log, and the one entry point for requests.

:class:`FakeAssistants` is transport-free: :meth:`FakeAssistants.handle` takes a method, a path,
a query and a body and returns a :class:`~runfsm.testing.fake.wire.FakeResponse`. Runs are played by
:class:`~runfsm.testing.fake.runs.RunEngine`, faults queued by
:class:`~runfsm.testing.fake.faults.FaultInjection`. The loopback server (:mod:`runfsm.testing.fake.server`)
and the in-process transport (:mod:`runfsm.testing.fake.transport`) only translate HTTP to and from it.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from runfsm.lifecycles import BATCH_LIFECYCLE, RESPONSE_LIFECYCLE, RUN_LIFECYCLE
from runfsm.status import RunStatus, parse_status
from runfsm.testing.fake.azure import azure_answer, azure_refusal, engine_path, is_azure_path
from runfsm.testing.fake.background import Background
from runfsm.testing.fake.checks import DEFAULT_MAX_BODY_BYTES, check_body, check_size, parse_body
from runfsm.testing.fake.clock import VirtualClock
from runfsm.testing.fake.conduct import Conduct
from runfsm.testing.fake.faults import CREATE_ROUTES, Fault, FaultInjection, ObjectKind, status_fault
from runfsm.testing.fake.objects import thread_object
from runfsm.testing.fake.objects import tool_calls as objects_tool_calls
from runfsm.testing.fake.runs import RunEngine, _Run, _Thread
from runfsm.testing.fake.script import RunScript, ScriptLike
from runfsm.testing.fake.wire import (
    SSE_HEADERS,
    FakeResponse,
    HTTPError,
    RecordedRequest,
    Route,
    error_response,
    json_response,
    metadata_of,
    paginate,
    route_of,
    strip_prefix,
    text_of,
)
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    import openai

    from runfsm.lifecycle import Lifecycle
    from runfsm.tracker import RunTracker
    from runfsm.vocabulary import LifecycleState

__all__ = ["DEFAULT_SCRIPT", "FakeAssistants"]

DEFAULT_SCRIPT: tuple[tuple[str, float], ...] = (("queued", 1.0), ("in_progress", 2.0), ("completed", 0.0))
"""What a run plays when no script was queued for it."""

_CREATED: dict[Route, ObjectKind] = {route: kind for kind, route in CREATE_ROUTES.items()}


class FakeAssistants(FaultInjection, Conduct, RunEngine):
    """An in-memory Assistants API whose runs play scripted histories on a virtual clock.

    Every status a run enters is fed to its own ``RunTracker(mode="stream", on_illegal="raise")``
    (in :attr:`trackers`), so the fake cannot serve an illegal lifecycle: it would raise instead.

    ``poll_after_ms`` is sent as the ``openai-poll-after-ms`` header on every answer that is one
    run, background response or batch (None: no header). ``max_requests`` bounds a runaway
    client: past that many requests about one object (or about none: threads, messages) the next
    ones get a 500 with ``x-should-retry: false`` and :attr:`budget_exceeded` is set. Counting per
    object lets one fake serve many runs (one server for all of a property test's examples).

    Every request is judged as it is answered (:mod:`~runfsm.testing.fake.conduct`: tools
    answered, retry-after and the poll hint honoured, no outputs re-sent, no terminal run
    polled again and again, no more requests than virtual time allows); :attr:`violations`
    lists what the client broke and :meth:`check_client`, called once the client returned,
    raises :class:`~runfsm.testing.fake.conduct.ClientBug` with the story. ``paused_polls`` and
    ``repolls`` tune two rules; ``stop_on_violation`` makes the fake's own clients and sleeps
    stop the client at its first violation (:class:`~runfsm.testing.fake.conduct.ClientStopped`).

    Requests are checked as the API checks them (:mod:`~runfsm.testing.fake.checks`): a body over
    ``max_body_bytes`` gets a 413, a body that is no JSON object or a field of the wrong type a
    400 in the API's error shape. Every request is in :attr:`requests`, whatever it was answered;
    an exception inside the fake itself is answered 500 and kept in :attr:`errors`.
    """

    def __init__(
        self,
        *,
        clock: VirtualClock | None = None,
        script: ScriptLike | Callable[[], ScriptLike] = DEFAULT_SCRIPT,
        poll_after_ms: int | None = 1000,
        max_requests: int = 10_000,
        paused_polls: int = 20,
        repolls: int = 3,
        stop_on_violation: bool = False,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if poll_after_ms is not None and (not isinstance(poll_after_ms, int) or poll_after_ms < 0):
            raise ValueError(f"poll_after_ms must be an int >= 0 or None, got {poll_after_ms!r}")
        if not isinstance(max_requests, int) or max_requests < 1:
            raise ValueError(f"max_requests must be an int >= 1, got {max_requests!r}")
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be an int >= 1, got {max_body_bytes!r}")
        self.max_body_bytes = max_body_bytes
        self.errors: list[Exception] = []
        """Exceptions raised inside the fake while answering (each answered 500, logged); should stay empty."""
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
        self._init_conduct(paused_polls=paused_polls, repolls=repolls, stop_on_violation=stop_on_violation)
        self.before_request: Callable[[], None] | None = None
        """Called (in the requesting thread) before each request is handled: the stateful machine's hand-off."""
        self.background = Background(self.clock)
        """The background responses and batches (``client.responses``, ``client.batches``)."""

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

    def object_ids(self) -> list[str]:
        """Ids of every object created (runs, then background responses and batches), in creation order each."""
        with self._lock:
            return [*self._runs, *self.background.objects]

    def object_status(self, object_id: str) -> LifecycleState:
        """The status now of the run, background response or batch ``object_id``."""
        with self._lock:
            if object_id in self._runs:
                return self.status(object_id)
            return self.background.status(object_id)

    def lifecycle_of(self, object_id: str | None) -> Lifecycle[Any] | None:
        """The lifecycle preset of the object ``object_id`` (None: the fake has no such object)."""
        if object_id is None:
            return None
        with self._lock:
            if object_id in self._runs:
                return RUN_LIFECYCLE
            obj = self.background.objects.get(object_id)
            return obj.lifecycle if obj is not None else None

    def play_out(self) -> None:
        """Let virtual time run until every run and background object has ended (see :meth:`RunEngine.play_out`)."""
        with self._lock:
            end = self.background.end_time()
            if end is not None:
                self.clock.advance_to(end)
            super().play_out()

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

    def move(self, run_id: str, status: RunStatus | str, *, tool_calls: int | None = None) -> RunStatus:
        """Make the server move run ``run_id`` to ``status`` now, along a server edge of the lifecycle.

        For tests that drive runs step by step (the stateful machine): queue scripts whose
        steps are ``STUCK`` and call this. Raises ``ValueError`` naming the allowed statuses
        when ``status`` is not a server-driven successor of the run's current status.
        ``tool_calls``: how many parallel tool calls a move to ``requires_action`` asks for.
        """
        target = parse_status(status)
        with self._lock:
            run = self._runs[run_id]
            self._settle(run)
            allowed = self.server_moves(run_id)
            if target not in allowed:
                names = ", ".join(s.label for s in allowed) or "nothing"
                raise ValueError(f"run {run_id} is {run.status}; the server can move it to {names}, not {target}")
            if tool_calls is not None:
                run.next_calls = tuple(objects_tool_calls(tool_calls))
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
        """Answer one request (``path`` with or without the ``/v1`` prefix, or under an Azure project endpoint).

        OpenAI paths ignore auth and beta headers; Azure paths are checked first (see
        :mod:`~runfsm.testing.fake.azure`) and answered without OpenAI-only headers.
        """
        hook = self.before_request
        if hook is not None:
            hook()
        method = method.upper()
        azure = is_azure_path(path)
        route, thread_id, run_id = route_of(method, engine_path(path))
        with self._lock:
            now = self.clock.now()
            early = azure_refusal(query, headers) if azure else None
            early_fault = None
            if early is None and len(body) > self.max_body_bytes:
                try:
                    check_size(body, self.max_body_bytes)
                except HTTPError as err:
                    early = error_response(err.status_code, err.message, code=err.code)
            if early is None and self._budget[run_id] >= self.max_requests:
                self.budget_exceeded = True
                early = error_response(
                    500, f"runfsm fake: request budget of {self.max_requests} exhausted", type="server_error"
                )
                early.headers["x-should-retry"] = "false"
                early_fault = "budget"
            if early is not None:
                self._log(
                    method=method,
                    path=path,
                    route=route,
                    response=early,
                    at=now,
                    thread_id=thread_id,
                    run_id=run_id,
                    fault=early_fault,
                )
                if early_fault == "budget" and not any(v.rule == "busy" for v in self.violations):
                    about = f"run {run_id}" if run_id is not None else "threads and messages"
                    self._violate("busy", run_id, now, f"more than {self.max_requests} requests about {about}")
                return early
            made_before = len(self._runs) + len(self.background.objects)
            fault = self._take_fault(route, run_id)
            if fault is not None and fault.kind == "slow":
                self.clock.advance(fault.seconds)
            if fault is not None and fault.kind == "status":
                response = status_fault(fault)
            elif fault is not None and fault.kind == "drop" and not fault.processed:
                response = FakeResponse(0, {}, b"", drop=True)
            else:
                response = self._answer(
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
            kind = _CREATED.get(route)
            if kind is not None and len(self._runs) + len(self.background.objects) > made_before:
                run_id = next(reversed(self._runs)) if kind == "run" else next(reversed(self.background.objects))
                self._bind_next(kind, run_id)  # name the object it created
            served = fault is None or fault.kind == "slow" or (fault.kind == "drop" and fault.processed)
            run_status = self._status_wire(run_id) if served else None
            fault_name = None
            if fault is not None:
                fault_name = str(fault.status_code) if fault.kind == "status" else fault.kind
                self._note_fault(now, route, run_id, fault.describe())
            record = self._log(
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
            self._judge(record, response, index=len(self.requests) - 1, answered_at=self.clock.now(), body=body)
            return azure_answer(response) if azure else response

    def _status_wire(self, object_id: str | None) -> str | None:
        """The wire status of the run or background object ``object_id`` now (None: no such object)."""
        run = self._runs.get(object_id) if object_id is not None else None
        if run is not None:
            return run.status.wire
        if object_id is not None and object_id in self.background.objects:
            return str(self.background.status(object_id).wire)
        return None

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
    ) -> RecordedRequest:
        self._budget[run_id] += 1
        record = RecordedRequest(
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
        self.requests.append(record)
        return record

    def _answer(
        self, route: Route, *, method: str, thread_id: str | None, run_id: str | None, query: str, body: bytes
    ) -> FakeResponse:
        """:meth:`_dispatch`, with any exception of the fake's own answered 500 (and kept) instead of escaping."""
        try:
            return self._dispatch(route, method=method, thread_id=thread_id, run_id=run_id, query=query, body=body)
        except Exception as err:  # noqa: BLE001 - a bug in the fake must not reset the connection or skip the log
            self.errors.append(err)
            return error_response(500, f"runfsm fake: internal error: {type(err).__name__}: {err}", type="server_error")

    def _dispatch(
        self, route: Route, *, method: str, thread_id: str | None, run_id: str | None, query: str, body: bytes
    ) -> FakeResponse:
        try:
            params = parse_body(body) if method == "POST" else {}
            check_body(route, params)
            q = {k: v[-1] for k, v in parse_qs(query).items()}
            if route == "create_thread":
                return json_response(self._create_thread(params))
            if route.endswith(("_response", "_batch", "_batches")):
                return self._background(route, run_id, params, q)
            if route == "unknown":
                raise HTTPError(404, f"Invalid URL ({method} /v1{strip_prefix(thread_id or '')})")
            assert thread_id is not None
            thread = self._get_thread(thread_id)
            if route == "retrieve_thread":
                return json_response(thread_object(thread.id, created_at=thread.created_at, metadata=thread.metadata))
            if route == "delete_thread":  # its runs stay in the fake's records (trackers, history)
                del self._threads[thread.id]
                return json_response({"id": thread.id, "object": "thread.deleted", "deleted": True})
            if route == "create_message":
                return json_response(self._create_message(thread, params))
            if route == "list_messages":
                items = thread.messages
                if "run_id" in q:
                    items = [m for m in items if m.get("run_id") == q["run_id"]]
                return json_response(paginate(items, q))
            if route == "create_run":
                return self._create_run(thread, params)
            if route == "list_runs":
                for r in thread.runs:
                    self._settle(r)
                return json_response(paginate([self._run_json(r) for r in thread.runs], q))
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
                return json_response(paginate(run.steps, q))
            raise HTTPError(404, f"Invalid URL ({method} {route})")  # pragma: no cover - routes are exhaustive
        except HTTPError as err:
            return error_response(err.status_code, err.message, type=err.type, code=err.code, param=err.param)

    def _background(
        self, route: Route, object_id: str | None, params: Mapping[str, Any], q: Mapping[str, str]
    ) -> FakeResponse:
        """The routes of background responses and batches (:mod:`~runfsm.testing.fake.background`)."""
        bg = self.background
        if route == "create_response":
            obj, stream = bg.create_response(params)
            if stream is not None:
                return FakeResponse(200, dict(SSE_HEADERS), stream, stream=True)
            return self._hinted(json_response(bg.response(obj)))
        if route == "create_batch":
            return self._hinted(json_response(bg.batch(bg.create_batch(params))))
        if route == "list_batches":
            return json_response(bg.list_batches(q))
        if route in ("retrieve_response", "cancel_response"):
            obj = bg.get(RESPONSE_LIFECYCLE, object_id)
            if route == "cancel_response":
                return self._hinted(json_response(bg.cancel_response(obj)))
            if q.get("stream") == "true":
                try:
                    after = int(q.get("starting_after", "-1"))
                except ValueError:
                    raise HTTPError(400, f"Invalid 'starting_after': {q.get('starting_after')!r}.") from None
                return FakeResponse(200, dict(SSE_HEADERS), bg.stream(obj, after=after), stream=True)
            return self._hinted(json_response(bg.response(obj)))
        obj = bg.get(BATCH_LIFECYCLE, object_id)
        if route == "cancel_batch":
            return self._hinted(json_response(bg.cancel_batch(obj)))
        return self._hinted(json_response(bg.batch(obj)))

    # ------------------------------------------------------------------ resources

    def _get_thread(self, thread_id: str) -> _Thread:
        thread = self._threads.get(thread_id)
        if thread is None:
            raise HTTPError(404, f"No thread found with id '{thread_id}'.")
        return thread

    def _get_run(self, thread: _Thread, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None or run.thread is not thread:
            raise HTTPError(404, f"No run found with id '{run_id}'.")
        return run

    def _create_thread(self, params: Mapping[str, Any]) -> dict[str, Any]:
        thread = _Thread(self._new_id("thread"), self._now_int(), metadata_of(params))
        self._threads[thread.id] = thread
        for message in params.get("messages") or ():
            if isinstance(message, Mapping):
                self._add_message(thread, role=str(message.get("role", "user")), text=text_of(message.get("content")))
        return thread_object(thread.id, created_at=thread.created_at, metadata=thread.metadata)

    def _create_message(self, thread: _Thread, params: Mapping[str, Any]) -> dict[str, Any]:
        active = self._active_run(thread)
        if active is not None:
            raise HTTPError(400, f"Can't add messages to {thread.id} while a run {active.id} is active.")
        role = params.get("role")
        if role not in ("user", "assistant"):
            raise HTTPError(400, f"Invalid value: {role!r}. Supported values are: 'user' and 'assistant'.")
        if "content" not in params:
            raise HTTPError(400, "Missing required parameter: 'content'.")
        return self._add_message(thread, role=role, text=text_of(params["content"]))


# ---------------------------------------------------------------------- helpers
