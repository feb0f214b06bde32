"""Field invariants, the mechanism: one :class:`FieldRule` per status, compiled into :class:`FieldChecks`.

Each lifecycle carries its rules (:attr:`runfsm.lifecycle.Lifecycle.field_checks`): the run's are
in :mod:`runfsm.invariants`, the background response's and the batch's in their preset modules.
Bulk validation calls the checks once per record, so each rule also gets a *clean-case
predicate*: one boolean expression over ``fields.get``, generated from the rule's field names
(the way :mod:`dataclasses` generates ``__init__``). It answers "nothing to report" for a plain
dict in about a fifth of the time of the full check, which only runs when the predicate says
something is off (property-tested to agree).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Generic, TypeVar

from runfsm.vocabulary import LifecycleState

__all__ = ["FieldChecks", "FieldRule", "Get", "NestedCheck", "incomplete_reason", "is_mapping"]

S = TypeVar("S", bound=LifecycleState)

Get = Callable[[str], Any]
"""``fields.get``: what a rule reads an object through."""


def is_mapping(value: object) -> bool:
    """True for a dict or any other mapping (the dict test first: it is the cheap common case)."""
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

    def __call__(self, name: str, get: Get) -> tuple[str, ...]:
        """One message when the check fails (``name`` is the status), else none."""
        value = get(self.field)
        if self.allowed is None:
            if not is_mapping(value) or not value.get(self.key):
                return (f"{name}: {self.field}.{self.key} is not set",)
            return ()
        if value is None:
            return (f"{name}: {self.field} is not set",)
        found = value.get(self.key) if is_mapping(value) else None
        if not isinstance(found, str) or found not in self.allowed:  # a list or an object is no allowed value
            kind = value.get(self.key) if is_mapping(value) else type(value).__name__
            return (f"{name}: {self.field}.{self.key} is {kind!r}, expected {self.expected}",)
        return ()


incomplete_reason: Final = NestedCheck("incomplete_details", "reason")
"""The check of an ``incomplete`` object (runs and responses): ``incomplete_details.reason`` is set."""


@dataclass(frozen=True)
class FieldRule:
    """The field invariants of one status (LIFECYCLE.md's field table)."""

    must_set: tuple[str, ...] = ()
    """Fields that must be present and not null."""
    must_be_null: tuple[str, ...] = ("required_action",)
    """Fields that must be null when present (a log may strip nulls: absent is fine)."""
    window: tuple[str, str, int] | None = None
    """``(start, end, seconds)``: ``end - start`` must be ``seconds`` when both are ints."""
    extra: Callable[[str, Get], tuple[str, ...]] | None = None
    """A check beyond the others, placed before the null checks: ``extra(status name, fields.get)``."""
    name: str = field(default="", compare=False)

    def messages(self, get: Get) -> tuple[str, ...]:
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


class FieldChecks(Generic[S]):
    """One lifecycle's rules, compiled: messages and clean-case predicates indexed by ordinal.

    States without a rule have nothing to check (``states`` names them when ``rules`` is empty).
    """

    def __init__(self, rules: Mapping[S, FieldRule], *, states: Iterable[S] = ()) -> None:
        self.rules: dict[S, FieldRule] = {status: replace(rule, name=status.label) for status, rule in rules.items()}
        by_ordinal = {int(status): rule for status, rule in self.rules.items()}
        members = [*states, *(m for status in self.rules for m in type(status))]
        size = max((int(m) for m in members), default=-1) + 1  # every state of the enum has a slot
        empty = FieldRule(must_be_null=())
        ordered = [by_ordinal.get(i, empty) for i in range(size)]
        self._messages = tuple(rule.messages for rule in ordered)
        self._clean = tuple(rule.clean_predicate() for rule in ordered)

    def __reduce__(self) -> tuple[type[FieldChecks[S]], tuple[dict[S, FieldRule]]]:
        # the generated predicates cannot be pickled: a copy (another process's) compiles them again
        return (type(self), (self.rules,))

    def clean_checks(self) -> tuple[Callable[[dict[str, Any]], bool], ...]:
        """The clean-case predicates indexed by status ordinal (True only where :meth:`check` finds nothing)."""
        return self._clean

    def check(self, status: S, fields: Mapping[str, Any]) -> tuple[str, ...]:
        """One message per field invariant of ``status`` that ``fields`` breaks."""
        ordinal = int(status)
        if ordinal >= len(self._messages):
            return ()
        if type(fields) is dict and self._clean[ordinal](fields):
            return ()
        return self._messages[ordinal](fields.get)
