"""The fake's background responses and batches: objects of the other lifecycle presets, played on the virtual clock.

A background response (``POST /responses`` with ``background=true``) or a batch (``POST
/batches``) plays a script of ``(status, seconds)`` steps, as a run does, read lazily from the
clock: retrieving it later shows where the script has got to. The routes the real ``openai``
client's ``responses`` and ``batches`` resources call:

- ``POST /responses`` (``background=true``; with ``stream=true`` the answer is the whole SSE
  stream, each event with its ``sequence_number``), ``GET /responses/{id}`` (with
  ``stream=true&starting_after=N``: the events after ``N``, the resumed stream),
  ``POST /responses/{id}/cancel`` (background only; idempotent: a final response is returned as is);
- ``POST /batches``, ``GET /batches/{id}``, ``POST /batches/{id}/cancel`` (``cancelling``, then
  ``cancelled`` after ``cancel_seconds``), ``GET /batches`` (newest first, ``after`` and ``limit``).

Every status an object enters is fed to a stream-mode tracker of its lifecycle with
``on_illegal="raise"``: a script the lifecycle forbids is refused when queued, so the fake
cannot serve an illegal history. The stream of a cancelled response ends without a terminal
event: the Responses stream has no ``response.cancelled`` [R1].
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runfsm.exceptions import ScriptError
from runfsm.lifecycles import BATCH_LIFECYCLE, RESPONSE_LIFECYCLE, BatchStatus, ResponseStatus
from runfsm.lifecycles.batch import BATCH_TIMESTAMPS
from runfsm.testing.fake.wire import HTTPError, sse_event
from runfsm.tracker import RunTracker

if TYPE_CHECKING:
    from runfsm.lifecycle import Lifecycle
    from runfsm.testing.fake.clock import VirtualClock
    from runfsm.vocabulary import LifecycleState

__all__ = ["DEFAULT_BATCH_SCRIPT", "DEFAULT_RESPONSE_SCRIPT", "Background"]

Script = Iterable[tuple[str, float]]
_STAMPS: dict[Any, str] = dict(BATCH_TIMESTAMPS)

DEFAULT_RESPONSE_SCRIPT: tuple[tuple[str, float], ...] = (("queued", 1.0), ("in_progress", 5.0), ("completed", 0.0))
"""What a background response plays when no script was queued for it."""
DEFAULT_BATCH_SCRIPT: tuple[tuple[str, float], ...] = (
    ("validating", 30.0),
    ("in_progress", 3600.0),
    ("finalizing", 120.0),
    ("completed", 0.0),
)
"""What a batch plays when no script was queued for it (an hour's work)."""


@dataclass
class _Object:
    """One background response or batch: its steps (status, entered at) and what the client asked."""

    lifecycle: Lifecycle[Any]
    object_id: str
    created_at: int
    steps: list[tuple[LifecycleState, float]]
    """Every status with the virtual time it is entered, in order (the script, then any cancel)."""
    params: dict[str, Any]
    tracker: RunTracker[Any]
    played: int = 0
    """How many steps the tracker has been fed."""
    cancel_seconds: float = 10.0
    events: list[dict[str, Any]] = field(default_factory=list)
    """Responses only: the stream events emitted so far, numbered by ``sequence_number``."""

    def at(self, now: float) -> int:
        """The index of the step the object is in at ``now``."""
        index = 0
        for i, (_, start) in enumerate(self.steps):
            if start <= now:
                index = i
        return index


class Background:
    """The background responses and batches of a fake: scripts, objects, the routes' answers."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.objects: dict[str, _Object] = {}
        self._queued: dict[str, deque[list[tuple[LifecycleState, float]]]] = {"response": deque(), "batch": deque()}
        self._ids = itertools.count(1)

    # -- scripts

    def queue(self, lifecycle: Lifecycle[Any], script: Script) -> None:
        """Queue the script the next object of ``lifecycle`` plays (checked against the lifecycle now)."""
        self._queued[lifecycle.key].append(_checked(lifecycle, script))

    def _script(self, lifecycle: Lifecycle[Any]) -> list[tuple[LifecycleState, float]]:
        queued = self._queued[lifecycle.key]
        if queued:
            return queued.popleft()
        default = DEFAULT_RESPONSE_SCRIPT if lifecycle is RESPONSE_LIFECYCLE else DEFAULT_BATCH_SCRIPT
        return _checked(lifecycle, default)

    # -- objects

    def _create(self, lifecycle: Lifecycle[Any], prefix: str, params: Mapping[str, Any]) -> _Object:
        now = self.clock.now()
        start = now
        steps = []
        for status, seconds in self._script(lifecycle):
            steps.append((status, start))
            start += seconds
        object_id = f"{prefix}_{next(self._ids):06d}"
        tracker = RunTracker(object_id, mode="stream", on_illegal="raise", lifecycle=lifecycle, clock=None)
        obj = _Object(lifecycle, object_id, int(now), steps, dict(params), tracker)
        self.objects[object_id] = obj
        return obj

    def get(self, lifecycle: Lifecycle[Any], object_id: str | None) -> _Object:
        """The object, or a 404 as the API words it."""
        obj = self.objects.get(object_id or "")
        if obj is None or obj.lifecycle is not lifecycle:
            noun = "Response" if lifecycle is RESPONSE_LIFECYCLE else "Batch"
            raise HTTPError(404, f"{noun} with id '{object_id}' not found.")
        self._play(obj)
        return obj

    def status(self, object_id: str) -> LifecycleState:
        """The object's status now."""
        obj = self.objects[object_id]
        self._play(obj)
        return obj.steps[obj.at(self.clock.now())][0]

    def history(self, object_id: str) -> list[LifecycleState]:
        """The statuses the object has entered so far."""
        obj = self.objects[object_id]
        self._play(obj)
        return [s for s, _ in obj.steps[: obj.at(self.clock.now()) + 1]]

    def end_time(self) -> float | None:
        """When the last live object enters its final scripted status (None: none live, or none ends)."""
        now = self.clock.now()
        ends = [
            obj.steps[-1][1]
            for obj in self.objects.values()
            if obj.steps[-1][1] > now and math.isfinite(obj.steps[-1][1])
        ]
        return max(ends, default=None)

    def timeline(self, object_id: str) -> list[tuple[LifecycleState, float]]:
        """The statuses the object has entered so far, each with the virtual time it entered it."""
        obj = self.objects[object_id]
        self._play(obj)
        return list(obj.steps[: obj.at(self.clock.now()) + 1])

    def _play(self, obj: _Object) -> None:
        """Feed the tracker (and the response's event log) every step entered by now."""
        now = self.clock.now()
        reached = obj.at(now)
        while obj.played <= reached:
            status, _ = obj.steps[obj.played]
            obj.tracker.observe(status)
            if obj.lifecycle is RESPONSE_LIFECYCLE:
                self._emit(obj, obj.played)
            obj.played += 1

    def _emit(self, obj: _Object, index: int) -> None:
        status = obj.steps[index][0]
        names = ["response.created"] if index == 0 else []
        if status.event is not None:
            names.append(status.event)
        for name in names:
            snapshot = self.response(obj, index)
            obj.events.append({"type": name, "sequence_number": len(obj.events), "response": snapshot})

    # -- JSON

    def response(self, obj: _Object, index: int | None = None) -> dict[str, Any]:
        """A background response as the API's JSON, in step ``index`` (now by default)."""
        if index is None:
            index = obj.at(self.clock.now())
        status, entered = obj.steps[index]
        params = obj.params
        body: dict[str, Any] = {
            "id": obj.object_id,
            "object": "response",
            "created_at": obj.created_at,
            "status": status.wire,
            "background": True,
            "model": params.get("model", "gpt-fake"),
            "output": [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "error": None,
            "incomplete_details": None,
            "completed_at": None,
            "metadata": params.get("metadata") or {},
        }
        if status is ResponseStatus.Completed:
            body["completed_at"] = int(entered)
            body["output"] = [
                {
                    "type": "message",
                    "id": f"msg_{obj.object_id}",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "done (runfsm fake)", "annotations": []}],
                }
            ]
        elif status is ResponseStatus.Failed:
            body["error"] = {"code": "server_error", "message": "runfsm fake: scripted failure"}
        elif status is ResponseStatus.Incomplete:
            body["incomplete_details"] = {"reason": "max_output_tokens"}
        return body

    def batch(self, obj: _Object) -> dict[str, Any]:
        """A batch as the API's JSON, now: every status entered so far has its ``*_at`` timestamp."""
        index = obj.at(self.clock.now())
        status = obj.steps[index][0]
        params = obj.params
        body: dict[str, Any] = {
            "id": obj.object_id,
            "object": "batch",
            "endpoint": params.get("endpoint", "/v1/responses"),
            "input_file_id": params.get("input_file_id", "file_fake"),
            "completion_window": params.get("completion_window", "24h"),
            "created_at": obj.created_at,
            "expires_at": obj.created_at + 86_400,
            "status": status.wire,
            "metadata": params.get("metadata") or None,
            "errors": None,
            "output_file_id": None,
            "error_file_id": None,
        }
        body.update(dict.fromkeys(BATCH_TIMESTAMPS.values()))
        for entered_status, entered in obj.steps[: index + 1]:
            stamp = _STAMPS.get(entered_status)
            if stamp is not None:
                body[stamp] = int(entered)
        if status is BatchStatus.Failed:
            body["errors"] = {"object": "list", "data": [{"code": "invalid_json_line", "message": "runfsm fake"}]}
        if status is BatchStatus.Completed:
            body["output_file_id"] = f"file_out_{obj.object_id}"
        return body

    # -- routes

    def create_response(self, params: Mapping[str, Any]) -> tuple[_Object, bytes | None]:
        """``POST /responses``: a background response (and, with ``stream=true``, its whole stream)."""
        if params.get("background") is not True:
            raise HTTPError(400, "runfsm fake: only background responses are served (background=true)")
        if params.get("store") is False:
            raise HTTPError(400, "Background mode requires store=true.")
        obj = self._create(RESPONSE_LIFECYCLE, "resp", params)
        self._play(obj)
        if not params.get("stream"):
            return obj, None
        return obj, self.stream(obj, after=-1)

    def stream(self, obj: _Object, *, after: int) -> bytes:
        """The response's stream from ``sequence_number`` ``after + 1`` on, played to its end on the clock."""
        final = len(obj.steps) - 1
        if obj.at(self.clock.now()) < final:
            self.clock.advance(max(0.0, obj.steps[final][1] - self.clock.now()))
        self._play(obj)
        return b"".join(sse_event(e["type"], e) for e in obj.events if e["sequence_number"] > after)

    def cancel_response(self, obj: _Object) -> dict[str, Any]:
        """``POST /responses/{id}/cancel``: cancelled at once; a final response is answered as it is."""
        if obj.tracker.is_terminal:
            return self.response(obj)
        now = self.clock.now()
        obj.steps = [*obj.steps[: obj.at(now) + 1], (ResponseStatus.Cancelled, now)]
        self._play(obj)
        return self.response(obj)

    def create_batch(self, params: Mapping[str, Any]) -> _Object:
        """``POST /batches``: the create call's checks, then the batch's script."""
        for name in ("input_file_id", "endpoint", "completion_window"):
            if not isinstance(params.get(name), str) or not params[name]:
                raise HTTPError(400, f"Missing required parameter: '{name}'.")
        obj = self._create(BATCH_LIFECYCLE, "batch", params)
        self._play(obj)
        return obj

    def cancel_batch(self, obj: _Object) -> dict[str, Any]:
        """``POST /batches/{id}/cancel``: ``cancelling``, then ``cancelled`` after ``cancel_seconds``."""
        status: Any = self.status(obj.object_id)
        if status.is_terminal or status is BatchStatus.Cancelling:
            if status.is_terminal:
                raise HTTPError(400, f"Cannot cancel a batch with status '{status.wire}'.")
            return self.batch(obj)
        if BATCH_LIFECYCLE.edge(status, BatchStatus.Cancelling) is None:
            raise HTTPError(400, f"Cannot cancel a batch with status '{status.wire}'.")
        now = self.clock.now()
        obj.steps = [
            *obj.steps[: obj.at(now) + 1],
            (BatchStatus.Cancelling, now),
            (BatchStatus.Cancelled, now + obj.cancel_seconds),
        ]
        self._play(obj)
        return self.batch(obj)

    def list_batches(self, query: Mapping[str, str]) -> dict[str, Any]:
        """``GET /batches``: newest first, from after ``after``, at most ``limit`` (default 20)."""
        batches = [o for o in self.objects.values() if o.lifecycle is BATCH_LIFECYCLE]
        batches.reverse()
        after = query.get("after")
        if after:
            ids = [o.object_id for o in batches]
            batches = batches[ids.index(after) + 1 :] if after in ids else []
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            raise HTTPError(400, f"Invalid 'limit': {query.get('limit')!r}.") from None
        page = [self.get(BATCH_LIFECYCLE, o.object_id) for o in batches[:limit]]
        data = [self.batch(o) for o in page]
        return {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": len(batches) > limit,
        }


def _checked(lifecycle: Lifecycle[Any], script: Script) -> list[tuple[LifecycleState, float]]:
    """The script as states; :class:`ScriptError` unless the lifecycle allows it as a stream from create."""
    steps = [(lifecycle.parse(status), float(seconds)) for status, seconds in script]
    if not steps:
        raise ScriptError("a script needs at least one status")
    tracker = RunTracker(mode="stream", on_illegal="record", lifecycle=lifecycle, clock=None)
    for index, (status, seconds) in enumerate(steps):
        if seconds < 0:
            raise ScriptError(f"{seconds:g} s: durations must be >= 0", index=index)
        before = tracker.state
        if not tracker.observe(status).accepted:
            allowed = ", ".join(s.label for s in lifecycle.successors(before)) or "nothing"
            raise ScriptError(
                f"{before} -> {status} is not an edge of the {lifecycle.title} lifecycle; allowed: {allowed}",
                index=index,
            )
    return steps
