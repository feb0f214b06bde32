"""The ``spark`` engine: Spark groups the records on the cluster, runfsm's judge decides on the driver.

Two ways in (the ``[spark]`` extra; Spark needs a Java runtime):

- :func:`validate_dataframe` takes a Spark DataFrame of observations, named by its columns (run
  id, status, order, optionally where each row came from), and returns a :class:`SparkValidation`:
  a DataFrame with one verdict per run (to join with your own tables) and the
  :class:`~runfsm.validation.summary.Summary`. A status cell is read as in a CSV log: a status
  (wire value, name, ordinal or stream event name) or a client call (``submit_tool_outputs``,
  ``cancel``); each run's rows are ordered by the order column.
- :func:`summarize_paths` (``runfsm validate --engine spark``) reads files: each file is read by the
  python engine's own reader inside an executor task, so every record and every ``FILE:LINE`` error
  is the python engine's.

Either way the executors group the records per run into shapes; the distinct shapes (a few
thousand per million records) are collected to the driver, judged once by
:func:`~runfsm.validation.shapes.judge_shape`, and broadcast back to be joined with the runs.
The few runs the shapes cannot settle (an illegal jump, an unknown status, a field warning, a
record only Python reads) are collected and replayed through the ledger on the driver.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from runfsm.exceptions import EngineError
from runfsm.validation.engines.inputs import cell_items, expand_paths, utf8_text
from runfsm.validation.engines.judging import judge_groups, python_engine
from runfsm.validation.engines.spark_groups import FILE_SHIFT, SUB, SparkGroups, code_map, verdict_frame
from runfsm.validation.engines.sql import sql_for
from runfsm.validation.formats.base import Record
from runfsm.validation.ledger import DEFAULT_LINGER
from runfsm.validation.records import path_list, resolve_lifecycle
from runfsm.validation.shapes import call_code
from runfsm.validation.summary import LineCounts

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from pyspark.sql import DataFrame, SparkSession

    from runfsm.exceptions import InputError
    from runfsm.lifecycle import Lifecycle
    from runfsm.status import StatusAliases
    from runfsm.validation.formats.base import Item
    from runfsm.validation.ledger import ValidationMode
    from runfsm.validation.summary import Summary
    from runfsm.verdict import Verdict

__all__ = ["SparkValidation", "check_master", "spark_session", "summarize_paths", "validate_dataframe"]

_MASTER: Final = re.compile(
    r"local(\[(\*|[1-9][0-9]*)(,[0-9]+)?\])?|local-cluster\[[0-9]+, *[0-9]+, *[0-9]+\]|yarn|(spark|k8s)://\S+"
)
"""The master URLs Spark takes (see :func:`check_master`)."""


def check_master(master: str) -> str:
    """The master URL, when of a form Spark takes; ValueError otherwise, before a Java process is started for it.

    The forms: ``local``, ``local[N]``, ``local[*]`` (also with a retry count, ``local[N,F]``),
    ``local-cluster[...]``, ``spark://HOST:PORT`` (a standalone cluster), ``yarn``, ``k8s://URL``.
    """
    if _MASTER.fullmatch(master) is None:
        raise ValueError(
            f"Spark master {master!r} is not one Spark takes; give local, local[N], local[*], spark://HOST:PORT "
            "(a standalone cluster), yarn or k8s://URL"
        )
    return master


def spark_session(master: str = "local[*]", app_name: str = "runfsm") -> SparkSession:
    """A Spark session (the active one when there is one), with settings for small local jobs.

    ValueError for a master URL Spark does not take (:func:`check_master`); :class:`~runfsm.exceptions.EngineError`
    when Spark cannot be started or reached at it.
    """
    from pyspark.sql import SparkSession  # noqa: PLC0415  (the spark extra)

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    check_master(master)
    builder: Any = SparkSession.builder
    if master.startswith("local"):
        # local executors run this interpreter (the one with runfsm and its parser installed),
        # and a local Spark listens on the loopback interface only
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    builder = (
        builder.master(master)
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", os.cpu_count() or 2)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    try:
        session: SparkSession = builder.getOrCreate()
    except Exception as err:  # pyspark's own errors, py4j's, a Java that is not there: none is ours to show
        lines = str(err).strip().splitlines()
        why = lines[0] if lines else type(err).__name__
        if "JAVA_GATEWAY_EXITED" in why:  # Spark's JVM did not start: most often no Java runtime
            why += " Spark needs a Java runtime: java on PATH or JAVA_HOME (e.g. apt-get install default-jre-headless)"
        raise EngineError(f"cannot start Spark at master {master!r}: {why}") from err
    session.sparkContext.setLogLevel("ERROR")
    return session


@dataclass
class SparkValidation:
    """What :func:`validate_dataframe` found."""

    verdicts: DataFrame
    """One row per run (:data:`VERDICT_COLUMNS`)."""
    summary: Summary
    reported: list[Verdict] = field(default_factory=list)
    """The runs worth reporting (failing, or with an offense or warnings), as verdicts."""
    errors: list[InputError] = field(default_factory=list)
    """Rows that are no observation (no run id, no status), located."""


# ----------------------------------------------------------------------------- DataFrames


def validate_dataframe(
    df: DataFrame,
    *,
    run_id: str = "run_id",
    status: str = "status",
    order: str | None = None,
    source: str | None = None,
    line: str | None = None,
    mode: ValidationMode = "poll",
    strict: bool = False,
    aliases: StatusAliases | None = None,
    lifecycle: Lifecycle[Any] | str | None = None,
) -> SparkValidation:
    """Judge every run of a DataFrame of observations; verdicts as a DataFrame, and the summary.

    ``run_id`` and ``status`` name the columns of the run id and the status (or client call);
    ``order`` the column ordering each run's rows (numbers or timestamps; without it, the
    DataFrame's own order). ``source`` and ``line`` name columns locating each row in your
    data (offenses are reported there). ``mode`` is ``poll`` (statuses are samples, the default)
    or ``stream`` (every change is in the data); ``auto`` is ``poll`` here, as for CSV logs.
    Rows without a run id or with an unknown status are judged as the python engine judges such
    CSV rows: an input error, or an unknown status of its run (unless ``aliases`` names it).
    ``lifecycle`` is whose observations they are: a Lifecycle or a preset's key (``run``,
    ``response``, ``batch``); the Assistants run by default. Its statuses, client calls and
    terminal states are read and judged.
    """
    from pyspark.sql import functions as F  # noqa: PLC0415

    sql = sql_for(resolve_lifecycle(lifecycle))
    spark = df.sparkSession
    missing = [c for c in (run_id, status, order, source, line) if c is not None and c not in df.columns]
    if missing:
        raise ValueError(f"no column {', '.join(map(repr, missing))} in the DataFrame (it has {', '.join(df.columns)})")
    rows = df.select(
        F.trim(F.col(run_id).cast("string")).alias("rid"),
        F.trim(F.col(status).cast("string")).alias("cell"),
        (F.col(order) if order is not None else F.monotonically_increasing_id()).alias("key"),
        F.monotonically_increasing_id().alias("seq"),
        (F.col(source).cast("string") if source is not None else F.lit("<dataframe>")).alias("src"),
        (F.col(line).cast("int") if line is not None else F.lit(None).cast("int")).alias("line"),
    ).withColumn("code", code_map(sql)[F.col("cell")])
    # one sortable order per row: rank by (key, seq) within the run
    from pyspark.sql import Window  # noqa: PLC0415

    ordered = rows.withColumn("ord", F.row_number().over(Window.partitionBy("rid").orderBy("key", "seq")).cast("long"))
    plain = ordered.where("code IS NOT NULL AND rid IS NOT NULL AND rid <> ''").select(
        "rid",
        F.col("code").cast("int").alias("code"),
        "ord",
        F.lit(mode == "stream").alias("stream"),
        "src",
        "line",
        F.lit(None).cast("double").alias("ts"),  # ordered by ``order`` already
    )
    items: list[tuple[int, Item]] = []
    odd = ordered.where("NOT (code IS NOT NULL AND rid IS NOT NULL AND rid <> '')").orderBy("rid", "ord")
    for r in odd.toLocalIterator():
        items.extend((r["ord"], item) for item in cell_items(r["src"], r["line"], r["rid"], r["cell"], sql.lifecycle))
    groups = SparkGroups(spark, plain, items, "stream" if mode == "stream" else "poll", sql)
    reported: list[Verdict] = []
    errors: list[InputError] = []
    replayed: list[Verdict] = []
    summary = judge_groups(
        groups,
        lifecycle=sql.lifecycle,
        mode=mode,
        strict=strict,
        check_fields=False,
        linger=None,
        every_verdict=False,
        on_verdict=reported.append,
        on_error=errors.append,
        on_replayed=replayed.append,
        aliases=aliases,
    )
    verdicts = verdict_frame(groups, summary, replayed, strict=strict)
    return SparkValidation(verdicts=verdicts, summary=summary, reported=reported, errors=errors)


# ----------------------------------------------------------------------------- files


def _read_file(task: tuple[int, str, str | None, str, bool, Lifecycle[Any]]) -> Iterator[tuple[Any, ...]]:
    """Executor side: one file read by the python engine's reader, as rows (plain or for the driver)."""
    from runfsm.validation.records import read_items  # noqa: PLC0415

    index, name, sort_by, input_format, fields_on, lifecycle = task
    check_fields = lifecycle.check_fields
    previous, sub = -1, 0
    counts: list[LineCounts] = []
    items = read_items(
        [name],
        input_format=input_format,  # type: ignore[arg-type]  # checked by the command
        sort_by=sort_by,
        compact=False,
        on_counts=counts.append,
        lifecycle=lifecycle,
    )
    for item in items:
        line = item.line if item.line is not None else 0  # type: ignore[union-attr]
        # by line, never before the item read before (a webhook log yields each object's timeline)
        pos = max(previous, (index << FILE_SHIFT) + line)
        sub = sub + 1 if pos == previous else 0
        previous = pos
        at = pos * SUB + min(sub, SUB - 1)
        if type(item) is not Record:
            yield ("e", None, None, at, name, item.line, False, item.detail, None, None)  # type: ignore[union-attr]
            continue
        if not utf8_text((item.run_id,)):  # Spark would make it U+FFFD: the python engine judges the files
            yield ("u", None, None, at, name, item.line, False, None, None, None)
            continue
        warned = (
            item.status is not None and fields_on and item.fields is not None and check_fields(item.status, item.fields)
        )
        if item.call is None and (item.status is None or warned):
            payload = json.dumps({"raw": item.raw, "fields": item.fields if warned else None}, default=str)
            code = None if item.status is None else int(item.status)
            yield (
                "x",
                item.run_id,
                code,
                at,
                name,
                item.line,
                item.mode == "stream",
                payload,
                item.mode,
                item.timestamp,
            )
            continue
        code = call_code(item.call) if item.call is not None else int(item.status)  # type: ignore[arg-type]
        yield ("r", item.run_id, code, at, name, item.line, item.mode == "stream", None, None, item.timestamp)
    for found in counts:  # where the file's lines went, for the summary's line conservation
        payload = json.dumps(dataclasses.asdict(found))
        yield ("n", None, None, (index + 1 << FILE_SHIFT) * SUB - 1, name, None, False, payload, None, None)


def _item_of(row: Any, by_ordinal: tuple[Any, ...]) -> Item:
    """Driver side: the Record or InputError an executor described (``by_ordinal``: the lifecycle's states)."""
    from runfsm.exceptions import InputError  # noqa: PLC0415

    if row[0] == "e":
        return InputError(row[7], source=row[4], line=row[5])
    payload = json.loads(row[7])
    status = None if row[2] is None else by_ordinal[row[2]]
    fields = payload["fields"]
    return Record(
        row[1], status, payload["raw"], source=row[4], line=row[5], mode=row[8], fields=fields, timestamp=row[9]
    )


def _read_groups(
    paths: Iterable[str | os.PathLike[str]],
    *,
    mode: ValidationMode = "auto",
    sort_by: str | None = None,
    input_format: str = "auto",
    check_fields: bool = True,
    master: str = "local[*]",
    lifecycle: Lifecycle[Any] | str | None = None,
) -> SparkGroups:
    """The files read (one executor task each) and grouped per run; :meth:`SparkGroups.close` lets them go."""
    paths = list(paths)
    sql = sql_for(resolve_lifecycle(lifecycle, paths))
    spark = spark_session(master)
    files = expand_paths(paths)
    tasks = [(k, name, sort_by, input_format, check_fields, sql.lifecycle) for k, name in enumerate(files)]
    schema = (
        "kind STRING, rid STRING, code INT, ord LONG, src STRING, line INT, stream BOOLEAN, payload STRING, m STRING, "
        "ts DOUBLE"
    )
    read = spark.createDataFrame(
        spark.sparkContext.parallelize(tasks, max(1, len(tasks))).flatMap(_read_file), schema
    ).cache()
    plain = read.where("kind = 'r'").select("rid", "code", "ord", "stream", "src", "line", "ts")
    items: list[tuple[int, Item]] = []
    sources: list[LineCounts] = []
    python_only = False
    for r in read.where("kind <> 'r'").orderBy("ord").toLocalIterator():
        if r["kind"] == "n":
            sources.append(LineCounts(**json.loads(r["payload"])))
        elif r["kind"] == "u":
            python_only = True
        else:
            items.append((r["ord"], _item_of(r, sql.by_ordinal)))
    groups = SparkGroups(spark, plain, items, mode, sql, sorted_by_time=sort_by is not None)
    groups.files, groups.sources, groups.python_only = files, sources, python_only
    groups.cached.append(read)
    return groups


def summarize_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    mode: ValidationMode = "auto",
    strict: bool = False,
    sort_by: str | None = None,
    on_error: Callable[[InputError], object] | None = None,
    on_verdict: Callable[[Verdict], object] | None = None,
    every_verdict: bool = False,
    input_format: str = "auto",
    linger: int = DEFAULT_LINGER,
    check_fields: bool = True,
    master: str = "local[*]",
    aliases: StatusAliases | None = None,
    lifecycle: Lifecycle[Any] | str | None = None,
) -> Summary:
    """:func:`runfsm.validation.summarize_paths` with Spark reading (one task per file) and grouping.

    ``lifecycle`` is whose records the files hold, as for ``summarize_paths`` (``"auto"``: detected).
    ``sort_by`` orders each run's records by that field as the python engine does (the executors
    read it: finite numbers, ISO 8601 text as UTC when it has no offset, other values reported);
    a record without it keeps its place right after the record before it in its run.
    """
    from runfsm.validation import check_options  # noqa: PLC0415

    check_options(mode=mode, linger=linger)
    paths = path_list(paths)
    reading = {"sort_by": sort_by, "input_format": input_format, "check_fields": check_fields, "master": master}
    groups = _read_groups(paths, mode=mode, lifecycle=lifecycle, **reading)  # type: ignore[arg-type]
    options = {"mode": mode, "strict": strict, "check_fields": check_fields, "every_verdict": every_verdict}
    callbacks = {"on_verdict": on_verdict, "on_error": on_error}
    try:
        if groups.python_only or not groups.late_records_in_reach(linger):
            python: dict[str, Any] = {"input_format": input_format, "sort_by": sort_by, "linger": linger}
            python |= {"aliases": aliases, "lifecycle": groups.sql.lifecycle}
            return python_engine(groups.files, **options, **callbacks, **python)
        # unsorted, no record comes past its run's window (checked): keep every run to the end
        kept = linger if groups.sorted_by_time else None
        lc = groups.sql.lifecycle
        summary = judge_groups(groups, lifecycle=lc, linger=kept, aliases=aliases, **options, **callbacks)  # type: ignore[arg-type]
        summary.sources = groups.sources
        return summary
    finally:
        groups.close()
