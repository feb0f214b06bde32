"""What the decision core reads of the API's objects: fields of dicts or SDK objects, stream events, tool-call rounds.

Runs, responses and batches arrive as plain mappings (parsed JSON, Azure's models) or as SDK
objects (openai's pydantic models); :func:`value_of` reads either. A ``requires_action`` round is
read from the run (:func:`tool_call_ids`) and from the run-steps listing
(:func:`round_steps`, :func:`step_outputs`), which tells whether a submit whose answer was lost
was applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["event_name", "value_of", "function_calls", "round_steps", "run_of", "step_outputs", "tool_call_ids"]


def value_of(run: Any, name: str) -> Any:
    """``run[name]`` of a mapping, ``run.name`` of an object; None when absent."""
    if isinstance(run, Mapping):
        return run.get(name)
    return getattr(run, name, None)


def run_of(value: Any) -> Any:
    """The run in an observed value: a stream event's ``data``, or the value itself (a run object)."""
    if value_of(value, "event") is not None:
        return value_of(value, "data")
    return value


def event_name(event: Any) -> Any:
    """An SSE event's name: ``event`` (Assistants streams) or ``type`` (Responses streams)."""
    if isinstance(event, Mapping):
        return event.get("event", event.get("type"))
    name = getattr(event, "event", None)
    return name if name is not None else getattr(event, "type", None)


def tool_call_ids(run: Any) -> tuple[str, ...]:
    """The ids of the tool calls a ``requires_action`` run waits for (empty if none)."""
    action = value_of(run, "required_action")
    submit = value_of(action, "submit_tool_outputs") if action is not None else None
    calls = value_of(submit, "tool_calls") if submit is not None else None
    return tuple(str(value_of(c, "id")) for c in calls or ())


def function_calls(step: Any) -> list[Any]:
    """The function tool calls of a run step (empty unless it is a ``tool_calls`` step with some)."""
    if value_of(step, "type") != "tool_calls":
        return []
    details = value_of(step, "step_details")
    calls = value_of(details, "tool_calls") if details is not None else None
    return [c for c in calls or () if value_of(c, "type") == "function"]


def round_steps(steps: Iterable[Any]) -> list[Any]:
    """The steps that are ``requires_action`` rounds (function tool calls), oldest first."""
    found = [s for s in steps if function_calls(s)]
    found.sort(key=lambda s: value_of(s, "created_at") or 0)  # stable: same-second steps keep the listing's order
    return found


def step_outputs(step: Any) -> dict[str, str | None]:
    """``{call id: output}`` of a round's step (None: the step shows no output for that call)."""
    shown: dict[str, str | None] = {}
    for call in function_calls(step):
        function = value_of(call, "function")
        output = value_of(function, "output") if function is not None else None
        shown[str(value_of(call, "id"))] = None if output is None else str(output)
    return shown
