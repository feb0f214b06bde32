"""How the ``duckdb`` engine reads its inputs: DuckDB stages the plain records, the python reader the rest.

For each JSON Lines input (plain, ``.gz`` or ``.zst``) DuckDB's JSON reader reads the fields a
verdict needs (:mod:`~runfsm.validation.engines.jsonl_sql`), and each line is classified in SQL:
a *plain* record (a run object, a stream event of a run or a client call, whose status spelling
and field invariants the SQL derived in :mod:`runfsm.validation.engines.sql` settles), or
*residue*: anything else (malformed JSON, compact runs, ``runs.list`` pages, other events,
unknown statuses, fields that may break an invariant). Residue lines are read again, with their
text, by the python engine's own line parser, so that their records and their ``FILE:LINE``
errors are exactly the python engine's. The first read does not tolerate errors (DuckDB's reader
is about a fifth faster so); an input with a line that is no JSON object is read once more,
tolerating them (at once when its last line is no JSON object: a log cut while written). Small
inputs are read together, in one query (:mod:`~runfsm.validation.engines.batched`): planning a
query costs about 15 ms, which would be most of the time on a directory of small logs.

Every row must have its line number, and DuckDB's rows skip blank lines: the lines are counted
(:mod:`~runfsm.validation.engines.lines`) and the blank ones found when the counts differ. When
DuckDB's rows are all plain records, they may be taken for the lines and counted while the runs
are judged (``defer_counts``; :meth:`StagedInputs.counts_confirmed` says whether they were).
When the two disagree otherwise (a lone carriage return, a line longer than the python reader
reads, a line holding ``NaN`` or ``Infinity``, which DuckDB's reader reads as numbers, a line
DuckDB's reader splits or skips where Python's does not), the input is read by the python
reader, as are the inputs DuckDB does not read (CSV, SSE, unknown formats, unreadable files).
Parquet inputs are read as rows of ``run_id`` (or ``id``) and ``status`` columns (a status, or a
client call), located as ``FILE:ROW``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypedDict

from runfsm.validation.compressed import READ_ERRORS
from runfsm.validation.engines.batched import BATCH_FILE_BYTES, MIN_BATCH, BatchInput, read_batch
from runfsm.validation.engines.inputs import (
    DEFAULT_MEMORY_LIMIT,
    MAX_THREADS,
    cell_items,
    check_memory_limit,
    expand_paths,
)
from runfsm.validation.engines.jsonl_sql import classify_sql, reader_columns
from runfsm.validation.engines.lines import (
    LineScan,
    blank_lines,
    count_lines,
    ends_blank,
    ends_with_object,
    in_reading_order,
    scan_lines,
    sniff,
)
from runfsm.validation.engines.sql import CALL_CODES, case_of, literal, sql_for
from runfsm.validation.formats.base import MAX_LINE_BYTES, Source
from runfsm.validation.formats.jsonl import parse_jsonl_line
from runfsm.validation.records import read_items
from runfsm.validation.summary import LineCounts
from runfsm.verdict import Location

if TYPE_CHECKING:
    from collections.abc import Iterable

    import duckdb as duckdb_

    from runfsm.lifecycle import Lifecycle
    from runfsm.validation.engines.progress import ReadProgress
    from runfsm.validation.formats.base import Item
    from runfsm.validation.ledger import ValidationMode

__all__ = ["FILE_SHIFT", "ROW_MASK", "StagedInputs", "StagingOptions"]


FILE_SHIFT: Final = 32
"""A record's position is ``file index << 32 | row``: input order across files."""
ROW_MASK: Final = (1 << FILE_SHIFT) - 1
"""A position's row (its line, for JSON Lines)."""


@dataclass
class _Input:
    """One input file, and whether DuckDB read it."""

    index: int
    name: str
    rows: bool = True
    """True when DuckDB read it (False: the python reader did)."""
    part: int = -1
    """Its place in :attr:`StagedInputs.parts` (when DuckDB read it)."""
    path: str = ""
    """The name DuckDB opens it by (a link without glob characters when its own name has some)."""


class StagingOptions(TypedDict, total=False):
    """The keywords of :class:`StagedInputs` (an engine built on it passes them on)."""

    mode: ValidationMode
    check_fields: bool
    memory_limit: str
    temp_directory: str | None
    threads: int | None
    input_format: str
    sort_by: str | None
    lifecycle: Lifecycle[Any] | None
    defer_counts: bool
    progress: ReadProgress | None


class StagedInputs:
    """Inputs read into a DuckDB connection (in memory, spilling to ``temp_directory``).

    The plain records DuckDB read are staged tables (the view ``rows`` of the engine is the union
    of :attr:`parts`); what the python reader gave is :attr:`items`, by position.
    """

    def __init__(
        self,
        *,
        mode: ValidationMode = "auto",
        check_fields: bool = True,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        temp_directory: str | None = None,
        threads: int | None = None,
        input_format: str = "auto",
        sort_by: str | None = None,
        lifecycle: Lifecycle[Any] | None = None,
        defer_counts: bool = False,
        progress: ReadProgress | None = None,
    ) -> None:
        """``progress``: told how far the reading is (see :mod:`~runfsm.validation.engines.progress`)."""
        import duckdb  # noqa: PLC0415  (the duckdb extra)

        limit = check_memory_limit(memory_limit)  # before DuckDB reads its own meaning into it
        if threads is not None and (type(threads) is not int or not 1 <= threads <= MAX_THREADS):
            raise ValueError(f"threads must be an integer from 1 to {MAX_THREADS:,}, got {threads!r}")
        self.defer_counts = defer_counts
        """Count an input's lines while the rest of the work goes on, when DuckDB's rows are all records:
        its rows are taken for its lines, and :meth:`counts_confirmed` says whether they were."""
        self._pool = ThreadPoolExecutor(1)
        self._pending: list[tuple[_Input, LineCounts, Future[tuple[int, int]]]] = []
        """The inputs whose rows were taken for their lines, their counts, and their lines counted meanwhile."""
        self._unconfirmed: list[tuple[_Input, LineCounts, int]] = []
        """Of those, the ones whose count did not confirm it, and their odd lines (-1: its bytes cannot be read)."""
        self.sql = sql_for(lifecycle)
        """What the SQL needs of the lifecycle whose records the inputs hold (the Assistants run by default)."""
        self.lifecycle = self.sql.lifecycle
        self.mode = mode
        self.sort_by = sort_by
        self.check_fields = check_fields
        self.input_format = input_format
        self.con: duckdb_.DuckDBPyConnection = duckdb.connect(":memory:")
        self.con.execute(f"SET memory_limit = {literal(limit)}")
        self.temp_directory = temp_directory or tempfile.gettempdir()
        self.con.execute(f"SET temp_directory = {literal(self.temp_directory)}")
        self._links: str | None = None
        """The directory of links to inputs whose names DuckDB would read as patterns (see _openable)."""
        self.con.execute("SET preserve_insertion_order = true")
        self.con.execute("SET enable_progress_bar = false")  # a library's queries draw nothing on the terminal
        if threads is not None:
            self.con.execute(f"SET threads = {int(threads)}")
        self.progress = progress
        if progress is not None:
            progress.attach(self.con)
        self.con.execute(
            "CREATE TEMP TABLE rows_parquet (pos BIGINT, rid VARCHAR, code UTINYINT, stream BOOLEAN, fields VARCHAR, "
            "ts DOUBLE, unclean BOOLEAN)"
        )
        self.parts: list[str] = ["SELECT * FROM rows_parquet"]
        """The queries whose rows are the plain records (``pos`` first), one per JSON Lines input read."""
        self.inputs: list[_Input] = []
        self.items: list[tuple[int, Item]] = []
        """Items the python reader gave (residue lines, inputs DuckDB does not read), by position."""
        self.counts: list[LineCounts] = []
        """Where each input's lines went (the python engine's counts), in input order."""

    # -- reading

    def read(self, paths: Iterable[str | os.PathLike[str]], *, unless_python_only: bool = False) -> None:
        """Read the inputs (files, directories, globs) into the rows table and the python items.

        The inputs DuckDB does not read are read by the python reader, last. With
        ``unless_python_only``, not when DuckDB read none of the inputs (:attr:`read_none`): the
        python engine's answer is then the one to give, and this engine would only cost more.
        """
        postponed: list[_Input] = []
        names = expand_paths(paths)
        if self.progress is not None:
            self.progress.plan(names)
        kinds: list[str | None] = []
        for name in names:
            entry = _Input(len(self.inputs), name)
            self.inputs.append(entry)
            # a pipe or a device can be read once: by the python reader (sniffing would eat its start)
            regular = os.path.isfile(name)
            kind = sniff(name) if regular and self.input_format in ("auto", "jsonl") else None
            if kind in ("jsonl", "parquet"):
                entry.path = self._openable(entry)
                kind = kind if entry.path else None  # no link to it could be made: the python reader's
            kinds.append(kind)
        batched = self._read_batch([e for e, kind in zip(self.inputs, kinds, strict=True) if kind == "jsonl"])
        for entry, kind in zip(self.inputs, kinds, strict=True):
            if entry.index in batched:
                self.counts.append(batched[entry.index])
                continue
            with self._reading(entry, kind is not None):
                if kind == "jsonl" and self._read_jsonl(entry):
                    self._read(entry)
                    continue
                if kind == "parquet" and self.input_format == "auto":
                    self._read_parquet(entry)
                    self._read(entry)
                    continue
            entry.rows = False
            postponed.append(entry)
        if postponed and not (unless_python_only and self.read_none):
            read_by_duckdb = iter(self.counts)  # one LineCounts per input, in input order
            for entry in postponed:
                self._read_python(entry)
                self._read(entry)
            by_python = iter(self.counts[len(self.inputs) - len(postponed) :])
            self.counts = [next(read_by_duckdb) if entry.rows else next(by_python) for entry in self.inputs]

    def _reading(self, entry: _Input, queried: bool) -> contextlib.AbstractContextManager[None]:
        """While DuckDB reads an input (``queried``): its progress followed, when it is to be told."""
        if self.progress is None or not queried:
            return contextlib.nullcontext()
        return self.progress.reading(entry.index)

    def _read_batch(self, candidates: list[_Input]) -> dict[int, LineCounts]:
        """Read the small JSON Lines inputs in one query (:mod:`~runfsm.validation.engines.batched`).

        The counts of the inputs taken from the batch, by index; the others are read on their own.
        """
        small = [entry for entry in candidates if _size(entry.name) <= BATCH_FILE_BYTES]
        if len(small) < MIN_BATCH:
            return {}

        def classify(names: str, tolerant: bool) -> str:
            return self._classified(names, tolerant, carry="file_index")

        inputs = [BatchInput(entry.index, entry.name, entry.path) for entry in small]
        progress = self.progress.reading(*(e.index for e in small)) if self.progress else contextlib.nullcontext()
        with progress:
            batch = read_batch(self.con, self._pool, inputs, classify, "stage_batch")
        if batch is None:
            return {}
        taken: dict[int, LineCounts] = {}
        for entry in small:
            if entry.index not in batch.taken:
                continue
            rows = batch.taken[entry.index]
            counts = LineCounts(entry.name, lines=rows.rows, in_records=rows.rows - len(rows.residue))
            try:
                items = self._python_lines(entry, rows.residue, counts)
            except READ_ERRORS:
                items = None
            if items is None:
                continue  # read on its own
            self.items.extend(items)
            taken[entry.index] = counts
        if not taken:
            self.con.execute("DROP TABLE stage_batch")
            return {}
        part = batch.part(self.con, sorted(taken), FILE_SHIFT)
        for index in taken:
            self.inputs[index].part = len(self.parts)
            self._read(self.inputs[index])
        self.parts.append(part)
        return taken

    def _read(self, entry: _Input) -> None:
        if self.progress is not None:
            self.progress.read(entry.index)

    @property
    def read_none(self) -> bool:
        """True when there are inputs and DuckDB read none of them (each one the python reader's)."""
        return bool(self.inputs) and not any(entry.rows for entry in self.inputs)

    def _openable(self, entry: _Input) -> str:
        """The name DuckDB is to open an input by: its own, or a link to it when that has glob characters.

        DuckDB reads ``*``, ``?`` and ``[`` in a file name as a pattern (``runs[1].jsonl`` would
        read ``runs1.jsonl``) and cannot be told otherwise, so such a file is read through a
        symbolic link in a directory of this engine's (named with its compression's suffix, which
        tells DuckDB how to read it).
        "" when no link can be made.
        """
        name = entry.name
        if not _GLOB_CHARS & set(name):
            return name
        try:
            if self._links is None:
                self._links = tempfile.mkdtemp(prefix="runfsm-inputs-", dir=self.temp_directory)
            compression = next((c for c in (".gz", ".zst") if name.endswith(c)), "")
            link = os.path.join(self._links, f"{entry.index}.input{compression}")
            os.symlink(os.path.abspath(name), link)
        except OSError:
            return ""
        return link

    def _read_python(self, entry: _Input) -> None:
        base = entry.index << FILE_SHIFT
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

        con = self.con
        stage = f"stage_{entry.index}"
        whole = ends_with_object(entry.name)
        # counted meanwhile, unless counted later (defer_counts): numpy and reads let the GIL go
        counted = None if self.defer_counts and whole else self._pool.submit(count_lines, entry.name)
        for tolerant in (False, True) if whole else (True,):
            sql = self._classified(literal(entry.path), tolerant)
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
            entry.part = len(self.parts)
            self.parts.append(self._part(entry, "rowid + 1", stage))
            self.counts.append(counts)
            return True
        taken = False
        try:
            total, odd = counted.result() if counted is not None else count_lines(entry.name)
            taken = self._take_stage(entry, stage, rows, total, odd)
            return taken
        except READ_ERRORS:  # its bytes cannot all be read (cut short, damaged): the python reader says where
            return False
        finally:
            if not taken:
                con.execute(f"DROP TABLE IF EXISTS {stage}")
                con.execute(f"DROP TABLE IF EXISTS {stage}_lines")

    def _classified(self, files: str, tolerant: bool, carry: str = "") -> str:
        """The SQL of the classified rows DuckDB's JSON reader reads of ``files`` (a file's name, or a list, as SQL).

        ``tolerant``: lines that are no JSON object are rows (residue) instead of errors. ``carry``:
        see :func:`~runfsm.validation.engines.jsonl_sql.classify_sql`.
        """
        columns = reader_columns(self.sort_by, self.sql, self.check_fields)
        reader = (
            f"read_json({files}, columns={{{columns}}}, format='newline_delimited', "
            f"ignore_errors={str(tolerant).lower()}, maximum_object_size={MAX_LINE_BYTES + 1})"
        )
        return classify_sql(reader, self.mode, self.check_fields, self.sort_by, self.sql, carry=carry)

    def counts_confirmed(self) -> bool:
        """True when each input whose rows were taken for its lines has those lines (see ``defer_counts``).

        Blank lines at the very end of the last input are fine (no row comes after them): they are
        counted as skipped. False when an input has another blank line (DuckDB's rows skip it, so
        the rows after it are not at their lines) or odd lines (a lone carriage return, a line too
        long for the python reader, ``NaN``; see :func:`~runfsm.validation.engines.lines.count_lines`):
        the rows are then numbered again (:meth:`renumber`), or the work done again without ``defer_counts``.
        """
        pending, self._pending = self._pending, []
        last = len(self.inputs) - 1
        for entry, counts, future in pending:
            try:
                total, odd = future.result()
            except READ_ERRORS:  # its bytes cannot all be read: it is the python reader's (see renumber)
                self._unconfirmed.append((entry, counts, -1))
                continue
            blank = total - counts.lines
            if odd or blank < 0 or (blank and (entry.index != last or not ends_blank(entry.name, blank))):
                self._unconfirmed.append((entry, counts, odd))
                continue
            counts.lines, counts.skipped = total, blank
        return not self._unconfirmed

    def renumber(self) -> bool:
        """Number by their lines the rows of the inputs :meth:`counts_confirmed` found blank lines in.

        Their staged rows stay (DuckDB does not read them again): each row's line is its place
        among the rows plus the blank lines before it. False when some input cannot be numbered
        so (odd lines, or DuckDB's rows are not the lines that are not blank): the
        work must be done again without ``defer_counts``. Group and judge again after it.
        """
        unconfirmed, self._unconfirmed = self._unconfirmed, []
        for entry, counts, odd in unconfirmed:
            try:
                blanks = None if odd else _blank_lines(entry.name, counts.in_records)
            except READ_ERRORS:
                blanks = None
            if blanks is None:
                return False
            line, staged = self._numbered(entry, blanks)
            self.parts[entry.part] = self._part(entry, line, staged)
            counts.lines, counts.skipped = blanks.lines, len(blanks.blanks)
        return True

    def _numbered(self, entry: _Input, scan: LineScan) -> tuple[str, str]:
        """The SQL of a staged row's line, and of the rows it is of, given the input's blank lines.

        A few blank lines: the row's place plus the blank lines before it (the ``k``-th blank
        line, from 0, comes before the rows from ``blank - k`` on). Many: a table of the lines.
        """
        stage = f"stage_{entry.index}"
        if len(scan.blanks) <= _FEW_BLANKS:
            after = (blank - k for k, blank in enumerate(scan.blanks))
            return "rowid + 1" + "".join(f" + (rowid + 1 >= {n})::BIGINT" for n in after), stage
        blank = set(scan.blanks)
        lines = [n for n in range(1, scan.lines + 1) if n not in blank]
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {stage}_lines AS SELECT unnest($1::BIGINT[]) AS line", [lines])
        return "line", f"{stage} POSITIONAL JOIN {stage}_lines"

    @staticmethod
    def _part(entry: _Input, line: str, staged: str) -> str:
        """The plain records of a staged input, each at its position (``line``: the SQL of its line)."""
        base = entry.index << FILE_SHIFT
        return (
            f"SELECT {base} + {line} AS pos, rid, code, stream, fields, ts, unclean FROM {staged} WHERE rid IS NOT NULL"
        )

    def _take_stage(self, entry: _Input, stage: str, rows: int, total: int, odd: int) -> bool:
        """Number the ``rows`` staged rows by their lines (``total`` of them), read the residue with the python parser.

        The staged table stays: its plain rows are the input's part of :attr:`parts` (no copy).
        """
        con = self.con
        if odd:  # a lone CR ends a line for the python reader, never for DuckDB's; a long line it reports
            return False
        counts = LineCounts(entry.name, lines=rows)
        line = "rowid + 1"
        staged = stage
        if rows != total:
            # blank lines, which DuckDB's rows skip: number the rows by their lines
            scan = _blank_lines(entry.name, rows)
            if scan is None:
                return False  # DuckDB's rows are not the lines: the python reader reads it
            counts.lines, counts.skipped = scan.lines, len(scan.blanks)
            line, staged = self._numbered(entry, scan)
        residue = {n for (n,) in con.execute(f"SELECT {line} FROM {staged} WHERE rid IS NULL").fetchall()}
        counts.in_records = rows - len(residue)  # a plain row is a record
        items = self._python_lines(entry, residue, counts)
        if items is None:
            return False
        entry.part = len(self.parts)
        self.parts.append(self._part(entry, line, staged))
        self.items.extend(items)
        self.counts.append(counts)
        return True

    def _python_lines(self, entry: _Input, lines: set[int], counts: LineCounts) -> list[tuple[int, Item]] | None:
        """The items of these ``lines`` of a JSON Lines input, by the python parser; None if they cannot be fetched.

        Their counts are merged into ``counts``.
        """
        items: list[tuple[int, Item]] = []
        if not lines:
            return items
        scan = scan_lines(entry.name, lines)
        if scan is None:
            return None
        base = entry.index << FILE_SHIFT
        src = Source(entry.name, self.sort_by, lifecycle=self.lifecycle)
        for n, chunk in scan.texts:  # no error budget: every line is read (and each error reported)
            found_items = list(parse_jsonl_line(chunk, src, n))
            src.settle(found_items, 1)
            items.extend((base + n, item) for item in found_items)
        counts.merge(src.counts)
        return items

    def _read_parquet(self, entry: _Input) -> None:
        """Rows of ``run_id`` (or ``id``) and ``status`` (a status or a client call), located as FILE:ROW.

        A file DuckDB cannot read as Parquet (cut short, damaged) is an input error, its rows not read.
        """
        import duckdb  # noqa: PLC0415

        from runfsm.exceptions import InputError  # noqa: PLC0415

        try:
            self._read_parquet_rows(entry)
        except duckdb.Error as err:
            base = entry.index << FILE_SHIFT
            self.con.execute(f"DELETE FROM rows_parquet WHERE pos >> {FILE_SHIFT} = {entry.index}")
            self.items = [(pos, item) for pos, item in self.items if pos >> FILE_SHIFT != entry.index]
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            self.items.append((base, InputError(f"cannot read as Parquet: {message}", source=entry.name)))
            self.counts.append(LineCounts(entry.name))

    def _read_parquet_rows(self, entry: _Input) -> None:
        from runfsm.exceptions import InputError  # noqa: PLC0415

        con = self.con
        source = f"read_parquet({literal(entry.path)}, file_row_number = true)"
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({literal(entry.path)})").fetchall()]
        id_column = "run_id" if "run_id" in names else "id" if "id" in names else None
        if id_column is None or "status" not in names or self.sort_by is not None:
            message = (
                "--sort-by is not available for Parquet inputs; order the rows instead"
                if self.sort_by is not None
                else f"a Parquet input needs a 'run_id' (or 'id') and a 'status' column; it has {', '.join(names)}"
            )
            self.items.append((entry.index << FILE_SHIFT, InputError(message, source=entry.name)))
            self.counts.append(LineCounts(entry.name))
            return
        base = entry.index << FILE_SHIFT
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
        plain = con.execute(f"SELECT count(*) FROM rows_parquet WHERE pos >> {FILE_SHIFT} = {entry.index}").fetchone()
        src.counts.in_records += plain[0] if plain is not None else 0
        src.counts.lines = src.counts.in_records + src.counts.skipped + src.counts.errors
        self.counts.append(src.counts)

    def location(self, position: int) -> Location:
        """Where the record at ``position`` is: FILE:LINE."""
        return Location(self.inputs[position >> FILE_SHIFT].name, position & ROW_MASK)

    def close(self) -> None:
        """Let DuckDB go (its temporary tables and spill files with it)."""
        self._pool.shutdown(cancel_futures=True)
        self.con.close()
        if self._links is not None:
            shutil.rmtree(self._links, ignore_errors=True)


_GLOB_CHARS: Final = frozenset("*?[")
"""What makes DuckDB read a file name as a pattern."""
_FEW_BLANKS: Final = 32
"""Up to this many blank lines, a row's line is computed from its place (else a table of the lines)."""


def _size(name: str) -> int:
    try:
        return os.path.getsize(name)
    except OSError:
        return BATCH_FILE_BYTES + 1  # read on its own: its reader says what is wrong


def _blank_lines(name: str, rows: int) -> LineScan | None:
    """The lines and blank lines of an input whose ``rows`` staged rows are its other lines; None if they are not.

    The short lines are looked at first (:func:`~runfsm.validation.engines.lines.blank_lines`),
    every line when that does not account for the rows.
    """
    scan = blank_lines(name)
    if len(scan.blanks) + rows == scan.lines:
        return scan
    every = scan_lines(name, None)
    return every if every is not None and len(every.blanks) + rows == every.lines else None
