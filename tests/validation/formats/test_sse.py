"""runfsm.validation.formats.sse: raw server-sent events, each located at its first line; bad SSE explained."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from runfsm.status import RunStatus
from runfsm.validation.records import Record

if TYPE_CHECKING:
    from collections.abc import Callable

R = RunStatus


def test_raw_sse(log_records: Callable[..., list[Record]]) -> None:
    """Raw SSE text: each event located at its first line; comments, non-run events and done skipped."""
    text = (
        ": keep-alive\n\n"
        'event: thread.run.created\ndata: {"id":"run_1","status":"queued"}\n\n'
        'event: thread.run.step.delta\ndata: {"id":"step_1"}\n\n'
        'event: thread.run.queued\ndata: {"id":"run_1",\ndata: "status":"queued"}\n\n'
        "event: done\ndata: [DONE]\n\n"
    )
    recs = log_records(text)
    assert [(r.status, r.line, r.mode) for r in recs] == [(R.Created, 3, "stream"), (R.Queued, 9, "stream")]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("event: thread.run.queued\ndata: {nope\n\n", 1, "malformed JSON"),
        ('data: {"id": "r"}\n\n', 1, "without an 'event:' line"),
        ("event: thread.run.queued\nbogus line\n\n", 2, "not an SSE line"),
        ("event: thread.run.queued\n", 1, "truncated last event"),
    ],
)
def test_bad_sse(text: str, line: int, words: str, log_errors: Callable[..., list[tuple[int | None, str]]]) -> None:
    """SSE problems are located (an event at its first line) and explained."""
    errors = log_errors(text)
    assert errors[0][0] == line
    assert words in errors[0][1]


def test_events_without_blank_lines_between_them(log_records: Callable[..., list[Record]]) -> None:
    """An ``event:`` line ends the event before it (as tolerant SSE readers have it): no event is dropped.

    (Issue 11, class 1: such a capture gave 0 runs and exit 0.)
    """
    text = (
        'event: thread.run.created\ndata: {"id":"run_1","status":"queued"}\n'
        'event: thread.run.in_progress\ndata: {"id":"run_1","status":"in_progress"}\n'
        'event: thread.run.completed\ndata: {"id":"run_1","status":"completed"}\n'
    )
    assert [(r.status, r.line) for r in log_records(text)] == [(R.Created, 1), (R.InProgress, 3), (R.Completed, 5)]


def test_data_before_event_is_one_event(log_records: Callable[..., list[Record]]) -> None:
    """Field order is free within an event: a ``data:`` line before its ``event:`` line belongs to it."""
    text = 'data: {"id":"run_1","status":"queued"}\nevent: thread.run.created\n\n'
    assert [(r.status, r.line) for r in log_records(text)] == [(R.Created, 1)]


@pytest.mark.parametrize("end", ["\r", "\r\n"])
def test_carriage_returns_end_lines(end: str, log_records: Callable[..., list[Record]]) -> None:
    """CR-only (and CRLF) line ends are line ends, as the SSE specification has it."""
    text = f'event: thread.run.created{end}data: {{"id":"r","status":"queued"}}{end}{end}: note{end}'
    text += f'event: thread.run.queued{end}data: {{"id":"r","status":"queued"}}{end}{end}'
    assert [(r.status, r.line) for r in log_records(text)] == [(R.Created, 1), (R.Queued, 5)]


def test_an_endless_event_is_reported_and_dropped_as_it_goes(read_log: Callable[..., list[object]]) -> None:
    """An event whose data outgrows the line limit is reported at its first line, not held; the next is read."""
    text = "event: thread.run.queued\n" + "data: xxxxxxxxxxxxxxxxxxxxxxxx\n" * 1000
    text += '\nevent: thread.run.created\ndata: {"id":"r","status":"queued"}\n\n'
    items = read_log(text, max_line_bytes=64)
    assert [type(i).__name__ for i in items] == ["InputError", "Record"]
    assert "data is longer than 64 bytes" in str(items[0])
    assert "log:1:" in str(items[0])


def test_a_byte_order_mark_opens_an_sse_capture(log_records: Callable[..., list[Record]]) -> None:
    """A UTF-8 BOM before the first ``event:`` line is dropped (issue 11, class 5: it broke the first event)."""
    text = b'\xef\xbb\xbfevent: thread.run.created\ndata: {"id":"r","status":"queued"}\n\n'
    assert [(r.status, r.line) for r in log_records(text)] == [(R.Created, 1)]


def test_a_duplicated_key_in_event_data_keeps_its_last_value(log_records: Callable[..., list[Record]]) -> None:
    """In SSE ``data:`` as in JSON Lines: a key named twice (also spelled with an escape) counts with its last value."""
    text = 'event: thread.run.created\ndata: {"id":"x","\\u0069d":"r","status":"queued"}\n\n'
    assert [(r.run_id, r.status) for r in log_records(text)] == [("r", R.Created)]
