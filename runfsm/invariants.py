"""Soft checks of a run object's fields against its status: reported as warnings, never rejected.

The invariants are one table, :data:`RULES`: per status, the fields that must be set, the fields
that must be null, and at most one check that needs more than that. Bulk validation calls
:func:`check_fields` once per record, so each rule also gets a *clean-case predicate*: one
boolean expression over ``fields.get``, generated from the rule's field names when the module
is imported (the way :mod:`dataclasses` generates ``__init__``). It answers "nothing to report"
for a plain dict in about a fifth of the time of the full check, which only runs when the
predicate says something is off (property-tested to agree).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from runfsm.status import RunStatus

__all__ = ["EXPIRY_WINDOW_S", "RULES", "FieldRule", "NestedCheck", "check_fields", "clean_checks"]

EXPIRY_WINDOW_S = 600
"""``expires_at - created_at`` in every published example: about ten minutes, not extended by submits."""

_REQUIRED_ACTION_TYPES = frozenset({"submit_tool_outputs", "submit_tool_approval"})

_Get = Callable[[str], Any]


def _is_mapping(value: object) -> bool:
    return isinstance(value, dict) or isinstance(value, Mapping)  # noqa: SIM101  (the dict test is the cheap common case)


@dataclass(frozen=True)
class NestedCheck:
    """A check of one key inside an object-valued field.

    ``field.key`` must be one of ``allowed``, or, when ``allowed`` is None, set (truthy).
    Declared rather than written as a function so that other engines can derive the same check
    (:mod:`runfsm.validation.engines.sql` turns it into SQL); calling it gives the messages.
    """

    field: str
    key: str
    allowed: frozenset[str] | None = None
    expected: str = ""
    """What the message names as expected, when ``allowed`` is given."""

    def __call__(self, name: str, get: _Get) -> tuple[str, ...]:
        """One message when the check fails (``name`` is the status), else none."""
        value = get(self.field)
        if self.allowed is None:
            if not _is_mapping(value) or not value.get(self.key):
                return (f"{name}: {self.field}.{self.key} is not set",)
            return ()
        if value is None:
            return (f"{name}: {self.field} is not set",)
        if not _is_mapping(value) or value.get(self.key) not in self.allowed:
            kind = value.get(self.key) if _is_mapping(value) else type(value).__name__
            return (f"{name}: {self.field}.{self.key} is {kind!r}, expected {self.expected}",)
        return ()


_required_action: Final = NestedCheck("required_action", "type", _REQUIRED_ACTION_TYPES, "submit_tool_outputs")
_incomplete_reason: Final = NestedCheck("incomplete_details", "reason")


@dataclass(frozen=True)
class FieldRule:
    """The field invariants of one status (LIFECYCLE.md's field table)."""

    must_set: tuple[str, ...] = ()
    """Fields that must be present and not null."""
    must_be_null: tuple[str, ...] = ("required_action",)
    """Fields that must be null when present (a log may strip nulls: absent is fine)."""
    window: tuple[str, str, int] | None = None
    """``(start, end, seconds)``: ``end - start`` must be ``seconds`` when both are ints."""
    extra: Callable[[str, _Get], tuple[str, ...]] | None = None
    """A check beyond the others, placed before the null checks: ``extra(status name, fields.get)``."""
    name: str = field(default="", compare=False)

    def messages(self, get: _Get) -> tuple[str, ...]:
        """One message per broken invariant, in table order."""
        name = self.name
        found: list[str] = [f"{name}: {f} is not set" for f in self.must_set if get(f) is None]
        if self.window is not None:
            start_field, end_field, seconds = self.window
            start, end = get(start_field), get(end_field)
            if isinstance(start, int) and isinstance(end, int) and end - start != seconds:
                found.append(f"{name}: {end_field} - {start_field} is {end - start} s, expected {seconds} s")
        if self.extra is not None:
            found.extend(self.extra(name, get))
        for f in self.must_be_null:
            value = get(f)
            if value is not None:
                if f == "required_action":
                    found.append(f"{name}: required_action should be null outside requires_action")
                else:
                    found.append(f"{name}: {f} should be null, got {value!r}")
        return tuple(found)

    def clean_predicate(self) -> Callable[[dict[str, Any]], bool]:
        """A function telling, for a dict, that :meth:`messages` would find nothing."""
        terms = [f"get({f!r}) is not None" for f in self.must_set]
        terms += [f"get({f!r}) is None" for f in self.must_be_null]
        if self.window is not None:
            start_field, end_field, seconds = self.window
            terms.append(
                f"(not isinstance(start := get({start_field!r}), int) or not isinstance(end := get({end_field!r}), int)"
                f" or end - start == {int(seconds)})"
            )
        if self.extra is not None:
            terms.append("not extra(name, get)")
        source = f"def clean(fields):\n    get = fields.get\n    return {' and '.join(terms) or 'True'}\n"
        namespace: dict[str, Any] = {"extra": self.extra, "name": self.name}
        # the names come from the table above (identifiers quoted with repr), never from input
        exec(source, namespace)
        clean: Callable[[dict[str, Any]], bool] = namespace["clean"]
        return clean


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
    _S.Incomplete: FieldRule(extra=_incomplete_reason),
}
RULES: Final[dict[RunStatus, FieldRule]] = {
    status: replace(rule, name=status.label) for status, rule in _RULES_BY_STATUS.items()
}
"""The field invariants, per status."""

_ORDERED = sorted(RunStatus, key=int)
assert [int(s) for s in _ORDERED] == list(range(len(_ORDERED))), "the tables below index statuses by ordinal"
_MESSAGES: Final = tuple(RULES[s].messages for s in _ORDERED)
_CLEAN: Final = tuple(RULES[s].clean_predicate() for s in _ORDERED)


def clean_checks() -> tuple[Callable[[dict[str, Any]], bool], ...]:
    """The clean-case predicates indexed by status ordinal, for loops that call them directly.

    ``clean_checks()[status](fields)`` is True only if ``check_fields(status, fields)`` is empty;
    it takes a plain ``dict``.
    """
    return _CLEAN


def check_fields(status: RunStatus, fields: Mapping[str, Any]) -> tuple[str, ...]:
    """Return one message per field invariant of ``status`` that ``fields`` breaks.

    ``fields`` is a run object as a mapping (the API's JSON). Absent fields that must be
    set are reported; absent fields that must be null are not (a log may strip nulls).

    >>> check_fields(RunStatus.Failed, {"status": "failed", "failed_at": 1})
    ('failed: last_error is not set',)
    """
    if type(fields) is dict and _CLEAN[status](fields):
        return ()
    return _MESSAGES[status](fields.get)
