"""What ``runfsm validate`` lists besides failing runs: unfinished runs on request, warnings and notes named apart.

Unfinished runs are counted in the summary; ``--show-unfinished`` lists each of them (text
``UNFINISHED`` lines, JSON entries, with ``--jobs`` too). Field-invariant warnings (a run object
whose fields contradict its status) and client-call notes (a call recorded after the run ended)
are different findings: counted apart in the summary, listed apart (``FIELD`` and ``NOTE``).
"""

from __future__ import annotations

import importlib.util
import json
import re
from typing import TYPE_CHECKING

import pytest

from runfsm.commands.main import main

if TYPE_CHECKING:
    from pathlib import Path

LATE_CANCEL = '{"run_id": "late", "statuses": ["queued", "in_progress", "completed", "cancel"]}\n'
BAD_FIELDS = '{"object": "thread.run", "id": "fields", "status": "failed"}\n'


def _count(out: str, label: str) -> int:
    match = re.search(rf"^{label}\s+([\d,]+)$", out, re.MULTILINE)
    assert match is not None, out
    return int(match.group(1).replace(",", ""))


def test_warnings_and_notes_are_counted_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A late cancel is a client-call note, a failed run without last_error a field warning: two rows, two tags."""
    notes = tmp_path / "calls.jsonl"
    notes.write_text(LATE_CANCEL)
    fields = tmp_path / "fields.jsonl"
    fields.write_text(BAD_FIELDS)
    assert main(["validate", "--show-warnings", str(notes), str(fields)]) == 0
    out = capsys.readouterr().out
    assert _count(out, "field warnings") == 2  # failed_at and last_error are not set
    assert _count(out, "client-call notes") == 1
    assert re.search(r"^NOTE late: .*calls\.jsonl:1: observation 3: cancel recorded after the run ended", out, re.M)
    assert re.search(r"^FIELD fields: .*fields\.jsonl:1: observation 0: failed: last_error is not set$", out, re.M)
    assert not re.search(r"^NOTE fields|^FIELD late", out, re.M)


def test_json_names_them_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """JSON: ``field_warnings`` and ``call_notes`` in the summary; each run has ``warnings`` and ``notes``."""
    path = tmp_path / "both.jsonl"
    path.write_text(LATE_CANCEL + BAD_FIELDS)
    main(["validate", "--format", "json", str(path)])
    doc = json.loads(capsys.readouterr().out)
    assert (doc["summary"]["field_warnings"], doc["summary"]["call_notes"]) == (2, 1)
    runs = {run["run_id"]: run for run in doc["runs"]}
    assert (len(runs["late"]["notes"]), len(runs["late"]["warnings"])) == (1, 0)
    assert (len(runs["fields"]["notes"]), len(runs["fields"]["warnings"])) == (0, 2)


def _simulated(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus.jsonl"
    assert main(["simulate", "--runs", "400", "--illegal", "0.1", "--unfinished", "0.2", "-o", str(corpus)]) == 0
    return corpus


def _unfinished_ids(corpus: Path, capsys: pytest.CaptureFixture[str]) -> set[str]:
    """The unfinished runs, as the full JSON document (every run) says."""
    main(["validate", "--format", "json", str(corpus)])
    doc = json.loads(capsys.readouterr().out)
    ids = {run["run_id"] for run in doc["runs"] if run["result"] == "unfinished"}
    assert len(ids) == doc["summary"]["unfinished"] > 20
    return ids


ENGINES = ["python"] + (["duckdb"] if importlib.util.find_spec("duckdb") is not None else [])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_show_unfinished_lists_every_unfinished_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str, engine: str
) -> None:
    """--show-unfinished: one UNFINISHED line per unfinished run, with its last status; none without it."""
    corpus = _simulated(tmp_path)
    expected = _unfinished_ids(corpus, capsys)
    main(["validate", "--show-unfinished", "--engine", engine, "--jobs", jobs, str(corpus)])
    out = capsys.readouterr().out
    listed = re.findall(r"^UNFINISHED (\S+) \(poll mode\): no terminal status observed; last status \w+", out, re.M)
    assert sorted(listed) == sorted(expected)
    assert _count(out, "unfinished") == len(expected)
    main(["validate", "--engine", engine, "--jobs", jobs, str(corpus)])
    assert "UNFINISHED" not in capsys.readouterr().out


def test_show_unfinished_in_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format jsonl --only-failures writes failing runs; with --show-unfinished the unfinished ones too."""
    corpus = _simulated(tmp_path)
    expected = _unfinished_ids(corpus, capsys)
    main(["validate", "--format", "jsonl", "--only-failures", "--show-unfinished", str(corpus)])
    runs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["run_id"] for r in runs if r["result"] == "unfinished"} == expected


def test_show_unfinished_with_only_failures_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """JSON --only-failures lists failing runs only; with --show-unfinished the unfinished ones too."""
    corpus = _simulated(tmp_path)
    expected = _unfinished_ids(corpus, capsys)
    main(["validate", "--format", "json", "--only-failures", "--show-unfinished", str(corpus)])
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert {r["run_id"] for r in runs if r["result"] == "unfinished"} == expected
    assert all(r["failed"] or r["result"] == "unfinished" for r in runs)
