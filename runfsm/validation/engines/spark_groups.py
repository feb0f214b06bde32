"""The spark engine's groups: each run's records in order, grouped into shapes by Spark, judged on the driver.

:class:`SparkGroups` is the :class:`~runfsm.validation.engines.judging.Grouped` of Spark
DataFrames, whichever way the rows came in (a user's DataFrame, or files read by the executors,
see :mod:`runfsm.validation.engines.spark`): the distinct shapes are collected to the driver and
judged once by :func:`~runfsm.validation.engines.judging.judge_groups`, the
few runs they cannot settle collected and replayed through the ledger. :func:`verdict_frame`
gives one verdict row per run as a DataFrame, the judged shapes broadcast and joined with the runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from runfsm.validation.engines.judging import in_run_order
from runfsm.validation.engines.results import VERDICT_COLUMNS, verdict_row
from runfsm.validation.engines.sql import CALL_CODES, SHAPE_OFFSET
from runfsm.validation.formats.base import ObservedMode, Record
from runfsm.validation.shapes import CODE_CALL, SUBMIT_CODE

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from pyspark.sql import DataFrame, SparkSession

    from runfsm.validation.engines.judging import ShapeKey
    from runfsm.validation.engines.sql import LifecycleSQL
    from runfsm.validation.formats.base import Item
    from runfsm.validation.summary import LineCounts, Summary
    from runfsm.verdict import Verdict

__all__ = ["FILE_SHIFT", "SUB", "SparkGroups", "code_map", "verdict_frame"]

FILE_SHIFT: Final = 32
SUB: Final = 1 << 12
"""A record's order across files: ``(file index << 32 | line) * 4096 + its place on the line``."""


def code_map(sql: LifecycleSQL) -> Any:
    """A Spark map column from every spelling of a status or client call (wire value, name, ordinal...) to its code."""
    from pyspark.sql import functions as F  # noqa: PLC0415

    return F.create_map(*[F.lit(x) for pair in {**sql.status_codes, **CALL_CODES}.items() for x in pair])


_SHAPE_SQL: Final = (
    f"array_join(transform(array_sort(collect_list(struct(seq, code))), x -> chr({SHAPE_OFFSET} + x.code)), '')"
)
_BUCKET_SHIFT: Final = 16 + 12
"""The late-record check counts terminal records per bucket of 65,536 lines of a file (``ord >> 28``)."""


class SparkGroups:
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
        self.python_only = False
        """True when the python engine must judge the files (a run id Spark cannot hold as it is)."""
        self.cached: list[DataFrame] = [self.rows, self.runs]

    def close(self) -> None:
        """Let the cached DataFrames go."""
        for frame in self.cached:
            frame.unpersist()

    def simple(self) -> DataFrame:
        """The simple runs (rid, mode, shape...): those the ledger need not replay."""
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
            self.rows.where(f"ord % {SUB} <> 0")
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
                pos = F.shiftright(F.col(column), SUB.bit_length() - 1)
                return offset[F.shiftright(pos, FILE_SHIFT)] + pos.bitwiseAND((1 << FILE_SHIFT) - 1)

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
            if at % SUB:
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


def verdict_frame(groups: SparkGroups, summary: Summary, replayed: list[Verdict], *, strict: bool) -> DataFrame:
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
