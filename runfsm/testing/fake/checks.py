"""What the fake refuses before it acts, as the API does: oversized bodies, bodies that are no JSON object, wrong types.

The answers are the API's: ``413`` for a body over the size limit; ``400`` with the API's error
shape (``{"error": {"message", "type": "invalid_request_error", "param", "code"}}``) for a
body that does not parse as a JSON object (too deeply nested included), for a field of the wrong
type (``code: "invalid_type"``, ``param`` naming the field: ``"tool_outputs[0].output"``), and for
list parameters out of range (``limit`` outside 1..100, an ``order`` other than ``asc``/``desc``:
checked where lists are paged, in :func:`~runfsm.testing.fake.wire.paginate`).
Only the fields the fake reads are checked, and ``null`` stands for an absent optional field;
fields the fake does not know pass through unchecked (the SDKs send more than the fake reads).
So ``"stream": "false"`` is refused, not read as true.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from runfsm.testing.fake.wire import HTTPError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from runfsm.testing.fake.wire import Route

__all__ = ["DEFAULT_MAX_BODY_BYTES", "check_body", "check_size", "parse_body"]

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""The fake's request body limit (bytes) unless ``FakeAssistants(max_body_bytes=...)`` says otherwise."""

_KINDS: dict[str, tuple[type, ...]] = {
    "a string": (str,),
    "a boolean": (bool,),
    "an object": (dict,),
    "an array": (list,),
    "a string or an array": (str, list),
}

_FIELDS: dict[Route, dict[str, str]] = {
    "create_thread": {"metadata": "an object", "messages": "an array"},
    "create_message": {"role": "a string", "content": "a string or an array", "metadata": "an object"},
    "create_run": {
        "assistant_id": "a string",
        "stream": "a boolean",
        "metadata": "an object",
        "model": "a string",
        "instructions": "a string",
        "additional_instructions": "a string",
        "additional_messages": "an array",
        "tools": "an array",
    },
    "submit_tool_outputs": {"tool_outputs": "an array", "stream": "a boolean"},
}
"""The body fields each route reads, with the JSON type the API requires."""

_ITEMS: dict[tuple[Route, str], dict[str, str]] = {
    ("create_thread", "messages"): {"role": "a string", "content": "a string or an array", "metadata": "an object"},
    ("create_run", "additional_messages"): {"role": "a string", "content": "a string or an array"},
    ("submit_tool_outputs", "tool_outputs"): {"tool_call_id": "a string", "output": "a string"},
}
"""Arrays whose items are objects with typed fields."""


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _invalid_type(field: str, expected: str, value: object) -> HTTPError:
    return HTTPError(
        400,
        f"Invalid type for '{field}': expected {expected}, but got {_json_type(value)} instead.",
        code="invalid_type",
        param=field,
    )


def check_size(body: bytes, limit: int) -> None:
    """Refuse a body over ``limit`` bytes with the 413 the API answers."""
    if len(body) > limit:
        raise HTTPError(
            413,
            f"Request body too large: over the limit of {limit} bytes.",
            code="request_too_large",
        )


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def parse_body(body: bytes) -> dict[str, Any]:
    """The body as a JSON object (empty: ``{}``); 400 for anything else, however it fails to parse."""
    if not body:
        return {}
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, NaN, an integer too long, nested too deep
        raise HTTPError(400, "We could not parse the JSON body of your request.") from None
    if not isinstance(data, dict):
        raise HTTPError(400, "We could not parse the JSON body of your request.")
    return data


def check_body(route: Route, params: Mapping[str, Any]) -> None:
    """Refuse a field the route reads that has the wrong JSON type (400 ``invalid_type`` naming the field)."""
    for name, expected in _FIELDS.get(route, {}).items():
        value: Any = params.get(name)
        if value is None:
            continue
        if not isinstance(value, _KINDS[expected]):
            raise _invalid_type(name, expected, value)
        items = _ITEMS.get((route, name))
        if items is None or not isinstance(value, list):
            continue
        entries: list[Any] = value
        for i, item in enumerate(entries):
            where = f"{name}[{i}]"
            if not isinstance(item, dict):
                raise _invalid_type(where, "an object", item)
            for key, kind in items.items():
                inner = item.get(key)
                if inner is not None and not isinstance(inner, _KINDS[kind]):
                    raise _invalid_type(f"{where}.{key}", kind, inner)
    metadata = params.get("metadata")
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            if not isinstance(value, str):
                raise _invalid_type(f"metadata.{key}", "a string", value)
