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
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from runfsm.validation.engines.inputs import cell_items, expand_paths
from runfsm.validation.engines.judging import in_run_order, judge_groups, python_engine
from runfsm.validation.engines.results import VERDICT_COLUMNS, verdict_row
from runfsm.validation.engines.sql import CALL_CODES, SHAPE_OFFSET, sql_for
from runfsm.validation.formats.base import ObservedMode, Record
from runfsm.validation.ledger import DEFAULT_LINGER
from runfsm.validation.records import resolve_lifecycle
from runfsm.validation.shapes import CODE_CALL, SUBMIT_CODE, call_code
from runfsm.validation.summary import LineCounts

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from pyspark.sql import DataFrame, SparkSession

    from runfsm.exceptions import InputError
    from runfsm.lifecycle import Lifecycle
    from runfsm.status import StatusAliases
    from runfsm.validation.engines.judging import ShapeKey
    from runfsm.validation.engines.sql import LifecycleSQL
    from runfsm.validation.formats.base import Item
    from runfsm.validation.ledger import ValidationMode
    from runfsm.validation.summary import Summary
    from runfsm.verdict import Verdict

__all__ = ["SparkValidation", "spark_session", "summarize_paths", "validate_dataframe"]

_FILE_SHIFT: Final = 32
_SUB: Final = 1 << 12
"""A record's order across files: ``(file index << 32 | line) * 4096 + its place on the line``."""


def spark_session(master: str = "local[*]", app_name: str = "runfsm") -> SparkSession:
    """A Spark session (the active one when there is one), with settings for small local jobs."""
    from pyspark.sql import SparkSession  # noqa: PLC0415  (the spark extra)

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder: Any = SparkSession.builder
    if master.startswith("local"):
        # local executors run this interpreter (the one with runfsm and its parser installed),
        # and a local Spark listens on the loopback interface only
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    session: SparkSession = (
        builder.master(master)
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", os.cpu_count() or 2)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
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


def _code_map(sql: LifecycleSQL) -> Any:
    from pyspark.sql import functions as F  # noqa: PLC0415

    return F.create_map(*[F.lit(x) for pair in {**sql.status_codes, **CALL_CODES}.items() for x in pair])


_SHAPE_SQL: Final = (
    f"array_join(transform(array_sort(collect_list(struct(seq, code))), x -> chr({SHAPE_OFFSET} + x.code)), '')"
)
_BUCKET_SHIFT: Final = 16 + 12
"""The late-record check counts terminal records per bucket of 65,536 lines of a file (``ord >> 28``)."""


class _Groups:
    """The :class:`~runfsm.validation.engines.judging.Grouped` of Spark DataFrames."""

    def __init__(  # noqa: PLR0917  (the engine's parts, each named)
        self,
        spark: SparkSession,
        rows: DataFrame,
        items: list[tuple[int, Item]],
        mode: str,
        sql: LifecycleSQL,
        sorted_by_time: bool = False,
    ) -> None:
        from pyspark.sql import Window  # noqa: PLC0415
        from pyspark.sql import functions as F  # noqa: PLC0415

        self.spark = spark
        self.sql = sql
        """The lifecycle whose records the rows hold, as SQL needs it."""
        self.sorted_by_time = sorted_by_time
        """True with ``--sort-by``: each run's records in the order of their ``ts`` (see :func:`in_time_order`)."""
        if sorted_by_time:
            # as in_time_order: a record without a timestamp takes the one of the record before it in
            # its run (-inf before the first), ties keep the input order
            run = Window.partitionBy("rid")
            carried = F.last("ts", ignorenulls=True).over(run.orderBy("ord").rowsBetween(Window.unboundedPreceding, 0))
            rows = rows.withColumn("key", F.coalesce(carried, F.lit(float("-inf"))))
            rows = rows.withColumn("seq", F.row_number().over(run.orderBy("key", "ord")).cast("long")).drop("key")
        else:
            rows = rows.withColumn("seq", F.col("ord"))
        self.rows = rows.cache()
        """Plain records: rid, code, ord (input order), seq (the run's order), stream, src, line, ts."""
        self.items = items
        """Records and errors only Python reads, with their order."""
        run_mode = (
            F.when(F.expr(f"min_by(stream, seq) FILTER (WHERE code < {SUBMIT_CODE})"), "stream").otherwise("poll")
            if mode == "auto"
            else F.lit(mode)
        )
        terminals = ", ".join(str(c) for c in sql.terminal_codes)
        self.runs = (
            self.rows.groupBy("rid")
            .agg(
                run_mode.alias("mode"),
                F.expr(_SHAPE_SQL).alias("shape"),
                F.expr(f"min(ord) FILTER (WHERE code IN ({terminals}))").alias("first_end"),
                F.max("ord").alias("last"),
            )
            .cache()
        )
        ids = sorted({item.run_id for _, item in items if type(item) is Record})
        self.complex = spark.createDataFrame([(i,) for i in ids], "rid STRING")
        self.files: list[str] = []
        """The files read (for the python engine, when it must judge them instead)."""
        self.sources: list[LineCounts] = []
        """Where each file's lines went."""
        self.cached: list[DataFrame] = [self.rows, self.runs]

    def close(self) -> None:
        """Let the cached DataFrames go."""
        for frame in self.cached:
            frame.unpersist()

    def simple(self) -> DataFrame:
        from pyspark.sql import functions as F  # noqa: PLC0415

        return self.runs.join(F.broadcast(self.complex), "rid", "left_anti")

    def shapes(self) -> Iterable[tuple[str, str, int]]:
        """(mode, shape, runs) of the simple runs."""
        counted = self.simple().groupBy("mode", "shape").count().collect()
        return [(r["mode"], r["shape"], r["count"]) for r in counted]

    def _keys(self, keys: set[ShapeKey]) -> DataFrame:
        from pyspark.sql import functions as F  # noqa: PLC0415

        return F.broadcast(self.spark.createDataFrame(sorted(keys), "mode STRING, shape STRING"))

    def runs_with(self, keys: set[ShapeKey]) -> Iterable[tuple[str, str, str]]:
        """(run id, mode, shape) of the simple runs of these shapes."""
        found = self.simple().join(self._keys(keys), ["mode", "shape"], "left_semi").select("rid", "mode", "shape")
        return [(r["rid"], r["mode"], r["shape"]) for r in found.toLocalIterator()]

    def complex_items(self, keys: set[ShapeKey]) -> Iterator[Item]:
        """The records of the complex runs and of the runs of these shapes, and the input errors, in order."""
        from pyspark.sql import functions as F  # noqa: PLC0415

        unsettled = self.runs.join(self._keys(keys), ["mode", "shape"], "left_semi").select("rid")
        wanted = unsettled.unionByName(self.complex)
        rows = self.rows.join(F.broadcast(wanted), "rid", "left_semi").orderBy("ord").toLocalIterator()
        built = ((r["ord"], _record(r, self.sql.by_ordinal)) for r in rows)
        import heapq  # noqa: PLC0415

        self.items.sort(key=lambda pair: pair[0])
        merged = (item for _, item in heapq.merge(built, self.items, key=lambda pair: pair[0]))
        yield from in_run_order(merged) if self.sorted_by_time else merged

    def late_records_in_reach(self, linger: int) -> bool:
        """The duckdb engine's check: no record comes more than ``linger`` slots after its run's first end.

        A slot is a line of the inputs, or one record of a line of several (see
        :func:`~runfsm.validation.engines.lingering.within_linger`). Counted in Spark: each run
        with a record after its first terminal one counts the lines between the two (of all the
        files) plus the records in between that are not the first of their line (each a slot of
        its own; counted per bucket of lines, then in order within each bucket); only the largest
        such number comes back. The driver adds the records only Python read.
        """
        from pyspark.sql import Window  # noqa: PLC0415
        from pyspark.sql import functions as F  # noqa: PLC0415

        if self.sorted_by_time:
            # each run's records come together, in the field's order, each a slot: the judge's
            # ledger counts them for the complex runs; a simple run is judged whole, so no run
            # may have more than ``linger`` records (then none comes past its window)
            most = self.rows.groupBy("rid").count().agg(F.max("count")).first()
            return most is None or most[0] is None or int(most[0]) <= linger
        python_spans, python_extras = self._python_spans()
        spark = self.spark
        spans = (
            self.runs.join(F.broadcast(self.complex), "rid", "left_anti")
            .select("rid", "first_end", "last")
            .unionByName(spark.createDataFrame(python_spans, "rid STRING, first_end LONG, last LONG"))
            .where("last > first_end")
        )
        extras = (  # records not the first of their line (a few more: errors before them on it)
            self.rows.where(f"ord % {_SUB} <> 0")
            .select("ord")
            .unionByName(spark.createDataFrame([(e,) for e in python_extras], "ord LONG"))
        )
        # kind 1: an extra record, 2: "up to its first end", 3: "up to its last record"
        events = (
            extras.select("ord", F.lit(1).alias("kind"), F.lit(None).cast("string").alias("rid"))
            .unionByName(spans.select(F.col("last").alias("ord"), F.lit(3).alias("kind"), "rid"))
            .unionByName(spans.select(F.col("first_end").alias("ord"), F.lit(2).alias("kind"), "rid"))
            .withColumn("bucket", F.shiftright("ord", _BUCKET_SHIFT))
            .withColumn("end", (F.col("kind") == 1).cast("long"))
        ).cache()
        try:
            per_bucket = sorted(tuple(r) for r in events.groupBy("bucket").agg(F.sum("end")).collect())
            before, total = [], 0
            for bucket, count in per_bucket:
                before.append((bucket, total))
                total += count
            offsets = F.broadcast(spark.createDataFrame(before, "bucket LONG, offset LONG"))
            in_bucket = Window.partitionBy("bucket").orderBy("ord", "kind").rowsBetween(Window.unboundedPreceding, 0)
            counted = (
                events.withColumn("running", F.sum("end").over(in_bucket))
                .where("kind <> 1")
                .join(offsets, "bucket")
                .select("rid", "kind", (F.col("offset") + F.col("running")).alias("ends"))
            )
            between = counted.groupBy("rid").agg(
                (
                    F.max(F.when(F.col("kind") == 3, F.col("ends"))) - F.max(F.when(F.col("kind") == 2, F.col("ends")))
                ).alias("between")
            )
            offsets_of = [0]
            for counts in self.sources:
                offsets_of.append(offsets_of[-1] + counts.lines)
            offset = F.create_map(*[F.lit(x) for k, v in enumerate(offsets_of) for x in (k, v)])

            def line_of(column: str) -> Any:  # the line in all the files
                pos = F.shiftright(F.col(column), _SUB.bit_length() - 1)
                return offset[F.shiftright(pos, _FILE_SHIFT)] + pos.bitwiseAND((1 << _FILE_SHIFT) - 1)

            lines = spans.select("rid", (line_of("last") - line_of("first_end")).alias("lines"))
            slots = between.join(lines, "rid").select((F.col("lines") + F.col("between")).alias("slots"))
            most = slots.agg(F.max("slots")).first()
        finally:
            events.unpersist()
        return most is None or most[0] is None or int(most[0]) <= linger

    def _python_spans(self) -> tuple[list[tuple[str, int, int]], list[int]]:
        """(run, first end, last record) of the runs with records Python read, and its records not first on a line."""
        from pyspark.sql import functions as F  # noqa: PLC0415

        spans: dict[str, list[Any]] = {}
        extras: list[int] = []
        is_terminal = self.sql.is_terminal
        for at, item in self.items:
            if type(item) is not Record:
                continue
            if at % _SUB:
                extras.append(at)
            span = spans.setdefault(item.run_id, [None, at])
            if item.status is not None and is_terminal[item.status]:
                span[0] = at if span[0] is None else min(span[0], at)
            span[1] = max(span[1], at)
        if spans:
            ids = self.spark.createDataFrame([(i,) for i in spans], "rid STRING")
            for r in self.runs.join(F.broadcast(ids), "rid", "left_semi").collect():
                span = spans[r["rid"]]
                if r["first_end"] is not None:
                    span[0] = r["first_end"] if span[0] is None else min(span[0], r["first_end"])
                span[1] = max(span[1], r["last"])
        return [(rid, a, b) for rid, (a, b) in spans.items() if a is not None and b > a], extras


def _record(row: Any, by_ordinal: tuple[Any, ...]) -> Record:
    """The Record of a plain row (``by_ordinal``: the lifecycle's states by code)."""
    code, source, line, ts = row["code"], row["src"], row["line"], row["ts"]
    if code >= SUBMIT_CODE:
        call = CODE_CALL[code]
        return Record(row["rid"], None, call.value, source=source, line=line, mode=None, call=call, timestamp=ts)
    status = by_ordinal[code]
    mode: ObservedMode = "stream" if row["stream"] else "poll"
    return Record(row["rid"], status, status.wire, source=source, line=line, mode=mode, timestamp=ts)


def _judge(
    groups: _Groups,
    *,
    mode: ValidationMode,
    strict: bool,
    check_fields: bool,
    linger: int | None,
    every_verdict: bool,
    on_verdict: Callable[[Verdict], object] | None,
    on_error: Callable[[InputError], object] | None,
    on_replayed: Callable[[Verdict], object] | None = None,
    aliases: StatusAliases | None = None,
) -> Summary:
    return judge_groups(
        groups,
        lifecycle=groups.sql.lifecycle,
        linger=linger,
        mode=mode,
        strict=strict,
        check_fields=check_fields,
        every_verdict=every_verdict,
        on_verdict=on_verdict,
        on_error=on_error,
        on_replayed=on_replayed,
        aliases=aliases,
    )


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
    ).withColumn("code", _code_map(sql)[F.col("cell")])
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
    groups = _Groups(spark, plain, items, "stream" if mode == "stream" else "poll", sql)
    reported: list[Verdict] = []
    errors: list[InputError] = []
    replayed: list[Verdict] = []
    summary = _judge(
        groups,
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
    verdicts = _verdict_frame(groups, summary, replayed, strict=strict)
    return SparkValidation(verdicts=verdicts, summary=summary, reported=reported, errors=errors)


def _verdict_frame(groups: _Groups, summary: Summary, replayed: list[Verdict], *, strict: bool) -> DataFrame:
    """One row per run: the settled simple runs joined with their judged shape, then the replayed runs."""
    from pyspark.sql import functions as F  # noqa: PLC0415

    from runfsm.validation.engines.sql import decode_shape  # noqa: PLC0415
    from runfsm.validation.ledger import shape_verdict  # noqa: PLC0415
    from runfsm.validation.shapes import judge_shape, tables_for  # noqa: PLC0415

    judged = []
    tables = tables_for(groups.sql.lifecycle)
    for run_mode, text, _runs in groups.shapes():
        shape = judge_shape("stream" if run_mode == "stream" else "poll", bytearray(decode_shape(text)), tables)
        if shape is None or shape.notes:
            continue
        row = verdict_row(shape_verdict(None, shape, [], strict=strict), summary)
        judged.append((run_mode, text, *row[2:]))
    schema = "mode STRING, shape STRING, " + VERDICT_COLUMNS.split(", ", 2)[2]
    table = F.broadcast(groups.spark.createDataFrame(judged, schema))
    simple = (
        groups.simple()
        .join(table, ["mode", "shape"])
        .select(F.col("rid").alias("run_id"), "mode", *[c.split()[0] for c in VERDICT_COLUMNS.split(", ")[2:]])
    )
    rest = groups.spark.createDataFrame([verdict_row(v, summary) for v in replayed], VERDICT_COLUMNS)
    return simple.unionByName(rest)


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
        pos = max(previous, (index << _FILE_SHIFT) + line)
        sub = sub + 1 if pos == previous else 0
        previous = pos
        at = pos * _SUB + min(sub, _SUB - 1)
        if type(item) is not Record:
            yield ("e", None, None, at, name, item.line, False, item.detail, None, None)  # type: ignore[union-attr]
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
        yield ("n", None, None, (index + 1 << _FILE_SHIFT) * _SUB - 1, name, None, False, payload, None, None)


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
) -> _Groups:
    """The files read (one executor task each) and grouped per run; :meth:`_Groups.close` lets them go."""
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
    for r in read.where("kind <> 'r'").orderBy("ord").toLocalIterator():
        if r["kind"] == "n":
            sources.append(LineCounts(**json.loads(r["payload"])))
        else:
            items.append((r["ord"], _item_of(r, sql.by_ordinal)))
    groups = _Groups(spark, plain, items, mode, sql, sorted_by_time=sort_by is not None)
    groups.files, groups.sources = files, sources
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
    paths = list(paths)
    reading = {"sort_by": sort_by, "input_format": input_format, "check_fields": check_fields, "master": master}
    groups = _read_groups(paths, mode=mode, lifecycle=lifecycle, **reading)  # type: ignore[arg-type]
    options = {"mode": mode, "strict": strict, "check_fields": check_fields, "every_verdict": every_verdict}
    callbacks = {"on_verdict": on_verdict, "on_error": on_error}
    try:
        if not groups.late_records_in_reach(linger):
            python: dict[str, Any] = {"input_format": input_format, "sort_by": sort_by, "linger": linger}
            python |= {"aliases": aliases, "lifecycle": groups.sql.lifecycle}
            return python_engine(groups.files, **options, **callbacks, **python)
        # unsorted, no record comes past its run's window (checked): keep every run to the end
        kept = linger if groups.sorted_by_time else None
        summary = _judge(groups, linger=kept, aliases=aliases, **options, **callbacks)  # type: ignore[arg-type]
        summary.sources = groups.sources
        return summary
    finally:
        groups.close()
