"""runfsm.records: one reader per log format, auto-detection, and precise errors for bad input."""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runfsm.exceptions import InputError
from runfsm.lifecycle import Trigger
from runfsm.records import InputFormat, Record, detect_format, owns, read_paths, read_records
from runfsm.status import RunStatus

R = RunStatus
SAMPLES = Path(str(resources.files("runfsm") / "samples"))  # the installed package's (also from a wheel)


def _read(text: str | bytes, **kwargs: object) -> list[Record | InputError]:
    data = text.encode() if isinstance(text, str) else text
    return list(read_records(io.BytesIO(data), name="log", **kwargs))  # type: ignore[arg-type]


def _records(items: list[Record | InputError]) -> list[Record]:
    assert not [i for i in items if isinstance(i, InputError)], items
    return [i for i in items if isinstance(i, Record)]


def _errors(items: list[Record | InputError]) -> list[tuple[int | None, str]]:
    return [(i.line, i.detail) for i in items if isinstance(i, InputError)]


# ----------------------------------------------------------------------------- formats


def test_run_objects() -> None:
    """JSON Lines of run objects: one poll-mode record per line, with its id, status, fields and line."""
    lines = [
        {"object": "thread.run", "id": "run_1", "status": "queued"},
        {"object": "thread.run", "id": "run_2", "status": "in_progress", "started_at": 1},
    ]
    recs = _records(_read("".join(json.dumps(x) + "\n" for x in lines)))
    assert [(r.run_id, r.status, r.line, r.mode) for r in recs] == [
        ("run_1", R.Queued, 1, "poll"),
        ("run_2", R.InProgress, 2, "poll"),
    ]
    assert recs[1].fields == lines[1]
    assert str(recs[1].location) == "log:2"


def test_runs_list_page() -> None:
    """A runs.list page gives one record per run it holds."""
    page = {
        "object": "list",
        "data": [{"object": "thread.run", "id": f"r{i}", "status": "completed"} for i in range(3)],
    }
    assert [r.run_id for r in _records(_read(json.dumps(page) + "\n"))] == ["r0", "r1", "r2"]


def test_stream_events_as_json_lines() -> None:
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
    recs = _records(_read(text + "\n"))
    assert [(r.status, r.line, r.mode) for r in recs] == [(R.Created, 1, "stream"), (R.Queued, 4, "stream")]


def test_raw_sse() -> None:
    """Raw SSE text: each event located at its first line; comments, non-run events and done skipped."""
    text = (
        ": keep-alive\n\n"
        'event: thread.run.created\ndata: {"id":"run_1","status":"queued"}\n\n'
        'event: thread.run.step.delta\ndata: {"id":"step_1"}\n\n'
        'event: thread.run.queued\ndata: {"id":"run_1",\ndata: "status":"queued"}\n\n'
        "event: done\ndata: [DONE]\n\n"
    )
    recs = _records(_read(text))
    assert [(r.status, r.line, r.mode) for r in recs] == [(R.Created, 3, "stream"), (R.Queued, 9, "stream")]


def test_compact_forms_with_calls_names_and_ordinals() -> None:
    """A JSON array (run id FILE:LINE) or {run_id, statuses}; wire values, names, ordinals and calls."""
    text = '["queued", "InProgress", 4]\n'
    text += '{"run_id": "r", "statuses": ["requires_action", "submit_tool_outputs", "cancel"]}\n'
    recs = _records(_read(text))
    assert [(r.run_id, r.status, r.call) for r in recs] == [
        ("log:1", R.Queued, None),
        ("log:1", R.InProgress, None),
        ("log:1", R.Completed, None),
        ("r", R.RequiresAction, None),
        ("r", None, Trigger.SUBMIT_TOOL_OUTPUTS),
        ("r", None, Trigger.CANCEL),
    ]


def test_call_record() -> None:
    """{"run_id", "call"} logs a client call for that run."""
    (rec,) = _records(_read('{"run_id": "r", "call": "cancel"}\n'))
    assert (rec.run_id, rec.call, rec.status, rec.is_call) == ("r", Trigger.CANCEL, None, True)


def test_csv_with_header_timestamps_and_calls() -> None:
    """CSV: header in any order, extra columns allowed, ISO or numeric timestamps, call cells."""
    text = "status,extra,run_id,timestamp\nqueued,x,r,2024-01-01T00:00:00Z\nsubmit_tool_outputs,y,r,5\n"
    recs = _records(_read(text))
    assert [(r.run_id, r.status, r.call, r.timestamp) for r in recs] == [
        ("r", R.Queued, None, 1704067200.0),
        ("r", None, Trigger.SUBMIT_TOOL_OUTPUTS, 5.0),
    ]


def test_unknown_status_is_a_record_not_an_error() -> None:
    """An unknown status reaches the validator (which reports it per run) with its raw value."""
    (rec,) = _records(_read('{"object": "thread.run", "id": "r", "status": "paused"}\n'))
    assert rec.status is None
    assert rec.call is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"id": 1}', "jsonl"),
        (b"[1, 2]", "jsonl"),
        (b"event: thread.run.queued", "sse"),
        (b": comment", "sse"),
        (b"run_id,status", "csv"),
        (b"\xef\xbb\xbfrun_id,status", "csv"),
        (b"hello", None),
        (b"\x00\x01", None),
    ],
)
def test_detect_format(line: bytes, expected: str | None) -> None:
    """The first non-blank line tells the format."""
    assert detect_format(line) == expected


def test_every_bundled_sample_reads_without_errors() -> None:
    """The samples (one per format) read cleanly: they are the README's and --sample's input."""
    names = sorted(p.name for p in SAMPLES.iterdir() if not p.name.startswith("_"))
    assert names == ["compact.jsonl", "events.jsonl", "runs.jsonl", "statuses.csv", "stream.sse"]
    items = list(read_paths(sorted(SAMPLES.iterdir())))
    assert not [i for i in items if isinstance(i, InputError)]
    assert len(items) > 40


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
def test_bad_json_lines_are_located_and_explained(text: str, line: int, words: str) -> None:
    """Each kind of bad JSON line gives an InputError with its line and what was expected."""
    errors = _errors(_read(text))
    assert len(errors) == 1, errors
    assert errors[0][0] == line
    assert words in errors[0][1]


def test_other_records_are_still_read_after_bad_lines() -> None:
    """A bad line does not stop the reader."""
    items = _read('{"object":"thread.run","id":"a","status":"queued"}\ngarbage\n["queued"]\n')
    assert [type(i).__name__ for i in items] == ["Record", "InputError", "Record"]


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
def test_bad_csv(text: str, line: int, words: str) -> None:
    """CSV problems are located by line and explained."""
    errors = _errors(_read(text))
    assert errors[0][0] == line
    assert words in errors[0][1]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("event: thread.run.queued\ndata: {nope\n\n", 1, "malformed JSON"),
        ('data: {"id": "r"}\n\n', 1, "without an 'event:' line"),
        ("event: thread.run.queued\nbogus line\n\n", 2, "not an SSE line"),
        ("event: thread.run.queued\n", 1, "truncated last event"),
    ],
)
def test_bad_sse(text: str, line: int, words: str) -> None:
    """SSE problems are located (an event at its first line) and explained."""
    errors = _errors(_read(text))
    assert errors[0][0] == line
    assert words in errors[0][1]


def test_empty_file_binary_garbage_and_missing_file(tmp_path: Path) -> None:
    """Empty files, binary data and files that do not exist are one error each, naming the file."""
    (empty,) = _read(b"\n\n")
    assert isinstance(empty, InputError)
    assert "empty file" in str(empty)
    (binary,) = _read(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert isinstance(binary, InputError)
    assert "binary data" in str(binary)
    missing = tmp_path / "nope.jsonl"
    (gone,) = list(read_records(missing))
    assert isinstance(gone, InputError)
    assert str(gone).startswith(f"{missing}: cannot read")
    (folder,) = list(read_records(tmp_path))
    assert isinstance(folder, InputError)
    assert "directory" in str(folder)


def test_very_long_lines_are_skipped_and_reported() -> None:
    """A line over the limit is reported with its size; reading goes on after it."""
    text = '["queued"]\n' + "[" + '"queued",' * 100 + '"queued"]\n["completed"]\n'
    items = _read(text, max_line_bytes=64)
    assert [type(i).__name__ for i in items] == ["Record", "InputError", "Record"]
    assert "longer than 64 bytes" in str(items[1])


def test_a_file_of_garbage_gives_up_after_many_errors() -> None:
    """After 100 unusable lines the reader says so and stops, instead of flooding the report."""
    items = _read("[1]\n" + "nope\n" * 500)
    assert len(items) < 110
    assert "more than 100 unusable lines; giving up" in str(items[-1])


def test_sort_by_field_is_read_or_reported() -> None:
    """With sort_by, each record's timestamp comes from that field; records without it are reported."""
    items = _read(
        '{"object":"thread.run","id":"r","status":"queued","polled_at":5}\n{"object":"thread.run","id":"r","status":"queued"}\n',
        sort_by="polled_at",
    )
    assert isinstance(items[0], Record)
    assert items[0].timestamp == 5.0
    assert isinstance(items[1], InputError)
    assert "no 'polled_at' field" in str(items[1])


def test_read_records_checks_its_arguments() -> None:
    """Bad options are programming errors: ValueError, raised when reading starts."""
    with pytest.raises(ValueError, match="input_format"):
        list(read_records(io.BytesIO(b""), input_format="xml"))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- fuzz


@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_records_or_input_errors(data: bytes) -> None:
    """Whatever the bytes, every reader yields Records or InputErrors and never raises."""
    formats: tuple[InputFormat, ...] = ("auto", "jsonl", "sse", "csv")
    for fmt in formats:
        for item in read_records(io.BytesIO(data), input_format=fmt):
            assert isinstance(item, (Record, InputError))


_JSONISH = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-3, 12), st.sampled_from(["queued", "thread.run", "id", "r", "cancel"])
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["object", "id", "status", "event", "data", "run_id", "statuses", "call"]),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=12,
)


@given(st.lists(_JSONISH, min_size=1, max_size=6))
def test_arbitrary_json_lines_give_records_or_located_errors(values: list[object]) -> None:
    """Structured nonsense (JSON of the right vocabulary) gives Records or InputErrors with a line."""
    text = "".join(json.dumps(v) + "\n" for v in values)
    for item in read_records(io.BytesIO(text.encode()), input_format="jsonl"):
        assert isinstance(item, (Record, InputError))
        if isinstance(item, InputError):
            assert item.line is not None
            assert 1 <= item.line <= len(values)


@given(st.text(alphabet=st.sampled_from('event:data thread.run.queued{}"id:,\n'), max_size=300))
def test_arbitrary_sse_text_gives_records_or_input_errors(text: str) -> None:
    """SSE-like text of any shape gives Records or InputErrors."""
    for item in read_records(io.BytesIO(text.encode()), input_format="sse"):
        assert isinstance(item, (Record, InputError))


def test_partitions_split_the_runs_and_report_each_error_once(tmp_path: Path) -> None:
    """Workers k of n together read every record exactly once, and each error once."""
    log = tmp_path / "log.jsonl"
    lines = [json.dumps({"id": f"run_{i}", "object": "thread.run", "status": "queued"}) for i in range(40)]
    lines += ['{"event": "thread.run.queued", "data": {"id": "run_7"}}', "{broken", '{"id": "run_3", "status": 5.5}']
    log.write_text("\n".join(lines) + "\n")
    whole = list(read_records(log))
    parts = [list(read_records(log, partition=(k, 3))) for k in range(3)]
    merged = [i for part in parts for i in part]
    assert sorted(map(repr, merged)) == sorted(map(repr, whole))
    assert all(owns(i.run_id, (k, 3)) for k, part in enumerate(parts) for i in part if isinstance(i, Record))
