"""The ``duckdb`` engine: DuckDB reads and groups, runfsm's judge decides (the ``[duckdb]`` extra).

The inputs are read into DuckDB (:mod:`~runfsm.validation.engines.staging`: plain records as
staged rows, the rest by the python engine's own reader, at the same ``FILE:LINE``). Runs are
then grouped in SQL in input order, each run's *history* its codes in order packed with its
records' positions; :func:`~runfsm.validation.engines.judging.judge_groups` judges each distinct
shape once and replays the few complex runs through the ledger. When the lines were counted
while the runs were judged, what the judge reports is held until the count agrees; when it does
not (a blank line), the staged rows are numbered by their lines and the runs grouped and judged
again (DuckDB does not read the input again), and with odd lines (a lone carriage return, a line
longer than the python reader reads, ``NaN``) the validation is done again, counting first.

Memory: DuckDB works within ``memory_limit`` and spills to ``temp_directory``, so inputs larger
than memory are fine. Known differences from the python engine, on input no API or JSON library
writes: a duplicate key keeps its first value (Python its last), and integers of more than 4,300
digits and nesting deeper than 1,024 levels (Python's limits) are read where Python reports the
line. (``NaN`` and ``Infinity``, which Python's ``json.dumps`` writes, are no difference: such an
input is the python reader's, see :func:`~runfsm.validation.engines.lines.count_lines`.)
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any, Final

from runfsm.status import TOOL_CALLS_FIELD
from runfsm.validation.engines.inputs import DEFAULT_MEMORY_LIMIT, expand_paths, utf8_text
from runfsm.validation.engines.judging import HeldCallbacks, Unsettled, in_run_order, judge_groups, python_engine
from runfsm.validation.engines.lingering import within_linger
from runfsm.validation.engines.sql import encode_shape, literal
from runfsm.validation.engines.staging import FILE_SHIFT, ROW_MASK, StagedInputs, StagingOptions
from runfsm.validation.formats.base import ObservedMode, Record, exact_fields, loads_fields
from runfsm.validation.ledger import DEFAULT_LINGER
from runfsm.validation.records import path_list, resolve_lifecycle
from runfsm.validation.shapes import CODE_CALL, SUBMIT_CODE

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Iterator

    import duckdb as duckdb_
    from typing_extensions import Unpack

    from runfsm.exceptions import InputError
    from runfsm.lifecycle import Lifecycle
    from runfsm.status import StatusAliases
    from runfsm.validation.engines.judging import ShapeKey
    from runfsm.validation.formats.base import Item
    from runfsm.validation.ledger import ValidationMode
    from runfsm.validation.summary import Summary
    from runfsm.verdict import Verdict

__all__ = ["DuckDBEngine", "summarize_paths"]


class DuckDBEngine(StagedInputs):
    """One validation on a DuckDB connection: the inputs staged (:class:`StagedInputs`), grouped per run in SQL.

    It gives :func:`~runfsm.validation.engines.judging.judge_groups` what the judge needs
    (the :class:`~runfsm.validation.engines.judging.Grouped` and ``Located`` protocols).
    """

    def __init__(
        self, *, strict: bool = False, linger: int = DEFAULT_LINGER, **staging: Unpack[StagingOptions]
    ) -> None:
        """``strict`` and ``linger`` as for ``summarize_paths``; ``staging``: see :class:`StagedInputs`."""
        super().__init__(**staging)
        self.strict = strict
        self.linger = linger
        self.histories: dict[ShapeKey, list[list[int]]] = {}
        """The histories (flagged codes) of the simple runs, by their shape."""
        self.complex_histories: list[list[int]] = []
        """The histories of runs with fields to check (the ledger judges them)."""

    # -- grouping

    def group(self) -> bool:
        """Group rows per run; False when a late record comes too late to be sure of its history.

        False too when a run id the python reader read is no UTF-8 text (a lone surrogate escape,
        which DuckDB's reader refuses: that line is residue): the python engine's answer then.

        One aggregation: each run's *history*, its codes in order, each with :data:`_STREAM` when
        the record is a stream event (``--mode auto``: the run's mode is its first status's) and
        :data:`_FIELDS` when it carries fields to check (the run is for the ledger).
        """
        con = self.con
        con.execute("CREATE OR REPLACE TEMP VIEW rows AS " + " UNION ALL ".join(self.parts))
        stream = f" + {_STREAM} * stream::UTINYINT" if self.mode == "auto" else ""
        terminals = ", ".join(str(c) for c in self.sql.terminal_codes)
        flagged = f"code{stream} + {_FIELDS} * unclean::UTINYINT"
        if self.sort_by is None:
            # in input order: sorting each run's (position, code) pairs costs less than an ordered
            # aggregate, and they are its records' positions too (see located_runs)
            packed = f"list_sort(list(pos * {_PACK} + {flagged}))"
        else:
            packed = f"list({flagged} ORDER BY {self._order})"  # no positions: codes only
        history = f"list_transform(packed, lambda x: (x % {_PACK})::UTINYINT)"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE runs AS
            SELECT rid, {history} AS history, packed, first_end, last FROM (
                SELECT rid, {packed} AS packed,
                    min(pos) FILTER (WHERE code IN ({terminals})) AS first_end, max(pos) AS last
                FROM rows GROUP BY rid
            )"""
        )
        python_ids = sorted({item.run_id for _, item in self.items if type(item) is Record})
        if not utf8_text(python_ids):
            return False  # a lone surrogate (JSON "\ud800"): DuckDB holds UTF-8 text only, Python any str
        con.execute("CREATE OR REPLACE TEMP TABLE python_ids AS SELECT unnest($1::VARCHAR[]) AS rid", [python_ids])
        if self.sort_by is not None:
            # each run's records come together, in the field's order, and each is a slot: the
            # judge's ledger counts them for the complex runs as the python engine does (see
            # judge_groups); a simple run is judged whole, so none may have a record past its window
            past = con.execute(
                f"""SELECT 1 FROM (SELECT rid, code, row_number() OVER (PARTITION BY rid ORDER BY ts, pos) AS k
                    FROM rows)
                GROUP BY rid HAVING count(*) - min(k) FILTER (WHERE code IN ({terminals})) > {int(self.linger)}
                LIMIT 1"""
            ).fetchone()
            return past is None
        return self._late_records_in_reach(python_ids)

    @property
    def _order(self) -> str:
        """The order of a run's records: input order, or by ``--sort-by`` (then input order)."""
        return "pos" if self.sort_by is None else "ts, pos"

    def _late_records_in_reach(self, python_ids: list[str]) -> bool:
        """True unless some record comes more than ``linger`` slots after its run's first terminal record.

        Such a record may start a new history in the python engine, which lets the run go
        (:func:`~runfsm.validation.engines.lingering.within_linger`); the python engine then.
        """
        import numpy  # noqa: PLC0415  (the duckdb extra)

        con = self.con
        if not self.items:
            # every record is a line of its own: the slots between a run's end and its last record
            # are the lines in between (positions of one input are its lines)
            across = f"last >> {FILE_SHIFT} <> first_end >> {FILE_SHIFT}"
            found = con.execute(
                f"SELECT max(last - first_end), count(*) FILTER (WHERE {across}) FROM runs WHERE last > first_end"
            ).fetchone()
            if found is not None and found[1] == 0 and (found[0] is None or found[0] <= self.linger):
                return True
        # positions in 1/_SUB of a line: a compact run or a runs.list page is several records on one line
        late = con.execute(
            f"SELECT first_end * {_SUB} AS first, last * {_SUB} AS last FROM runs "
            "ANTI JOIN python_ids USING (rid) WHERE last > first_end"
        ).fetchnumpy()
        firsts = [numpy.asarray(late["first"], dtype=numpy.int64)]
        lasts = [numpy.asarray(late["last"], dtype=numpy.int64)]
        extras: list[int] = []  # records beyond the first of their line (list pages, compact runs)
        previous, records = -1, 0
        for pos, item in self.items:
            if type(item) is Record:
                records = records + 1 if pos == previous else 1
                previous = pos
                if records > 1:
                    extras.append(pos * _SUB + records - 1)
        is_terminal = self.sql.is_terminal
        if python_ids:
            spans_of_python_runs = (
                f"SELECT rid, [first_end * {_SUB}, last * {_SUB}] FROM runs SEMI JOIN python_ids USING (rid)"
            )
            known: dict[str, list[Any]] = dict(con.execute(spans_of_python_runs).fetchall())
            previous, sub = -1, 0
            for pos, item in self.items:
                sub = sub + 1 if pos == previous else 0
                previous = pos
                if type(item) is not Record:
                    continue
                at = pos * _SUB + min(sub, _SUB - 1)
                first, last = known.get(item.run_id) or [None, None]
                if item.status is not None and is_terminal[item.status] and (first is None or at < first):
                    first = at
                last = at if last is None or at > last else last
                known[item.run_id] = [first, last]
            spans = [span for span in known.values() if span[0] is not None and span[1] > span[0]]
            firsts.append(numpy.asarray([span[0] for span in spans], dtype=numpy.int64))
            lasts.append(numpy.asarray([span[1] for span in spans], dtype=numpy.int64))
        lines = [c.lines for c in self.counts]
        first_ends, last_records = numpy.concatenate(firsts), numpy.concatenate(lasts)
        return within_linger(first_ends, last_records, extras, lines, self.linger, shift=FILE_SHIFT, sub=_SUB)

    def shapes(self) -> Iterable[tuple[str, str, int]]:
        """(mode, shape, runs) of the simple runs (see :class:`~runfsm.validation.engines.judging.Grouped`)."""
        con = self.con
        con.execute("CREATE OR REPLACE TEMP TABLE complex_ids AS SELECT rid FROM python_ids")
        found = con.execute(
            "SELECT history, count(*) FROM runs ANTI JOIN complex_ids USING (rid) GROUP BY ALL"
        ).fetchall()
        if self._note_stale_views([h for h, _ in found if _paused_after_submit(h, self.sql.is_paused)]):
            # the runs made complex leave their histories' counts (a history with none left is dropped)
            left = {tuple(h): n for h, n in found}
            for history, runs in con.execute(
                "SELECT history, count(*) FROM runs SEMI JOIN stale_ids USING (rid) GROUP BY ALL"
            ).fetchall():
                left[tuple(history)] -= runs
            found = [(list(h), n) for h, n in left.items() if n]
        counted: dict[ShapeKey, int] = {}
        self.histories = {}
        self.complex_histories = []
        for history, runs in found:
            if any(code & _FIELDS for code in history):
                self.complex_histories.append(history)  # fields to check: the ledger judges these runs
                continue
            key = self._key(history)
            self.histories.setdefault(key, []).append(history)
            counted[key] = counted.get(key, 0) + runs
        return [(*key, runs) for key, runs in counted.items()]

    def _note_stale_views(self, histories: list[list[int]]) -> bool:
        """Make complex the runs of these histories that may hold a stale view of an answered round.

        Only the ledger tells one (a paused record after a submit asking for the tool calls that
        submit answered): a run is the ledger's when a paused record after a submit names the
        same tool calls as one before it, or when a paused record's tool calls are not a plain
        list of calls with string ids (the ledger reads those its own way). True if some run was.
        """
        if not histories:
            return False
        con = self.con
        con.execute("CREATE OR REPLACE TEMP TABLE wanted AS SELECT unnest($1::UTINYINT[][]) AS history", [histories])
        paused = ", ".join(str(code) for code, pause in enumerate(self.sql.is_paused) if pause) or "NULL"
        calls = f"json_extract(fields, {literal('$.' + TOOL_CALLS_FIELD + '.submit_tool_outputs.tool_calls')})"
        found = con.execute(
            f"""WITH kept AS (
                SELECT rid, row_number() OVER (PARTITION BY rid ORDER BY {self._order}) AS k, code,
                    CASE WHEN code <> {SUBMIT_CODE} THEN {calls} END AS calls
                FROM rows SEMI JOIN (
                    SELECT rid FROM runs SEMI JOIN wanted USING (history) ANTI JOIN complex_ids USING (rid)
                ) USING (rid)
                WHERE code = {SUBMIT_CODE} OR (code IN ({paused}) AND fields IS NOT NULL)
            ), named AS (
                SELECT *, {_CALL_IDS} AS ids, {_PLAIN_CALLS} AS plain FROM kept
            ), windowed AS (
                SELECT rid, ids, plain, max(CASE WHEN code = {SUBMIT_CODE} THEN k END)
                    OVER (PARTITION BY rid ORDER BY k ROWS UNBOUNDED PRECEDING) AS submitted,
                    min(k) OVER (PARTITION BY rid, ids) AS first_asked
                FROM named
            )
            SELECT DISTINCT rid FROM windowed WHERE NOT plain OR (ids IS NOT NULL AND submitted > first_asked)"""
        ).fetchall()
        stale = [rid for (rid,) in found]
        con.execute("CREATE OR REPLACE TEMP TABLE stale_ids AS SELECT unnest($1::VARCHAR[]) AS rid", [stale])
        con.execute("INSERT INTO complex_ids SELECT rid FROM stale_ids")
        return bool(stale)

    def _key(self, history: list[int]) -> ShapeKey:
        """The (mode, shape) of a history: the mode of its first status, its codes without flags."""
        if self.mode != "auto":
            mode = self.mode
        else:
            first = next((code for code in history if code & _CODE < SUBMIT_CODE), 0)
            mode = "stream" if first & _STREAM else "poll"
        return mode, encode_shape(bytes(history).translate(_UNFLAGGED))

    def _histories(self, keys: set[ShapeKey]) -> None:
        """The table of the histories of these shapes (and of the complex runs)."""
        wanted = [h for key in keys for h in self.histories.get(key, ())]
        self.con.execute("CREATE OR REPLACE TEMP TABLE wanted AS SELECT unnest($1::UTINYINT[][]) AS history", [wanted])

    def runs_with(self, keys: set[ShapeKey]) -> Iterable[tuple[str, str, str]]:
        """(run id, mode, shape) of the simple runs of these shapes."""
        self._histories(keys)
        cursor = self.con.execute(
            "SELECT rid, history FROM runs SEMI JOIN wanted USING (history) ANTI JOIN complex_ids USING (rid)"
        )
        key = self._key
        while batch := cursor.fetchmany(10_000):
            for rid, history in batch:
                yield (rid, *key(history))

    def located_runs(self, keys: set[ShapeKey]) -> Iterator[tuple[str, History, list[int]]]:
        """(run id, history, positions of its records) of the simple runs of these shapes."""
        self._histories(keys)
        simple = "runs SEMI JOIN wanted USING (history) ANTI JOIN complex_ids USING (rid)"
        if self.sort_by is None:  # the positions are packed with the codes (see group)
            query = (
                f"SELECT rid, history, list_transform(packed, lambda x: x // {_PACK}) FROM {simple} ORDER BY packed[1]"
            )
        else:
            query = f"""SELECT rid, any_value(simple.history), list(pos ORDER BY {self._order}) FROM rows JOIN (
                SELECT rid, history FROM {simple}
            ) AS simple USING (rid) GROUP BY rid ORDER BY min(pos)"""
        cursor = self.con.execute(query)
        while batch := cursor.fetchmany(10_000):
            for rid, history, positions in batch:
                yield rid, tuple(history), positions

    def records_of(self, history: History) -> list[Item]:
        """A history's records, the ``k``-th at ``Location("", k)``: what a template verdict is judged from."""
        records: list[Item] = []
        for line, flagged in enumerate(history, 1):
            code = flagged & _CODE
            if code >= SUBMIT_CODE:
                call = CODE_CALL[code]
                records.append(Record("", None, call.value, source="", line=line, mode=None, call=call))
            else:
                status = self.sql.by_ordinal[code]
                mode: ObservedMode = "stream" if flagged & _STREAM else "poll"
                records.append(Record("", status, status.wire, source="", line=line, mode=mode))
        return records

    def complex_items(self, keys: set[ShapeKey]) -> Iterator[Item]:
        """The records of the complex runs and of the runs of these shapes, and the input errors, in order."""
        self._histories(keys)
        self.con.execute("INSERT INTO wanted SELECT unnest($1::UTINYINT[][])", [self.complex_histories])
        cursor = self.con.execute(
            """SELECT pos, rid, code, stream, fields, ts FROM rows SEMI JOIN (
                SELECT rid FROM complex_ids UNION SELECT rid FROM runs SEMI JOIN wanted USING (history)
            ) USING (rid) ORDER BY pos"""
        )
        self.items.sort(key=lambda pair: pair[0])  # stable: a line's records keep their order
        merged = (item for _, item in heapq.merge(self._built(cursor), self.items, key=lambda pair: pair[0]))
        # with --sort-by, as the python engine: each run's records together, ordered by the field
        yield from merged if self.sort_by is None else in_run_order(merged)

    def _built(self, cursor: duckdb_.DuckDBPyConnection) -> Iterator[tuple[int, Item]]:
        """The Records of rows read by DuckDB, batch by batch."""
        inputs = self.inputs
        by_ordinal = self.sql.by_ordinal
        exacts = exact_fields(self.lifecycle)
        while batch := cursor.fetchmany(10_000):
            for pos, rid, code, stream, fields, ts in batch:
                source = inputs[pos >> FILE_SHIFT].name
                line = pos & ROW_MASK
                if code >= SUBMIT_CODE:
                    call = CODE_CALL[code]
                    rec = Record(rid, None, call.value, source=source, line=line, mode=None, call=call, timestamp=ts)
                else:
                    status = by_ordinal[code]
                    mode: ObservedMode = "stream" if stream else "poll"
                    obj = None if fields is None else loads_fields(fields, status, exacts)  # as the python reader
                    rec = Record(
                        rid, status, status.wire, source=source, line=line, mode=mode, fields=obj, timestamp=ts
                    )
                yield pos, rec


_PACK: Final = 256
"""A record's position and its flagged code, packed in one BIGINT as ``pos * _PACK + code`` (files < 2**23)."""
_STREAM: Final = 32
"""A history's flag on a stream event's code (the codes are below 32)."""
_FIELDS: Final = 64
"""A history's flag on the code of a record with fields to check."""
_CODE: Final = _STREAM - 1
_UNFLAGGED: Final = bytes(b & _CODE for b in range(256))
"""Flagged codes to codes (a ``bytes.translate`` table)."""


_PLAIN_CALLS: Final = """(calls IS NULL OR json_type(calls) <> 'ARRAY'
    OR len(list_filter(json_extract(calls, '$[*].id'), lambda i: json_type(i) NOT IN ('VARCHAR', 'NULL'))) = 0)"""
"""True when ``tool_call_ids`` reads these tool calls as :data:`_CALL_IDS` does: no value, not a list
(an object, a string, ``0``: no ids, as in Python), or a list whose calls' ids are strings (or absent)."""
_CALL_IDS: Final = """(CASE WHEN json_type(calls) = 'ARRAY' THEN nullif(list_sort(list_distinct(
    list_filter(json_extract_string(calls, '$[*].id'), lambda i: i IS NOT NULL))), []) END)"""
"""The ids of the tool calls (sorted, each once), NULL when none: ``tool_call_ids`` as a set."""


def _paused_after_submit(history: list[int], is_paused: tuple[bool, ...]) -> bool:
    """True when a paused status comes after a submit (a stale view of the answered round may be there)."""
    submitted = False
    for flagged in history:
        code = flagged & _CODE
        if code == SUBMIT_CODE:
            submitted = True
        elif submitted and code < SUBMIT_CODE and is_paused[code]:
            return True
    return False


History = tuple[int, ...]
"""A run's codes in order, with the flags :data:`_STREAM` and :data:`_FIELDS` (see :meth:`DuckDBEngine.group`)."""
_SUB: Final = 1 << 12


def summarize_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    mode: ValidationMode = "auto",
    strict: bool = False,
    on_error: Callable[[InputError], object] | None = None,
    on_verdict: Callable[[Verdict], object] | None = None,
    every_verdict: bool = False,
    input_format: str = "auto",
    linger: int = DEFAULT_LINGER,
    check_fields: bool = True,
    sort_by: str | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    temp_directory: str | None = None,
    threads: int | None = None,
    aliases: StatusAliases | None = None,
    lifecycle: Lifecycle[Any] | str | None = None,
    on_progress: Callable[[int, int], object] | None = None,
) -> Summary:
    """:func:`runfsm.validation.summarize_paths` with DuckDB reading and grouping: the same summary and verdicts.

    ``lifecycle`` is whose records the inputs hold, as for ``summarize_paths``: a Lifecycle, a
    preset's key, or ``"auto"`` (detected from the records' ``object`` field); the run by default.
    ``on_progress(done, total)`` is told, a few times a second while the inputs are read (from
    another thread), how many of their bytes are read (see
    :mod:`~runfsm.validation.engines.progress`); grouping and judging come after.
    """
    from runfsm.validation import check_options  # noqa: PLC0415

    check_options(mode=mode, linger=linger)
    paths = path_list(paths)
    lc = resolve_lifecycle(lifecycle, paths)
    settings: dict[str, Any] = {"mode": mode, "strict": strict, "check_fields": check_fields, "linger": linger}
    settings |= {"memory_limit": memory_limit, "temp_directory": temp_directory, "threads": threads}
    settings |= {"input_format": input_format, "sort_by": sort_by, "lifecycle": lc}
    read_progress = None
    if on_progress is not None:
        from runfsm.validation.engines.progress import ReadProgress  # noqa: PLC0415

        settings["progress"] = read_progress = ReadProgress(on_progress)
    options: dict[str, Any] = {"mode": mode, "strict": strict, "check_fields": check_fields}
    options |= {"every_verdict": every_verdict, "aliases": aliases}
    python: dict[str, Any] = {"input_format": input_format, "sort_by": sort_by, "linger": linger, "lifecycle": lc}
    # unsorted, no late record comes past its run's window (checked): keep every run to the end
    kept = linger if sort_by is not None else None

    def judged(engine: DuckDBEngine, held: HeldCallbacks) -> Summary | None:
        """The summary; None when the python engine's answer is the one to give.

        That is when DuckDB read no input (the engine would only hand the records on, at more
        cost), when a late record comes too late to be sure of a history, or when a run id is no
        UTF-8 text (see :meth:`DuckDBEngine.group`).
        """
        if engine.read_none or not engine.group():
            return None
        return judge_groups(engine, lifecycle=lc, linger=kept, on_verdict=held.verdict, on_error=held.error, **options)

    def python_answer() -> Summary:
        names = expand_paths(paths)
        summary = python_engine(names, **options, **python, on_verdict=on_verdict, on_error=on_error)
        if read_progress is not None:  # the python engine read them all (it tells records, not bytes)
            read_progress.plan(names)
            for index in range(len(names)):
                read_progress.read(index)
        return summary

    # the lines are counted while the runs are judged, and what the judge reports is held until they
    # are (HELD_AT_MOST of it: then the count is waited for); if an input's rows were not its lines
    # (a blank line), they are numbered by their lines and the runs judged again
    engine = DuckDBEngine(**settings, defer_counts=True)
    try:
        engine.read(paths, unless_python_only=True)
        for _ in range(2):  # after renumber(), every count is confirmed
            held = HeldCallbacks(on_verdict, on_error, settle=engine.counts_confirmed)
            try:
                summary = judged(engine, held)
                if summary is None:
                    return python_answer()
                if engine.counts_confirmed():
                    summary.sources = engine.counts
                    held.release()
                    return summary
            except Unsettled:
                pass  # more to report than is held, and the rows were not the lines
            if not engine.renumber():
                break
    finally:
        engine.close()
    # rows that cannot be numbered by their lines (odd lines: a lone carriage return, a line too long, NaN): again,
    # counting first (the python reader then reads such an input)
    engine = DuckDBEngine(**settings)
    try:
        engine.read(paths, unless_python_only=True)
        summary = judged(engine, HeldCallbacks(on_verdict, on_error))
        if summary is None:
            return python_answer()
        summary.sources = engine.counts
        return summary
    finally:
        engine.close()
