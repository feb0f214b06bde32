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


def _is_int(value: str) -> str:
    """An integer as DuckDB writes JSON: digits, maybe a minus sign (no '.', no exponent)."""
    text = f"CAST({value} AS VARCHAR)"
    return f"(ltrim({text}, '-0123456789') = '' AND {text} NOT IN ('', '-'))"


def _is_intish(value: str) -> str:
    """An int to Python: an integer, or a JSON ``true``/``false`` (a bool is an int there)."""
    return f"({_is_int(value)} OR CAST({value} AS VARCHAR) IN ('true', 'false'))"


def _nested(check: NestedCheck, get: Callable[[str], str]) -> str:
    value = get(check.field)
    path = literal("$." + check.key)
    base = f"starts_with({value}, '{{') AND json_type({value}, {path}) = 'VARCHAR'"
    inner = f"json_extract_string({value}, {path})"
    if check.allowed is None:
        return f"({base} AND {inner} <> '')"
    allowed = ", ".join(literal(a) for a in sorted(check.allowed))
    return f"({base} AND {inner} IN ({allowed}))"


def _rule_clean(status: RunStatus, get: Callable[[str], str]) -> str:
    rule = RULES[status]
    terms = [f"{get(f)} IS NOT NULL" for f in rule.must_set]
    terms += [f"{get(f)} IS NULL" for f in rule.must_be_null]
    if rule.window is not None:
        start_field, end_field, seconds = rule.window
        start, end = get(start_field), get(end_field)
        terms.append(
            f"(coalesce(NOT ({_is_intish(start)} AND {_is_intish(end)}), TRUE)"
            f" OR coalesce({_is_int(start)} AND {_is_int(end)}"
            f" AND TRY_CAST({end} AS HUGEINT) - TRY_CAST({start} AS HUGEINT) = {int(seconds)}, FALSE))"
        )
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
