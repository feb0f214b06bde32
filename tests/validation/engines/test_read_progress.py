"""The duckdb engine tells how far it has read its inputs: bytes done of their sizes, never going back."""

from __future__ import annotations

import gzip
import json
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("duckdb")

from runfsm.commands.main import main
from runfsm.validation.engines import duckdb as duckdb_engine
from runfsm.validation.engines import progress

if TYPE_CHECKING:
    from pathlib import Path

_RUN: list[dict[str, Any]] = [
    {"status": "queued"},
    {"status": "in_progress", "started_at": 1},
    {"status": "completed", "completed_at": 2},
]


def _log(path: Path, runs: int, *, pad: int = 0) -> Path:
    """A JSON Lines log of ``runs`` legal runs (ids named after the file), each line padded with ``pad`` bytes."""
    lines = []
    for k in range(runs):
        for record in _RUN:
            line = {**record, "id": f"run_{path.name}_{k}", "metadata": {"note": "x" * pad}}
            lines.append(json.dumps(line, separators=(",", ":")))
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def _told(paths: list[Path]) -> tuple[list[tuple[int, int]], object]:
    """What ``on_progress`` was told, in order, and the summary."""
    told: list[tuple[int, int]] = []
    summary = duckdb_engine.summarize_paths(paths, on_progress=lambda done, total: told.append((done, total)))
    return told, summary


def test_every_input_is_counted_once_whoever_reads_it(tmp_path: Path) -> None:
    """JSON Lines (plain and gzip) read by DuckDB, CSV by the python reader: all their bytes, in the order read.

    The total is the inputs' sizes (a compressed one counts its compressed bytes), ``done`` never
    goes back and ends at the total, and the answers are those of a validation told nothing.
    """
    paths = [_log(tmp_path / "a.jsonl", 30), _log(tmp_path / "b.jsonl.gz", 20)]
    csv = tmp_path / "c.csv"
    csv.write_text("run_id,status\nrun_c,queued\nrun_c,cancelled\n")
    paths.append(csv)
    told, summary = _told(paths)
    total = sum(p.stat().st_size for p in paths)
    assert {t for _, t in told} == {total}
    done = [d for d, _ in told]
    assert done == sorted(done)
    assert done[0] == 0
    assert done[-1] == total
    assert summary == duckdb_engine.summarize_paths(paths)
    assert summary.runs == 51


def test_a_running_query_is_asked_how_far_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While DuckDB reads a large input, its query's progress is told: some ``done`` between nothing and all."""
    monkeypatch.setattr(progress, "POLL_SECONDS", 0.001)
    path = _log(tmp_path / "big.jsonl", 12_000, pad=1_000)  # about 40 MB: DuckDB reads it in several buffers
    told, _summary = _told([path])
    size = path.stat().st_size
    assert any(0 < done < size for done, _ in told)
    assert told[-1] == (size, size)


def test_reading_again_never_goes_back(tmp_path: Path) -> None:
    """An engine that reads the inputs again (the validation done again) starts where the last one was.

    Each value is told once, when it is further than the last.
    """
    names = [str(_log(tmp_path / f"{k}.jsonl", 10 * (k + 1))) for k in range(2)]
    sizes = [progress.input_size(name) for name in names]
    told: list[tuple[int, int]] = []
    followed = progress.ReadProgress(lambda done, total: told.append((done, total)))
    followed.plan(names)
    followed.read(0)
    followed.read(1)
    followed.plan(names)  # a second engine
    followed.read(0)
    assert told == [(0, sum(sizes)), (sizes[0], sum(sizes)), (sum(sizes), sum(sizes))]
    followed.read(1)
    assert len(told) == 3


def test_an_input_the_python_engine_reads_is_read_when_it_is_done(tmp_path: Path) -> None:
    """A lone carriage return: the validation starts again, then the python engine reads the input; all of it told."""
    path = _log(tmp_path / "cr.jsonl", 40)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r", 1))  # the first line ends with a lone CR
    told, summary = _told([path])
    assert told == [(0, path.stat().st_size), (path.stat().st_size, path.stat().st_size)]
    assert summary == duckdb_engine.summarize_paths([path])


def test_the_command_draws_the_bytes_read_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the duckdb engine the bar counts bytes (then says it is judging); the report stays on stdout alone."""
    path = _log(tmp_path / "runs.jsonl", 50)
    assert main(["validate", "--engine", "duckdb", str(path)]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == ""  # stderr is no terminal here: nothing drawn
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert main(["validate", "--engine", "duckdb", str(path)]) == 0
    drawn = capsys.readouterr()
    assert drawn.out == quiet.out
    assert "judging: 100%" in drawn.err
    assert "B/s" in drawn.err
    assert main(["validate", "--engine", "duckdb", "--quiet", str(path)]) == 0
    assert capsys.readouterr().err == ""
