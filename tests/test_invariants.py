"""Soft field checks: what each status expects of a run object's fields."""

from __future__ import annotations

import pytest

from runfsm import RunStatus, check_fields

R = RunStatus


@pytest.mark.parametrize(
    ("status", "fields", "expected"),
    [
        (R.RequiresAction, {"required_action": None}, ["requires_action: required_action is not set"]),
        (R.RequiresAction, {"required_action": {"type": "submit_tool_outputs"}}, []),
        (R.RequiresAction, {"required_action": {"type": "submit_tool_approval"}}, []),
        (R.RequiresAction, {"required_action": {"type": "dance"}}, ["requires_action: required_action.type is"]),
        (R.Failed, {"last_error": {"code": "server_error"}, "failed_at": 9}, []),
        (R.Failed, {}, ["failed: last_error is not set", "failed: failed_at is not set"]),
        (R.Completed, {"completed_at": 9, "expires_at": None}, []),
        (R.Completed, {"completed_at": 9, "expires_at": 600}, ["completed: expires_at should be null"]),
        (R.Incomplete, {"incomplete_details": {"reason": "content_filter"}, "completed_at": 9}, []),
        (R.Incomplete, {"incomplete_details": None}, ["incomplete: incomplete_details.reason is not set"]),
        (R.Cancelled, {"cancelled_at": None}, ["cancelled: cancelled_at is not set"]),
        (R.InProgress, {"started_at": None}, ["in_progress: started_at is not set"]),
        (R.Queued, {"created_at": 100, "expires_at": 700, "started_at": None}, []),
        (R.Queued, {"created_at": 100, "expires_at": 1300}, ["queued: expires_at - created_at is 1200 s"]),
        (R.InProgress, {"started_at": 1, "required_action": {"type": "submit_tool_outputs"}}, ["should be null"]),
    ],
)
def test_field_expectations(status: RunStatus, fields: dict[str, object], expected: list[str]) -> None:
    """Each broken expectation gives one message that starts with the status and names the field."""
    found = check_fields(status, fields)
    assert len(found) == len(expected), found
    for message, prefix in zip(found, expected, strict=True):
        assert prefix in message


def test_absent_nullable_fields_are_not_reported() -> None:
    """A log that strips nulls is not punished: missing must-be-null fields are fine."""
    assert check_fields(R.Completed, {"completed_at": 1}) == ()
