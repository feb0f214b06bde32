"""SQL derived from the declaration: status spellings as codes, and the field invariants' clean case.

Engines that read logs with a query engine (DuckDB, Spark) need, per record, the code of its
status (see :mod:`runfsm.validation.shapes`) and whether its fields certainly break no invariant.
Both are derived here from the same sources the Python reader and the ledger use
(:func:`~runfsm.validation.formats.base.status_of`, :data:`runfsm.invariants.RULES`), never
written by hand: a status spelling is in :data:`STATUS_CODES` only if ``status_of`` reads it as
that status, and the clean-case predicate of each rule is generated from the rule's fields.

The predicate is *conservative*: true only when :func:`~runfsm.invariants.check_fields` certainly
finds nothing. A record it does not clear is read again by the Python reader, which gives the
exact warnings; so the engines agree with the ledger whatever the predicate misses.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

from runfsm.invariants import RULES, NestedCheck
from runfsm.status import RunStatus
from runfsm.validation.formats.base import CALLS, status_of
from runfsm.validation.shapes import CANCEL_CODE, IS_TERMINAL, SUBMIT_CODE
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "CALL_CODES",
    "FIELD_NAMES",
    "SHAPE_OFFSET",
    "STATUS_CODES",
    "TERMINAL_CODES",
    "case_of",
    "clean_fields",
    "decode_shape",
    "literal",
]

SHAPE_OFFSET: Final = 48
"""A shape travels through SQL as text: code ``c`` is the character ``chr(SHAPE_OFFSET + c)``."""


def _spellings() -> dict[str, int]:
    # wire values first, then event names: a CASE tries its WHENs in order, and logs mostly hold these
    members = list(RunStatus)
    candidates = [m.wire for m in members if m.wire is not None] + [m.event for m in members if m.event is not None]
    for member in members:
        candidates += [member.name, member.name.upper(), member.name.lower(), str(int(member))]
    codes: dict[str, int] = {}
    for text in candidates:
        try:
            status = status_of(text)
        except ValueError:  # NotARunStatus
            continue
        if status is not None:
            codes[text] = int(status)
    return codes


STATUS_CODES: Final[dict[str, int]] = _spellings()
"""Status strings the engines read themselves, with their ordinal: each one ``status_of`` reads so."""

CALL_CODES: Final[dict[str, int]] = {
    name: SUBMIT_CODE if trigger is Trigger.SUBMIT_TOOL_OUTPUTS else CANCEL_CODE for name, trigger in CALLS.items()
}
"""Client calls as written in logs, with their shape code."""

TERMINAL_CODES: Final[tuple[int, ...]] = tuple(code for code, terminal in enumerate(IS_TERMINAL) if terminal)


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
    """The codes of a shape that came back from SQL as text."""
    return bytes(ord(c) - SHAPE_OFFSET for c in text)


def _fields_of_rules() -> tuple[str, ...]:
    names: list[str] = []
    for rule in RULES.values():
        names += [*rule.must_set, *rule.must_be_null]
        if rule.window is not None:
            names += rule.window[:2]
        if isinstance(rule.extra, NestedCheck):
            names.append(rule.extra.field)
    return tuple(dict.fromkeys(names))


FIELD_NAMES: Final[tuple[str, ...]] = _fields_of_rules()
"""The run-object fields some invariant reads (the columns an engine must read for the checks)."""


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


def _rule_clean(status: RunStatus, get: Callable[[str], str]) -> str:
    rule = RULES[status]
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


def clean_fields(code: str, get: Callable[[str], str], statuses: Iterable[RunStatus] = RunStatus) -> str:
    """SQL true when a record of status ``code`` certainly breaks no field invariant.

    ``get(name)`` is the SQL of field ``name`` as minified JSON text (as DuckDB's JSON reader and
    ``json_extract`` give it), NULL when absent or null (as ``fields.get(name) is None`` in Python).
    Client calls (codes 16, 17) have no fields.
    """
    whens = " ".join(f"WHEN {int(s)} THEN {_rule_clean(s, get)}" for s in statuses)
    return f"(CASE {code} {whens} ELSE TRUE END)"
