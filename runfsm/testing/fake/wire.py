"""What crosses the fake's wire: route names, responses, the request log's records, the API's error shape.

Shared by the fake's resources (:mod:`~runfsm.testing.fake.api`, :mod:`~runfsm.testing.fake.runs`),
its fault injection (:mod:`~runfsm.testing.fake.faults`) and the two ways HTTP reaches it
(:mod:`~runfsm.testing.fake.server`, :mod:`~runfsm.testing.fake.transport`), which only need
:class:`Handler`: anything with the fake's ``handle`` and ``clock``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from runfsm.testing.fake.objects import api_error, list_page

if TYPE_CHECKING:
    from runfsm.testing.fake.clock import VirtualClock

__all__ = ["FakeResponse", "Handler", "RecordedRequest", "Route"]

Route = Literal[
    "create_thread",
    "retrieve_thread",
    "delete_thread",
    "create_message",
    "list_messages",
    "create_run",
    "list_runs",
    "retrieve_run",
    "submit_tool_outputs",
    "cancel_run",
    "list_run_steps",
    "create_response",
    "retrieve_response",
    "cancel_response",
    "create_batch",
    "list_batches",
    "retrieve_batch",
    "cancel_batch",
    "unknown",
]

JSON_HEADERS = {"content-type": "application/json"}
SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}


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


@runtime_checkable
class Handler(Protocol):
    """What the server and the transport talk to: a virtual clock and one entry point per request."""

    clock: VirtualClock

    def handle(
        self, method: str, path: str, *, query: str = "", body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> FakeResponse:
        """Answer one request."""
        ...


class HTTPError(Exception):
    """An API error answer, raised inside a handler and turned into the API's error body."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.type = type
        self.code = code
        self.param = param


def strip_prefix(path: str) -> str:
    path = path.split("?", 1)[0]
    return path[3:] if path.startswith("/v1/") else path


def route_of(method: str, path: str) -> tuple[Route, str | None, str | None]:
    """Map a method and path to a route name, thread id and run id."""
    parts = [p for p in strip_prefix(path).split("/") if p]
    n = len(parts)
    if n and parts[0] in ("responses", "batches"):
        kind = "response" if parts[0] == "responses" else "batch"
        if n == 1:
            if method == "POST":
                return ("create_response" if kind == "response" else "create_batch"), None, None
            if kind == "batch" and method == "GET":
                return "list_batches", None, None
        if n == 2 and method == "GET":
            return ("retrieve_response" if kind == "response" else "retrieve_batch"), None, parts[1]
        if n == 3 and method == "POST" and parts[2] == "cancel":
            return ("cancel_response" if kind == "response" else "cancel_batch"), None, parts[1]
        return "unknown", strip_prefix(path), None
    if n == 0 or parts[0] != "threads":
        return "unknown", strip_prefix(path), None
    if n == 1 and method == "POST":
        return "create_thread", None, None
    tid = parts[1] if n > 1 else None
    if n == 2 and method == "GET":
        return "retrieve_thread", tid, None
    if n == 2 and method == "DELETE":
        return "delete_thread", tid, None
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
    return "unknown", strip_prefix(path), None


def metadata_of(params: Mapping[str, Any]) -> dict[str, str]:
    meta = params.get("metadata")
    return {str(k): str(v) for k, v in meta.items()} if isinstance(meta, Mapping) else {}


def text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Iterable):
        return "".join(
            str(part.get("text", "")) for part in content if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return ""


def paginate(items: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
    ordered = list(items) if list_order(query) == "asc" else list(reversed(items))
    limit = list_limit(query)
    if "after" in query:
        ids = [i["id"] for i in ordered]
        ordered = ordered[ids.index(query["after"]) + 1 :] if query["after"] in ids else []
    return list_page(ordered[:limit], has_more=len(ordered) > limit)


def list_limit(query: Mapping[str, str]) -> int:
    """``limit`` of a list request: 20 by default, an integer in 1..100 (400 otherwise, as the API answers)."""
    raw = query.get("limit")
    if raw is None:
        return 20
    try:
        limit = int(raw)
    except ValueError:
        raise HTTPError(
            400, f"Invalid type for 'limit': expected an integer, but got {raw!r}.", code="invalid_type", param="limit"
        ) from None
    if limit < 1:
        raise HTTPError(
            400,
            f"Invalid 'limit': integer below minimum value. Expected a value >= 1, but got {limit} instead.",
            code="integer_below_min_value",
            param="limit",
        )
    if limit > 100:
        raise HTTPError(
            400,
            f"Invalid 'limit': integer above maximum value. Expected a value <= 100, but got {limit} instead.",
            code="integer_above_max_value",
            param="limit",
        )
    return limit


def list_order(query: Mapping[str, str]) -> str:
    """``order`` of a list request: ``desc`` by default, else ``asc`` or ``desc`` (400 otherwise)."""
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise HTTPError(
            400,
            f"Invalid value: {order!r}. Supported values are: 'asc' and 'desc'.",
            code="invalid_value",
            param="order",
        )
    return order


def json_response(data: Mapping[str, Any], status_code: int = 200) -> FakeResponse:
    return FakeResponse(status_code, dict(JSON_HEADERS), json.dumps(data).encode())


def error_response(
    status_code: int,
    message: str,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
) -> FakeResponse:
    if code is None and status_code == 429:
        code = "rate_limit_exceeded"
    return json_response(api_error(message, type=type, code=code, param=param), status_code)


def sse_event(event: str, data: Mapping[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
