"""The spark engine (local mode) gives the python engine's answers, from files and from DataFrames.

One SparkSession serves every test of this module (starting one takes seconds); the corpora are
small: what is tested is that the same judge decides, not Spark's speed.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - .ci/install installs a Java runtime
    pytest.skip("Spark needs a Java runtime (apt-get install default-jre-headless)", allow_module_level=True)

from runfsm.testing.simulate import simulated_log
from runfsm.validation import summarize_paths
from runfsm.validation.engines import spark as spark_engine
from runfsm.verdict import Location, Verdict

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyspark.sql import SparkSession

# py4j leaves its gateway sockets to the garbage collector
pytestmark = [
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
