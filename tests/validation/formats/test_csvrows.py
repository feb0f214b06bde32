"""runfsm.validation.formats.csvrows: CSV with a header, timestamps and call cells; bad rows explained."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from runfsm.status import RunStatus
from runfsm.validation.records import Record
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    from collections.abc import Callable

R = RunStatus


def test_csv_with_header_timestamps_and_calls(log_records: Callable[..., list[Record]]) -> None:
    """CSV: header in any order, extra columns allowed, ISO or numeric timestamps, call cells."""
    text = "status,extra,run_id,timestamp\nqueued,x,r,2024-01-01T00:00:00Z\nsubmit_tool_outputs,y,r,5\n"
    recs = log_records(text)
    assert [(r.run_id, r.status, r.call, r.timestamp) for r in recs] == [
        ("r", R.Queued, None, 1704067200.0),
        ("r", None, Trigger.SUBMIT_TOOL_OUTPUTS, 5.0),
    ]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("run_1,queued\nrun_1,completed\n", 1, "CSV without a header"),
        ("run_id,status\nr\n", 2, "1 cells, expected 2"),
        ("run_id,status\n,queued\n", 2, "empty run_id"),
        ("run_id,status\nr,\n", 2, "empty status"),
        ("run_id,status,timestamp\nr,queued,yesterday\n", 2, "ISO 8601"),
        ("run_id,status\nr,thread.run.step.created\n", 2, "not a run status"),
    ],
)
def test_bad_csv(text: str, line: int, words: str, log_errors: Callable[..., list[tuple[int | None, str]]]) -> None:
    """CSV problems are located by line and explained."""
    errors = log_errors(text)
    assert errors[0][0] == line
    assert words in errors[0][1]


def test_quoted_cells_may_span_lines(log_records: Callable[..., list[Record]]) -> None:
    """A quoted cell holding line breaks is valid CSV: its row is one record at its first line (issue 11, class 7)."""
    text = 'run_id,status,note\nr,queued,"first line\nsecond ""quoted"" line"\nr,completed,x\n'
    recs = log_records(text)
    assert [(r.status, r.line) for r in recs] == [(R.Queued, 2), (R.Completed, 4)]


def test_a_quoted_cell_never_closed_is_reported(
    log_errors: Callable[..., list[tuple[int | None, str]]], read_log: Callable[..., list[object]]
) -> None:
    """An open quote at the end of the input is reported at the line where the cell opened."""
    assert log_errors('run_id,status,note\nr,queued,x\nr,completed,"oops\nmore\n') == [
        (3, "the quoted cell opened on this line is never closed")
    ]
    items = read_log('run_id,status,note\nr,queued,"' + "x\n" * 100 + "r,completed,y\n", max_line_bytes=64)
    assert "still open after 64 bytes" in str(items[0])
