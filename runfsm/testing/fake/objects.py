"""The Assistants API's JSON shapes (runs, threads, messages, run steps, lists, errors) as the SDK parses them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runfsm.invariants import EXPIRY_WINDOW_S
from runfsm.status import RunStatus

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "FAILED_MESSAGE",
    "api_error",
    "list_page",
    "message_object",
    "run_object",
    "run_step_object",
    "thread_object",
    "tool_call",
    "tool_calls",
]

FAILED_MESSAGE = "Sorry, something went wrong."
"""``last_error.message`` of a failed run (``server_error``)."""

DEFAULT_MODEL = "gpt-4o"

# statuses whose run objects always carry started_at (the run was picked up by the server)
_RUNNING_OR_RAN = frozenset({RunStatus.InProgress, RunStatus.RequiresAction, RunStatus.Completed, RunStatus.Incomplete})


def tool_call(call_id: str, *, name: str = "get_weather", arguments: str = '{"city": "Paris"}') -> dict[str, Any]:
    """One function tool call of ``required_action.submit_tool_outputs.tool_calls``."""
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def tool_calls(
    count: int = 1, *, name: str = "get_weather", arguments: str = '{"city": "Paris"}', ids: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """One round of ``count`` parallel function tool calls, for ``RunScript(tool_rounds=[...])``.

    Without ``ids`` the calls carry no ``id``: the fake gives each a fresh one per run and round
    (``call_<run>_<round>_<n>``), so two rounds never share a call id. Each call's arguments
    differ (``"n": i`` is added), as parallel calls of one round do.

    >>> [c["function"]["arguments"] for c in tool_calls(2)]
    ['{"city": "Paris", "n": 1}', '{"city": "Paris", "n": 2}']
    """
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"tool_calls takes a count >= 1, got {count!r}")
    if ids and len(ids) != count:
        raise ValueError(f"tool_calls: {len(ids)} ids for {count} calls")
    calls = []
    for n in range(1, count + 1):
        args = arguments[:-1] + f', "n": {n}}}' if arguments.endswith("}") and arguments != "{}" else arguments
        call = tool_call(ids[n - 1] if ids else "", name=name, arguments=args)
        if not ids:
            del call["id"]
        calls.append(call)
    return calls


def run_object(
    status: RunStatus,
    *,
    run_id: str,
    thread_id: str,
    created_at: int,
    entered_at: int | None = None,
    started_at: int | None = None,
    assistant_id: str = "asst_fake",
    tool_calls: Sequence[Mapping[str, Any]] = (),
    incomplete_reason: str = "max_completion_tokens",
    last_error: Mapping[str, Any] | None = None,
    model: str = DEFAULT_MODEL,
    metadata: Mapping[str, str] | None = None,
    expires_at: int | None = None,
) -> dict[str, Any]:
    """A ``thread.run`` object in ``status`` whose fields satisfy the invariants of LIFECYCLE.md.

    ``entered_at`` is when the run entered ``status`` (default ``created_at``): it becomes
    ``completed_at`` / ``failed_at`` / ``cancelled_at``. ``started_at`` is kept as given for
    queued runs (a run queued again after a submit keeps it) and defaults to ``entered_at``
    for statuses that imply the run has started. ``expires_at`` (default ``created_at + 600``)
    is kept while the run can still expire, and null once it finished any other way.
    """
    if status.wire is None:
        raise ValueError(f"{status.label} is a client-side status; the API never returns it in a run object")
    at = created_at if entered_at is None else entered_at
    started = started_at
    if started is None and status in _RUNNING_OR_RAN:
        started = at
    finished = status.is_terminal and status is not RunStatus.Expired
    run: dict[str, Any] = {
        "id": run_id,
        "object": "thread.run",
        "created_at": created_at,
        "assistant_id": assistant_id,
        "thread_id": thread_id,
        "status": status.wire,
        "started_at": started,
        "expires_at": None if finished else (created_at + EXPIRY_WINDOW_S if expires_at is None else expires_at),
        "cancelled_at": at if status is RunStatus.Cancelled else None,
        "failed_at": at if status is RunStatus.Failed else None,
        "completed_at": at if status in (RunStatus.Completed, RunStatus.Incomplete) else None,
        "required_action": None,
        "last_error": None,
        "incomplete_details": None,
        "model": model,
        "instructions": "You are a helpful assistant.",
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
        "metadata": dict(metadata or {}),
        "usage": None,
        "temperature": 1.0,
        "top_p": 1.0,
        "max_prompt_tokens": None,
        "max_completion_tokens": None,
        "truncation_strategy": {"type": "auto", "last_messages": None},
        "response_format": "auto",
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }
    if status is RunStatus.RequiresAction:
        calls = [dict(c) for c in tool_calls] or [tool_call(f"call_{run_id.removeprefix('run_')}")]
        run["required_action"] = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": calls}}
    elif status is RunStatus.Failed:
        run["last_error"] = dict(last_error or {"code": "server_error", "message": FAILED_MESSAGE})
    elif status is RunStatus.Incomplete:
        run["incomplete_details"] = {"reason": incomplete_reason}
    if status.is_terminal and status is not RunStatus.Expired:
        run["usage"] = {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}
    return run


def thread_object(thread_id: str, *, created_at: int, metadata: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A ``thread`` object."""
    return {
        "id": thread_id,
        "object": "thread",
        "created_at": created_at,
        "metadata": dict(metadata or {}),
        "tool_resources": {},
    }


def message_object(
    message_id: str,
    *,
    thread_id: str,
    role: str,
    text: str,
    created_at: int,
    run_id: str | None = None,
    assistant_id: str | None = None,
    status: str = "completed",
) -> dict[str, Any]:
    """A ``thread.message`` object with one text content part."""
    return {
        "id": message_id,
        "object": "thread.message",
        "created_at": created_at,
        "thread_id": thread_id,
        "status": status,
        "incomplete_details": None,
        "completed_at": created_at if status == "completed" else None,
        "incomplete_at": None,
        "role": role,
        "content": [{"type": "text", "text": {"value": text, "annotations": []}}] if text else [],
        "assistant_id": assistant_id,
        "run_id": run_id,
        "attachments": [],
        "metadata": {},
    }


def run_step_object(
    step_id: str,
    *,
    run_id: str,
    thread_id: str,
    created_at: int,
    status: str,
    details: Mapping[str, Any],
    assistant_id: str = "asst_fake",
    completed_at: int | None = None,
) -> dict[str, Any]:
    """A ``thread.run.step`` object (``details`` is its ``step_details``)."""
    return {
        "id": step_id,
        "object": "thread.run.step",
        "created_at": created_at,
        "assistant_id": assistant_id,
        "thread_id": thread_id,
        "run_id": run_id,
        "type": details["type"],
        "status": status,
        "step_details": dict(details),
        "last_error": None,
        "expired_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": completed_at,
        "metadata": {},
        "usage": None,
    }


def list_page(items: Sequence[Mapping[str, Any]], *, has_more: bool = False) -> dict[str, Any]:
    """A cursor page: ``{"object": "list", "data": [...], "first_id", "last_id", "has_more"}``."""
    return {
        "object": "list",
        "data": list(items),
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }


def api_error(
    message: str, *, type: str = "invalid_request_error", code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """The API's error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}
