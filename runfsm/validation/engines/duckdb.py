"""The ``duckdb`` engine: DuckDB reads and groups, runfsm's judge decides (the ``[duckdb]`` extra).

For each JSON Lines input (plain, ``.gz`` or ``.zst``) DuckDB's JSON reader reads the fields a
verdict needs (:mod:`~runfsm.validation.engines.jsonl_sql`), and each line is classified in SQL:
a *plain* record (a run object, a stream event of a run or a client call, whose status spelling
and field invariants the SQL derived in :mod:`runfsm.validation.engines.sql` settles), or
*residue*: anything else (malformed JSON, compact runs, ``runs.list`` pages, other events,
unknown statuses, fields that may break an invariant). Residue lines are read again, with their
text, by the python engine's own line parser, so that their records and their ``FILE:LINE``
errors are exactly the python engine's. The first read does not tolerate errors (DuckDB's reader
is about a fifth faster so); an input with a line that is no JSON object is read once more,
tolerating them.

Every row must have its line number, and DuckDB's rows skip blank lines: the lines are counted
(:mod:`~runfsm.validation.engines.lines`) and the blank ones found when the counts differ. When
DuckDB's rows are all plain records, they are taken for the lines and counted while the runs are
judged; what the judge reports is held until the count agrees, and when it does not (a blank
line) the validation is done again, counting first. When the two disagree otherwise (a line
DuckDB's reader splits or skips where Python's does not), the input is read by the python reader.

Runs are then grouped in SQL in input order; :func:`~runfsm.validation.engines.judging.judge_groups`
judges each distinct shape once and replays the few complex runs through the ledger. Inputs the
engine does not read itself (CSV, SSE, unknown formats, unreadable files) go through the python
reader; their runs are judged with the rest. Parquet inputs are read as rows of ``run_id`` (or
``id``) and ``status`` columns (a status, or a client call), located as ``FILE:ROW``.

Memory: DuckDB works within ``memory_limit`` and spills to ``temp_directory``, so inputs larger
than memory are fine. Known differences from the python engine, on input no API writes: a
duplicate key keeps its first value (Python its last), and ``NaN`` or ``Infinity`` (not JSON)
are read (Python reports the line).
"""

from __future__ import annotations

import heapq
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from runfsm.status import TOOL_CALLS_FIELD
from runfsm.validation.engines.inputs import DEFAULT_MEMORY_LIMIT, cell_items, expand_paths
from runfsm.validation.engines.jsonl_sql import classify_sql, reader_columns
from runfsm.validation.engines.judging import HeldCallbacks, Unsettled, in_run_order, judge_groups, python_engine
from runfsm.validation.engines.lines import (
    count_lines,
    ends_blank,
    ends_with_object,
    in_reading_order,
    scan_lines,
    sniff,
)
from runfsm.validation.engines.lingering import within_linger
from runfsm.validation.engines.sql import CALL_CODES, case_of, encode_shape, literal, sql_for
from runfsm.validation.formats.base import (
    MAX_LINE_BYTES,
    ObservedMode,
    Record,
    Source,
    exact_fields,
    loads_fields,
)
from runfsm.validation.formats.jsonl import parse_jsonl_line
from runfsm.validation.ledger import DEFAULT_LINGER
from runfsm.validation.records import read_items, resolve_lifecycle
from runfsm.validation.shapes import CODE_CALL, SUBMIT_CODE
from runfsm.validation.summary import LineCounts
from runfsm.verdict import Location

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Iterator

    import duckdb as duckdb_

    from runfsm.exceptions import InputError
    from runfsm.lifecycle import Lifecycle
    from runfsm.status import StatusAliases
    from runfsm.validation.engines.judging import ShapeKey
    from runfsm.validation.formats.base import Item
    from runfsm.validation.ledger import ValidationMode
    from runfsm.validation.summary import Summary
    from runfsm.verdict import Verdict

__all__ = ["DuckDBEngine", "summarize_paths"]


_FILE_SHIFT: Final = 32
"""A record's position is ``file index << 32 | row``: input order across files."""


@dataclass
class _Input:
    """One input file, and whether DuckDB read it."""

    index: int
    name: str
    rows: bool = True
    """True when DuckDB read it (False: the python reader did)."""


class DuckDBEngine:
    """One validation on a DuckDB connection (in memory, spilling to ``temp_directory``)."""

    def __init__(
        self,
        *,
        mode: ValidationMode = "auto",
        strict: bool = False,
        check_fields: bool = True,
        linger: int = DEFAULT_LINGER,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        temp_directory: str | None = None,
        threads: int | None = None,
        input_format: str = "auto",
        sort_by: str | None = None,
        lifecycle: Lifecycle[Any] | None = None,
        defer_counts: bool = False,
    ) -> None:
        import duckdb  # noqa: PLC0415  (the duckdb extra)

        self.defer_counts = defer_counts
        """Count an input's lines while the rest of the work goes on, when DuckDB's rows are all records:
        its rows are taken for its lines, and :meth:`counts_confirmed` says whether they were."""
        self._pool = ThreadPoolExecutor(1)
        self._pending: list[tuple[_Input, LineCounts, Future[tuple[int, int]]]] = []
        """The inputs whose rows were taken for their lines, their counts, and their lines counted meanwhile."""
        self.sql = sql_for(lifecycle)
        """What the SQL needs of the lifecycle whose records the inputs hold (the Assistants run by default)."""
        self.lifecycle = self.sql.lifecycle
        self.mode = mode
        self.sort_by = sort_by
        self.strict = strict
        self.check_fields = check_fields
        self.linger = linger
        self.input_format = input_format
        self.con: duckdb_.DuckDBPyConnection = duckdb.connect(":memory:")
        self.con.execute(f"SET memory_limit = {literal(memory_limit)}")
        self.con.execute(f"SET temp_directory = {literal(temp_directory or tempfile.gettempdir())}")
        self.con.execute("SET preserve_insertion_order = true")
        self.con.execute("SET enable_progress_bar = false")  # a library's queries draw nothing on the terminal
        if threads is not None:
            self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute(
            "CREATE TEMP TABLE rows_parquet (pos BIGINT, rid VARCHAR, code UTINYINT, stream BOOLEAN, fields VARCHAR, "
            "ts DOUBLE, unclean BOOLEAN)"
        )
        self.parts: list[str] = ["SELECT * FROM rows_parquet"]
        """The queries whose rows are the plain records (``pos`` first), one per JSON Lines input read:
        the view ``rows`` is their union (see :meth:`group`)."""
        self.inputs: list[_Input] = []
        self.items: list[tuple[int, Item]] = []
        """Items the python reader gave (residue lines, inputs DuckDB does not read), by position."""
        self.counts: list[LineCounts] = []
        """Where each input's lines went (the python engine's counts), in input order."""
        self.histories: dict[ShapeKey, list[list[int]]] = {}
        """The histories (flagged codes) of the simple runs, by their shape."""
        self.complex_histories: list[list[int]] = []
        """The histories of runs with fields to check (the ledger judges them)."""

    # -- reading

    def read(self, paths: Iterable[str | os.PathLike[str]], *, unless_python_only: bool = False) -> None:
        """Read the inputs (files, directories, globs) into the rows table and the python items.

        The inputs DuckDB does not read are read by the python reader, last. With
        ``unless_python_only``, not when DuckDB read none of the inputs (:attr:`read_none`): the
        python engine's answer is then the one to give, and this engine would only cost more.
        """
        postponed: list[_Input] = []
        for name in expand_paths(paths):
            entry = _Input(len(self.inputs), name)
            self.inputs.append(entry)
            kind = sniff(name) if self.input_format in ("auto", "jsonl") else None
            if kind == "jsonl" and self._read_jsonl(entry):
                continue
            if kind == "parquet" and self.input_format == "auto":
                self._read_parquet(entry)
                continue
            entry.rows = False
            postponed.append(entry)
        if postponed and not (unless_python_only and self.read_none):
            read_by_duckdb = iter(self.counts)  # one LineCounts per input, in input order
            for entry in postponed:
                self._read_python(entry)
            by_python = iter(self.counts[len(self.inputs) - len(postponed) :])
            self.counts = [next(read_by_duckdb) if entry.rows else next(by_python) for entry in self.inputs]

    @property
    def read_none(self) -> bool:
        """True when there are inputs and DuckDB read none of them (each one the python reader's)."""
        return bool(self.inputs) and not any(entry.rows for entry in self.inputs)

    def _read_python(self, entry: _Input) -> None:
        base = entry.index << _FILE_SHIFT
        items = read_items(
            [entry.name],
            input_format=self.input_format,  # type: ignore[arg-type]  # checked by the caller
            sort_by=self.sort_by,
            compact=False,
            on_counts=self.counts.append,
            lifecycle=self.lifecycle,
        )
        self.items.extend(in_reading_order(base, items))

    def _read_jsonl(self, entry: _Input) -> bool:
        """Read one JSON Lines input with DuckDB; False if it must be read by the python reader.

        The first pass does not tolerate errors (DuckDB's reader is about a fifth slower when it
        does); an input with a line that is not a JSON object is read once more, tolerating
        errors, so that such lines become residue rows for the python parser to report. An input
        whose last line is no JSON object (a log cut while it was written) is read tolerating
        errors at once, its lines counted meanwhile (they will be: the bad line is residue).
        """
        import duckdb  # noqa: PLC0415

        columns = reader_columns(self.sort_by, self.sql, self.check_fields)
        con = self.con
        stage = f"stage_{entry.index}"
        whole = ends_with_object(entry.name)
        # counted meanwhile, unless counted later (defer_counts): numpy and reads let the GIL go
        counted = None if self.defer_counts and whole else self._pool.submit(count_lines, entry.name)
        for tolerant in (False, True) if whole else (True,):
            reader = (
                f"read_json({literal(entry.name)}, columns={{{columns}}}, format='newline_delimited', "
                f"ignore_errors={str(tolerant).lower()}, maximum_object_size={MAX_LINE_BYTES + 1})"
            )
            sql = classify_sql(reader, self.mode, self.check_fields, self.sort_by, self.sql)
            try:
                # in parallel, in input order (preserve_insertion_order): a committed row's rowid is its
                # place among DuckDB's rows (outside a transaction: uncommitted rows have other rowids)
                con.execute(f"CREATE OR REPLACE TEMP TABLE {stage} AS {sql}")
                break
            except duckdb.Error:
                if tolerant:
                    return False  # not UTF-8, an object too large...: the python reader reports it
                if counted is None:  # a line that is no JSON object: residue, so the lines are counted
                    counted = self._pool.submit(count_lines, entry.name)
        found = con.execute(f"SELECT count(*), count(*) FILTER (WHERE rid IS NULL) FROM {stage}").fetchone()
        rows, residue = found if found is not None else (0, 0)
        if counted is None and residue == 0:
            # every row a record, each taken for a line (so no line is blank): checked once counted
            counts = LineCounts(entry.name, lines=rows, in_records=rows)
            self._pending.append((entry, counts, self._pool.submit(count_lines, entry.name)))
            self.parts.append(self._part(entry, "rowid + 1", stage))
            self.counts.append(counts)
            return True
        total, returns = counted.result() if counted is not None else count_lines(entry.name)
        taken = False
        try:
            taken = self._take_stage(entry, stage, rows, total, returns)
            return taken
        finally:
            if not taken:
                con.execute(f"DROP TABLE IF EXISTS {stage}")
                con.execute(f"DROP TABLE IF EXISTS {stage}_lines")

    def counts_confirmed(self) -> bool:
        """True when each input whose rows were taken for its lines has those lines (see ``defer_counts``).

        Blank lines at the very end of the last input are fine (no row comes after them): they are
        counted as skipped. False when an input has another blank line (DuckDB's rows skip it, so
        the rows after it are not at their lines) or a lone carriage return: the work must be done
        again without ``defer_counts``.
        """
        pending, self._pending = self._pending, []
        last = len(self.inputs) - 1
        for entry, counts, future in pending:
            total, returns = future.result()
            blank = total - counts.lines
            if returns or blank < 0 or (blank and (entry.index != last or not ends_blank(entry.name, blank))):
                return False
            counts.lines, counts.skipped = total, blank
        return True

    @staticmethod
    def _part(entry: _Input, line: str, staged: str) -> str:
        """The plain records of a staged input, each at its position (``line``: the SQL of its line)."""
        base = entry.index << _FILE_SHIFT
        return (
            f"SELECT {base} + {line} AS pos, rid, code, stream, fields, ts, unclean FROM {staged} WHERE rid IS NOT NULL"
        )

    def _take_stage(self, entry: _Input, stage: str, rows: int, total: int, returns: int) -> bool:
        """Number the ``rows`` staged rows by their lines (``total`` of them), read the residue with the python parser.

        The staged table stays: its plain rows are the input's part of :attr:`parts` (no copy).
        """
        con = self.con
        base = entry.index << _FILE_SHIFT
        if returns:  # a lone carriage return ends a line for the python reader, never for DuckDB's
            return False
        counts = LineCounts(entry.name, lines=rows)
        line = "rowid + 1"
        staged = stage
        if rows != total:
            # blank lines, which DuckDB's rows skip: number the rows by their lines
            scan = scan_lines(entry.name, None)
            if scan is None or len(scan.blanks) + rows != scan.lines:
                return False  # DuckDB's rows are not the lines: the python reader reads it
            blank = set(scan.blanks)
            counts.lines, counts.skipped = scan.lines, len(blank)
            lines = [n for n in range(1, scan.lines + 1) if n not in blank]
            con.execute(f"CREATE TEMP TABLE {stage}_lines AS SELECT unnest($1::BIGINT[]) AS line", [lines])
            line, staged = "line", f"{stage} POSITIONAL JOIN {stage}_lines"
        residue = {n for (n,) in con.execute(f"SELECT {line} FROM {staged} WHERE rid IS NULL").fetchall()}
        counts.in_records = rows - len(residue)  # a plain row is a record
        items: list[tuple[int, Item]] = []
        if residue:
            scan = scan_lines(entry.name, residue)
            if scan is None:
                return False
            src = Source(entry.name, self.sort_by, lifecycle=self.lifecycle)
            for n, chunk in scan.texts:  # no error budget: every line is read (and each error reported)
                found_items = list(parse_jsonl_line(chunk, src, n))
                src.settle(found_items, 1)
                items.extend((base + n, item) for item in found_items)
            counts.merge(src.counts)
        self.parts.append(self._part(entry, line, staged))
        self.items.extend(items)
        self.counts.append(counts)
        return True

    def _read_parquet(self, entry: _Input) -> None:
        """Rows of ``run_id`` (or ``id``) and ``status`` (a status or a client call), located as FILE:ROW."""
        from runfsm.exceptions import InputError  # noqa: PLC0415

        con = self.con
        source = f"read_parquet({literal(entry.name)}, file_row_number = true)"
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({literal(entry.name)})").fetchall()]
        id_column = "run_id" if "run_id" in names else "id" if "id" in names else None
        if id_column is None or "status" not in names or self.sort_by is not None:
            message = (
                "--sort-by is not available for Parquet inputs; order the rows instead"
                if self.sort_by is not None
                else f"a Parquet input needs a 'run_id' (or 'id') and a 'status' column; it has {', '.join(names)}"
            )
            self.items.append((entry.index << _FILE_SHIFT, InputError(message, source=entry.name)))
            self.counts.append(LineCounts(entry.name))
            return
        base = entry.index << _FILE_SHIFT
        rid = f'trim(CAST("{id_column}" AS VARCHAR))'
        cell = "trim(CAST(status AS VARCHAR))"
        code = case_of(cell, {**self.sql.status_codes, **CALL_CODES})
        stream = "TRUE" if self.mode == "stream" else "FALSE"
        unsettled = f"({code} IS NULL OR {rid} IS NULL OR {rid} = '')"
        con.execute(
            f"INSERT INTO rows_parquet SELECT {base} + file_row_number + 1, {rid}, {code}::UTINYINT, {stream}, "
            "NULL, NULL, FALSE "
            f"FROM {source} WHERE NOT {unsettled}"
        )
        rows = con.execute(
            f'SELECT file_row_number + 1, CAST(status AS VARCHAR), CAST("{id_column}" AS VARCHAR) '
            f"FROM {source} WHERE {unsettled} ORDER BY 1"
        ).fetchall()
        src = Source(entry.name, None, lifecycle=self.lifecycle)
        for row, status, run_id in rows:
            found_items = list(cell_items(entry.name, row, run_id, status, self.lifecycle))
            src.settle(found_items, 1)  # a Parquet input's rows are its lines
            self.items.extend((base + row, item) for item in found_items)
        plain = con.execute(f"SELECT count(*) FROM rows_parquet WHERE pos >> {_FILE_SHIFT} = {entry.index}").fetchone()
        src.counts.in_records += plain[0] if plain is not None else 0
        src.counts.lines = src.counts.in_records + src.counts.skipped + src.counts.errors
        self.counts.append(src.counts)

    # -- grouping

    def group(self) -> bool:
        """Group rows per run; False when a late record comes too late to be sure of its history.

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
            across = f"last >> {_FILE_SHIFT} <> first_end >> {_FILE_SHIFT}"
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
        return within_linger(first_ends, last_records, extras, lines, self.linger, shift=_FILE_SHIFT, sub=_SUB)

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

    def location(self, position: int) -> Location:
        """Where the record at ``position`` is: FILE:LINE."""
        return Location(self.inputs[position >> _FILE_SHIFT].name, position & _ROW_MASK)

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
                source = inputs[pos >> _FILE_SHIFT].name
                line = pos & _ROW_MASK
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

    def close(self) -> None:
        """Let DuckDB go (its temporary tables and spill files with it)."""
        self._pool.shutdown(cancel_futures=True)
        self.con.close()


_ROW_MASK: Final = (1 << _FILE_SHIFT) - 1
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
) -> Summary:
    """:func:`runfsm.validation.summarize_paths` with DuckDB reading and grouping: the same summary and verdicts.

    ``lifecycle`` is whose records the inputs hold, as for ``summarize_paths``: a Lifecycle, a
    preset's key, or ``"auto"`` (detected from the records' ``object`` field); the run by default.
    """
    lc = resolve_lifecycle(lifecycle, paths)
    settings: dict[str, Any] = {"mode": mode, "strict": strict, "check_fields": check_fields, "linger": linger}
    settings |= {"memory_limit": memory_limit, "temp_directory": temp_directory, "threads": threads}
    settings |= {"input_format": input_format, "sort_by": sort_by, "lifecycle": lc}
    options: dict[str, Any] = {"mode": mode, "strict": strict, "check_fields": check_fields}
    options |= {"every_verdict": every_verdict, "aliases": aliases}
    python: dict[str, Any] = {"input_format": input_format, "sort_by": sort_by, "linger": linger, "lifecycle": lc}
    # lines are counted while the runs are judged, and what the judge reports is held until they are
    # (HELD_AT_MOST of it: then the count is waited for); if an input's rows were not its lines (a
    # blank line), it is all done again, counting first
    for defer_counts in (True, False):
        engine = DuckDBEngine(**settings, defer_counts=defer_counts)
        held = HeldCallbacks(on_verdict, on_error, settle=engine.counts_confirmed if defer_counts else None)
        try:
            engine.read(paths, unless_python_only=True)
            # the python engine's answer when DuckDB read no input (it would only hand the records on,
            # at more cost), or when a late record comes too late to be sure of a history
            if engine.read_none or not engine.group():
                return python_engine(expand_paths(paths), **options, **python, on_verdict=on_verdict, on_error=on_error)
            # unsorted, no late record comes past its run's window (checked): keep every run to the end
            kept = linger if sort_by is not None else None
            summary = judge_groups(
                engine, lifecycle=lc, linger=kept, on_verdict=held.verdict, on_error=held.error, **options
            )
            if engine.counts_confirmed():
                summary.sources = engine.counts
                held.release()
                return summary
        except Unsettled:
            pass  # more to report than is held, and the rows were not the lines: again, counting first
        finally:
            engine.close()
    raise AssertionError("counting first, rows are always numbered by their lines")  # pragma: no cover
