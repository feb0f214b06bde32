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


def test_a_file_of_garbage_is_read_to_the_end(read_log: Callable[..., list[Record | InputError]]) -> None:
    """No error budget stops a reader: every unusable line is reported, and the records after them are read.

    (On today's main the reader gave up after 100 unusable lines and the runs after them were lost.)
    """
    items = read_log("[1]\n" + "nope\n" * 500 + '["queued", "completed"]\n')
    assert [type(i).__name__ for i in items] == ["Record"] + ["InputError"] * 500 + ["Record", "Record"]
    assert [i.line for i in items if isinstance(i, InputError)] == list(range(2, 502))


def test_sort_by_field_is_read(read_log: Callable[..., list[Record | InputError]]) -> None:
    """With sort_by, each record's timestamp comes from that field; a record without it has none (no error)."""
    items = read_log(
        '{"object":"thread.run","id":"r","status":"queued","polled_at":5}\n{"object":"thread.run","id":"r","status":"queued"}\n',
        sort_by="polled_at",
    )
    assert [(type(i).__name__, getattr(i, "timestamp", None)) for i in items] == [("Record", 5.0), ("Record", None)]


def test_a_lifecycle_unpickled_where_another_one_was_gets_its_own_tables() -> None:
    """Spark workers unpickle a new lifecycle object for each task; one may get a freed one's address.

    The readers' caches are by ``id``: each must still give the lifecycle it is asked about its
    own wire values and exact-field specs, not those of the object that had the address before.
    """
    import gc
    import pickle

    from runfsm.lifecycles import PRESETS
    from runfsm.validation.formats.base import exact_fields, fast_status

    presets = list(PRESETS.values())
    gc.freeze()  # each collection below looks at the new objects only, not at all a long test session holds
    try:
        for k in range(60):
            lifecycle = pickle.loads(pickle.dumps(presets[k % len(presets)]))
            wires = {m.wire for m in lifecycle.states if m.wire is not None}
            assert set(fast_status(lifecycle)) == wires
            assert all(member in lifecycle.states for member in fast_status(lifecycle).values())
            assert len(exact_fields(lifecycle)) == len(lifecycle.states)
            del lifecycle
            gc.collect()
    finally:
        gc.unfreeze()
