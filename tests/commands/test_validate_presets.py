"""``runfsm validate --lifecycle``: each preset's logs from the command line, detected or named, with --jobs too."""

from __future__ import annotations

import importlib.util
import json
from typing import TYPE_CHECKING

import pytest

from runfsm.commands.main import main

if TYPE_CHECKING:
    from pathlib import Path

BATCHES: list[dict[str, object]] = [
    {"object": "batch", "id": "batch_1", "status": "validating"},
    {"object": "batch", "id": "batch_1", "status": "in_progress", "in_progress_at": 5},
    {"object": "batch", "id": "batch_1", "status": "completed", "completed_at": 90},
    {"object": "batch", "id": "batch_2", "status": "finalizing", "finalizing_at": 7},
    {"object": "batch", "id": "batch_2", "status": "in_progress", "in_progress_at": 8},
]


def _write(tmp_path: Path, lines: list[dict[str, object]]) -> str:
    path = tmp_path / "batches.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("lifecycle", ["auto", "batch"])
def test_a_batch_log_is_judged_as_batches(tmp_path: Path, capsys: pytest.CaptureFixture[str], lifecycle: str) -> None:
    """Named or detected, the batch log gives one legal batch and one illegal jump (finalizing -> in_progress)."""
    code = main(["validate", "--lifecycle", lifecycle, "--format", "json", _write(tmp_path, BATCHES)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (report["summary"]["runs"], report["summary"]["legal"], report["summary"]["illegal"]) == (2, 1, 1)


def test_jobs_give_the_same_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Worker processes judge batches too: --jobs 2 prints the summary one process prints."""
    path = _write(tmp_path, BATCHES)
    main(["validate", "--format", "json", path])
    one = json.loads(capsys.readouterr().out)["summary"]
    main(["validate", "--format", "json", "--jobs", "2", path])
    two = json.loads(capsys.readouterr().out)["summary"]
    assert one == two


def test_the_wrong_lifecycle_says_which_one_to_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Batches validated as runs: input errors (exit 2), each naming --lifecycle batch."""
    code = main(["validate", "--lifecycle", "run", _write(tmp_path, BATCHES)])
    captured = capsys.readouterr()
    assert code == 2
    assert "--lifecycle batch" in captured.out + captured.err


def test_an_unknown_preset_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--lifecycle takes only the preset keys and auto."""
    assert main(["validate", "--lifecycle", "fine_tuning", "x.jsonl"]) == 2
    assert "invalid choice: 'fine_tuning'" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("duckdb") is None, reason="the [duckdb] extra is not installed")
@pytest.mark.parametrize("engine", ["auto", "duckdb"])
@pytest.mark.parametrize("lifecycle", ["auto", "batch"])
def test_the_duckdb_engine_prints_the_python_engines_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], engine: str, lifecycle: str
) -> None:
    """Batches through --engine duckdb (auto picks it for a regular file): the python engine's report and exit code.

    Before the engines took the lifecycle, duckdb refused batches and auto fell back to python.
    """
    path = _write(tmp_path, [*BATCHES, {"object": "batch", "id": "batch_3", "status": "warp"}])
    reports = []
    for name in ("python", engine):
        code = main(["validate", "--engine", name, "--lifecycle", lifecycle, "--format", "json", path])
        reports.append((code, json.loads(capsys.readouterr().out)))
    assert reports[1] == reports[0]
    assert reports[0][0] == 2  # an unknown status: exit 2
    assert (reports[0][1]["summary"]["illegal"], reports[0][1]["summary"]["unknown_status"]) == (1, 1)
