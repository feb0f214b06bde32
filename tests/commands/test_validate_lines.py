"""runfsm validate loses nothing: pipes and FIFOs with --jobs, --sort-by without the field, time zones, error caps.

Each test pins a class of silent loss issue 11 found (the class number is in its docstring).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

from runfsm.commands.main import main

if TYPE_CHECKING:
    from pathlib import Path


def _simulated(tmp_path: Path, runs: int, fmt: str = "jsonl") -> Path:
    corpus = tmp_path / f"corpus.{fmt}"
    args = ["simulate", "--runs", str(runs), "--illegal", "0.2", "--unfinished", "0.1", "--format", fmt]
    assert main([*args, "-o", str(corpus)]) == 0
    return corpus


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["validate", "--format", "json", *argv])
    return code, json.loads(capsys.readouterr().out)


def _without_sources(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without the input names (a pipe has its own) but with each input's counts."""
    return {**summary, "sources": [{**c, "source": None} for c in summary["sources"]]}


def _cli(*argv: str, stdin: Any = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runfsm", "validate", *argv], stdin=stdin, capture_output=True, text=True, check=False
    )


def test_jobs_on_standard_input_and_fifos_lose_no_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--jobs N`` on ``/dev/stdin`` or a FIFO validates everything in one process and says so (class 2).

    Each worker reading the input itself would get a part of a pipe (or, for ``/dev/stdin``,
    nothing): the runs of all but one worker were lost.
    """
    corpus = _simulated(tmp_path, 60)
    code, expected = _json(capsys, str(corpus))
    with corpus.open("rb") as stdin:
        piped = _cli("--engine", "python", "--jobs", "3", "--format", "json", "/dev/stdin", stdin=stdin)
    assert "--jobs 3 needs files every worker can read; /dev/stdin" in piped.stderr
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", 'cat "$1" > "$2"', "sh", str(corpus), str(fifo)])
    try:
        through_fifo = _cli("--engine", "python", "--jobs", "2", "--format", "json", str(fifo))
    finally:
        writer.wait(timeout=60)
    assert "is not a regular file" in through_fifo.stderr
    for result in (piped, through_fifo):
        doc = json.loads(result.stdout)
        assert result.returncode == code
        assert _without_sources(doc["summary"]) == _without_sources(expected["summary"])


def test_sort_by_keeps_the_records_without_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--sort-by created_at`` on what ``runfsm simulate`` writes: its client calls have no such field (class 4).

    They keep their place (right after the record before them), so the verdicts are those of file
    order (the file is in time order); they were reported as unusable, and their runs judged without them.
    """
    corpus = _simulated(tmp_path, 80)
    assert '"call"' in corpus.read_text()
    code, plain = _json(capsys, str(corpus))
    sorted_code, by_time = _json(capsys, "--sort-by", "created_at", str(corpus))
    assert (sorted_code, by_time["summary"]) == (code, plain["summary"])
    assert by_time["input_errors"] == []
    assert sorted(by_time["runs"], key=repr) == sorted(plain["runs"], key=repr)


@pytest.mark.parametrize("fmt", ["jsonl", "events", "sse"])
def test_sort_by_a_field_no_record_has_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """``--sort-by created`` for ``created_at``: the records keep file order, as the rule says, and a note says why.

    The verdicts are those of file order; the note names the field and how much of the input was looked at.
    """
    corpus = _simulated(tmp_path, 20, fmt)
    capsys.readouterr()
    code, plain = _json(capsys, str(corpus))
    assert main(["validate", "--format", "json", "--sort-by", "created", str(corpus)]) == code
    out, err = capsys.readouterr()
    assert json.loads(out)["summary"] == plain["summary"]
    assert re.search(rf"note: --sort-by created: none of the first \d+ JSON records \({re.escape(str(corpus))}\) ", err)
    assert "has a field 'created'; a record without it keeps its place in the file" in err
    # a field the records hold, here or in an event's data, gets no note
    assert main(["validate", "--quiet", "--sort-by", "created_at", str(corpus)]) in (0, 1)
    assert "note" not in capsys.readouterr().err


def test_the_sort_field_is_looked_for_where_the_readers_look() -> None:
    """Top level, an event's data or response, a list page's runs: any of these holds the field."""
    from runfsm.validation.records import _holds_key

    for holder in (
        {"id": "r", "ts": 1},
        {"event": "thread.run.queued", "data": {"id": "r", "ts": 1}},
        {"type": "response.completed", "response": {"id": "r", "ts": 1}},
        {"object": "list", "data": [{"id": "r1"}, {"id": "r2", "ts": 1}]},
    ):
        assert _holds_key(holder, "ts"), holder
    assert not _holds_key({"id": "r", "data": {"x": {"ts": 1}}}, "ts")  # deeper than any reader looks


def test_sort_by_refuses_nan_and_infinity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A timestamp of nan or inf cannot be ordered: each is an input error naming the field (class 4)."""
    lines = [
        '{"id":"r","status":"queued","ts":"nan"}',
        '{"id":"r","status":"in_progress","ts":"inf"}',
        '{"id":"r","status":"completed","ts":1e999}',
    ]
    path = tmp_path / "nan.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, doc = _json(capsys, "--sort-by", "ts", str(path))
    assert code == 2
    assert [e["line"] for e in doc["input_errors"]] == [1, 2, 3]
    assert all("field 'ts'" in e["message"] and "finite" in e["message"] for e in doc["input_errors"])


@pytest.mark.parametrize("zone", ["UTC0", "EST+05", "JST-09"])
def test_naive_timestamps_are_utc_whatever_the_time_zone(
    zone: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ISO 8601 date-time without an offset is read as UTC: the verdict does not depend on ``TZ`` (class 4).

    ``completed`` at 00:30 (no offset) comes before ``queued`` at 01:00Z: illegal, in every zone.
    Read as local time it was legal in New York (00:30 there is 05:30Z).
    """
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        path = tmp_path / "naive.csv"
        path.write_text("run_id,status,ts\nr,queued,2024-01-01T01:00:00Z\nr,completed,2024-01-01T00:30:00\n")
        code, doc = _json(capsys, "--sort-by", "ts", str(path))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert code == 1
    assert doc["summary"]["illegal"] == 1


def test_no_cap_stops_judging_and_the_report_says_what_it_does_not_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1,200 unusable lines, then runs: every line is read and counted; the lists say how many they leave out (§1).

    The reader used to give up after 100 unusable lines (losing the runs after them), and the
    text said only "... and N more".
    """
    path = tmp_path / "noisy.jsonl"
    path.write_text(
        '["queued"]\n' + "nope\n" * 1200 + '["queued", "in_progress", "completed"]\n["completed", "queued"]\n'
    )
    code, doc = _json(capsys, str(path))
    assert code == 2
    summary = doc["summary"]
    assert (summary["runs"], summary["illegal"], summary["input_errors"]) == (3, 1, 1200)
    assert summary["sources"][0] | {"source": None} == {
        "source": None,
        "lines": 1203,
        "in_records": 3,
        "skipped": 0,
        "errors": 1200,
    }
    assert (len(doc["input_errors"]), doc["input_errors_not_listed"]) == (1000, 200)
    assert main(["validate", "--only-failures", str(path)]) == 2
    out = capsys.readouterr().out
    assert out.count("malformed JSON") == 50
    assert "1,150 more input errors not listed here (of 1,200, all counted above" in out.splitlines()[-1]
