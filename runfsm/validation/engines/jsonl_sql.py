"""What DuckDB's JSON reader reads of a JSON Lines input, and the SQL that tells each line's kind.

:func:`reader_columns` are the keys read (each as JSON text): those that tell a line's kind, the
fields the lifecycle's invariants read, the tool calls and the ``--sort-by`` field.
:func:`classify_sql` turns each row into a plain record (run id, status code, stream or not, the
fields a ledger needs of it) or residue for the python parser; see
:mod:`runfsm.validation.engines.staging`. Everything lifecycle-specific comes from the
:class:`~runfsm.validation.engines.sql.LifecycleSQL` derived from the declaration.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from runfsm.status import TOOL_CALLS_FIELD
from runfsm.validation.engines.sql import CALL_CODES, case_of, literal, sql_fields_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from runfsm.validation.engines.sql import LifecycleSQL
    from runfsm.validation.ledger import ValidationMode

__all__ = ["classify_sql", "kept_fields", "reader_columns"]


def _kinds(sql: LifecycleSQL) -> tuple[str, ...]:
    """The keys that tell what a line is (a run object, a stream event, a client call...) for this lifecycle."""
    payload = sql.lifecycle.parser.payload_key
    kinds = ("id", "status", "object", "event", "data", "type", "run_id", "call", "statuses")
    return tuple(dict.fromkeys((*kinds, *((payload,) if payload else ()))))


def kept_fields(sql: LifecycleSQL, check: bool) -> tuple[str, ...]:
    """The fields a record keeps for the ledger: those the invariants read (when checked), and the tool calls."""
    return tuple(dict.fromkeys((*(sql.field_names if check else ()), TOOL_CALLS_FIELD)))


def reader_columns(sort_by: str | None, sql: LifecycleSQL, check: bool = True) -> str:
    """The keys DuckDB's reader reads (each as JSON text): the kinds, the kept fields, the sort field."""
    names = tuple(dict.fromkeys((*_kinds(sql), *kept_fields(sql, check))))
    names = names if sort_by is None or sort_by in names else (*names, sort_by)
    return ", ".join(f"{literal(c)}: 'JSON'" for c in names)


def _unquoted(column: str) -> str:
    """The value of a JSON string as DuckDB writes it (minified), without decoding when it has no escape."""
    plain = f"substring({column}, 2, length({column}) - 2)"
    return f"(CASE WHEN contains({column}, '\\') THEN {column} ->> '$' ELSE {plain} END)"


def _fields_object(get: Callable[[str], str], sql: LifecycleSQL, check: bool) -> str:
    """The fields a record keeps, as a JSON object: those its own status's invariants read, and its tool calls.

    Only these are ever read of it: the ledger checks a record against its own status's rule, and
    reads the tool calls of a paused one. So a paused record keeps one field, not all of them.
    """
    whens = []
    for code in range(len(sql.by_ordinal)):
        rule = sql.rules.get(code) if check else None
        names = (
            *(sql_fields_of(rule) if rule is not None else ()),
            *((TOOL_CALLS_FIELD,) if sql.is_paused[code] else ()),
        )
        names = tuple(dict.fromkeys(names))
        if names:
            whens.append(f"WHEN {code} THEN json_object(" + ", ".join(f"{literal(f)}, {get(f)}" for f in names) + ")")
    return f"(CASE code {' '.join(whens)} ELSE '{{}}' END)::VARCHAR" if whens else "'{}'"


def classify_sql(  # noqa: PLR0917  (the reader and what the lines are read for)
    reader: str, mode: ValidationMode, check: bool, sort_by: str | None, sql: LifecycleSQL, carry: str = ""
) -> str:
    """One row per non-blank line, in input order: run id and code of a plain record (NULL run id: residue).

    A plain record whose fields may break an invariant (``unclean``) keeps those fields (as a JSON
    object) for the ledger to check, as does a paused record naming tool calls (the ledger tells a
    stale view of an answered round by them); every other plain record keeps none. With ``sort_by``, a record is plain
    only when that field is a JSON number (top level, or in the run object of an event), kept as
    ``ts``; other values (ISO 8601 text...) are for the python reader to read.

    Everything lifecycle-specific (status spellings, the ``object`` type, the payload key of its
    stream events, the field checks) comes from ``sql``. Lines the python reader reads as
    something else (a webhook payload, a stream event carrying its object under the payload key)
    are residue. ``carry``: a column of the reader's that each row keeps (a virtual one, such as
    ``file_index``).
    """
    names = kept_fields(sql, check)
    statuses = case_of("status", sql.status_codes, quoted=True)
    events = case_of("event", sql.status_codes, quoted=True)
    calls = case_of("call", CALL_CODES, quoted=True)
    paused = ", ".join(str(code) for code, pause in enumerate(sql.is_paused) if pause) or "NULL"
    data_fields = f"json_extract(data, [{', '.join(literal('$.' + f) for f in names)}])" if names else "NULL"
    named = "" if sql.object_type is None else f" OR object = {literal(sql.object_type)}"
    own_object = f"(object IS NULL{named})"
    payload = sql.lifecycle.parser.payload_key
    # an object with a 'type' and the payload key is an event to the python reader (unless it names its object)
    not_event = "TRUE" if payload is None else f'("type" IS NULL OR "{payload}" IS NULL{named})'
    in_data = "TRUE" if payload is None else f"json_type(data, {literal('$.' + payload)}) IS NULL"

    def top(name: str) -> str:
        return f'"{name}"'

    def inner(name: str) -> str:
        return f"nullif(df[{names.index(name) + 1}], 'null')"

    calls_named = f"(CASE kind WHEN 'r' THEN {top(TOOL_CALLS_FIELD)} ELSE {inner(TOOL_CALLS_FIELD)} END) IS NOT NULL"

    run_clean = sql.clean_fields("code", top) if check else "TRUE"
    event_clean = sql.clean_fields("code", inner) if check else "TRUE"
    stream = "kind = 'e'" if mode == "auto" else "TRUE" if mode == "stream" else "FALSE"
    if sort_by is None:
        ts = "NULL::DOUBLE"
        timed = "TRUE"
    elif _IDENTIFIER.fullmatch(sort_by):
        value = f"coalesce(\"{sort_by}\", CASE WHEN kind = 'e' THEN json_extract(data, {literal('$.' + sort_by)}) END)"
        # a finite number only: the python reader reports nan and infinities (1e999 too)
        number = f"regexp_full_match({value}, '{_NUMBER}') AND isfinite(TRY_CAST({value} AS DOUBLE))"
        ts = f"(CASE WHEN {number} THEN CAST({value} AS DOUBLE) END)"
        timed = "ts IS NOT NULL"
    else:
        ts, timed = "NULL::DOUBLE", "FALSE"  # an odd field name: the python reader reads every record
    # a record whose fields may break an invariant keeps them, or goes to the python reader whole
    kept = "rid <> ''" if sql.fields_suffice else "rid <> '' AND clean"
    return f"""
    WITH raw AS (
        SELECT *{f", {carry}" if carry else ""},  -- each spelling looked up once, only where it can be the line
            CASE WHEN event IS NOT NULL THEN {events} END AS ecode,
            CASE WHEN event IS NULL THEN {statuses} END AS scode,
            CASE WHEN event IS NULL AND status IS NULL THEN {calls} END AS ccode
        FROM {reader}
    ), kinds AS (
        SELECT *,
            CASE
                WHEN event IS NOT NULL THEN
                    CASE WHEN ecode IS NOT NULL AND starts_with(data, '{{')
                        AND json_type(data, '$.id') = 'VARCHAR' AND {in_data}
                        AND (object IS NULL OR object <> '"event"') THEN 'e' END
                WHEN starts_with(id, '"') AND id <> '""' AND scode IS NOT NULL
                    AND {own_object} AND {not_event} THEN 'r'
                WHEN starts_with(run_id, '"') AND run_id <> '""' AND ccode IS NOT NULL
                    AND statuses IS NULL AND object IS NULL AND "type" IS NULL THEN 'c'
            END AS kind
        FROM raw
    ), coded AS (
        SELECT kind,
            CASE kind WHEN 'r' THEN scode WHEN 'c' THEN ccode WHEN 'e' THEN ecode END AS code,
            CASE kind
                WHEN 'r' THEN {_unquoted("id")}
                WHEN 'c' THEN {_unquoted("run_id")}
                WHEN 'e' THEN json_extract_string(data, '$.id')
            END AS rid,
            CASE WHEN kind = 'e' THEN {data_fields} END AS df,
            {ts} AS ts{"".join(f', "{f}"' for f in names)}{f", {carry}" if carry else ""}
        FROM kinds
    ), checked AS (
        SELECT *, CASE kind WHEN 'r' THEN {run_clean} WHEN 'e' THEN {event_clean} ELSE TRUE END AS clean
        FROM coded
    )
    SELECT CASE WHEN {kept} AND {timed} THEN rid END AS rid,
        code::UTINYINT AS code,
        {stream} AS stream,
        CASE WHEN NOT clean OR (code IN ({paused}) AND {calls_named}) THEN
            CASE kind WHEN 'r' THEN {_fields_object(top, sql, check)} ELSE {_fields_object(inner, sql, check)} END
        END AS fields,
        ts,
        NOT clean AS unclean{f", {carry}" if carry else ""}
    FROM checked
    """


_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER: Final = r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?"
"""A JSON number as DuckDB writes it; ``--sort-by`` reads it as seconds, as Python does."""
