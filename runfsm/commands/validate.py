"""``runfsm validate``: judge the run histories in log files; summary, failing runs, exit code.

Exit codes: 0 every run legal; 1 some run illegal (or, with ``--strict``, unfinished, joined
mid-run or with an unrecorded client call); 2 some input unusable (unreadable file or line, unknown status) or a
usage error. The report goes to standard output; a progress bar to standard error, only when
that is a terminal.
"""

from __future__ import annotations

import gc
import os
import stat
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

from runfsm.commands.output import (
    MAX_LISTED_ERRORS,
    EntryKind,
    Spool,
    ValidationReport,
    render_json,
    render_text,
)
from runfsm.commands.target import Target, claim
from runfsm.exceptions import InputError
from runfsm.lifecycles import PRESETS, preset
from runfsm.printable import printable
from runfsm.status import status_aliases
from runfsm.validation import summarize_paths
from runfsm.validation.engines import (
    DEFAULT_MEMORY_LIMIT,
    ENGINES,
    check_memory_limit,
    choose_engine,
    expand_paths,
    summarize_with,
)
from runfsm.validation.records import FORMATS, resolve_lifecycle, sort_field_missing
from runfsm.validation.summary import Summary
from runfsm.verdict import RunResult

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping

    from runfsm.drawing.report import Report
    from runfsm.lifecycle import Lifecycle
    from runfsm.status import RunStatus
    from runfsm.verdict import Location, Verdict

__all__ = [
    "ValidationReport",
    "add_arguments",
    "collect",
    "render_json",
    "render_text",
    "run",
    "sample_paths",
    "start_method",
    "unshareable",
]
# ValidationReport, render_json and render_text live in runfsm.commands.output; they are re-exported here

DEFAULT_MASTER: Final = "local[*]"
"""The spark engine's master unless ``--spark-master`` says otherwise: every core of this machine."""
MAX_JOBS: Final = 1024
"""The most ``--jobs`` may ask for (each a process of the python engine, or a DuckDB thread)."""

_PROGRESS_EVERY = 10_000


def sample_paths() -> list[str]:
    """The bundled sample logs, one per input format (``runfsm validate --sample``)."""
    folder = resources.files("runfsm") / "samples"
    return sorted(
        str(folder / entry.name) for entry in folder.iterdir() if entry.name.endswith((".jsonl", ".sse", ".csv"))
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``runfsm validate``."""
    parser.add_argument("files", nargs="*", metavar="FILE", help="log files to read ('-' for standard input)")
    parser.add_argument("--sample", action="store_true", help="validate the bundled sample logs (one per format)")
    parser.add_argument(
        "--mode",
        choices=("auto", "stream", "poll"),
        default="auto",
        help="stream: every status was seen; poll: statuses were sampled; auto: stream for stream events, "
        "poll otherwise, decided per run (default: auto)",
    )
    parser.add_argument(
        "--lifecycle",
        choices=("auto", *PRESETS),
        default="auto",
        help="whose records the logs hold: Assistants runs, background responses or batches; auto: from the "
        "first records' 'object' field, event names or webhook types (default: auto, run when nothing says)",
    )
    parser.add_argument(
        "--format",
        dest="output_format",
        choices=("text", "json", "jsonl"),
        default="text",
        help="report format: text, one JSON document, or JSON Lines of per-run verdicts (every run; "
        "input errors and the summary go to standard error) (default: text)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="who reads and groups the records: python (streaming, any input), duckdb (the [duckdb] extra: "
        "JSON Lines, .gz, .zst, Parquet), spark (the [spark] extra: a local or remote Spark); auto: duckdb when "
        "installed for Parquet and for files large enough to gain by it (40 MB plus 8 MB per file), else python "
        "(default: auto)",
    )
    parser.add_argument(
        "--memory-limit",
        default=DEFAULT_MEMORY_LIMIT,
        metavar="SIZE",
        help=f"duckdb engine: memory it may use before spilling to --temp-directory (default: {DEFAULT_MEMORY_LIMIT})",
    )
    parser.add_argument(
        "--spark-master",
        default=DEFAULT_MASTER,
        metavar="URL",
        help=f"spark engine: the master URL (default: {DEFAULT_MASTER})",
    )
    parser.add_argument(
        "--temp-directory",
        metavar="DIR",
        help="duckdb engine: where it spills (default: the system's temporary directory)",
    )

    parser.add_argument(
        "--input-format", choices=FORMATS, default="auto", help="input format (default: detected per file)"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="unfinished runs, runs joined mid-run and unrecorded client calls count as failures",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing; only the exit code tells")
    parser.add_argument(
        "--only-failures", action="store_true", help="report only failing runs (no summary; JSON lists only them)"
    )
    parser.add_argument(
        "--show-warnings",
        action="store_true",
        help="also list field-invariant warnings (FIELD lines) and client-call notes (NOTE lines)",
    )
    parser.add_argument(
        "--show-unfinished",
        action="store_true",
        help="also list the runs with no terminal status (UNFINISHED lines; in JSON with --only-failures too)",
    )
    parser.add_argument(
        "--sort-by",
        metavar="FIELD",
        help="order each run's records by this field (number or ISO 8601) instead of file order; "
        "holds the whole input in memory",
    )
    parser.add_argument("--no-field-checks", action="store_true", help="skip the field-invariant checks (faster)")
    parser.add_argument(
        "--status-alias",
        action="append",
        default=[],
        metavar="ALIAS=STATUS",
        help="read a misspelled status some client wrote as the status meant, e.g. canceled=cancelled "
        "(also as an event or webhook name: thread.run.canceled, response.canceled, batch.canceled); "
        "the statuses of --lifecycle (repeatable; without it such a status is unknown)",
    )
    parser.add_argument(
        "--report",
        metavar="FILE.html",
        help="also write an offline HTML report: summary, the runs drawn on the lifecycle, failing runs "
        "(needs Graphviz)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help=f"worker processes, or the duckdb engine's threads (1 to {MAX_JOBS:,}; default: 1; see the README "
        "for when it helps)",
    )


def _progress(enabled: bool) -> tuple[Callable[[], object] | None, Callable[[], None]]:
    """A per-record callback that draws progress on stderr, and a function to close it."""
    if not enabled:
        return None, lambda: None
    count = 0
    try:
        from tqdm import tqdm  # noqa: PLC0415  (optional: the `cli` extra)
    except ImportError:  # pragma: no cover - tqdm is in the dev install
        bar = None
    else:
        bar = tqdm(unit=" records", unit_scale=True, file=sys.stderr, leave=False, mininterval=0.5)
    last = time.monotonic()

    def tick() -> None:
        nonlocal count, last
        count += 1
        if count % _PROGRESS_EVERY:
            return
        if bar is not None:
            bar.update(_PROGRESS_EVERY)
            return
        now = time.monotonic()
        if now - last >= 0.5:
            last = now
            sys.stderr.write(f"\r{count:,} records")
            sys.stderr.flush()

    def close() -> None:
        if bar is not None:
            bar.close()
        elif count >= _PROGRESS_EVERY:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    return tick, close


def _read_progress(enabled: bool) -> tuple[Callable[[int, int], object] | None, Callable[[], None]]:
    """An ``on_progress(done, total)`` callback that draws the bytes read on stderr, and a function to close it.

    For the duckdb engine, which reads each input in one query (see
    :mod:`runfsm.validation.engines.progress`); grouping and judging follow the reading.
    """
    if not enabled:
        return None, lambda: None
    make: Any
    try:
        from tqdm import tqdm as make  # noqa: PLC0415  (optional: the `cli` extra)
    except ImportError:  # pragma: no cover - tqdm is in the dev install
        make = None
    bar: Any = None
    drawn = False

    def tell(done: int, total: int) -> None:
        nonlocal bar, drawn
        stage = "judging" if done >= total else "read"
        if make is not None:
            if bar is None:  # drawn once the total is known
                bar = make(total=total, unit="B", unit_scale=True, desc=stage, file=sys.stderr, leave=False)
            bar.total = total
            bar.update(done - bar.n)
            if bar.desc != stage:
                bar.set_description(stage, refresh=True)
            return
        if total:
            drawn = True
            sys.stderr.write(f"\r{100 * done // total}% read" + (", judging" if done >= total else ""))
            sys.stderr.flush()

    def close() -> None:
        if bar is not None:
            bar.close()
        elif drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    return tell, close


def collect(
    paths: list[str],
    *,
    mode: str = "auto",
    strict: bool = False,
    sort_by: str | None = None,
    input_format: str = "auto",
    keep_all: bool = False,
    keep_unfinished: bool = False,
    check_fields: bool = True,
    progress: bool = False,
    on_verdict: Callable[[Verdict], object] | None = None,
    jobs: int = 1,
    partition: tuple[int, int] | None = None,
    keep: Callable[[Verdict], object] | None = None,
    spool: Spool | None = None,
    report_to: Report | None = None,
    lifecycle: str = "run",
    engine: str = "python",
    engine_options: dict[str, Any] | None = None,
    aliases: Mapping[str, RunStatus] | None = None,
) -> ValidationReport:
    """Validate ``paths`` and gather the report (the command's work, without printing).

    ``lifecycle`` is a preset's key (``run``, ``response``, ``batch``) or ``auto``.

    The report keeps the verdicts worth reporting: failing, with an offense, warnings or notes,
    unfinished with ``keep_unfinished``, or every one with ``keep_all``. By default they go to
    ``report.verdicts``; ``keep`` receives them instead, and ``spool`` renders them to its file
    (so that memory does not grow with the number of failing runs). ``on_verdict`` is called
    with every verdict judged in this process, as it comes; worker processes cannot call it.
    ``report_to`` (the HTML report) receives every verdict; worker processes fill reports of
    their own, merged into it.

    With ``jobs`` > 1, that many worker processes each judge the runs of one partition (by a
    hash of the run id) and their reports are merged: kept verdicts come back through
    ``spool`` files when a spool is given, else as objects (``keep`` is then not called).
    An input that is not a regular file (standard input, a pipe, a device, see
    :func:`unshareable`) can be read only once: with one, everything is validated in this process.

    ``engine`` names who reads and groups (see :mod:`runfsm.validation.engines`): ``python``
    (this process, or ``jobs`` processes), ``duckdb`` or ``spark`` (``engine_options`` are theirs).
    ``progress`` draws a progress bar on stderr: records judged (``python``), bytes read
    (``duckdb``, then "judging"); none with ``spark``.
    """
    options: dict[str, Any] = {
        "mode": mode,
        "strict": strict,
        "sort_by": sort_by,
        "input_format": input_format,
        "keep_all": keep_all,
        "keep_unfinished": keep_unfinished,
        "check_fields": check_fields,
        "lifecycle": lifecycle,
        "aliases": aliases,
    }
    if jobs > 1 and engine == "python" and not any(unshareable(path) for path in paths):
        return _collect_parallel(paths, jobs, options, spool, discard=keep is _discard, report_to=report_to)
    report = ValidationReport(Summary(strict=strict))
    worth_reporting = report.summary.is_worth_reporting
    kept = spool.add if spool is not None else report.verdicts.append if keep is None else keep

    def on_kept(verdict: Verdict) -> None:
        if on_verdict is not None:
            on_verdict(verdict)
        if report_to is not None:
            report_to.add(verdict)
        if keep_all or worth_reporting(verdict) or (keep_unfinished and verdict.result is RunResult.UNFINISHED):
            kept(verdict)

    # unfinished runs are counted without their verdicts unless they are to be listed
    every_verdict = keep_all or keep_unfinished or on_verdict is not None or report_to is not None
    judging: dict[str, Any] = {"mode": mode, "strict": strict, "sort_by": sort_by, "input_format": input_format}
    judging |= {"on_error": report.add_error, "on_verdict": on_kept, "every_verdict": every_verdict}
    judging |= {"check_fields": check_fields, "lifecycle": lifecycle, "aliases": aliases}
    if engine != "python":
        on_progress, close = _read_progress(progress and engine == "duckdb")
        own = dict(engine_options or {})
        if on_progress is not None:
            own["on_progress"] = on_progress
        try:
            report.summary = summarize_with(engine, paths, **judging, **own)
        finally:
            close()
        report.records = report.summary.observations
        return report
    tick, close = _progress(progress)
    try:
        report.summary = summarize_paths(paths, **judging, on_record=tick, partition=partition)
    finally:
        close()
    report.records = report.summary.observations
    return report


@dataclass(frozen=True)
class _Job:
    """One worker's share of ``--jobs``: its partition, and where its kept runs go."""

    paths: list[str]
    part: int
    parts: int
    options: dict[str, Any]
    spool_path: str | None = None
    """Render kept runs into this file (``spool_kind`` entries) instead of sending them back."""
    spool_kind: EntryKind = "text"
    spool_options: dict[str, bool] = field(default_factory=dict)
    discard: bool = False
    """Send no kept verdict back (``--quiet``)."""
    report_max_failures: int | None = None
    """Fill an HTML report of its own (listing at most this many failing runs) and send it back."""


def _worker(job: _Job) -> tuple[Summary, list[Verdict], int, list[tuple[str, str, int | None]], Report | None]:
    """Judge one partition; return its summary, kept verdicts (or the spooled count), errors and HTML report."""
    part_report = None
    if job.report_max_failures is not None:
        from runfsm.drawing.report import Report  # noqa: PLC0415  (only --report draws)

        part_report = Report(
            strict=bool(job.options["strict"]),
            max_failures=job.report_max_failures,
            lifecycle=preset(str(job.options["lifecycle"])),
        )
    spool = None
    if job.spool_path is not None:
        spool = Spool(job.spool_kind, strict=bool(job.options["strict"]), path=job.spool_path, **job.spool_options)
    try:
        keep = _discard if job.discard else None
        report = collect(
            job.paths, partition=(job.part, job.parts), spool=spool, keep=keep, report_to=part_report, **job.options
        )
    finally:
        if spool is not None:
            spool.close()
    entries = spool.entries if spool is not None else 0
    # InputError does not pickle its fields: send them as plain tuples
    errors = [(e.detail, e.source, e.line) for e in report.errors]
    return report.summary, report.verdicts, entries, errors, part_report


def unshareable(path: str) -> str | None:
    """Why ``--jobs`` workers cannot each read ``path`` whole, or None when they can.

    Each worker opens and reads every input itself, so an input must read the same in every
    process: a regular file named by an ordinary path. Standard input, a pipe or FIFO
    (``<(zcat f)``), a device, and paths that name a file descriptor of the process
    (``/dev/stdin``, ``/dev/fd/N``, ``/proc/self/fd/N``) cannot be shared. A path that does not
    exist can (its error is reported once).
    """
    if path == "-":
        return "standard input"
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if not stat.S_ISREG(mode):
        return "not a regular file"
    for name in (os.path.abspath(path), os.path.realpath(path)):
        if name.startswith(("/dev/", "/proc/")):
            return "a file descriptor of this process"
    return None


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C is the parent's to handle (it stops the pool), so no worker prints a traceback."""
    import signal  # noqa: PLC0415  (only for --jobs)

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_method() -> str:
    """How ``--jobs`` starts its workers: ``"fork"`` when this process has no other thread, else ``"spawn"``.

    A forked worker starts at once (it inherits the imported modules); forking is only safe
    with a single thread.
    """
    import multiprocessing  # noqa: PLC0415  (only for --jobs)
    import threading  # noqa: PLC0415

    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _collect_parallel(
    paths: list[str],
    jobs: int,
    options: dict[str, Any],
    spool: Spool | None,
    *,
    discard: bool,
    report_to: Report | None,
) -> ValidationReport:
    import multiprocessing  # noqa: PLC0415  (only for --jobs)

    summary = Summary(strict=bool(options["strict"]))
    report = ValidationReport(summary)
    method = start_method()
    with tempfile.TemporaryDirectory(prefix="runfsm-jobs-") as folder:
        work = [
            _Job(
                paths,
                k,
                jobs,
                options,
                None if spool is None else os.path.join(folder, f"part-{k}"),
                "text" if spool is None else spool.kind,
                {} if spool is None else spool.options,
                discard,
                None if report_to is None else report_to.max_failures,
            )
            for k in range(jobs)
        ]
        with multiprocessing.get_context(method).Pool(jobs, initializer=_ignore_interrupts) as pool:
            for job, (part_summary, verdicts, entries, errors, part_report) in zip(
                work, pool.imap(_worker, work), strict=True
            ):
                summary.merge(part_summary)
                report.verdicts.extend(verdicts)
                if spool is not None and job.spool_path is not None:
                    spool.extend(job.spool_path, entries)
                if report_to is not None and part_report is not None:
                    report_to.merge(part_report)
                report.errors.extend(InputError(detail, source=source, line=line) for detail, source, line in errors)
    report.errors.sort(key=lambda e: (e.source, e.line or 0))
    del report.errors[MAX_LISTED_ERRORS:]
    report.records = summary.observations
    return report


def _display_paths(args: argparse.Namespace) -> list[str] | None:
    """The files to read, each directory and glob expanded; None when nothing was given.

    A directory, or a glob, that stands for no file is an :class:`InputError` naming it, said
    before anything is read.
    """
    paths = sample_paths() if args.sample else []
    for entry in args.files:
        found = ["-"] if entry == "-" else expand_paths([entry])
        if not found:
            what = "the directory holds" if os.path.isdir(entry) else "the pattern matches"
            raise InputError(f"{what} no files to read (names starting with a dot are left out)", source=entry)
        paths += found
    return paths or None


def run(args: argparse.Namespace) -> int:
    """Validate the files; print the report; return the exit code."""
    paths = _display_paths(args)
    if paths is None:
        print("runfsm validate: error: no input; give FILE... ('-' for standard input) or --sample", file=sys.stderr)
        return 2
    for option, value in (("--sort-by", args.sort_by), ("--report", args.report)):
        if value is not None and not value.strip():  # an empty shell variable, most often
            what = "a field name" if option == "--sort-by" else "a file name"
            print(f"runfsm validate: error: {option} needs {what}, got {value!r}", file=sys.stderr)
            return 2
    if not 1 <= args.jobs <= MAX_JOBS:
        print(f"runfsm validate: error: --jobs must be from 1 to {MAX_JOBS:,}, got {args.jobs:,}", file=sys.stderr)
        return 2
    # what is alive now (modules, tables) outlives the command: keep the collector's full passes
    # off it while the records stream by (about 8% of the time on a large input)
    gc.freeze()
    try:
        return _validate(args, paths)
    finally:
        gc.unfreeze()


def _engine(args: argparse.Namespace, paths: list[str]) -> tuple[str, dict[str, Any]]:
    """The engine ``--engine`` chooses for these inputs, and its options; ValueError for a usage error.

    An option of another engine than the one chosen is said to be unused (a note on stderr).
    """
    engine = choose_engine(args.engine, paths)
    given = {
        "--memory-limit": ("duckdb", args.memory_limit != DEFAULT_MEMORY_LIMIT),
        "--temp-directory": ("duckdb", args.temp_directory is not None),
        "--spark-master": ("spark", args.spark_master != DEFAULT_MASTER),
    }
    for option, (owner, set_) in given.items():
        if set_ and owner != engine:
            note = f"runfsm validate: note: {option} is the {owner} engine's; the {engine} engine reads these inputs"
            print(note, file=sys.stderr)
    if engine == "duckdb":
        threads = args.jobs if args.jobs > 1 else None
        limit = check_memory_limit(args.memory_limit)
        return engine, {"memory_limit": limit, "temp_directory": args.temp_directory, "threads": threads}
    if engine == "spark":
        from runfsm.validation.engines.spark import check_master  # noqa: PLC0415  (the spark extra)

        return engine, {"master": check_master(args.spark_master)}
    return engine, {}


def _validate(args: argparse.Namespace, paths: list[str]) -> int:
    args.lifecycle = resolve_lifecycle(args.lifecycle, paths).key  # detected once, for every worker
    try:
        engine, engine_options = _engine(args, paths)
        args.aliases = status_aliases(args.status_alias, preset(args.lifecycle))
    except ValueError as err:
        print(f"runfsm validate: error: {err}", file=sys.stderr)
        return 2
    if args.sort_by is not None:
        _note_sort_field(args.sort_by, paths)
    if engine == "python":
        args.jobs = _usable_jobs(args.jobs, paths)  # the command's own options: the workers' count as used
    html = _html_report(paths, strict=args.strict, lifecycle=preset(args.lifecycle)) if args.report else None
    # an unwritable --report fails now, before any input is read
    target = claim(args.report) if args.report else None
    judge = _judge_jsonl if args.output_format == "jsonl" else _judge
    try:
        return judge(args, paths, html, target, engine=engine, engine_options=engine_options)
    finally:
        if target is not None:
            target.abandon()  # nothing left behind when the work stopped early


def _note_sort_field(field: str, paths: list[str]) -> None:
    """A note on stderr when the inputs' first JSON lines never hold the ``--sort-by`` field (a typo, most often)."""
    missing = sort_field_missing(paths, field)
    if missing is not None and missing[0]:
        objects, files = missing
        where = printable(files[0]) + (f" and {len(files) - 1:,} more files" if len(files) > 1 else "")
        print(
            f"runfsm validate: note: --sort-by {printable(field)}: none of the first {objects:,} JSON records "
            f"({where}) has a field {printable(repr(field))}; a record without it keeps its place in the file",
            file=sys.stderr,
        )


def _usable_jobs(jobs: int, paths: list[str]) -> int:
    """``jobs``, or 1 (saying why on stderr) when some input cannot be read by every worker."""
    if jobs > 1:
        reasons = [(path, why) for path in paths if (why := unshareable(path)) is not None]
        if reasons:
            path, why = reasons[0]
            print(
                f"runfsm validate: note: --jobs {jobs} needs files every worker can read; {printable(path)} is {why} "
                "(read once): validating everything in one process",
                file=sys.stderr,
            )
            jobs = 1
    return jobs


def _judge(
    args: argparse.Namespace,
    paths: list[str],
    html: Report | None,
    target: Target | None,
    *,
    engine: str,
    engine_options: dict[str, Any],
) -> int:
    progress = not args.quiet and sys.stderr.isatty()
    # kept runs are rendered into a spool file as they come, so that memory stays flat, except for
    # the bundled samples (their paths are shortened before printing)
    streamed = not args.sample
    kind: EntryKind = "json" if args.output_format == "json" else "text"
    spool = None
    if streamed and not args.quiet:
        spool = Spool(
            kind,
            strict=args.strict,
            show_warnings=args.show_warnings,
            only_failures=args.only_failures,
            show_unfinished=args.show_unfinished,
        )
    try:
        report = collect(
            paths,
            mode=args.mode,
            strict=args.strict,
            sort_by=args.sort_by,
            input_format=args.input_format,
            keep_all=kind == "json" and not args.only_failures,
            keep_unfinished=args.show_unfinished,
            check_fields=not args.no_field_checks,
            progress=progress and (args.jobs == 1 or engine == "duckdb"),  # duckdb: --jobs are its threads
            jobs=args.jobs,
            report_to=html,
            keep=_discard if streamed and spool is None else None,
            spool=spool,
            lifecycle=args.lifecycle,
            engine=engine,
            engine_options=engine_options,
            aliases=args.aliases,
        )
        if html is not None:
            for error in report.errors:
                html.add_error(error)
        if args.sample:
            _relative_to_samples(report)
        if not args.quiet:
            if kind == "json":
                render_json(
                    report,
                    sys.stdout,
                    only_failures=args.only_failures,
                    show_unfinished=args.show_unfinished,
                    spooled=spool,
                )
            else:
                render_text(
                    report,
                    sys.stdout,
                    only_failures=args.only_failures,
                    show_warnings=args.show_warnings,
                    show_unfinished=args.show_unfinished,
                    spooled=spool,
                )
    finally:
        if spool is not None:
            spool.close()
    if html is not None and target is not None:
        target.write(html.html().encode("utf-8"), command="validate", what="HTML report")
    return report.summary.exit_code


def _judge_jsonl(
    args: argparse.Namespace,
    paths: list[str],
    html: Report | None,
    target: Target | None,
    *,
    engine: str,
    engine_options: dict[str, Any],
) -> int:
    """``--format jsonl``: one verdict per line on standard output, as runs are judged; errors and summary on stderr.

    Every run is written (only the failing ones with ``--only-failures``), each as
    :meth:`Verdict.to_dict` plus ``"failed"``: a file any data tool reads.
    """
    import json  # noqa: PLC0415

    summary = Summary(strict=args.strict)
    out = sys.stdout

    def write(verdict: Verdict) -> None:
        failed = summary.is_failure(verdict)
        unfinished = args.show_unfinished and verdict.result is RunResult.UNFINISHED
        if args.only_failures and not failed and not unfinished:
            return
        if not args.quiet:
            out.write(json.dumps({**verdict.to_dict(), "failed": failed}, separators=(",", ":")) + "\n")

    report = collect(
        paths,
        mode=args.mode,
        strict=args.strict,
        sort_by=args.sort_by,
        input_format=args.input_format,
        keep_all=True,
        check_fields=not args.no_field_checks,
        jobs=1 if engine == "python" else args.jobs,
        report_to=html,
        keep=write,
        engine=engine,
        engine_options=engine_options,
        lifecycle=args.lifecycle,
        aliases=args.aliases,
    )
    if not args.quiet:
        for error in report.errors:
            print(printable(str(error)), file=sys.stderr)
        print(json.dumps({"summary": report.summary.to_dict(), "exit_code": report.summary.exit_code}), file=sys.stderr)
    if html is not None and target is not None:
        for error in report.errors:
            html.add_error(error)
        target.write(html.html().encode("utf-8"), command="validate", what="HTML report")
    return report.summary.exit_code


def _discard(verdict: Verdict) -> None:
    """Keep nothing (``--quiet``: only the exit code tells)."""
    del verdict


def _html_report(paths: list[str], *, strict: bool, lifecycle: Lifecycle[Any]) -> Report:
    """The HTML report to fill (``--report``); raises GraphvizMissing before any input is read."""
    from runfsm.drawing.diagram import lifecycle_diagram, render  # noqa: PLC0415  (only --report draws)
    from runfsm.drawing.report import Report  # noqa: PLC0415

    render(lifecycle_diagram(lifecycle), format="svg")
    return Report(sources=paths, strict=strict, lifecycle=lifecycle)


def _relative_to_samples(report: ValidationReport) -> None:
    """Show bundled samples as ``samples/NAME`` rather than their install path."""
    import dataclasses  # noqa: PLC0415

    folder = os.path.dirname(sample_paths()[0]) + os.sep

    def short(text: str) -> str:
        return "samples/" + text[len(folder) :] if text.startswith(folder) else text

    def fix(verdict: Verdict) -> Verdict:
        offenses = tuple(
            dataclasses.replace(o, location=dataclasses.replace(o.location, source=short(o.location.source)))
            if o.location is not None
            else o
            for o in verdict.offenses
        )

        def located(
            found: tuple[tuple[int, Location | None, str], ...],
        ) -> tuple[tuple[int, Location | None, str], ...]:
            return tuple(
                (i, dataclasses.replace(loc, source=short(loc.source)) if loc is not None else None, m)
                for i, loc, m in found
            )

        run_id = short(verdict.run_id) if verdict.run_id is not None else None
        return dataclasses.replace(
            verdict, offenses=offenses, warnings=located(verdict.warnings), notes=located(verdict.notes), run_id=run_id
        )

    report.verdicts = [fix(v) for v in report.verdicts]
    for counts in report.summary.sources:
        counts.source = short(counts.source)
    report.errors = [InputError(e.detail, source=short(e.source), line=e.line) for e in report.errors]
