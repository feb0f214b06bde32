"""runfsm.validation.formats.jsonl: run objects, list pages, stream events, compact runs and calls; bad JSON."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from runfsm.exceptions import InputError
from runfsm.lifecycles import PRESETS
from runfsm.status import RunStatus
from runfsm.validation.formats.base import MAX_LINE_BYTES, Source
from runfsm.validation.formats.jsonl import parse_jsonl_line, read_jsonl
from runfsm.validation.records import Record
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

R = RunStatus
CANCEL = Trigger.CANCEL


# ----------------------------------------------------------------------------- formats


def test_run_objects(log_records: Callable[..., list[Record]]) -> None:
    """JSON Lines of run objects: one poll-mode record per line, with its id, status, fields and line."""
    lines = [
        {"object": "thread.run", "id": "run_1", "status": "queued"},
        {"object": "thread.run", "id": "run_2", "status": "in_progress", "started_at": 1},
    ]
    recs = log_records("".join(json.dumps(x) + "\n" for x in lines))
    assert [(r.run_id, r.status, r.line, r.mode) for r in recs] == [
        ("run_1", R.Queued, 1, "poll"),
        ("run_2", R.InProgress, 2, "poll"),
    ]
    assert recs[1].fields == lines[1]
    assert str(recs[1].location) == "log:2"


def test_runs_list_page(log_records: Callable[..., list[Record]]) -> None:
    """A runs.list page gives one record per run it holds."""
    page = {
        "object": "list",
        "data": [{"object": "thread.run", "id": f"r{i}", "status": "completed"} for i in range(3)],
    }
    assert [r.run_id for r in log_records(json.dumps(page) + "\n")] == ["r0", "r1", "r2"]


def test_stream_events_as_json_lines(log_records: Callable[..., list[Record]]) -> None:
    """Recorded stream events: stream-mode records; step, message and done events are skipped."""
    text = "\n".join(
        json.dumps(x)
        for x in [
            {"event": "thread.run.created", "data": {"id": "run_1", "status": "queued"}},
            {"event": "thread.run.step.created", "data": {"id": "step_1"}},
            {"event": "thread.message.delta", "data": {"id": "msg_1"}},
            {"event": "thread.run.queued", "data": {"id": "run_1", "status": "queued"}},
            {"event": "done", "data": "[DONE]"},
        ]
    )
    recs = log_records(text + "\n")
    assert [(r.status, r.line, r.mode) for r in recs] == [(R.Created, 1, "stream"), (R.Queued, 4, "stream")]


def test_compact_forms_with_calls_names_and_ordinals(log_records: Callable[..., list[Record]]) -> None:
    """A JSON array (run id FILE:LINE) or {run_id, statuses}; wire values, names, ordinals and calls."""
    text = '["queued", "InProgress", 4]\n'
    text += '{"run_id": "r", "statuses": ["requires_action", "submit_tool_outputs", "cancel"]}\n'
    recs = log_records(text)
    assert [(r.run_id, r.status, r.call) for r in recs] == [
        ("log:1", R.Queued, None),
        ("log:1", R.InProgress, None),
        ("log:1", R.Completed, None),
        ("r", R.RequiresAction, None),
        ("r", None, Trigger.SUBMIT_TOOL_OUTPUTS),
        ("r", None, Trigger.CANCEL),
    ]


def test_call_record(log_records: Callable[..., list[Record]]) -> None:
    """{"run_id", "call"} logs a client call for that run."""
    (rec,) = log_records('{"run_id": "r", "call": "cancel"}\n')
    assert (rec.run_id, rec.call, rec.status, rec.is_call) == ("r", Trigger.CANCEL, None, True)


def test_unknown_status_is_a_record_not_an_error(log_records: Callable[..., list[Record]]) -> None:
    """An unknown status reaches the validator (which reports it per run) with its raw value."""
    (rec,) = log_records('{"object": "thread.run", "id": "r", "status": "paused"}\n')
    assert rec.status is None
    assert rec.call is None


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('{"object":"thread.run","id":"r","status":"queued"}\n{oops\n', 2, "malformed JSON"),
        ('{"hello": "world"}\n', 1, "expected a run object"),
        ('["queued"]\n"just a string"\n', 2, "expected a run object"),
        ('{"object": "thread.run", "status": "queued"}\n', 1, "has no 'id'"),
        ('{"object": "thread.run", "id": 7, "status": "queued"}\n', 1, "has 'id' 7"),
        ('{"object": "thread.run", "id": "r", "status": ["queued"]}\n', 1, "'status' is ['queued']"),
        ('{"object": "thread.run", "id": "r"}\n', 1, "no 'status'"),
        ('{"object": "assistant", "id": "r", "status": "queued"}\n', 1, "expected 'thread.run'"),
        ('{"event": "thread.run.queued", "data": {"status": "queued"}}\n', 1, "no string 'id'"),
        ('{"event": "thread.run.queued", "data": "x"}\n', 1, "expected the run object"),
        ('{"event": 5}\n', 1, "expected a stream event name"),
        ('{"run_id": "r", "statuses": "queued"}\n', 1, "must be a list"),
        ('{"run_id": "r", "statuses": [null]}\n', 1, "entry 1 of the statuses is None"),
        ('{"run_id": "r", "call": "retry"}\n', 1, "expected 'submit_tool_outputs' or 'cancel'"),
        ('{"run_id": "", "call": "cancel"}\n', 1, "non-empty string"),
        ('{"run_id": "r"}\n', 1, "needs 'statuses'"),
        ('["queued"]\n{"object":"thread.run","id":"r","status":"queu', 2, "truncated last line"),
    ],
)
def test_bad_json_lines_are_located_and_explained(
    text: str, line: int, words: str, log_errors: Callable[..., list[tuple[int | None, str]]]
) -> None:
    """Each kind of bad JSON line gives an InputError with its line and what was expected."""
    errors = log_errors(text)
    assert len(errors) == 1, errors
    assert errors[0][0] == line
    assert words in errors[0][1]


def test_other_records_are_still_read_after_bad_lines(read_log: Callable[..., list[Record | InputError]]) -> None:
    """A bad line does not stop the reader."""
    items = read_log('{"object":"thread.run","id":"a","status":"queued"}\ngarbage\n["queued"]\n')
    assert [type(i).__name__ for i in items] == ["Record", "InputError", "Record"]


def test_compact_items_stand_for_the_records(tmp_path: Path) -> None:
    """read_items gives plain run objects and client calls as tuples; as_record makes them the records."""
    from runfsm.validation.records import as_record, read_items, read_records

    log = tmp_path / "log.jsonl"
    log.write_text(
        '{"id": "r", "object": "thread.run", "status": "requires_action"}\n'
        '{"run_id": "r", "call": "submit_tool_outputs"}\n'
        '{"run_id": "r", "call": "cancel", "at": 3}\n'
    )
    items = list(read_items([log]))
    assert [type(i).__name__ for i in items] == ["tuple", "tuple", "Record"]
    assert isinstance(items[1], tuple)
    assert items[1][1:3] == (Trigger.SUBMIT_TOOL_OUTPUTS, None)
    compact = [as_record(i) if isinstance(i, tuple) else i for i in items]
    assert compact == list(read_records(log))
    call = compact[1]
    assert isinstance(call, Record)
    assert (call.call, call.mode) == (Trigger.SUBMIT_TOOL_OUTPUTS, None)


def test_azure_stream_items_logged_as_json_lists_are_stream_events(log_records: Callable[..., list[Record]]) -> None:
    """``[event, {data}, null]`` lines (an ``azure-ai-agents`` stream item, JSON-dumped) read as stream events.

    Message, step and ``done`` items are skipped as in any stream; a list of statuses stays a compact run.
    """
    run = '{"id": "run_1", "object": "thread.run", "status": "%s"}'
    text = (
        f'["thread.run.created", {run % "queued"}, null]\n'
        '["thread.message.delta", {"id": "msg_1", "object": "thread.message.delta"}, null]\n'
        f'["thread.run.completed", {run % "completed"}]\n'
        '["done", "[DONE]", null]\n'
        '["queued", "in_progress"]\n'
    )
    records = log_records(text)
    assert [(r.run_id, str(r.status), r.mode) for r in records[:2]] == [
        ("run_1", "created", "stream"),
        ("run_1", "completed", "stream"),
    ]
    assert [str(r.status) for r in records[2:]] == ["queued", "in_progress"]


# ----------------------------------------------------------------------------- issue 11


def test_a_byte_order_mark_opens_a_json_lines_file(log_records: Callable[..., list[Record]]) -> None:
    """A UTF-8 BOM before the first record (or any line, for concatenated files) is dropped (issue 11, class 5)."""
    text = b'\xef\xbb\xbf{"id":"r","status":"queued"}\n\xef\xbb\xbf{"id":"r","status":"completed"}\n'
    assert [(r.status, r.line) for r in log_records(text)] == [(R.Queued, 1), (R.Completed, 2)]


def test_valid_json_the_fast_parser_refuses_is_read(log_records: Callable[..., list[Record]]) -> None:
    """A lone surrogate escape is valid JSON orjson refuses: the standard parser reads it (issue 11, class 6)."""
    text = '{"id":"r","status":"queued","instructions":"\\ud800"}\n'
    (rec,) = log_records(text)
    assert rec.status is R.Queued
    assert rec.fields is not None
    assert rec.fields["instructions"] == "\ud800"


_BIG = 2**64 + 5
"""An integer beyond 64 bits: orjson reads it as a float (a changed value) instead of refusing it."""


def test_orjson_rounds_integers_beyond_64_bits() -> None:
    """Why the reader checks: orjson (3.x) reads ``2**64 + 5`` as the float ``2**64``, and ``2**64 - 1`` exactly."""
    orjson = pytest.importorskip("orjson")
    assert orjson.loads(str(_BIG)) == float(2**64) != _BIG
    assert orjson.loads(str(2**64 - 1)) == 2**64 - 1
    assert orjson.loads(str(-(2**63))) == -(2**63)
    assert type(orjson.loads(str(-(2**63) - 1))) is float


@pytest.mark.parametrize("shape", ["run object", "stream event", "list page"])
def test_integers_beyond_64_bits_are_read_exactly(
    shape: str, log_records: Callable[..., list[Record]], log_errors: Callable[..., list[tuple[int | None, str]]]
) -> None:
    """A line where a used value is an integer orjson rounded is read again by the standard parser: exact values.

    The queued invariant subtracts ``created_at`` from ``expires_at``: with the rounded floats it
    would be skipped (floats) or wrong; an unknown status and an error message quote the exact number.
    """
    run = {"id": "r", "object": "thread.run", "status": "queued", "created_at": _BIG, "expires_at": _BIG + 100}
    line = {
        "run object": run,
        "stream event": {"event": "thread.run.queued", "data": run},
        "list page": {"object": "list", "data": [run, {**run, "id": "s"}]},
    }[shape]
    (rec, *_) = log_records(json.dumps(line) + "\n")
    assert rec.fields is not None
    assert (rec.fields["created_at"], rec.fields["expires_at"]) == (_BIG, _BIG + 100)
    from runfsm.invariants import check_fields

    assert check_fields(R.Queued, rec.fields) == ("queued: expires_at - created_at is 100 s, expected 600 s",)
    (unknown,) = log_records(json.dumps({"id": "r", "status": 2**70}) + "\n")
    assert isinstance(unknown.raw, dict)
    assert (unknown.status, unknown.raw["status"]) == (None, 2**70)
    ((_line, detail),) = log_errors(json.dumps({"id": "r", "status": [2**70]}) + "\n")
    assert str(2**70) in detail


@pytest.mark.parametrize(
    "line",
    [
        '{"id":"r","status":"queued","status":"completed"}',
        '{"id":"r","st\\u0061tus":"queued","status":"completed"}',  # the same key, spelled with an escape
        '{"id":"r","status":"queued","status":"completed","s":"\\ud800"}',  # orjson refuses: the standard parser
        '{"id":"x","id":"r","status":"completed"}',
        '{"object":"list","data":[{"id":"r","status":"queued","status":"completed"}]}',
    ],
)
def test_a_duplicated_key_keeps_its_last_value(line: str, log_records: Callable[..., list[Record]]) -> None:
    """A JSON object naming a key twice: its last value counts (as Python's json, orjson and JavaScript read it)."""
    ((run_id, status),) = [(r.run_id, r.status) for r in log_records(line + "\n")]
    assert (run_id, status) == ("r", R.Completed)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"id":"r","status":"queued","d":' + "[" * 1100 + "]" * 1100 + "}\n", "nested too deeply"),
        ('{"id":"r","status":"queued","t":NaN}\n', "NaN is not JSON"),
        ('{"id":"r","status":"queued"\n', "Expecting ',' delimiter: column 28 (char 27)"),
    ],
)
def test_what_no_parser_reads_is_said_precisely(
    text: str, words: str, log_errors: Callable[..., list[tuple[int | None, str]]]
) -> None:
    """JSON beyond the parsers' nesting limit, NaN (not JSON) and broken JSON each get a precise message."""
    ((line, detail),) = log_errors(text)
    assert line == 1
    assert words in detail


@pytest.mark.parametrize("levels", [600, 1100])
def test_how_deep_the_standard_parser_reads_does_not_depend_on_the_process(
    levels: int, log_errors: Callable[..., list[tuple[int | None, str]]]
) -> None:
    """JSON the fast parser refuses, nested deeper than 500 levels, is an error even where the recursion limit is high.

    The standard parser's reach follows the recursion limit: hypothesis raises it in the test
    process, a ``--jobs`` worker does not; without a fixed bound one line read as a record
    here and as an error there (``--jobs`` then printed another summary).
    """
    import sys

    text = '{"id":"r","status":"queued","s":"\\ud800","d":' + "[" * levels + "]" * levels + "}\n"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        ((line, detail),) = log_errors(text)
    finally:
        sys.setrecursionlimit(limit)
    assert line == 1
    assert "nested too deeply" in detail


def test_carriage_returns_end_json_lines(log_records: Callable[..., list[Record]]) -> None:
    """A lone CR ends a line, as in Python's universal newlines; CRLF files read as before."""
    text = '{"id":"r","status":"queued"}\r{"id":"r","status":"completed"}\r'
    assert [(r.status, r.line) for r in log_records(text)] == [(R.Queued, 1), (R.Completed, 2)]
    text = '{"id":"r","status":"queued"}\r\n{"id":"r","status":"completed"}\r\n'
    assert [(r.status, r.line) for r in log_records(text)] == [(R.Queued, 1), (R.Completed, 2)]


@pytest.mark.parametrize(
    ("fields", "warning"),
    [
        (
            {"status": "completed", "completed_at": 1, "expires_at": _BIG},
            f"completed: expires_at should be null, got {_BIG}",
        ),
        (
            {"status": "completed", "completed_at": 1, "last_error": {"code": _BIG}},
            f"completed: last_error should be null, got {{'code': {_BIG}}}",
        ),
        (
            {"status": "requires_action", "required_action": {"type": _BIG}},
            f"requires_action: required_action.type is {_BIG}, expected",
        ),
    ],
    ids=["must-be-null", "nested in a must-be-null", "nested check"],
)
def test_a_warning_quotes_a_big_integer_exactly(
    fields: dict[str, object], warning: str, log_records: Callable[..., list[Record]]
) -> None:
    """A field warning that quotes a value quotes the integer written, not the float orjson rounded it to."""
    from runfsm.invariants import check_fields

    (rec,) = log_records(json.dumps({"id": "r", "object": "thread.run", **fields}) + "\n")
    assert rec.fields is not None
    assert rec.status is not None
    (found,) = check_fields(rec.status, rec.fields)
    assert found.startswith(warning)


# ----------------------------------------------------------------------------- what a line is


@pytest.mark.parametrize(
    ("line", "read_as"),
    [
        ('{"run_id":"r","call":"cancel","status":null}', (None, CANCEL)),
        ('{"run_id":"r","call":"cancel","event":null,"type":null,"statuses":null,"object":null}', (None, CANCEL)),
        ('{"id":"r","status":"queued","event":null}', (R.Queued, None)),
        ('{"id":"r","object":null,"status":"queued","type":null}', (R.Queued, None)),
    ],
    ids=["call-with-null-status", "call-with-null-kinds", "run-with-null-event", "run-with-null-object-and-type"],
)
def test_a_key_that_tells_a_lines_kind_reads_json_null_as_absent(
    line: str, read_as: tuple[RunStatus | None, Trigger | None], log_records: Callable[..., list[Record]]
) -> None:
    """A log of a fixed schema writes every key, ``null`` where it has no value: such a key is not there.

    So a client call with ``"status": null`` is a client call, and a run object with ``"event":
    null`` a run object (DuckDB's reader reads them so too: the engines agree).
    """
    ((record,),) = [log_records(line + "\n")]
    assert (record.run_id, record.status, record.call) == ("r", *read_as)


_RUN = {"id": "r", "status": "queued"}
_KINDS = {  # each key that tells a line's kind, with values that make it one kind or another
    "id": st.sampled_from([None, "r", "", 3]),
    "status": st.sampled_from([None, "queued", "completed", "in_progress", "bogus", 5]),
    "object": st.sampled_from([None, "thread.run", "response", "batch", "event", "list", "thread.message", "x"]),
    "event": st.sampled_from([None, "thread.run.created", "response.completed", "x"]),
    "type": st.sampled_from([None, "response.created", "batch.completed", "x"]),
    "data": st.sampled_from([None, _RUN, [_RUN], "x"]),
    "response": st.sampled_from([None, _RUN, "x"]),
    "run_id": st.sampled_from([None, "r", 3]),
    "call": st.sampled_from([None, "cancel", "submit_tool_outputs", "x"]),
    "statuses": st.sampled_from([None, ["queued", "completed"], "x"]),
}


@settings(max_examples=500, deadline=None)
@given(obj=st.fixed_dictionaries({}, optional=_KINDS), preset=st.sampled_from(sorted(PRESETS)))
@example(obj={"event": "x", "id": "r", "status": "queued"}, preset="run")
@example(obj={"type": "response.created", "response": _RUN, "id": "r", "status": "queued"}, preset="response")
def test_the_fast_path_reads_a_line_as_the_line_parser_does(obj: dict[str, object], preset: str) -> None:
    """Whatever keys a line has, ``read_jsonl`` (its fast path included) gives what ``parse_jsonl_line`` gives.

    The duckdb engine hands its odd lines to the latter, so the engines agree only if the two do.

    Before, a run object with an ``event`` key took the fast path as a run object, and the line
    parser read it as a stream event without its data.
    """
    chunk = json.dumps(obj).encode() + b"\n"
    lifecycle = PRESETS[preset]
    read = list(read_jsonl(io.BytesIO(chunk), Source("log", None, lifecycle=lifecycle), MAX_LINE_BYTES))
    parsed = list(parse_jsonl_line(chunk, Source("log", None, lifecycle=lifecycle), 1))
    assert [repr(item) for item in read] == [repr(item) for item in parsed]
