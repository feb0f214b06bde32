"""The CSV reader: a header naming ``run_id`` and ``status``, then one row per observation."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

from runfsm.exceptions import NotARunStatus
from runfsm.validation.formats.base import CALLS, Record, read_lines, short, status_of, timestamp_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from runfsm.exceptions import InputError
    from runfsm.validation.formats.base import Item, Lines, Source

__all__ = ["read_csv"]


def _cells(text: str) -> list[str] | None:
    """The cells of a row, or None while a quoted cell goes on to the next line; raises csv.Error."""
    try:
        return next(csv.reader([text], strict=True))
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            return None
    return next(csv.reader([text]))  # tolerant of stray quotes, as the reader always was


def read_csv(stream: Lines, src: Source, limit: int) -> Iterator[Item]:
    """Records of a CSV input, one per row after the header (which must name ``run_id`` and ``status``).

    A quoted cell may hold line breaks (the row then spans lines, located at its first); one
    left open for more than the line limit is reported, and reading goes on after it. Every
    line is counted in ``src.counts``: a row's lines are in records or errors, blank lines are
    skipped; when the header is unusable, every line is an error (none is judged).
    """
    header: list[str] | None = None
    columns: dict[str, int] = {}
    pending: list[str] = []
    first = 0
    size = 0
    lines = read_lines(stream, src, limit, "a CSV row")
    try:
        for item in lines:
            if type(item) is not tuple:
                yield item  # type: ignore[misc]  # an InputError from the line reader (counted there)
                continue
            number, text = item
            if not pending:
                if not text.strip():
                    src.skip(1)
                    continue
                first, size = number, 0
            pending.append(text)
            size += len(text)
            if len(pending) > 1 and text.count('"') % 2 == 0:
                row = None  # still inside the quoted cell
            else:
                try:
                    row = _cells("".join(pending))
                except csv.Error as err:
                    src.failed(len(pending))
                    pending = []
                    yield src.error(f"malformed CSV row ({err})", first)
                    continue
            if row is None:
                if size > limit:
                    src.failed(len(pending))
                    pending = []
                    yield src.error(f"a quoted cell opened on this line is still open after {limit} bytes", first)
                continue
            span, pending = len(pending), []
            if header is None:
                header = [cell.strip().lower() for cell in row]
                problem = None
                if "run_id" not in header or "status" not in header:
                    problem = (
                        f"CSV without a header: the first line is {short(text.strip())}; expected a header naming "
                        "the columns, at least 'run_id,status' (optionally ',timestamp')"
                    )
                elif src.sort_by is not None and src.sort_by.lower() not in header:
                    problem = f"--sort-by {src.sort_by}: the CSV header has no such column"
                if problem is not None:
                    yield from _unusable(lines, src, problem, first, span)
                    return
                columns = {name: i for i, name in enumerate(header)}
                src.skip(span)  # the header: read, not a record
                continue
            items = list(_row_items(row, header, columns, src, first))
            src.settle(items, span)
            yield from items
        if pending:
            src.failed(len(pending))
            yield src.error("the quoted cell opened on this line is never closed", first)
            pending = []
    finally:
        if pending:  # reading stopped (a read error): the row's lines go with that error
            src.failed(len(pending))


def _unusable(
    lines: Iterator[tuple[int, str] | InputError], src: Source, problem: str, line: int, span: int
) -> Iterator[Item]:
    """The header is unusable: no row can be read; count every line as an error and say how many."""
    after = 0
    for item in lines:
        if type(item) is tuple:
            after += 1
        else:
            yield item  # type: ignore[misc]  # counted by the line reader
    src.failed(span + after)
    tail = f"; none of the {after:,} lines after it is judged" if after else ""
    yield src.error(problem + tail, line)


def _row_items(
    row: list[str], header: list[str], columns: dict[str, int], src: Source, number: int
) -> Iterator[Record | InputError]:
    """The record of one row after the header, or its error."""
    if len(row) != len(header):
        yield src.error(f"{len(row)} cells, expected {len(header)} ({','.join(header)})", number)
        return
    run_id = row[columns["run_id"]].strip()
    if not run_id:
        yield src.error("empty run_id: expected the run id", number)
        return
    cell = row[columns["status"]].strip()
    stamp: float | None = None
    stamp_column = src.sort_by.lower() if src.sort_by is not None else "timestamp"
    if stamp_column in columns and row[columns[stamp_column]].strip():
        try:
            stamp = timestamp_of(row[columns[stamp_column]].strip(), f"column {stamp_column!r}")
        except ValueError as err:
            yield src.error(str(err), number)
            return
    if cell in CALLS:
        yield Record(run_id, None, cell, source=src.name, line=number, mode=None, call=CALLS[cell], timestamp=stamp)
        return
    if not cell:
        yield src.error("empty status: expected a status (wire value, name or ordinal)", number)
        return
    try:
        status = status_of(cell, src.lifecycle)
    except NotARunStatus as err:
        yield src.error(str(err), number)
        return
    yield Record(run_id, status, cell, source=src.name, line=number, timestamp=stamp)
