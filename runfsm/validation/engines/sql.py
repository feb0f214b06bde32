"""SQL derived from a lifecycle's declaration: status spellings as codes, and the field invariants' clean case.

Engines that read logs with a query engine (DuckDB, Spark) need, per record, the code of its
status (see :mod:`runfsm.validation.shapes`) and whether its fields certainly break no invariant.
Both are derived, per lifecycle, by :func:`sql_for` from the same sources the Python reader and
the ledger use (:func:`~runfsm.validation.formats.base.status_of` with the lifecycle, and the
lifecycle's :attr:`~runfsm.lifecycle.Lifecycle.field_checks`), never written by hand: a status
spelling is in :attr:`LifecycleSQL.status_codes` only if ``status_of`` reads it as that status,
and the clean-case predicate of each rule is generated from the rule's fields.

The predicate is *conservative*: true only when the lifecycle's field checks certainly find
nothing. A record it does not clear is read again by the Python reader, which gives the exact
warnings; so the engines agree with the ledger whatever the predicate misses.

>>> from runfsm.lifecycles import BATCH_LIFECYCLE
>>> batch = sql_for(BATCH_LIFECYCLE)
>>> batch.status_codes["finalizing"], batch.terminal_codes, batch.object_type
(4, (2, 5, 6, 8), '"batch"')
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from runfsm.fields import NestedCheck
from runfsm.lifecycle import PerLifecycle
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.validation.formats.base import CALLS, status_of
from runfsm.validation.shapes import CANCEL_CODE, SUBMIT_CODE, tables_for
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from runfsm.fields import FieldRule
    from runfsm.lifecycle import Lifecycle

__all__ = [
    "CALL_CODES",
    "SHAPE_OFFSET",
    "LifecycleSQL",
    "case_of",
    "decode_shape",
    "encode_shape",
    "literal",
    "sql_fields_of",
    "sql_for",
]

SHAPE_OFFSET: Final = 48
"""A shape travels through SQL as text: code ``c`` is the character ``chr(SHAPE_OFFSET + c)``."""

CALL_CODES: Final[dict[str, int]] = {
    name: SUBMIT_CODE if trigger is Trigger.SUBMIT_TOOL_OUTPUTS else CANCEL_CODE for name, trigger in CALLS.items()
}
"""Client calls as written in logs, with their shape code: read in every lifecycle's logs, as the
python reader reads them (the judge notes a call no edge of the lifecycle needs)."""


class LifecycleSQL:
    """What an engine's SQL needs of one lifecycle, derived from its declaration (see :func:`sql_for`)."""

    def __init__(self, lifecycle: Lifecycle[Any]) -> None:
        self.lifecycle = lifecycle
        tables = tables_for(lifecycle)
        self.by_ordinal: tuple[Any, ...] = tables.by_ordinal
        """The states indexed by code."""
        self.is_terminal: tuple[bool, ...] = tables.is_terminal
        """Whether the state of each code is terminal."""
        self.is_paused: tuple[bool, ...] = tables.is_paused
        """Whether the state of each code is paused (waits for a client call)."""
        self.status_codes: dict[str, int] = _spellings(lifecycle)
        """Status strings the engines read themselves, with their code: each one ``status_of`` reads so."""
        self.terminal_codes: tuple[int, ...] = tuple(code for code, end in enumerate(tables.is_terminal) if end)
        self.object_type: str | None = None if lifecycle.object_type is None else json.dumps(lifecycle.object_type)
        """The lifecycle's ``object`` field as JSON text (``'"thread.run"'``), as a JSON reader gives it."""
        self.rules: dict[int, FieldRule] = {int(s): r for s, r in lifecycle.field_checks.rules.items()}
        self.field_names: tuple[str, ...] = _fields_of_rules(self.rules.values())
        """The object fields some invariant reads (the columns an engine must read for the checks)."""
        self.fields_suffice = all(r.extra is None or isinstance(r.extra, NestedCheck) for r in self.rules.values())
        """True when :attr:`field_names` are all an invariant reads (else a record that may break one is
        for the python reader, whole)."""

    def __repr__(self) -> str:
        return f"<LifecycleSQL {self.lifecycle.key}>"

    def clean_fields(self, code: str, get: Callable[[str], str]) -> str:
        """SQL true when a record of status ``code`` certainly breaks no field invariant.

        ``get(name)`` is the SQL of field ``name`` as minified JSON text (as DuckDB's JSON reader and
        ``json_extract`` give it), NULL when absent or null (as ``fields.get(name) is None`` in Python).
        Statuses without a rule and client calls (codes 16, 17) have nothing to check.
        """
        whens = " ".join(f"WHEN {ordinal} THEN {_rule_clean(rule, get)}" for ordinal, rule in self.rules.items())
        return f"(CASE {code} {whens} ELSE TRUE END)" if whens else "TRUE"


_BY_LIFECYCLE: Final[PerLifecycle[LifecycleSQL]] = PerLifecycle(LifecycleSQL)


def sql_for(lifecycle: Lifecycle[Any] | None = None) -> LifecycleSQL:
    """The :class:`LifecycleSQL` of ``lifecycle`` (the Assistants run by default), built once and shared."""
    return _BY_LIFECYCLE(lifecycle if lifecycle is not None else RUN_LIFECYCLE)


def _spellings(lifecycle: Lifecycle[Any]) -> dict[str, int]:
    # wire values first, then event names: a CASE tries its WHENs in order, and logs mostly hold these
    members = list(lifecycle.states)
    candidates = [m.wire for m in members if m.wire is not None] + [m.event for m in members if m.event is not None]
    candidates += list(lifecycle.webhooks)
    for member in members:
        candidates += [member.name, member.name.upper(), member.name.lower(), str(int(member))]
    codes: dict[str, int] = {}
    for text in candidates:
        try:
            status = status_of(text, lifecycle)
        except ValueError:  # NotARunStatus
            continue
        if status is not None:
            codes[text] = int(status)
    return codes


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def case_of(expr: str, table: Mapping[str, int], *, quoted: bool = False) -> str:
    """``CASE expr WHEN 'text' THEN code ... END`` (NULL for anything else).

    With ``quoted``, ``expr`` is JSON text and the texts are matched as JSON strings.
    """
    whens = " ".join(
        f"WHEN {literal(json.dumps(text) if quoted else text)} THEN {code}" for text, code in table.items()
    )
    return f"(CASE {expr} {whens} END)"


def decode_shape(text: str) -> bytes:
    """The codes of a shape that came back from SQL as text.

    >>> list(decode_shape("234")), encode_shape(bytes([2, 3, 4]))
    ([2, 3, 4], '234')
    """
    return text.encode("latin-1").translate(_DECODED)


def encode_shape(codes: bytes) -> str:
    """A shape's codes as text (code ``c`` as ``chr(SHAPE_OFFSET + c)``), as the SQL writes it."""
    return codes.translate(_ENCODED).decode("latin-1")


_DECODED: Final = bytes((b - SHAPE_OFFSET) % 256 for b in range(256))
_ENCODED: Final = bytes((b + SHAPE_OFFSET) % 256 for b in range(256))


def sql_fields_of(rule: FieldRule) -> tuple[str, ...]:
    """The object fields one invariant reads (its ``extra`` check's only when it is a :class:`NestedCheck`)."""
    names = [*rule.must_set, *rule.must_be_null]
    if rule.window is not None:
        names += rule.window[:2]
    if isinstance(rule.extra, NestedCheck):
        names.append(rule.extra.field)
    return tuple(dict.fromkeys(names))


def _fields_of_rules(rules: Iterable[FieldRule]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for rule in rules for name in sql_fields_of(rule)))


def _as_int(value: str) -> str:
    """An integer as DuckDB writes JSON, as a BIGINT; NULL for anything else (text, objects, beyond the range).

    Used only where an exact int says the record is clean: whatever else it reads (a float such
    as ``1.5``, a bool) makes no check pass that Python's would not (see :func:`_rule_clean`).
    """
    return f"TRY_CAST(CAST({value} AS VARCHAR) AS BIGINT)"


def _nested(check: NestedCheck, get: Callable[[str], str]) -> str:
    """True when the nested key certainly passes: one ``json_extract`` of the key, compared as JSON text.

    A JSON string of an allowed value (the key of an object; an array or a scalar has no key:
    NULL), or with ``allowed=None`` a non-empty JSON string. Escaped spellings compare unequal:
    such a record is for the python reader, which decides.
    """
    found = f"json_extract({get(check.field)}, {literal('$.' + check.key)})"
    if check.allowed is None:
        return f"(starts_with({found}, '\"') AND {found} <> '\"\"')"
    allowed = ", ".join(literal(json.dumps(a)) for a in sorted(check.allowed))
    return f"(CAST({found} AS VARCHAR) IN ({allowed}))"


def _rule_clean(rule: FieldRule, get: Callable[[str], str]) -> str:
    terms = [f"{get(f)} IS NOT NULL" for f in rule.must_set]
    terms += [f"{get(f)} IS NULL" for f in rule.must_be_null]
    if rule.window is not None:
        start_field, end_field, seconds = rule.window
        start, end = get(start_field), get(end_field)
        # clean when either is absent (Python's check needs two ints), or both are ints `seconds` apart:
        # Python warns only for two ints (bools are ints) not `seconds` apart, which this never passes
        terms.append(f"({start} IS NULL OR {end} IS NULL OR {_as_int(end)} - {_as_int(start)} = {int(seconds)})")
    if rule.extra is not None:
        terms.append(_nested(rule.extra, get) if isinstance(rule.extra, NestedCheck) else "FALSE")
    return "coalesce(" + (" AND ".join(terms) or "TRUE") + ", FALSE)"
