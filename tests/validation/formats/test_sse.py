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
