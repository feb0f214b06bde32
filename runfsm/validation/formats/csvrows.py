"""The CSV reader: a header naming ``run_id`` and ``status``, then one row per observation."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

from runfsm.exceptions import NotARunStatus
from runfsm.validation.formats.base import CALLS, Record, read_lines, short, status_of, timestamp_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from runfsm.validation.formats.base import Item, Lines, Source

__all__ = ["read_csv"]


def read_csv(stream: Lines, src: Source, limit: int) -> Iterator[Item]:
    """Records of a CSV input, one per row after the header (which must name ``run_id`` and ``status``)."""
    header: list[str] | None = None
    columns: dict[str, int] = {}
    for item in read_lines(stream, src, limit, "a CSV row", bom=True):
        if type(item) is not tuple:
            yield item  # type: ignore[misc]  # an InputError from the line reader
            continue
        number, text = item
        if not text.strip():
            continue
        try:
            row = next(csv.reader([text]))
        except csv.Error as err:
            yield src.error(f"malformed CSV row ({err})", number)
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            if "run_id" not in header or "status" not in header:
                yield src.error(
                    f"CSV without a header: the first line is {short(text.strip())}; expected a header naming "
                    "the columns, at least 'run_id,status' (optionally ',timestamp')",
                    number,
                )
                return
            columns = {name: i for i, name in enumerate(header)}
            if src.sort_by is not None and src.sort_by.lower() not in columns:
                yield src.error(f"--sort-by {src.sort_by}: the CSV header has no such column", number)
                return
            continue
        if len(row) != len(header):
            yield src.error(f"{len(row)} cells, expected {len(header)} ({','.join(header)})", number)
            continue
        run_id = row[columns["run_id"]].strip()
        if not run_id:
            yield src.error("empty run_id: expected the run id", number)
            continue
        cell = row[columns["status"]].strip()
        stamp: float | None = None
        stamp_column = src.sort_by.lower() if src.sort_by is not None else "timestamp"
        if stamp_column in columns and row[columns[stamp_column]].strip():
            try:
                stamp = timestamp_of(row[columns[stamp_column]].strip(), f"column {stamp_column!r}")
            except ValueError as err:
                yield src.error(str(err), number)
                continue
        elif src.sort_by is not None:
            yield src.error(f"--sort-by {src.sort_by}: empty cell", number)
            continue
        if cell in CALLS:
            yield Record(run_id, None, cell, source=src.name, line=number, mode=None, call=CALLS[cell], timestamp=stamp)
            continue
        if not cell:
            yield src.error("empty status: expected a status (wire value, name or ordinal)", number)
            continue
        try:
            status = status_of(cell, src.lifecycle)
        except NotARunStatus as err:
            yield src.error(str(err), number)
            continue
        yield Record(run_id, status, cell, source=src.name, line=number, timestamp=stamp)
