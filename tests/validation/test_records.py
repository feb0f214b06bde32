"""runfsm.validation.records: format detection, the entry points, partitions, and no input that makes a reader raise."""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runfsm.exceptions import InputError
from runfsm.validation.records import InputFormat, Record, detect_format, owns, read_paths, read_records

if TYPE_CHECKING:
    from collections.abc import Callable

SAMPLES = Path(str(resources.files("runfsm") / "samples"))  # the installed package's (also from a wheel)


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


def test_empty_file_binary_garbage_and_missing_file(
    tmp_path: Path, read_log: Callable[..., list[Record | InputError]]
) -> None:
    """Empty files, binary data and files that do not exist are one error each, naming the file."""
    (empty,) = read_log(b"\n\n")
    assert isinstance(empty, InputError)
    assert "empty file" in str(empty)
    (binary,) = read_log(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert isinstance(binary, InputError)
    assert "binary data" in str(binary)
    missing = tmp_path / "nope.jsonl"
    (gone,) = list(read_records(missing))
    assert isinstance(gone, InputError)
    assert str(gone).startswith(f"{missing}: cannot read")
    (folder,) = list(read_records(tmp_path))
    assert isinstance(folder, InputError)
    assert "directory" in str(folder)


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
