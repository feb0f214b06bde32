"""runfsm validate: the report, the JSON document, the exit codes, and bad input from the command line."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pytest

from runfsm.commands.main import main
from runfsm.commands.validate import collect, render_json, render_text

if TYPE_CHECKING:
    from pathlib import Path


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _simulated(tmp_path: Path, runs: int, *, unfinished: bool = True) -> Path:
    """A JSON Lines corpus written by ``runfsm simulate`` (20% illegal runs, 10% unfinished ones)."""
    corpus = tmp_path / "corpus.jsonl"
    options = ["--unfinished", "0.1"] if unfinished else []
    assert main(["simulate", "--runs", str(runs), "--illegal", "0.2", *options, "-o", str(corpus)]) == 0
    return corpus


LEGAL = '{"run_id": "a", "statuses": ["queued", "in_progress", "completed"]}\n'
ILLEGAL = '{"run_id": "b", "statuses": ["queued", "completed", "in_progress"]}\n'
UNFINISHED = '{"run_id": "c", "statuses": ["queued", "in_progress"]}\n'


def test_sample_is_the_main_job(capsys: pytest.CaptureFixture[str]) -> None:
    """--sample validates the bundled samples: a summary, then each failing run located in samples/."""
    code = main(["validate", "--sample"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0].split() == ["runs", "15"]
    assert "FAIL run_skip7 (stream mode): illegal" in out
    assert "samples/events.jsonl:14: observation 2: illegal jump queued -> completed" in out
    assert "allowed after queued: in_progress, expired, cancelling, failed" in out
    assert "WARN run_lost3" in out


def test_all_legal_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only legal runs: exit 0, and the summary says so."""
    assert main(["validate", _write(tmp_path, "a.jsonl", LEGAL)]) == 0
    out = capsys.readouterr().out
    assert "legal" in out
    assert "FAIL" not in out


def test_illegal_exits_1_with_location_jump_and_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An illegal run: exit 1, its file:line, the jump and the allowed targets."""
    path = _write(tmp_path, "b.jsonl", LEGAL + ILLEGAL)
    assert main(["validate", path]) == 1
    out = capsys.readouterr().out
    assert f"{path}:2: observation 2: illegal jump completed -> in_progress; allowed after completed: nothing" in out


def test_unfinished_fails_only_with_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Unfinished runs are counted; they fail (exit 1) only with --strict."""
    path = _write(tmp_path, "c.jsonl", UNFINISHED)
    assert main(["validate", path]) == 0
    assert main(["validate", "--strict", path]) == 1
    assert "no terminal status observed; last status in_progress" in capsys.readouterr().out


def test_unrecorded_call_is_a_warning_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """in_progress -> queued without a logged submit: WARN and exit 0; with --strict FAIL and exit 1."""
    path = _write(tmp_path, "d.jsonl", '["in_progress", "queued", "in_progress", "completed"]\n')
    assert main(["validate", path]) == 0
    assert "WARN" in capsys.readouterr().out
    assert main(["validate", "--strict", path]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_bad_input_exits_2_and_other_records_still_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed line and a missing file: each reported with its location, the rest validated, exit 2."""
    path = _write(tmp_path, "e.jsonl", LEGAL + "{broken\n" + ILLEGAL)
    missing = str(tmp_path / "missing.jsonl")
    assert main(["validate", path, missing]) == 2
    out = capsys.readouterr().out
    assert f"{path}:2: malformed JSON" in out
    assert f"{missing}: cannot read" in out
    assert "FAIL b" in out
    assert "Traceback" not in out


def test_unknown_status_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown status makes the run's result unknown_status and the input unusable (exit 2)."""
    path = _write(tmp_path, "f.jsonl", '["queued", "paused"]\n')
    assert main(["validate", path]) == 2
    assert "unknown status 'paused' after queued" in capsys.readouterr().out


def test_json_output_is_one_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format json: summary, every run's verdict, input errors, exit code, as one JSON document."""
    path = _write(tmp_path, "g.jsonl", LEGAL + ILLEGAL + "nope\n")
    assert main(["validate", "--format", "json", path]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["runs"] == 2
    assert doc["summary"]["input_errors"] == 1
    assert doc["exit_code"] == 2
    failed = [r for r in doc["runs"] if r["failed"]]
    assert [r["run_id"] for r in failed] == ["b"]
    assert failed[0]["first_offense"]["location"] == f"{path}:2"
    assert doc["input_errors"][0]["line"] == 3


def test_only_failures_and_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--only-failures drops the summary (and legal runs from JSON); --quiet prints nothing."""
    path = _write(tmp_path, "h.jsonl", LEGAL + ILLEGAL)
    assert main(["validate", "--only-failures", path]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL b")
    assert main(["validate", "--only-failures", "--format", "json", path]) == 1
    assert [r["run_id"] for r in json.loads(capsys.readouterr().out)["runs"]] == ["b"]
    assert main(["validate", "--quiet", path]) == 1
    assert capsys.readouterr() == ("", "")


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """'-' reads standard input, named <stdin> in locations."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO((LEGAL + ILLEGAL).encode())))
    assert main(["validate", "-"]) == 1
    assert "<stdin>:2:" in capsys.readouterr().out


def test_modes_and_sort_by(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--mode forces stream or poll; --sort-by orders each run's records by a field first."""
    path = _write(tmp_path, "i.csv", "run_id,status,timestamp\nr,queued,1\nr,completed,3\n")
    assert main(["validate", "--mode", "poll", path]) == 0
    assert main(["validate", "--mode", "stream", path]) == 1
    shuffled = _write(tmp_path, "j.csv", "run_id,status,timestamp\nr,completed,3\nr,in_progress,2\nr,queued,1\n")
    assert main(["validate", "--mode", "stream", "--sort-by", "timestamp", shuffled]) == 0
    capsys.readouterr()


def test_show_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--show-warnings lists field-invariant warnings (FIELD lines) with their location."""
    path = _write(tmp_path, "k.jsonl", '{"object": "thread.run", "id": "r", "status": "failed"}\n')
    assert main(["validate", "--show-warnings", path]) == 0
    out = capsys.readouterr().out
    assert f"FIELD r: {path}:1: observation 0: failed: last_error is not set" in out
    assert main(["validate", "--no-field-checks", "--show-warnings", path]) == 0
    assert "FIELD" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["validate"], ["validate", "--mode", "sometimes", "x"], ["validate", "--jobs", "0", "x"]],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """No input, a bad choice or a bad number: exit 2 with a message on stderr."""
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize(("option", "what"), [("--sort-by", "a field name"), ("--report", "a file name")])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_field_or_file_name_is_a_usage_error(
    option: str, what: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--sort-by "$FIELD"`` with FIELD unset would sort by nothing, ``--report ""`` write nowhere: said, exit 2."""
    assert main(["validate", option, value, "--sample"]) == 2
    assert capsys.readouterr().err == f"runfsm validate: error: {option} needs {what}, got {value!r}\n"


@pytest.mark.parametrize("jobs", ["0", "-3", "1025", "99999999999"])
@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_jobs_out_of_range_is_a_usage_error(jobs: str, engine: str, capsys: pytest.CaptureFixture[str]) -> None:
    """From 1 to MAX_JOBS: a huge --jobs would fork that many workers or ask DuckDB for that many threads."""
    from runfsm.commands.validate import MAX_JOBS

    assert main(["validate", "--engine", engine, "--jobs", jobs, "x.jsonl"]) == 2
    assert capsys.readouterr().err == (
        f"runfsm validate: error: --jobs must be from 1 to {MAX_JOBS:,}, got {int(jobs):,}\n"
    )


def test_directory_with_no_files_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory holding no file to read (empty, or hidden files only) is named, not taken for no input: exit 2."""
    empty = tmp_path / "logs"
    (empty / "2024").mkdir(parents=True)
    (empty / ".hidden.jsonl").write_text(LEGAL)
    legal = _write(tmp_path, "legal.jsonl", LEGAL)
    for argv in ([str(empty)], [legal, str(empty)]):
        assert main(["validate", *argv]) == 2
        out, err = capsys.readouterr()
        said = f"{empty}: the directory holds no files to read (names starting with a dot are left out)"
        assert err == f"runfsm validate: error: {said}\n"
        assert out == ""
    assert main(["validate", str(tmp_path / "logs" / "*")]) == 2  # a glob matching only a directory
    assert "/*: the pattern matches no files to read" in capsys.readouterr().err


def test_no_progress_output_when_stderr_is_not_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Progress is drawn only on a terminal: redirected stderr stays empty."""
    path = _write(tmp_path, "l.jsonl", "".join('["queued", "completed"]\n' for _ in range(20_000)))
    assert main(["validate", path]) == 0
    assert capsys.readouterr().err == ""


def test_progress_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When stderr is a terminal, a progress bar counts records there (stdout keeps only the report)."""
    path = _write(tmp_path, "m.jsonl", "".join('["queued", "completed"]\n' for _ in range(20_000)))
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert main(["validate", "--engine", "python", path]) == 0
    captured = capsys.readouterr()
    assert " records" in captured.err
    assert " records" not in captured.out.replace("in records", "")
    assert "\r" not in captured.out


def test_jobs_give_the_same_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--jobs 2 splits the runs between two processes by run id; the report holds the same verdicts."""
    corpus = _simulated(tmp_path, 300)
    bad = _write(tmp_path, "bad.jsonl", LEGAL + "{oops\n")
    capsys.readouterr()
    docs = []
    for jobs in ("1", "2"):
        assert main(["validate", "--format", "json", "--jobs", jobs, str(corpus), bad]) == 2
        docs.append(json.loads(capsys.readouterr().out))
    assert docs[0]["summary"] == docs[1]["summary"]
    assert docs[0]["input_errors"] == docs[1]["input_errors"]

    def key(run: dict[str, object]) -> str:
        return json.dumps(run, sort_keys=True)

    assert sorted(docs[0]["runs"], key=key) == sorted(docs[1]["runs"], key=key)


@pytest.mark.parametrize(
    "options",
    [[], ["--only-failures"], ["--show-warnings"], ["--strict"], ["--strict", "--only-failures", "--show-warnings"]],
)
def test_streamed_text_report_equals_the_report_of_kept_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str]
) -> None:
    """The command streams failing runs to a spool file (bounded memory); its text equals render_text of collect()."""
    corpus = _simulated(tmp_path, 200)
    bad = _write(tmp_path, "bad.jsonl", ILLEGAL + "{oops\n")
    capsys.readouterr()
    code = main(["validate", "--engine", "python", *options, str(corpus), bad])
    streamed = capsys.readouterr().out
    strict = "--strict" in options
    report = collect([str(corpus), bad], strict=strict)
    expected = io.StringIO()
    render_text(
        report, expected, only_failures="--only-failures" in options, show_warnings="--show-warnings" in options
    )
    assert code == report.summary.exit_code == 2
    assert "FAIL " in streamed
    assert streamed == expected.getvalue()


@pytest.mark.parametrize("options", [[], ["--only-failures"], ["--strict"], ["--strict", "--only-failures"]])
def test_streamed_json_document_equals_the_document_of_kept_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str]
) -> None:
    """--format json spools each run as it is judged; the document equals render_json of collect(), byte for byte."""
    corpus = _simulated(tmp_path, 120)
    bad = _write(tmp_path, "bad.jsonl", ILLEGAL + "{oops\n")
    capsys.readouterr()
    code = main(["validate", "--engine", "python", "--format", "json", *options, str(corpus), bad])
    streamed = capsys.readouterr().out
    only_failures, strict = "--only-failures" in options, "--strict" in options
    report = collect([str(corpus), bad], strict=strict, keep_all=not only_failures)
    expected = io.StringIO()
    render_json(report, expected, only_failures=only_failures)
    assert code == report.summary.exit_code == 2
    assert streamed == expected.getvalue()
    s = report.summary
    failing = s.illegal + s.unknown_status + (s.unfinished if strict else 0)
    assert len(json.loads(streamed)["runs"]) == (failing if only_failures else s.runs)


def test_json_document_without_runs_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With no run to list, the document still parses: "runs" is an empty list."""
    path = _write(tmp_path, "legal.jsonl", LEGAL)
    assert main(["validate", "--format", "json", "--only-failures", path]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == []


@pytest.mark.parametrize("output", [["--show-warnings"], ["--format", "json"]])
def test_jobs_spool_their_runs_into_the_same_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], output: list[str]
) -> None:
    """Each --jobs worker spools its kept runs to a file of its own; the parent's report holds the same entries."""
    corpus = _simulated(tmp_path, 300)
    capsys.readouterr()
    reports = []
    for jobs in ("1", "2"):
        assert main(["validate", *output, "--jobs", jobs, str(corpus)]) == 1
        reports.append(capsys.readouterr().out)
    if "json" in output:
        one, two = (json.loads(r) for r in reports)
        assert one["summary"] == two["summary"]
        assert sorted(map(json.dumps, one["runs"])) == sorted(map(json.dumps, two["runs"]))
    else:
        assert sorted(reports[0].splitlines()) == sorted(reports[1].splitlines())
        assert "FAIL " in reports[1]


def test_jobs_are_spawned_when_another_thread_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Forking with other threads alive is unsafe: workers are then spawned, and the report is the same."""
    import threading

    from runfsm.commands.validate import start_method

    corpus = _simulated(tmp_path, 150, unfinished=False)
    capsys.readouterr()
    assert main(["validate", "--jobs", "2", str(corpus)]) == 1
    before = capsys.readouterr().out
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert start_method() == "spawn"
        assert main(["validate", "--jobs", "2", str(corpus)]) == 1
    finally:
        stop.set()
        other.join()
    assert capsys.readouterr().out == before
