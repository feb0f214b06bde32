"""Soft checks of a run object's fields against its status: reported as warnings, never rejected."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from runfsm.status import RunStatus

__all__ = ["EXPIRY_WINDOW_S", "check_fields"]

EXPIRY_WINDOW_S = 600
"""``expires_at - created_at`` in every published example: about ten minutes, not extended by submits."""

_REQUIRED_ACTION_TYPES = frozenset({"submit_tool_outputs", "submit_tool_approval"})


_Checker = Callable[[Callable[[str], Any]], tuple[str, ...]]


def _is_mapping(value: object) -> bool:
    return isinstance(value, dict) or isinstance(value, Mapping)  # noqa: SIM101  (the dict test is the cheap common case)


def _fields_checker(name: str, must_set: tuple[str, ...] = (), must_be_null: tuple[str, ...] = ()) -> _Checker:
    """A check for a status whose invariants are fields that must be set or null."""

    def check(get: Callable[[str], Any]) -> tuple[str, ...]:
        warnings: list[str] = []
        for field in must_set:
            if get(field) is None:
                warnings.append(f"{name}: {field} is not set")
        for field in must_be_null:
            value = get(field)
            if value is not None:
                warnings.append(f"{name}: {field} should be null, got {value!r}")
        if get("required_action") is not None:
            warnings.append(f"{name}: required_action should be null outside requires_action")
        return tuple(warnings) if warnings else ()

    return check


def _requires_action(get: Callable[[str], Any]) -> tuple[str, ...]:
    name = RunStatus.RequiresAction.wire
    action = get("required_action")
    if action is None:
        return (f"{name}: required_action is not set",)
    if not _is_mapping(action) or action.get("type") not in _REQUIRED_ACTION_TYPES:
        kind = action.get("type") if _is_mapping(action) else type(action).__name__
        return (f"{name}: required_action.type is {kind!r}, expected submit_tool_outputs",)
    return ()


def _incomplete(get: Callable[[str], Any]) -> tuple[str, ...]:
    name = RunStatus.Incomplete.wire
    details = get("incomplete_details")
    warnings = []
    if not _is_mapping(details) or not details.get("reason"):
        warnings.append(f"{name}: incomplete_details.reason is not set")
    return (*warnings, *_INCOMPLETE_REST(get))


_INCOMPLETE_REST = _fields_checker("incomplete")


def _queued(get: Callable[[str], Any]) -> tuple[str, ...]:
    name = RunStatus.Queued.wire
    created, expires = get("created_at"), get("expires_at")
    warnings = []
    if isinstance(created, int) and isinstance(expires, int) and expires - created != EXPIRY_WINDOW_S:
        warnings.append(f"{name}: expires_at - created_at is {expires - created} s, expected {EXPIRY_WINDOW_S} s")
    if get("required_action") is not None:
        warnings.append(f"{name}: required_action should be null outside requires_action")
    return tuple(warnings)


def _build_checkers() -> tuple[_Checker, ...]:
    special: dict[RunStatus, _Checker] = {
        RunStatus.RequiresAction: _requires_action,
        RunStatus.Failed: _fields_checker("failed", ("last_error", "failed_at")),
        RunStatus.Completed: _fields_checker("completed", ("completed_at",), ("expires_at", "last_error")),
        RunStatus.Incomplete: _incomplete,
        RunStatus.Cancelled: _fields_checker("cancelled", ("cancelled_at",)),
        RunStatus.InProgress: _fields_checker("in_progress", ("started_at",)),
        RunStatus.Queued: _queued,
    }
    ordered = sorted(RunStatus, key=int)
    assert [int(s) for s in ordered] == list(range(len(ordered)))
    return tuple(special.get(s) or _fields_checker(s.wire or s.name) for s in ordered)


_CHECKERS = _build_checkers()
"""One check per status, indexed by ordinal (this runs once per record in bulk validation)."""


def check_fields(status: RunStatus, fields: Mapping[str, Any]) -> tuple[str, ...]:
    """Return one message per field invariant of ``status`` that ``fields`` breaks.

    ``fields`` is a run object as a mapping (the API's JSON). Absent fields that must be
    set are reported; absent fields that must be null are not (a log may strip nulls).

    >>> check_fields(RunStatus.Failed, {"status": "failed", "failed_at": 1})
    ('failed: last_error is not set',)
    """
    return _CHECKERS[status](fields.get)
