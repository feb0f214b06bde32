"""The spark engine (local mode) gives the python engine's answers, from files and from DataFrames.

For every lifecycle preset, with ``--sort-by``, and with late records around ``linger``. One
SparkSession serves every test of this module (starting one takes seconds); the corpora are
small and the examples few: what is tested is that the same judge decides, not Spark's speed.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - .ci/install installs a Java runtime
    pytest.skip("Spark needs a Java runtime (apt-get install default-jre-headless)", allow_module_level=True)

from runfsm.lifecycles import PRESETS
from runfsm.testing.logs import log_lines
from runfsm.testing.simulate import simulated_log
from runfsm.validation import summarize_paths
from runfsm.validation.engines import spark as spark_engine
from runfsm.verdict import Location, Verdict

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pyspark.sql import SparkSession

    from runfsm.lifecycle import Lifecycle

# py4j leaves its gateway sockets to the garbage collector
pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("spark"),  # one worker, one SparkSession (--dist loadgroup)
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    """One local Spark for the module, two cores."""
    session = spark_engine.spark_session("local[2]", "runfsm-tests")
    yield session
    session.stop()


def _verdicts(fn: Any, paths: list[Path], **options: Any) -> tuple[dict[str, Any], list[str], list[str]]:
    verdicts: list[Verdict] = []
    errors: list[str] = []
    summary = fn(paths, on_verdict=verdicts.append, on_error=lambda e: errors.append(str(e)), **options)
    return summary.to_dict(), sorted(repr(v) for v in verdicts), sorted(errors)


@pytest.mark.parametrize("strict", [False, True])
def test_files_give_the_python_engines_answers(spark: SparkSession, tmp_path: Path, strict: bool) -> None:
    """A simulated corpus in three formats, with bad lines and late records: the same summary, verdicts, errors."""
    del spark  # the session the engine finds active
    paths = []
    for k, fmt in enumerate(["jsonl", "events", "csv"]):
        text = simulated_log(fmt, 40 + k, runs=25, illegal=0.3)  # type: ignore[arg-type]
        if fmt == "jsonl":
            text += '{"id": "run_x", "status": "warp"}\n{oops\n' + text[: len(text) // 4]
        path = tmp_path / f"part{k}.{fmt}"
        path.write_text(text)
        paths.append(path)
    expected = _verdicts(summarize_paths, paths, strict=strict)
    got = _verdicts(spark_engine.summarize_paths, paths, strict=strict, master="local[2]")
    assert got == expected
    assert expected[0]["illegal"] > 0
    assert expected[0]["input_errors"] > 0


def test_run_ids_no_utf8_text_holds_are_the_python_engines(
    spark: SparkSession, tmp_path: Path, surrogate_ids: str
) -> None:
    """Spark would read each lone surrogate as U+FFFD (two runs as one): the python engine judges such files."""
    del spark
    path = tmp_path / "ids.jsonl"
    path.write_text(surrogate_ids)
    expected = _verdicts(summarize_paths, [path])
    assert expected[0]["runs"] == 5
    assert _verdicts(spark_engine.summarize_paths, [path], master="local[2]") == expected


def test_dataframe_verdicts_equal_the_csv_verdicts(spark: SparkSession, tmp_path: Path) -> None:
    """A DataFrame of the rows of a CSV log: the verdicts DataFrame and the summary are the python engine's."""
    text = simulated_log("csv", 7, runs=30, illegal=0.3)
    text = text.replace(",in_progress,", ",warp,", 1)  # an unknown status
    path = tmp_path / "runs.csv"
    path.write_text(text)
    expected: list[Verdict] = []
    summary = summarize_paths([path], on_verdict=expected.append, every_verdict=True)

    rows = [line.split(",") for line in text.splitlines()[1:]]
    df = spark.createDataFrame(
        [(r[0], r[1], int(r[2]), n) for n, r in enumerate(rows, 2)], "run_id STRING, status STRING, ts LONG, line INT"
    ).withColumn("file", __import__("pyspark.sql.functions", fromlist=["lit"]).lit(str(path)))
    result = spark_engine.validate_dataframe(df, order="line", source="file", line="line")
    assert result.summary == dataclasses.replace(summary, sources=[])  # a DataFrame has rows, not lines
    table = {r["run_id"]: r.asDict() for r in result.verdicts.collect()}
    assert len(table) == summary.runs
    for verdict in expected:
        row = table[verdict.run_id]
        first = verdict.first_offense
        assert (row["result"], row["observations"], row["inferred_jumps"], row["lenient_edges"]) == (
            verdict.result.value,
            verdict.observations,
            len(verdict.inferred),
            len(verdict.lenient),
        )
        assert row["first_offense_location"] == (str(first.location) if first is not None else None)
    worth = [v for v in expected if summary.is_worth_reporting(v)]
    assert sorted(map(repr, result.reported)) == sorted(map(repr, worth))


def test_dataframe_columns_are_checked(spark: SparkSession) -> None:
    """A column the DataFrame lacks is a clear error naming the columns it has."""
    df = spark.createDataFrame([("run_1", "queued")], "id STRING, state STRING")
    with pytest.raises(ValueError, match=r"no column 'run_id'.*it has id, state"):
        spark_engine.validate_dataframe(df)


def test_dataframe_rows_without_run_id_are_input_errors(spark: SparkSession) -> None:
    """An empty run id is an input error located by the source and line columns, as in a CSV log."""
    df = spark.createDataFrame(
        [("run_1", "queued", 1), ("", "completed", 2), ("run_1", "completed", 3)], "run_id STRING, status STRING, n INT"
    )
    result = spark_engine.validate_dataframe(df, order="n", line="n")
    assert (result.summary.runs, result.summary.legal, result.summary.input_errors) == (1, 1, 1)
    assert [str(e) for e in result.errors] == ["<dataframe>:2: empty run_id: expected the run id"]
    assert Location("<dataframe>", 2) == Location(result.errors[0].source, result.errors[0].line)


_FEW = settings(
    max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=list(PRESETS))
@_FEW
@given(data=st.data(), linger=st.sampled_from([1, 10_000]))
def test_every_preset_gives_the_python_engines_answers(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, lifecycle: Lifecycle[Any], data: Any, linger: int
) -> None:
    """Logs of each preset in two files (objects, events, webhooks, calls, odd lines, late records), detected."""
    del spark
    folder = tmp_path_factory.mktemp(lifecycle.key)
    paths = []
    for k in range(2):
        path = folder / f"part{k}.jsonl"
        path.write_text("".join(line + "\n" for line in data.draw(log_lines(lifecycle, max_objects=8))))
        paths.append(path)
    options = {"lifecycle": "auto", "linger": linger, "every_verdict": True}
    expected = _verdicts(summarize_paths, paths, **options)
    assert _verdicts(spark_engine.summarize_paths, paths, master="local[2]", **options) == expected


def _stamped(text: str, stamps: list[object]) -> str:
    """The JSON Lines log with a ``ts`` field on each line, from ``stamps`` in turn (None: no field)."""
    out = []
    for k, line in enumerate(text.splitlines()):
        obj = json.loads(line)
        stamp = stamps[k % len(stamps)]
        if stamp is not None:
            obj["ts"] = stamp
        out.append(json.dumps(obj))
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("linger", [0, 10_000])
def test_sort_by_gives_the_python_engines_answers(spark: SparkSession, tmp_path: Path, linger: int) -> None:
    """``--sort-by ts``: numbers, ISO 8601 text, records without the field, and values refused.

    Naive ISO 8601 text is UTC and offsets are honoured; a record without the field stays right
    after the record before it; nan, infinity and other text are reported as FILE:LINE.
    """
    del spark
    stamps: list[object] = [
        30,
        "1970-01-01T00:00:10",
        None,
        5.5,
        "1970-01-01T01:00:20+01:00",
        "nan",
        12,
        None,
        "1970-01-01T00:00:01Z",
        "soon",
        1e999,
        3,
    ]
    paths = []
    for k in range(2):
        path = tmp_path / f"part{k}.jsonl"
        path.write_text(_stamped(simulated_log("jsonl", 60 + k, runs=20, illegal=0.3), stamps[k:]))
        paths.append(path)
    options = {"sort_by": "ts", "linger": linger, "every_verdict": True}
    expected = _verdicts(summarize_paths, paths, **options)
    assert _verdicts(spark_engine.summarize_paths, paths, master="local[2]", **options) == expected
    assert expected[0]["input_errors"] > 0
    assert expected != _verdicts(summarize_paths, paths, linger=linger, every_verdict=True)  # the order matters


def test_late_records_are_counted_in_spark(spark: SparkSession, tmp_path: Path) -> None:
    """A record after its run ended is in reach when it comes at most ``linger`` slots after the end.

    Run ``a`` ends on line 2 of the first file; its late record is line 2 of the second file, 4
    slots (lines) later. The lines in between end other runs, one of them read by Python only
    because of a field warning.
    """
    lines = [
        {"id": "a", "status": "in_progress", "started_at": 1},
        {"id": "a", "status": "completed", "completed_at": 2},
        {"id": "b", "status": "expired"},
        {"id": "c", "status": "failed"},  # no last_error: a field warning, read by Python on the driver
        {"id": "a", "status": "completed", "completed_at": 2},
    ]
    first = tmp_path / "a.jsonl"
    first.write_text("".join(json.dumps(line) + "\n" for line in lines[:4]))
    second = tmp_path / "b.jsonl"
    second.write_text(json.dumps({"id": "d", "status": "expired"}) + "\n" + json.dumps(lines[4]) + "\n")
    groups = spark_engine._read_groups([first, second], master="local[2]")
    assert [groups.late_records_in_reach(linger) for linger in (3, 4)] == [False, True]


def test_dataframe_of_batches(spark: SparkSession, tmp_path: Path) -> None:
    """``validate_dataframe(..., lifecycle="batch")``: batch statuses and cancel calls, judged as the CSV rows are."""
    rows = [
        ("batch_1", "validating"),
        ("batch_1", "in_progress"),
        ("batch_1", "cancel"),
        ("batch_1", "cancelled"),
        ("batch_2", "finalizing"),
        ("batch_2", "in_progress"),  # illegal: finalizing -> in_progress
        ("batch_3", "validating"),
        ("batch_3", "completed"),  # in_progress and finalizing inferred
        ("batch_4", "warp"),
    ]
    path = tmp_path / "batches.csv"
    path.write_text("run_id,status\n" + "".join(f"{r},{s}\n" for r, s in rows))
    summary = summarize_paths([path], lifecycle="batch")
    df = spark.createDataFrame([(r, s, n) for n, (r, s) in enumerate(rows, 2)], "run_id STRING, status STRING, n INT")
    result = spark_engine.validate_dataframe(df, order="n", line="n", source=None, lifecycle="batch")
    assert result.summary == dataclasses.replace(summary, sources=[])
    assert (summary.legal, summary.illegal, summary.unknown_status, summary.inferred_jumps) == (2, 1, 1, 2)
    table = {r["run_id"]: (r["result"], r["final"]) for r in result.verdicts.collect()}
    assert table == {
        "batch_1": ("legal", "cancelled"),
        "batch_2": ("illegal", "finalizing"),
        "batch_3": ("legal", "completed"),
        "batch_4": ("unknown_status", "Null"),
    }


def test_the_command_reads_every_preset(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``runfsm validate --engine spark --lifecycle auto`` on a response log prints the python engine's report."""
    from runfsm.commands.main import main

    del spark
    lines = [
        {"object": "response", "id": "resp_1", "status": "queued"},
        {"object": "response", "id": "resp_1", "status": "completed", "completed_at": 3},
        {"object": "response", "id": "resp_2", "status": "cancelled"},
        {"object": "response", "id": "resp_2", "status": "completed", "completed_at": 5},
        {"object": "event", "id": "evt_1", "type": "response.failed", "data": {"id": "resp_3"}},
    ]
    path = tmp_path / "responses.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    reports = []
    for engine in ("python", "spark"):
        code = main(["validate", "--engine", engine, "--spark-master", "local[2]", "--format", "json", str(path)])
        report = json.loads(capsys.readouterr().out)
        report["runs"].sort(key=lambda run: run["run_id"])  # the engines list runs in another order
        reports.append((code, report))
    assert reports[1] == reports[0]
    assert (reports[0][0], reports[0][1]["summary"]["illegal"], reports[0][1]["summary"]["legal"]) == (1, 1, 2)


def test_the_command_waits_for_a_late_record_as_long_as_the_python_engine(
    spark: SparkSession, late_record_log: Path, validate_json: Callable[..., tuple[int, dict[str, Any]]]
) -> None:
    """``runfsm validate --engine spark`` keeps an ended run ``DEFAULT_LINGER`` slots, as ``--engine python`` does.

    The command gives the engine no ``linger``: its default decides. ``run_late``'s last record
    comes 20,101 lines after its ``completed`` (``late_record_log``), past the 10,000 slots the
    engine once defaulted to (then ``run_late`` was legal and the record a second, unfinished
    history). Within the default it is judged with the run: illegal, on the last line, exit status 1.
    """
    del spark  # the session the engine finds active
    path = str(late_record_log)
    code, report = validate_json("--engine", "python", path)
    assert validate_json("--engine", "spark", "--spark-master", "local[2]", path) == (code, report)
    late = next(run for run in report["runs"] if run["run_id"] == "run_late")
    last_line = report["summary"]["sources"][0]["lines"]
    assert (code, report["summary"]["unfinished"], late["result"]) == (1, 0, "illegal")
    assert late["first_offense"]["location"] == f"{path}:{last_line}"


@pytest.mark.parametrize("seed", [3, 5])  # each with an object whose events came out of timeline order
def test_a_webhook_log_is_read_in_each_objects_timeline_as_the_python_engine_reads_it(
    spark: SparkSession, tmp_path: Path, make_webhook_log: Any, seed: int
) -> None:
    """Shuffled deliveries with redeliveries (a webhook log): Spark's records keep the reader's timeline order."""
    path = tmp_path / "hooks.log"
    path.write_bytes(make_webhook_log(seed, 6))
    expected = _verdicts(summarize_paths, [path], lifecycle="auto", every_verdict=True)
    got = _verdicts(spark_engine.summarize_paths, [path], lifecycle="auto", every_verdict=True, master="local[2]")
    assert got == expected
