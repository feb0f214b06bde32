"""runfsm.invariants: the soft field checks, one message per broken invariant, never a rejection."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runfsm.invariants import RULES, check_fields
from runfsm.status import RunStatus

R = RunStatus
ACTION = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": []}}


@pytest.mark.parametrize(
    ("status", "fields", "expected"),
    [
        (R.Queued, {"created_at": 0, "expires_at": 600}, ()),
        (R.Queued, {"created_at": 0, "expires_at": 900}, ("queued: expires_at - created_at is 900 s, expected 600 s",)),
        (R.InProgress, {"started_at": 1}, ()),
        (R.InProgress, {}, ("in_progress: started_at is not set",)),
        (R.RequiresAction, {"required_action": ACTION}, ()),
        (R.RequiresAction, {}, ("requires_action: required_action is not set",)),
        (
            R.RequiresAction,
            {"required_action": {"type": "other"}},
            ("requires_action: required_action.type is 'other', expected submit_tool_outputs",),
        ),
        (
            R.RequiresAction,
            {"required_action": 3},
            ("requires_action: required_action.type is 'int', expected submit_tool_outputs",),
        ),
        (R.Completed, {"completed_at": 5}, ()),
        (
            R.Completed,
            {"expires_at": 600, "last_error": {"code": "x"}},
            (
                "completed: completed_at is not set",
                "completed: expires_at should be null, got 600",
                "completed: last_error should be null, got {'code': 'x'}",
            ),
        ),
        (R.Failed, {"last_error": {"code": "server_error"}, "failed_at": 3}, ()),
        (R.Failed, {"failed_at": 3}, ("failed: last_error is not set",)),
        (R.Incomplete, {"incomplete_details": {"reason": "content_filter"}}, ()),
        (R.Incomplete, {"incomplete_details": {}}, ("incomplete: incomplete_details.reason is not set",)),
        (R.Cancelled, {"cancelled_at": 9}, ()),
        (R.Cancelled, {}, ("cancelled: cancelled_at is not set",)),
        (R.Cancelling, {}, ()),
        (R.Expired, {}, ()),
        (
            R.Cancelled,
            {"cancelled_at": 9, "required_action": ACTION},
            ("cancelled: required_action should be null outside requires_action",),
        ),
        (
            R.Queued,
            {"required_action": ACTION},
            ("queued: required_action should be null outside requires_action",),
        ),
    ],
)
def test_each_invariant_gives_its_message(status: RunStatus, fields: dict[str, Any], expected: tuple[str, ...]) -> None:
    """The checks of LIFECYCLE.md's field table: a message per broken invariant, nothing when kept."""
    assert check_fields(status, fields) == expected


def test_absent_fields_that_must_be_null_are_not_reported() -> None:
    """A log may strip nulls: only fields that must be set are reported when absent."""
    assert check_fields(R.Completed, {"completed_at": 1}) == ()


_FIELD_NAMES = sorted(
    {"created_at", "expires_at", "started_at", "completed_at", "failed_at", "cancelled_at"}
    | {"last_error", "required_action", "incomplete_details", "status", "id"}
)
_VALUES = st.one_of(
    st.none(),
    st.integers(-1000, 1000),
    st.sampled_from([0, "", {}, [], False, ACTION, {"type": "other"}, {"reason": "max_tokens"}, {"reason": ""}]),
    st.text(max_size=3),
)


@given(status=st.sampled_from(list(RunStatus)), fields=st.dictionaries(st.sampled_from(_FIELD_NAMES), _VALUES))
def test_the_clean_case_shortcut_agrees_with_the_full_check(status: RunStatus, fields: dict[str, Any]) -> None:
    """For dicts, check_fields answers from a generated predicate; it reports exactly what the full rule does."""
    assert check_fields(status, fields) == RULES[status].messages(fields.get)
    assert check_fields(status, MappingProxyType(fields)) == RULES[status].messages(fields.get)


def test_every_status_has_a_rule_named_by_its_wire_value() -> None:
    """One rule per status; messages start with the status as the API writes it."""
    assert set(RULES) == set(RunStatus)
    nothing: dict[str, Any] = {}
    assert RULES[R.InProgress].messages(nothing.get) == ("in_progress: started_at is not set",)


@pytest.mark.parametrize("kind", [[], ["submit_tool_outputs"], {"a": 1}, 7, None])
def test_a_required_action_type_of_another_json_type_is_a_warning_not_a_crash(kind: object) -> None:
    """``required_action.type`` as a list or an object (unhashable) is reported like any unexpected type."""
    fields = {"status": "requires_action", "required_action": {"type": kind}}
    expected = f"requires_action: required_action.type is {kind!r}, expected submit_tool_outputs"
    assert check_fields(RunStatus.RequiresAction, fields) == (expected,)


def test_fields_that_are_no_mapping_are_a_type_error() -> None:
    """check_fields(status, "...") failed on 'str' object has no attribute 'get'."""
    with pytest.raises(TypeError, match=r"takes the object as a mapping .*got str"):
        check_fields(RunStatus.Completed, '{"status": "completed"}')  # type: ignore[call-overload]
