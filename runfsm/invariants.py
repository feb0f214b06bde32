"""Soft checks of a run object's fields against its status: reported as warnings, never rejected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runfsm.status import RunStatus

__all__ = ["EXPIRY_WINDOW_S", "check_fields"]

EXPIRY_WINDOW_S = 600
"""``expires_at - created_at`` in every published example: about ten minutes, not extended by submits."""

_REQUIRED_ACTION_TYPES = frozenset({"submit_tool_outputs", "submit_tool_approval"})


def _missing(fields: Mapping[str, Any], name: str) -> bool:
    return fields.get(name) is None


def check_fields(status: RunStatus, fields: Mapping[str, Any]) -> tuple[str, ...]:
    """Return one message per field invariant of ``status`` that ``fields`` breaks.

    ``fields`` is a run object as a mapping (the API's JSON). Absent fields that must be
    set are reported; absent fields that must be null are not (a log may strip nulls).

    >>> check_fields(RunStatus.Failed, {"status": "failed", "failed_at": 1})
    ('failed: last_error is not set',)
    """
    warnings: list[str] = []
    name = status.wire or status.name

    def expect_set(field: str) -> None:
        if _missing(fields, field):
            warnings.append(f"{name}: {field} is not set")

    def expect_null(field: str) -> None:
        if not _missing(fields, field):
            warnings.append(f"{name}: {field} should be null, got {fields.get(field)!r}")

    if status is RunStatus.RequiresAction:
        action = fields.get("required_action")
        if action is None:
            warnings.append(f"{name}: required_action is not set")
        elif not isinstance(action, Mapping) or action.get("type") not in _REQUIRED_ACTION_TYPES:
            kind = action.get("type") if isinstance(action, Mapping) else type(action).__name__
            warnings.append(f"{name}: required_action.type is {kind!r}, expected submit_tool_outputs")
    elif status is RunStatus.Failed:
        expect_set("last_error")
        expect_set("failed_at")
    elif status is RunStatus.Completed:
        expect_set("completed_at")
        expect_null("expires_at")
        expect_null("last_error")
    elif status is RunStatus.Incomplete:
        details = fields.get("incomplete_details")
        if not isinstance(details, Mapping) or not details.get("reason"):
            warnings.append(f"{name}: incomplete_details.reason is not set")
    elif status is RunStatus.Cancelled:
        expect_set("cancelled_at")
    elif status is RunStatus.InProgress:
        expect_set("started_at")
    elif status is RunStatus.Queued:
        created, expires = fields.get("created_at"), fields.get("expires_at")
        if isinstance(created, int) and isinstance(expires, int) and expires - created != EXPIRY_WINDOW_S:
            warnings.append(f"{name}: expires_at - created_at is {expires - created} s, expected {EXPIRY_WINDOW_S} s")
    if status is not RunStatus.RequiresAction and not _missing(fields, "required_action"):
        warnings.append(f"{name}: required_action should be null outside requires_action")
    return tuple(warnings)
