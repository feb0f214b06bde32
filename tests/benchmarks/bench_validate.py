"""Benchmark ``runfsm validate`` against the parse-only floor and one ``transitions.Machine`` per run.

Usage::

    python tests/benchmarks/bench_validate.py [--events 1000000] [--jobs 2] [--dir /tmp/runfsm-bench]

On a JSON Lines file of run objects written by ``runfsm.testing.simulate`` (poll mode, 50 runs
interleaved, tool rounds, client calls, a few illegal and unfinished runs), it prints, side by
side in one process:

- events/s of ``runfsm validate`` (``runfsm.commands.main.main``, the real code path), with 1 and N jobs;
- events/s of reading and parsing the same file with the same JSON parser and nothing else
  (the floor no validator can beat);
- events/s of the naive approach: one ``transitions.Machine`` per run (on a prefix of the file,
  it is slow), parsing included;
- the ratios, and peak memory (max RSS of a child process running ``runfsm validate FILE``, text
  report included) at one tenth of the events and at all of them.

The compared things alternate within each of ``--repeat`` rounds. Events/s are the best of the
rounds; the ratio to the floor is taken round by round (the things of one round share the noisy
shared machine's mood of the moment) and the median of those ratios is printed with their range.
Goals: validate >= 50% of the floor, >= 10x one-Machine-per-run, peak memory flat (ratio close
to 1) as the file grows tenfold.

Engines (issue 12; ``--engines``, on by default when DuckDB is installed; ``--engines-only`` skips
the rest), on the same file, alternating in rounds: the ``duckdb`` engine, the ``python`` engine,
a hand-written DuckDB SQL validator (:data:`ANCHOR_SQL`, the ~40 lines a data engineer writes:
``LAG`` over each run in file order, anti-join against the pairs the lifecycle allows; asserted to
find the same illegal runs), DuckDB's parse-only floor (its JSON reader reading the fields the
engine reads, nothing else) and orjson's parse-only floor. Goals: duckdb >= 1.0x the anchor,
>= 4x the python engine, >= 0.7 of DuckDB's floor. Then time and peak memory of the duckdb engine
at ``--big-events`` (10x), to check that time is linear and memory bounded by ``--memory-limit``.
With ``--odd-inputs``, the duckdb engine on the corpus as users' logs come (written on Windows,
with a blank or a bad line in the middle, cut in its last line, with a lone carriage return),
each against the clean corpus in the same rounds. With pyspark installed (``--spark``), the spark
engine in ``local[2]`` on the same file: its throughput, its agreement, and its per-partition costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runfsm.commands.main import main
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.status import RunStatus
from runfsm.testing.simulate import simulate_runs, write_corpus
from runfsm.validation.formats.base import MAX_LINE_BYTES
from runfsm.validation.records import json_parser

if TYPE_CHECKING:
    from collections.abc import Callable


def corpus(folder: Path, events: int, seed: int) -> Path:
    """A cached corpus of ``events`` lines of run objects (2% illegal, 2% unfinished runs)."""
    path = folder / f"runs-{events}-{seed}.jsonl"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        runs = simulate_runs(-1, seed=seed, illegal=0.02, unfinished=0.02, fmt="jsonl")
        with tmp.open("w", encoding="utf-8") as out:
            write_corpus(out, runs, fmt="jsonl", seed=seed, max_lines=events)
        tmp.rename(path)
    return path


def count_lines(path: Path) -> int:
    """Lines in the file (the events)."""
    with path.open("rb") as f:
        return sum(1 for _ in f)


def parse_only(path: Path) -> None:
    """The floor: read every line and parse it with the parser the readers use."""
    _name, loads = json_parser()
    with path.open("rb") as f:
        for line in f:
            loads(line)


def validate_cli(path: Path, jobs: int = 1, engine: str = "python", *options: str) -> None:
    """``runfsm validate --quiet FILE`` in this process (the command's real code path)."""
    main(["validate", "--quiet", "--engine", engine, "--jobs", str(jobs), *options, str(path)])


class _Model:
    """A bare model for one run's own Machine."""

    state: str


def machine_per_run(path: Path, limit: int) -> int:
    """The naive way: parse, then one ``transitions.Machine`` per run, fed each status; returns events seen."""
    from transitions import Machine, MachineError

    _name, loads = json_parser()
    states = [s.name for s in RUN_LIFECYCLE.states]
    transitions = [
        {"trigger": RUN_LIFECYCLE.trigger_name(e.dest), "source": e.source.name, "dest": e.dest.name}
        for e in RUN_LIFECYCLE.edges
    ]
    models: dict[str, _Model] = {}
    illegal = 0
    seen = 0
    with path.open("rb") as f:
        for line in f:
            if seen >= limit:
                break
            seen += 1
            obj = loads(line)
            run_id = obj.get("id")
            if not isinstance(run_id, str):
                continue  # a client-call record
            status = RunStatus.parse(obj["status"])
            model = models.get(run_id)
            if model is None:
                model = models[run_id] = _Model()
                Machine(model=model, states=states, transitions=transitions, initial="Null", auto_transitions=False)
                model.state = status.name  # a poll may start anywhere
                continue
            if model.state == status.name:
                continue
            try:
                model.trigger(RUN_LIFECYCLE.trigger_name(status))  # type: ignore[attr-defined]  # added by Machine
            except MachineError:
                illegal += 1  # a poll jump: a plain machine cannot explain it
    return seen


def peak_rss_kib(path: Path, *options: str) -> tuple[int, int]:
    """Peak RSS (KiB) of a child process running ``runfsm validate FILE`` (text report), and its unfinished runs.

    The child runs the real command, report included (written to a temporary file, from which
    the ``unfinished`` row is read). Unfinished runs stay open to the end of the input, so
    they are what memory may grow with. The peak is read from ``VmHWM`` in
    ``/proc/self/status``: ``ru_maxrss`` on Linux survives fork and exec, so a child of a big
    parent would report the parent's peak.
    """
    code = (
        "import contextlib, resource, sys, tempfile\n"
        "from runfsm.commands.main import main\n"
        "with tempfile.TemporaryFile('w+') as out:\n"
        "    with contextlib.redirect_stdout(out):\n"
        "        main(['validate', *sys.argv[2:], sys.argv[1]])\n"
        "    out.seek(0)\n"
        "    unfinished = next(l.split()[-1] for l in out if l.startswith('unfinished '))\n"
        "try:\n"
        "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "except OSError:\n"
        "    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(hwm, unfinished.replace(',', ''))\n"
    )
    command = [sys.executable, "-c", code, str(path), *(options or ("--engine", "python"))]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    hwm, unfinished = out.stdout.split()[-2:]
    return int(hwm), int(unfinished)


def best(times: dict[str, list[float]], name: str, fn: Callable[[], object]) -> None:
    """Run ``fn`` once and record its wall time under ``name``."""
    start = time.perf_counter()
    fn()
    times.setdefault(name, []).append(time.perf_counter() - start)


# ----------------------------------------------------------------------------- engines (issue 12)

ANCHOR_SQL = """
WITH RECURSIVE edges(a, b) AS (VALUES {edges}),
reach(a, b) AS (                                   -- closure over server and client-call edges
    SELECT a, b FROM edges
    UNION
    SELECT reach.a, edges.b FROM reach JOIN edges ON reach.b = edges.a
),
observed AS (                                      -- file order: the reader keeps it
    SELECT row_number() OVER () AS n, id, status
    FROM read_json({path}, columns = {{'id': 'VARCHAR', 'status': 'VARCHAR'}}, format = 'newline_delimited')
),
steps AS (
    SELECT id, status, lag(status) OVER (PARTITION BY id ORDER BY n) AS previous
    FROM observed
    WHERE id IS NOT NULL                           -- client-call records have no id
),
jumps AS (
    SELECT DISTINCT previous AS a, status AS b FROM steps WHERE previous <> status
),
illegal_jumps AS (                                 -- anti-join: pairs no path of the lifecycle explains
    SELECT a, b FROM jumps ANTI JOIN reach USING (a, b)
)
SELECT DISTINCT id
FROM steps SEMI JOIN illegal_jumps ON steps.previous = illegal_jumps.a AND steps.status = illegal_jumps.b
"""
"""The hand-written validator of the issue: about 40 lines of SQL; poll mode (a jump is legal when
some path explains it), so it finds the runs runfsm judges illegal on a poll log of run objects."""


def anchor_sql(path: Path) -> str:
    """:data:`ANCHOR_SQL` for a file; the edge list is the lifecycle's, by wire name."""
    pairs = [(e.source.wire, e.dest.wire) for e in RUN_LIFECYCLE.edges if e.source.wire and e.dest.wire]
    edges = ", ".join(f"('{a}', '{b}')" for a, b in pairs)
    return ANCHOR_SQL.format(edges=edges, path=f"'{path}'")


def anchor(path: Path) -> set[str]:
    """Run the hand-written validator; the ids of the illegal runs."""
    import duckdb

    con = duckdb.connect()
    try:
        return {row[0] for row in con.execute(anchor_sql(path)).fetchall()}
    finally:
        con.close()


def duckdb_floor(path: Path, *, check_fields: bool = True) -> int:
    """DuckDB's parse-only floor: its JSON reader reading the fields the engine reads, nothing else.

    Every one of those columns is counted: DuckDB's reader extracts only the columns a query uses,
    so counting a few would measure a reader that skips the rest. The reader's options are the
    engine's first pass's (errors not tolerated: the corpus has no bad line, and tolerating them
    costs DuckDB's reader about a fifth more).
    """
    import duckdb

    from runfsm.validation.engines.jsonl_sql import reader_columns
    from runfsm.validation.engines.sql import sql_for

    con = duckdb.connect()
    try:
        columns = reader_columns(None, sql_for(), check_fields)
        names = [column.split(":")[0].strip() for column in columns.split(", ")]
        counted = ", ".join(f'count("{name[1:-1]}")' for name in names)
        reader = (
            f"read_json('{path}', columns = {{{columns}}}, format = 'newline_delimited', ignore_errors = false, "
            f"maximum_object_size = {MAX_LINE_BYTES + 1})"
        )
        found = con.execute(f"SELECT count(*), {counted} FROM {reader}").fetchone()
        return int(found[0]) if found is not None else 0
    finally:
        con.close()


def engine_illegal(path: Path, engine: str, **options: object) -> set[str]:
    """The ids of the runs an engine judges illegal (through the library: summarize_paths)."""
    from runfsm.validation.engines import summarize_with
    from runfsm.verdict import RunResult

    illegal: set[str] = set()

    def keep(verdict: object) -> None:
        if getattr(verdict, "result", None) is RunResult.ILLEGAL:
            illegal.add(str(getattr(verdict, "run_id", "")))

    summarize_with(engine, [str(path)], on_verdict=keep, on_error=lambda e: None, **options)
    return illegal


def paired_ratios(times: dict[str, list[float]], over: str, under: str) -> list[float]:
    """Round by round: time of ``over`` / time of ``under`` (how many times faster ``under`` is)."""
    return sorted(a / b for a, b in zip(times[over], times[under], strict=True))


def engines_section(args: argparse.Namespace, big: Path, events: int) -> None:
    """The duckdb engine against the python engine, the SQL anchor and the two parse-only floors."""
    names = {
        "duckdb engine": lambda: validate_cli(big, 1, "duckdb"),
        "duckdb engine --no-field-checks": lambda: validate_cli(big, 1, "duckdb", "--no-field-checks"),
        "python engine": lambda: validate_cli(big, engine="python"),
        "SQL anchor (DuckDB, hand-written)": lambda: anchor(big),
        "DuckDB parse only (floor)": lambda: duckdb_floor(big),
        "DuckDB floor, --no-field-checks fields": lambda: duckdb_floor(big, check_fields=False),
        "orjson parse only (floor)": lambda: parse_only(big),
    }
    times: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for name, fn in names.items():
            best(times, name, fn)
    by_anchor, by_engine = anchor(big), engine_illegal(big, "duckdb")
    by_python = engine_illegal(big, "python")
    print()
    print(f"engines on {events:,} events ({args.repeat} alternating rounds; DuckDB threads: {os.cpu_count()})")
    print(f"{'':40}{'events/s':>12}{'duckdb engine is':>22}{'(range)':>16}")
    for name, ts in times.items():
        ratios = paired_ratios(times, name, "duckdb engine")
        if name == "duckdb engine":
            print(f"{name:40}{events / min(ts):>12,.0f}")
            continue
        faster = statistics.median(ratios)
        print(f"{name:40}{events / min(ts):>12,.0f}{faster:>15.2f}x as fast {ratios[0]:>6.2f}-{ratios[-1]:.2f}")
    print("(events/s: best round; ratios: median over rounds of that time / the duckdb engine's time)")
    print(
        f"illegal runs: duckdb engine {len(by_engine):,}, python engine {len(by_python):,}, "
        f"SQL anchor {len(by_anchor):,}; the same runs: {by_engine == by_python == by_anchor}"
    )
    assert by_engine == by_python, "the duckdb engine and the python engine disagree"
    assert by_anchor == by_engine, "the hand-written SQL and runfsm disagree"
    vs_anchor = statistics.median(paired_ratios(times, "SQL anchor (DuckDB, hand-written)", "duckdb engine"))
    vs_python = statistics.median(paired_ratios(times, "python engine", "duckdb engine"))
    vs_floor = statistics.median(paired_ratios(times, "DuckDB parse only (floor)", "duckdb engine"))
    print(f"goal duckdb >= 1.0x the SQL anchor: {vs_anchor:.2f}x -> {'met' if vs_anchor >= 1.0 else 'NOT met'}")
    print(f"goal duckdb >= 4x the python engine: {vs_python:.2f}x -> {'met' if vs_python >= 4 else 'NOT met'}")
    print(f"goal duckdb >= 0.7 of DuckDB's floor: {vs_floor:.2f} -> {'met' if vs_floor >= 0.7 else 'NOT met'}")
    # without field checks the engine reads what the anchor reads, plus what tells a line's kind
    unchecked = "duckdb engine --no-field-checks"
    bare_anchor = statistics.median(paired_ratios(times, "SQL anchor (DuckDB, hand-written)", unchecked))
    bare_floor = statistics.median(paired_ratios(times, "DuckDB floor, --no-field-checks fields", unchecked))
    print(f"--no-field-checks: {bare_anchor:.2f}x the SQL anchor, {bare_floor:.2f} of its floor (same fields)")
    floor_by_anchor = statistics.median(
        paired_ratios(times, "DuckDB parse only (floor)", "SQL anchor (DuckDB, hand-written)")
    )
    print(f"(DuckDB's floor with the fields the checks read takes {floor_by_anchor:.2f}x the anchor's whole time)")
    if args.big_events:
        scaling_section(args, big, events)


def tenfold(path: Path, times: int) -> Path:
    """``times`` copies of the corpus one after the other, each with its runs renamed: a longer log, quickly."""
    out = path.with_name(f"{path.stem}-x{times}.jsonl")
    if not out.exists():
        tmp = out.with_suffix(".tmp")
        with tmp.open("wb") as target:
            for k in range(times):
                prefix = f"run_{k:03d}r".encode()
                with path.open("rb") as source:
                    for line in source:
                        target.write(line.replace(b"run_0001", prefix))
        tmp.rename(out)
    return out


def scaling_section(args: argparse.Namespace, small: Path, events: int) -> None:
    """Time at ``--big-events`` against time at the benchmark's events, and peak memory at both."""
    times_bigger = max(2, args.big_events // events)
    big = tenfold(small, times_bigger)
    big_events = count_lines(big)
    times: dict[str, list[float]] = {}
    for _ in range(max(1, args.repeat // 2)):
        best(times, "small", lambda: validate_cli(small, engine="duckdb"))
        best(times, "big", lambda: validate_cli(big, engine="duckdb"))
    per_small = min(times["small"]) / events
    per_big = min(times["big"]) / big_events
    print()
    print(
        f"duckdb engine, {events:,} -> {big_events:,} events: "
        f"{min(times['small']):.2f} s -> {min(times['big']):.2f} s; "
        f"time per event x{per_big / per_small:.2f} (1.00 is linear)"
    )
    limit = ("--engine", "duckdb", "--memory-limit", args.memory_limit)
    (rss_small, _), (rss_big, _) = peak_rss_kib(small, *limit), peak_rss_kib(big, *limit)
    print(
        f"peak memory (--memory-limit {args.memory_limit}): {events:,} events {rss_small / 1024:,.0f} MiB; "
        f"{big_events:,} events {rss_big / 1024:,.0f} MiB"
    )


def odd_variants(path: Path) -> dict[str, Path]:
    """The corpus as a log reaches a user: written on Windows, with a blank line, cut while written..., cached."""
    variants: dict[str, tuple[str, Callable[[list[bytes]], list[bytes]]]] = {
        "lines ending \\r\\n (Windows)": ("crlf", lambda lines: [line.replace(b"\n", b"\r\n") for line in lines]),
        "a blank line in the middle": (
            "blank",
            lambda lines: [*lines[: len(lines) // 2], b"\n", *lines[len(lines) // 2 :]],
        ),
        "the last line cut (written meanwhile)": ("cut", lambda lines: [*lines[:-1], lines[-1][: len(lines[-1]) // 2]]),
        "a bad line in the middle": (
            "bad",
            lambda lines: [*lines[: len(lines) // 2], b"not json\n", *lines[len(lines) // 2 :]],
        ),
        "a lone carriage return (python reader)": (
            "cr",
            lambda lines: [
                *lines[: len(lines) // 2],
                lines[len(lines) // 2].rstrip(b"\n") + b"\r" + lines[len(lines) // 2 + 1],  # two lines for Python
                *lines[len(lines) // 2 + 2 :],
            ],
        ),
    }
    out: dict[str, Path] = {}
    lines: list[bytes] | None = None
    for what, (tag, change) in variants.items():
        target = path.with_name(f"{path.stem}-{tag}.jsonl")
        if not target.exists():
            if lines is None:
                lines = path.read_bytes().splitlines(keepends=True)
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(b"".join(change(lines)))
            tmp.rename(target)
        out[what] = target
    return out


def odd_inputs_section(args: argparse.Namespace, big: Path, events: int) -> None:
    """The duckdb engine on the corpus as users' logs come, against the same corpus clean, in alternating rounds."""
    variants = odd_variants(big)
    times: dict[str, list[float]] = {}
    for _ in range(max(1, args.repeat // 2)):
        best(times, "clean", lambda: validate_cli(big, engine="duckdb"))
        for what, path in variants.items():
            best(times, what, lambda path=path: validate_cli(path, engine="duckdb"))  # type: ignore[misc]
    print()
    print(f"duckdb engine on odd inputs ({events:,} events; {len(times['clean'])} alternating rounds)")
    print(f"{'':42}{'seconds':>10}{'x the clean log':>18}{'(range)':>14}")
    print(f"{'the clean log':42}{min(times['clean']):>10.2f}")
    for what in variants:
        ratios = paired_ratios(times, what, "clean")
        print(f"{what:42}{min(times[what]):>10.2f}{statistics.median(ratios):>18.2f}{ratios[0]:>8.2f}-{ratios[-1]:.2f}")


def split_corpus(path: Path, parts: int) -> list[Path]:
    """The corpus cut into ``parts`` files of consecutive lines (a log directory), cached beside it."""
    folder = path.with_suffix(f".{parts}-parts")
    files = [folder / f"part-{k:03d}.jsonl" for k in range(parts)]
    if not all(f.exists() for f in files):
        folder.mkdir(exist_ok=True)
        total = count_lines(path)
        size = -(-total // parts)
        with path.open("rb") as source:
            for f in files:
                with f.open("wb") as out:
                    for _ in range(size):
                        line = source.readline()
                        if not line:
                            break
                        out.write(line)
    return files


def spark_section(args: argparse.Namespace, big: Path, events: int) -> None:
    """The spark engine in local[2] on the corpus cut in parts: throughput, agreement, per-partition costs."""
    from runfsm.lifecycles import RUN_LIFECYCLE
    from runfsm.validation.engines import spark as spark_engine

    parts = split_corpus(big, args.spark_parts)
    session = spark_engine.spark_session("local[2]", "runfsm-bench")
    tasks = [(k, str(f), None, "auto", True, RUN_LIFECYCLE) for k, f in enumerate(parts)]

    def timed(task: tuple[int, str, str | None, str, bool, Any]) -> tuple[int, float]:
        start = time.perf_counter()
        rows = sum(1 for _ in spark_engine._read_file(task))
        return rows, time.perf_counter() - start

    costs = session.sparkContext.parallelize(tasks, len(tasks)).map(timed).collect()
    times: dict[str, list[float]] = {}
    for _ in range(max(1, args.repeat // 2)):
        best(times, "spark", lambda: engine_illegal(parts[0].parent, "spark", master="local[2]"))
    by_spark = engine_illegal(parts[0].parent, "spark", master="local[2]")
    by_duckdb = engine_illegal(big, "duckdb")
    task_seconds = [c[1] for c in costs]
    total = min(times["spark"])
    read_share = sum(task_seconds) / 2  # two executor cores
    rest = max(total - read_share, 0.0)
    print()
    print(
        f"spark engine, local[2], {events:,} events in {len(parts)} files: {events / total:,.0f} events/s "
        f"({total:.1f} s, best of {len(times['spark'])}); the same illegal runs as duckdb: {by_spark == by_duckdb} "
        f"({len(by_spark):,})"
    )
    print(
        f"per partition (one file, read by the python reader in a task): {statistics.mean(task_seconds):.2f} s "
        f"for {costs[0][0]:,} records ({costs[0][0] / statistics.mean(task_seconds):,.0f} records/s per core); "
        f"max {max(task_seconds):.2f} s"
    )
    print(
        f"estimate: reading scales with cores ({sum(task_seconds):.1f} core-seconds here); the rest "
        f"(shuffle, shapes to the driver, judging, joins) took {rest:.1f} s"
    )
    assert by_spark == by_duckdb, "the spark engine and the duckdb engine disagree"


def run(argv: list[str] | None = None) -> None:
    """Build the corpora, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--machine-events", type=int, default=100_000, help="prefix fed to the naive approach")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "runfsm-bench")
    parser.add_argument("--engines", action=argparse.BooleanOptionalAction, default=_has("duckdb"))
    parser.add_argument("--engines-only", action="store_true", help="only the engines' comparison")
    parser.add_argument(
        "--big-events",
        type=int,
        default=0,
        help="also time the duckdb engine at about this size (10000000: 10 renamed copies of the corpus)",
    )
    parser.add_argument("--memory-limit", default="1GB", help="the duckdb engine's --memory-limit for the peak")
    parser.add_argument(
        "--odd-inputs", action="store_true", help="also the duckdb engine on odd variants of the corpus (CRLF...)"
    )
    parser.add_argument("--spark", action=argparse.BooleanOptionalAction, default=_has("pyspark"))
    parser.add_argument("--spark-parts", type=int, default=8, help="files the corpus is cut into for Spark")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)

    parser_name, _loads = json_parser()
    big = corpus(args.dir, args.events, args.seed)
    small = corpus(args.dir, args.events // 10, args.seed)
    events = count_lines(big)
    print(f"corpus: {big} ({events:,} events, {big.stat().st_size / 1e6:,.0f} MB); JSON parser: {parser_name}")
    print(f"cpus: {os.cpu_count()}; load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.engines_only:
        ledger_section(args, big, small, events)
    if args.engines:
        engines_section(args, big, events)
    if args.odd_inputs:
        odd_inputs_section(args, big, events)
    if args.spark:
        spark_section(args, big, events)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def ledger_section(args: argparse.Namespace, big: Path, small: Path, events: int) -> None:
    """The python engine against the orjson floor and one Machine per run; its memory."""
    (small_rss, small_open), (big_rss, big_open) = peak_rss_kib(small), peak_rss_kib(big)  # from a small parent

    times: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        best(times, "parse only (floor)", lambda: parse_only(big))
        best(times, "runfsm validate", lambda: validate_cli(big))
        if args.jobs > 1:
            best(times, f"runfsm validate --jobs {args.jobs}", lambda: validate_cli(big, args.jobs))
    start = time.perf_counter()
    machine_seen = machine_per_run(big, args.machine_events)
    times["one Machine per run"] = [time.perf_counter() - start]

    rate = {name: (machine_seen if name == "one Machine per run" else events) / min(t) for name, t in times.items()}
    floor_times = times["parse only (floor)"]
    # the ratio to the floor, round by round: a round's runs share the machine's mood of the moment
    paired = {
        name: sorted(f / t for f, t in zip(floor_times, ts, strict=True))
        for name, ts in times.items()
        if len(ts) == len(floor_times)
    }
    vs_floor = {name: statistics.median(ratios) for name, ratios in paired.items()}
    naive = rate["one Machine per run"]
    print()
    print(f"{'':36}{'events/s':>12}{'vs floor':>10}{'(range)':>14}{'vs Machine':>12}")
    for name, value in rate.items():
        if name in vs_floor:
            low, high = paired[name][0], paired[name][-1]
            ratio = f"{vs_floor[name]:>9.0%} {f'{low:.0%}-{high:.0%}':>13}"
        else:
            ratio = f"{value / rate['parse only (floor)']:>9.0%} {'':>13}"
        print(f"{name:36}{value:>12,.0f}{ratio} {value / naive:>11.1f}x")
    print(f"(events/s: best of {args.repeat} rounds; vs floor: median of the rounds' ratios, and their range)")
    print(f"(one Machine per run measured on the first {machine_seen:,} events)")

    print()
    print(f"peak memory of runfsm validate: {count_lines(small):,} events {small_rss / 1024:,.1f} MiB; ", end="")
    print(f"{events:,} events {big_rss / 1024:,.1f} MiB; ratio {big_rss / small_rss:.2f}")
    print(f"(runs left open at the end, i.e. unfinished: {small_open:,} and {big_open:,})")
    print()
    single = vs_floor["runfsm validate"]
    fastest = max(v for k, v in vs_floor.items() if k.startswith("runfsm validate"))
    print(
        f"goal >= 50% of the floor: 1 job {single:.0%}, best {fastest:.0%} -> {'met' if fastest >= 0.5 else 'NOT met'}"
    )
    print(f"goal >= 10x one Machine per run: {rate['runfsm validate'] / naive:.1f}x -> ", end="")
    print("met" if rate["runfsm validate"] / naive >= 10 else "NOT met")
    print(f"goal flat memory: ratio {big_rss / small_rss:.2f} -> {'met' if big_rss / small_rss < 1.3 else 'NOT met'}")


if __name__ == "__main__":
    run()
