"""Small JSON Lines inputs read by DuckDB in one query, each still located at its own ``FILE:LINE``.

Each query the ``duckdb`` engine runs is planned first, and planning the classification SQL
(:func:`~runfsm.validation.engines.jsonl_sql.classify_sql`) costs about 15 ms: a directory of
many small logs read one query per input spends most of its time planning. So inputs of at most
:data:`BATCH_FILE_BYTES` are read together, by one ``read_json`` over their list, each row
carrying the ``file_index`` of its input (DuckDB keeps each file's rows in order, one file after
another, under ``preserve_insertion_order``).

An input is taken from the batch when its rows are its lines: no blank line and no odd one
(:func:`~runfsm.validation.engines.lines.count_lines`), its bytes readable. A row's line is then
its ``rowid`` less the first ``rowid`` of its input, plus one. Its residue rows are left for the
python parser, as for an input read on its own. Every other input of the batch is read on its
own, as before (its blank lines numbered, or the python reader's), so the answers are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, NamedTuple

from runfsm.validation.compressed import READ_ERRORS
from runfsm.validation.engines.lines import count_lines, ends_with_object
from runfsm.validation.engines.sql import literal

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from concurrent.futures import Executor

    import duckdb as duckdb_

__all__ = ["BATCH_FILE_BYTES", "MIN_BATCH", "Batch", "BatchInput", "BatchRows", "read_batch"]

BATCH_FILE_BYTES: Final = 16 * 2**20
"""Inputs of at most this many bytes are read in one query (a larger one costs far more to read than to plan)."""
MIN_BATCH: Final = 2
"""A batch has at least this many inputs (one input is read on its own)."""


@dataclass(frozen=True)
class BatchInput:
    """An input to read in a batch: its index among the inputs, its name, the name DuckDB opens it by."""

    index: int
    name: str
    path: str


class BatchRows(NamedTuple):
    """Where an input's rows are in a batch's table: its ``file_index``, rows, first ``rowid`` and residue lines."""

    file_index: int
    rows: int
    start: int
    residue: set[int]


@dataclass
class Batch:
    """The staged rows of a batch (``table``, with ``file_index``), and the inputs whose rows are their lines.

    ``taken`` maps an input's index to where its rows are.
    """

    table: str
    taken: dict[int, BatchRows] = field(default_factory=dict)

    def part(self, con: duckdb_.DuckDBPyConnection, kept: Sequence[int], shift: int) -> str:
        """The SQL of the plain records of the ``kept`` inputs, each at its position (``index << shift | line``)."""
        rows = [self.taken[index] for index in kept]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self.table}_files AS "
            "SELECT unnest($1::BIGINT[]) AS file_index, unnest($2::BIGINT[]) AS shift",
            [
                [r.file_index for r in rows],
                [(index << shift) - r.start + 1 for index, r in zip(kept, rows, strict=True)],
            ],
        )
        return (
            f"SELECT b.rowid + f.shift AS pos, rid, code, stream, fields, ts, unclean "
            f"FROM {self.table} AS b JOIN {self.table}_files AS f USING (file_index) WHERE rid IS NOT NULL"
        )


def read_batch(
    con: duckdb_.DuckDBPyConnection,
    pool: Executor,
    inputs: Sequence[BatchInput],
    classify: Callable[[str, bool], str],
    table: str,
) -> Batch | None:
    """Read ``inputs`` in one query into ``table``; None when DuckDB's reader cannot (each input is then read alone).

    ``classify(reader, tolerant)`` is the SQL of the classified rows of a reader. The first read
    does not tolerate errors (about a fifth faster), a second one does (at once when some input's
    last line is no JSON object). The lines are counted meanwhile, in ``pool``.
    """
    import duckdb  # noqa: PLC0415  (the duckdb extra)

    counted = {entry.index: pool.submit(count_lines, entry.name) for entry in inputs}
    names = ", ".join(literal(entry.path) for entry in inputs)
    whole = all(ends_with_object(entry.name) for entry in inputs)
    for tolerant in (False, True) if whole else (True,):
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {classify(f'[{names}]', tolerant)}")
            break
        except duckdb.Error:
            if tolerant:
                return None  # not UTF-8, an object too large...: each input alone says which
    found = con.execute(
        f"SELECT file_index, count(*), min(rowid), list(rowid) FILTER (WHERE rid IS NULL) FROM {table} GROUP BY ALL"
    ).fetchall()
    rows_of = {
        int(k): (int(n), int(start), {int(r) - int(start) + 1 for r in residue or ()}) for k, n, start, residue in found
    }
    batch = Batch(table)
    for k, entry in enumerate(inputs):
        rows, start, residue = rows_of.get(k, (0, 0, set()))
        try:
            total, odd = counted[entry.index].result()
        except READ_ERRORS:
            continue  # its bytes cannot all be read: read alone, the python reader says where
        if not odd and total == rows:
            batch.taken[entry.index] = BatchRows(k, rows, start, residue)
    return batch
