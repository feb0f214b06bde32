"""runfsm.validation.formats.base: what every reader shares: the line-length limit, the error budget, the sort field."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runfsm.exceptions import InputError
from runfsm.validation.records import Record

if TYPE_CHECKING:
    from collections.abc import Callable


def test_very_long_lines_are_skipped_and_reported(read_log: Callable[..., list[Record | InputError]]) -> None:
    """A line over the limit is reported with its size; reading goes on after it."""
    text = '["queued"]\n' + "[" + '"queued",' * 100 + '"queued"]\n["completed"]\n'
    items = read_log(text, max_line_bytes=64)
    assert [type(i).__name__ for i in items] == ["Record", "InputError", "Record"]
    assert "longer than 64 bytes" in str(items[1])


def test_a_file_of_garbage_gives_up_after_many_errors(read_log: Callable[..., list[Record | InputError]]) -> None:
    """After 100 unusable lines the reader says so and stops, instead of flooding the report."""
    items = read_log("[1]\n" + "nope\n" * 500)
    assert len(items) < 110
    assert "more than 100 unusable lines; giving up" in str(items[-1])


def test_sort_by_field_is_read_or_reported(read_log: Callable[..., list[Record | InputError]]) -> None:
    """With sort_by, each record's timestamp comes from that field; records without it are reported."""
    items = read_log(
        '{"object":"thread.run","id":"r","status":"queued","polled_at":5}\n{"object":"thread.run","id":"r","status":"queued"}\n',
        sort_by="polled_at",
    )
    assert isinstance(items[0], Record)
    assert items[0].timestamp == 5.0
    assert isinstance(items[1], InputError)
    assert "no 'polled_at' field" in str(items[1])
