"""``runfsm validate --engine``: who reads the records changes nothing in the report; ``--format jsonl``."""

from __future__ import annotations

import gzip
import json
import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from runfsm.commands.main import main
from runfsm.validation.engines import check_memory_limit, choose_engine, engine_available

if TYPE_CHECKING:
    from collections.abc import Callable

needs_duckdb = pytest.mark.skipif(not engine_available("duckdb"), reason="the [duckdb] extra is not installed")


def _corpus(tmp_path: Path, runs: int) -> Path:
    from runfsm.testing.simulate import simulate_runs, write_corpus

    path = tmp_path / "runs.jsonl"
    with path.open("w") as out:
        write_corpus(out, simulate_runs(runs, seed=11, illegal=0.2, unfinished=0.2, fmt="jsonl"), concurrency=8)
    with path.open("a") as out:
        out.write('{"id": "run_bad", "status": "warp"}\n{oops\n')
    return path


def _lines(run: Callable[[], int], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code = run()
    captured = capsys.readouterr()
    return code, sorted(captured.out.splitlines()), captured.err


@needs_duckdb
@pytest.mark.parametrize("options", [[], ["--strict", "--show-warnings"], ["--format", "jsonl"]])
def test_duckdb_and_python_engines_print_the_same_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str]
) -> None:
    """The same lines (runs may come in another order), the same exit code, the same errors."""
    path = str(_corpus(tmp_path, 150))
    python = _lines(lambda: main(["validate", "--engine", "python", *options, path]), capsys)
    duckdb = _lines(lambda: main(["validate", "--engine", "duckdb", *options, path]), capsys)
    assert duckdb == python
    assert python[0] == 2


@needs_duckdb
def test_jsonl_format_is_one_verdict_per_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every run is one JSON line on stdout; errors and the summary go to stderr."""
    path = str(_corpus(tmp_path, 40))
    assert main(["validate", "--format", "jsonl", path]) == 2
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    summary = json.loads(captured.err.splitlines()[-1])["summary"]
    assert len(rows) == summary["runs"]
    assert sum(r["result"] == "illegal" for r in rows) == summary["illegal"]
    assert {"run_id", "result", "first_offense", "failed"} <= rows[0].keys()
    assert ":" in captured.err.splitlines()[0]  # FILE:LINE of the bad line


def test_engine_choice() -> None:
    """Auto takes python for standard input and for a file it cannot find (its reader reports it); pipes need python."""
    assert choose_engine("auto", ["-"]) == "python"
    assert choose_engine("python", ["-"]) == "python"
    assert choose_engine("auto", ["no-such-runs.jsonl"]) == "python"
    with pytest.raises(ValueError, match="standard input"):
        choose_engine("duckdb", ["-"])
    with pytest.raises(ValueError, match="unknown engine"):
        choose_engine("sqlite", ["runs.jsonl"])


@needs_duckdb
def test_auto_takes_duckdb_for_inputs_large_enough_to_gain_by_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their bytes against a base plus a cost per file: one large file is duckdb's, as many small ones are python's.

    The duckdb engine plans a query per file (about 30 ms): on 50 files of 2 MB it took 2.24 times the python
    engine's time, on one file of 60 MB 0.83 (see ``choose_engine``). The thresholds are set small here.
    """
    from runfsm.validation import engines

    monkeypatch.setattr(engines, "AUTO_BASE_BYTES", 1_000)
    monkeypatch.setattr(engines, "AUTO_FILE_BYTES", 500)
    line = '{"id": "run_1", "status": "queued"}\n'  # 36 bytes
    one = tmp_path / "one.jsonl"
    one.write_text(line * 50)  # 1,800 bytes >= 1,000 + 500
    assert choose_engine("auto", [str(one)]) == "duckdb"
    many = tmp_path / "many"
    many.mkdir()
    for k in range(4):  # 1,728 bytes in 4 files < 1,000 + 4 * 500
        (many / f"{k}.jsonl").write_text(line * 12)
    assert sum(f.stat().st_size for f in many.iterdir()) < 3_000
    assert choose_engine("auto", [str(many)]) == "python"
    assert choose_engine("auto", [str(many / "*.jsonl")]) == "python"
    ids = "".join(f'{{"id": "run_{os.urandom(16).hex()}", "status": "queued"}}\n' for _ in range(20))
    small = tmp_path / "small.jsonl"
    small.write_text(ids)  # about 1,300 bytes < 1,500
    assert small.stat().st_size < 1_500
    assert choose_engine("auto", [str(small)]) == "python"
    packed = tmp_path / "small.jsonl.gz"
    packed.write_bytes(gzip.compress(ids.encode()))  # random ids hardly shrink: counted five times, >= 1,500
    assert packed.stat().st_size * 5 >= 1_500
    assert choose_engine("auto", [str(packed)]) == "duckdb"
    assert choose_engine("duckdb", [str(small)]) == "duckdb"  # asked for by name: always


@needs_duckdb
def test_auto_takes_duckdb_for_parquet_however_small(tmp_path: Path) -> None:
    """Only DuckDB reads Parquet: a small Parquet file among small JSON Lines files makes them all duckdb's."""
    import duckdb

    small = tmp_path / "small.jsonl"
    small.write_text('{"id": "run_1", "status": "queued"}\n')
    assert choose_engine("auto", [str(small)]) == "python"
    rows = tmp_path / "rows.parquet"
    duckdb.connect().execute(f"COPY (SELECT 'run_2' AS run_id, 'queued' AS status) TO '{rows}' (FORMAT parquet)")
    assert choose_engine("auto", [str(small), str(rows)]) == "duckdb"


def test_a_missing_extra_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Without the extra installed, --engine duckdb says what to install (exit 2), no traceback."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "duckdb" else real(name, *a))
    assert main(["validate", "--engine", "duckdb", "runs.jsonl"]) == 2
    assert "pip install 'runfsm[duckdb]'" in capsys.readouterr().err


@pytest.mark.parametrize("limit", ["1GB", "1 gb", "512MiB", "1.5GB", "2G", "50%", "100%", "1MB"])
def test_a_memory_limit_is_a_size_with_its_unit_or_a_share(limit: str) -> None:
    """DuckDB's units (powers of 1000 and of 1024, the B optional) or a percentage of the memory."""
    assert check_memory_limit(limit) == limit.strip()


_MISREAD = ["1ZB", "1024", "", "abc", "-1GB", "0GB", "999KB", "1 KiB", "0%", "101%", "none"]


@pytest.mark.parametrize("limit", _MISREAD)
def test_a_memory_limit_duckdb_would_misread_is_refused(limit: str) -> None:
    """No unit, an unknown one, nothing, less than 1MB: refused, saying what to give.

    DuckDB itself reads ``none`` and negative sizes as no limit, and a few bytes as a limit it
    cannot start under: such text is not passed on to it.
    """
    with pytest.raises(ValueError, match="not a memory size to run with; give a number with a unit"):
        check_memory_limit(limit)


@needs_duckdb
@pytest.mark.parametrize("limit", ["1ZB", "none", "1024"])
def test_a_bad_memory_limit_is_a_usage_error(limit: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The command says it in one line (exit 2) before reading any input, and the library raises ValueError."""
    from runfsm.validation.engines import duckdb as duckdb_engine

    path = tmp_path / "runs.jsonl"
    path.write_text('{"id": "run_1", "status": "queued"}\n')
    assert main(["validate", "--engine", "duckdb", "--memory-limit", limit, str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"runfsm validate: error: memory limit {limit!r} is not a memory size to run with; " + (
        "give a number with a unit (KB, MB, GB, TB or KiB, MiB, GiB, TiB), at least 1MB, "
        "or a percentage of the memory up to 100%: e.g. 1GB, 512MiB, 50%\n"
    )
    with pytest.raises(ValueError, match="not a memory size"):
        duckdb_engine.summarize_paths([path], memory_limit=limit)


@pytest.mark.parametrize("master", ["local", "local[2]", "local[*]", "local[4,2]", "spark://host:7077", "yarn"])
def test_spark_master_urls_spark_takes(master: str) -> None:
    """Local (with threads, and a retry count), a standalone cluster, YARN: passed on as given."""
    from runfsm.validation.engines.spark import check_master

    assert check_master(master) == master


@pytest.mark.skipif(not engine_available("spark"), reason="the [spark] extra is not installed")
@pytest.mark.parametrize("master", ["bogus://x", "local[0]", "local[*", ""])
def test_a_spark_master_spark_does_not_take_is_a_usage_error(
    master: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Said in one line (exit 2) before any Java process is started for it."""
    path = tmp_path / "runs.jsonl"
    path.write_text('{"id": "run_1", "status": "queued"}\n')
    assert main(["validate", "--engine", "spark", "--spark-master", master, str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"runfsm validate: error: Spark master {master!r} is not one Spark takes; give ")


@pytest.mark.skipif(not engine_available("spark"), reason="the [spark] extra is not installed")
def test_spark_without_a_java_runtime_is_one_clear_error(tmp_path: Path) -> None:
    """Spark's JVM cannot start (JAVA_HOME names no Java): exit 2, what is missing said, no traceback."""
    import os
    import subprocess
    import sys

    path = tmp_path / "runs.jsonl"
    path.write_text('{"id": "run_1", "status": "queued"}\n')
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java")}
    command = [sys.executable, "-m", "runfsm", "validate", "--engine", "spark", "--spark-master", "local[1]", str(path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("runfsm validate: error: cannot start Spark at master 'local[1]': ")
    assert "Spark needs a Java runtime" in last
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("options", "unused"),
    [
        (["--engine", "python", "--memory-limit", "2GB"], "--memory-limit is the duckdb engine's"),
        (["--engine", "python", "--temp-directory", "/tmp"], "--temp-directory is the duckdb engine's"),
        (["--engine", "python", "--spark-master", "local[2]"], "--spark-master is the spark engine's"),
    ],
)
def test_an_option_of_another_engine_is_said_to_be_unused(
    options: list[str], unused: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A note on stderr (the report is unchanged): the option was meant for an engine that does not run."""
    assert main(["validate", *options, "--sample"]) == 1
    err = capsys.readouterr().err
    assert err == f"runfsm validate: note: {unused}; the python engine reads these inputs\n"


@needs_duckdb
def test_html_report_from_the_duckdb_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--report takes the duckdb engine's verdicts: the same runs drawn as from the python engine."""
    pytest.importorskip("graphviz")
    path = str(_corpus(tmp_path, 30))
    pages = {}
    for engine in ("python", "duckdb"):
        report = tmp_path / f"{engine}.html"
        assert main(["validate", "--quiet", "--engine", engine, "--report", str(report), path]) == 2
        pages[engine] = report.read_text()
    capsys.readouterr()
    assert "run_bad" in pages["duckdb"]
    assert len(pages["duckdb"]) == len(pages["python"])


@pytest.mark.parametrize(
    "tool_calls",
    [
        5,
        True,
        1.5,
        "call_1",
        {"id": "call_1"},
        [],
        [{"id": 7}],
        [{"id": True}],
        [{"id": "call_1"}, "odd", {"id": None}],
    ],
    ids=repr,
)
def test_odd_tool_calls_read_as_python_reads_them_in_every_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tool_calls: object
) -> None:
    """A paused run asking for tool calls that are no plain list: no traceback, and every engine agrees.

    Each run is paused, answered, then paused again with the same calls (a stale view of the
    answered round when the calls name ids, a new round when they name none) before it completes.
    """
    action = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": tool_calls}}
    paused: dict[str, object] = {"object": "thread.run", "status": "requires_action", "required_action": action}
    lines: list[dict[str, object]] = []
    for n in range(3):
        run = {"id": f"run_{n}"}
        lines += [
            {**run, "object": "thread.run", "status": "in_progress"},
            {**run, **paused},
            {"run_id": run["id"], "call": "submit_tool_outputs"},
            {**run, **paused},
            {**run, "object": "thread.run", "status": "completed"},
        ]
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    engines = ["python", "duckdb"] if engine_available("duckdb") else ["python"]
    reports = [
        _lines(partial(main, ["validate", "--engine", e, "--show-warnings", str(path)]), capsys) for e in engines
    ]
    assert all(report == reports[0] for report in reports)
    assert "Traceback" not in reports[0][2]
