"""Soft checks of an object's fields against its status: reported as warnings, never rejected.

The run's invariants are one table, :data:`RULES`: per status, the fields that must be set, the
fields that must be null, and at most one check that needs more than that (the mechanism,
including the generated clean-case predicates, is :mod:`runfsm.fields`). The background
response's and the batch's rules live in their preset modules; :func:`check_fields` and
:func:`clean_checks` take the lifecycle and default to the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

from runfsm.fields import FieldChecks, FieldRule, NestedCheck, incomplete_reason
from runfsm.status import RunStatus
from runfsm.vocabulary import LifecycleState

if TYPE_CHECKING:
    from collections.abc import Callable

    from runfsm.lifecycle import Lifecycle

__all__ = ["EXPIRY_WINDOW_S", "RULES", "RUN_CHECKS", "FieldRule", "NestedCheck", "check_fields", "clean_checks"]

_L = TypeVar("_L", bound=LifecycleState)

EXPIRY_WINDOW_S = 600
"""``expires_at - created_at`` in every published example: about ten minutes, not extended by submits."""

_REQUIRED_ACTION_TYPES = frozenset({"submit_tool_outputs", "submit_tool_approval"})


_required_action: Final = NestedCheck("required_action", "type", _REQUIRED_ACTION_TYPES, "submit_tool_outputs")


_S = RunStatus
_RULES_BY_STATUS: Final[dict[RunStatus, FieldRule]] = {
    _S.Null: FieldRule(),
    _S.Created: FieldRule(),
    _S.Queued: FieldRule(window=("created_at", "expires_at", EXPIRY_WINDOW_S)),
    _S.InProgress: FieldRule(must_set=("started_at",)),
    _S.RequiresAction: FieldRule(must_be_null=(), extra=_required_action),
    _S.Cancelling: FieldRule(),
    _S.Expired: FieldRule(),
    _S.Completed: FieldRule(must_set=("completed_at",), must_be_null=("expires_at", "last_error", "required_action")),
    _S.Failed: FieldRule(must_set=("last_error", "failed_at")),
    _S.Cancelled: FieldRule(must_set=("cancelled_at",)),
    _S.Incomplete: FieldRule(extra=incomplete_reason),
}
RUN_CHECKS: Final[FieldChecks[RunStatus]] = FieldChecks(_RULES_BY_STATUS)
"""The run's field invariants, compiled (the run lifecycle carries them)."""
RULES: Final[dict[RunStatus, FieldRule]] = RUN_CHECKS.rules
"""The run's field invariants, per status."""
assert sorted(int(s) for s in RULES) == list(range(len(RunStatus))), "every run status has a rule"


@overload
def clean_checks() -> tuple[Callable[[dict[str, Any]], bool], ...]: ...
@overload
def clean_checks(lifecycle: Lifecycle[_L]) -> tuple[Callable[[dict[str, Any]], bool], ...]: ...
def clean_checks(lifecycle: Lifecycle[_L] | None = None) -> tuple[Callable[[dict[str, Any]], bool], ...]:
    """The clean-case predicates indexed by status ordinal, for loops that call them directly.

    ``clean_checks()[status](fields)`` is True only if ``check_fields(status, fields)`` is empty;
    it takes a plain ``dict``. Run statuses by default; another lifecycle's with ``lifecycle``.
    """
    checks = RUN_CHECKS if lifecycle is None else lifecycle.field_checks
    return checks.clean_checks()


@overload
def check_fields(status: LifecycleState, fields: Mapping[str, Any]) -> tuple[str, ...]: ...
@overload
def check_fields(status: _L, fields: Mapping[str, Any], lifecycle: Lifecycle[_L]) -> tuple[str, ...]: ...
def check_fields(status: Any, fields: Mapping[str, Any], lifecycle: Lifecycle[Any] | None = None) -> tuple[str, ...]:
    """Return one message per field invariant of ``status`` that ``fields`` breaks.

    ``fields`` is the object as a mapping (the API's JSON). Absent fields that must be
    set are reported; absent fields that must be null are not (a log may strip nulls).
    Run statuses by default; another lifecycle's statuses with ``lifecycle``.

    >>> check_fields(RunStatus.Failed, {"status": "failed", "failed_at": 1})
    ('failed: last_error is not set',)
    """
    if not isinstance(fields, Mapping):
        raise TypeError(f"check_fields takes the object as a mapping (its JSON), got {type(fields).__name__}")
    checks = RUN_CHECKS if lifecycle is None else lifecycle.field_checks
    return checks.check(status, fields)
