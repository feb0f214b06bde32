"""``runfsm validate``: judge the run histories in log files; summary, failing runs, exit code.

Exit codes: 0 every run legal; 1 some run illegal (or, with ``--strict``, unfinished or with an
unrecorded client call); 2 some input unusable (unreadable file or line, unknown status) or a
usage error. The report goes to standard output; a progress bar to standard error, only when
that is a terminal.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import IO, TYPE_CHECKING, Any

from runfsm.exceptions import InputError
from runfsm.records import FORMATS
from runfsm.summary import Summary
from runfsm.validation import summarize_paths
from runfsm.verdict import OffenseKind, RunResult, Verdict

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from runfsm.report import Report

__all__ = ["ValidationReport", "add_arguments", "collect", "render_json", "render_text", "run", "sample_paths"]

_SHOWN_ERRORS = 50
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
        "--format", dest="output_format", choices=("text", "json"), default="text", help="report format (default: text)"
    )
    parser.add_argument(
        "--input-format", choices=FORMATS, default="auto", help="input format (default: detected per file)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="unfinished runs and unrecorded client calls count as failures"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing; only the exit code tells")
    parser.add_argument(
        "--only-failures", action="store_true", help="report only failing runs (no summary; JSON lists only them)"
    )
    parser.add_argument("--show-warnings", action="store_true", help="also list field-invariant warnings")
    parser.add_argument(
        "--sort-by",
        metavar="FIELD",
        help="order each run's records by this field (number or ISO 8601) instead of file order; "
        "holds the whole input in memory",
    )
    parser.add_argument("--no-field-checks", action="store_true", help="skip the field-invariant checks (faster)")
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
        help="worker processes (default: 1; see the README for when it helps)",
    )


@dataclass
class ValidationReport:
    """What one ``runfsm validate`` run found: the summary, the verdicts kept for the report, the errors."""

    summary: Summary
    verdicts: list[Verdict] = field(default_factory=list)
    """Failing runs and runs with warnings (every run for a full JSON report)."""
    errors: list[InputError] = field(default_factory=list)
    records: int = 0


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


def collect(
    paths: list[str],
    *,
    mode: str = "auto",
    strict: bool = False,
    sort_by: str | None = None,
    input_format: str = "auto",
    keep_all: bool = False,
    check_fields: bool = True,
    progress: bool = False,
    on_verdict: Callable[[Verdict], object] | None = None,
    jobs: int = 1,
    partition: tuple[int, int] | None = None,
    keep: Callable[[Verdict], object] | None = None,
) -> ValidationReport:
    """Validate ``paths`` and gather the report (the command's work, without printing).

    With ``jobs`` > 1, that many worker processes each judge the runs of one partition
    (by a hash of the run id) and their reports are merged. Standard input is read once,
    so it is always validated in this process. ``on_verdict`` is called with every verdict
    judged in this process, as it comes (the HTML report counts them); worker processes
    cannot call it. ``keep`` receives the verdicts the report would keep (failing, warned, or
    all with ``keep_all``) instead of ``report.verdicts``: the command streams them to a spool
    file so that memory does not grow with the number of failing runs.
    """
    options: dict[str, Any] = {
        "mode": mode,
        "strict": strict,
        "sort_by": sort_by,
        "input_format": input_format,
        "keep_all": keep_all,
        "check_fields": check_fields,
    }
    if jobs > 1 and "-" not in paths:
        return _collect_parallel(paths, jobs, options)
    report = ValidationReport(Summary(strict=strict))
    failing = report.summary.is_failure
    kept = report.verdicts.append if keep is None else keep

    def on_kept(verdict: Verdict) -> None:
        if on_verdict is not None:
            on_verdict(verdict)
        if keep_all or verdict.offenses or verdict.warnings or failing(verdict):
            kept(verdict)

    tick, close = _progress(progress)
    try:
        report.summary = summarize_paths(
            paths,
            mode=mode,  # type: ignore[arg-type]  # checked by argparse choices
            strict=strict,
            sort_by=sort_by,
            on_error=report.errors.append,
            on_verdict=on_kept,
            every_verdict=keep_all or on_verdict is not None,
            input_format=input_format,  # type: ignore[arg-type]  # checked by argparse choices
            check_fields=check_fields,
            on_record=tick,
            partition=partition,
        )
    finally:
        close()
    report.records = report.summary.observations
    return report


def _worker(
    job: tuple[list[str], int, int, dict[str, Any]],
) -> tuple[Summary, list[Verdict], list[tuple[str, str, int | None]]]:
    paths, part, parts, options = job
    report = collect(paths, partition=(part, parts), **options)
    # InputError does not pickle its fields: send them as plain tuples
    return report.summary, report.verdicts, [(e.detail, e.source, e.line) for e in report.errors]


def _collect_parallel(paths: list[str], jobs: int, options: dict[str, Any]) -> ValidationReport:
    import multiprocessing  # noqa: PLC0415  (only for --jobs)

    summary = Summary(strict=bool(options["strict"]))
    report = ValidationReport(summary)
    context = multiprocessing.get_context("spawn")
    with context.Pool(jobs) as pool:
        for part_summary, verdicts, errors in pool.imap(_worker, [(paths, k, jobs, options) for k in range(jobs)]):
            summary.merge(part_summary)
            report.verdicts.extend(verdicts)
            report.errors.extend(InputError(detail, source=source, line=line) for detail, source, line in errors)
    report.errors.sort(key=lambda e: (e.source, e.line or 0))
    report.records = summary.observations
    return report


# ----------------------------------------------------------------------------- rendering


def _status(value: Any) -> str:
    return str(value.wire or value.name)


def _failure_lines(verdict: Verdict, summary: Summary, show_warnings: bool) -> list[str]:
    lines: list[str] = []
    failed = summary.is_failure(verdict)
    calls = [o for o in verdict.offenses if o.kind is OffenseKind.UNRECORDED_CALL]
    if failed:
        lines.append(f"FAIL {verdict.run_id} ({verdict.mode} mode): {verdict.result.value.replace('_', ' ')}")
        for offense in verdict.offenses:
            tag = "" if offense.kind is not OffenseKind.UNRECORDED_CALL or verdict.strict else " (warning)"
            lines.append(f"  {offense.location}: observation {offense.index}: {offense.message}{tag}")
        if verdict.result is RunResult.UNFINISHED:
            lines.append(f"  no terminal status observed; last status {_status(verdict.final)}")
    elif calls:
        for offense in calls:
            lines.append(f"WARN {verdict.run_id} ({verdict.mode} mode): {offense.location}: {offense.message}")
    if show_warnings:
        for index, location, message in verdict.warnings:
            where = f"{location}: " if location is not None else ""
            lines.append(f"NOTE {verdict.run_id}: {where}observation {index}: {message}")
    return lines


def render_text(
    report: ValidationReport,
    out: IO[str],
    *,
    only_failures: bool = False,
    show_warnings: bool = False,
    spooled: IO[str] | None = None,
) -> None:
    """The human report: summary table, then failing runs, warnings and input errors.

    ``spooled`` holds the failing-run lines already rendered (``_failure_lines``, one per
    line) in place of ``report.verdicts``; it is read from its start.
    """
    s = report.summary
    if not only_failures:
        rows = [
            ("runs", s.runs),
            ("observations", s.observations),
            ("legal", s.legal),
            ("illegal", s.illegal),
            ("unknown status", s.unknown_status),
            ("unfinished", s.unfinished),
            ("inferred jumps", s.inferred_jumps),
            ("lenient edges used", s.lenient_edges),
            ("unrecorded calls", s.unrecorded_calls),
            ("field warnings", s.warnings),
            ("input errors", s.input_errors),
        ]
        for label, value in rows:
            out.write(f"{label:<20}{value:>10,}\n")
    body: list[str] = []
    for verdict in report.verdicts:
        body.extend(_failure_lines(verdict, s, show_warnings))
    spooled_any = spooled is not None and spooled.tell() > 0
    has_body = bool(body) or spooled_any
    if has_body:
        if not only_failures:
            out.write("\n")
        if spooled is not None and spooled_any:
            spooled.seek(0)
            shutil.copyfileobj(spooled, out)
        if body:
            out.write("\n".join(body) + "\n")
    if report.errors:
        out.write("\ninput errors:\n" if not only_failures or has_body else "input errors:\n")
        for error in report.errors[:_SHOWN_ERRORS]:
            out.write(f"  {error}\n")
        if len(report.errors) > _SHOWN_ERRORS:
            out.write(f"  ... and {len(report.errors) - _SHOWN_ERRORS} more\n")


def render_json(report: ValidationReport, out: IO[str], *, only_failures: bool = False) -> None:
    """One JSON document: summary, runs (each a verdict), input errors."""
    s = report.summary
    runs = [v for v in report.verdicts if not only_failures or s.is_failure(v)]
    doc = {
        "summary": s.to_dict(),
        "exit_code": s.exit_code,
        "runs": [{**v.to_dict(), "failed": s.is_failure(v)} for v in runs],
        "input_errors": [{"source": e.source, "line": e.line, "message": e.detail} for e in report.errors],
    }
    json.dump(doc, out, indent=2)
    out.write("\n")


def _display_paths(args: argparse.Namespace) -> list[str] | None:
    paths: list[str] = list(args.files)
    if args.sample:
        paths = sample_paths() + paths
    return paths or None


def run(args: argparse.Namespace) -> int:
    """Validate the files; print the report; return the exit code."""
    paths = _display_paths(args)
    if paths is None:
        print("runfsm validate: error: no input; give FILE... ('-' for standard input) or --sample", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print(f"runfsm validate: error: --jobs must be at least 1, got {args.jobs}", file=sys.stderr)
        return 2
    # what is alive now (modules, tables) outlives the command: keep the collector's full passes
    # off it while the records stream by (about 8% of the time on a large input)
    gc.freeze()
    try:
        return _validate(args, paths)
    finally:
        gc.unfreeze()


def _validate(args: argparse.Namespace, paths: list[str]) -> int:
    html = _html_report(paths, strict=args.strict) if args.report else None
    # worker processes cannot feed the HTML report: they send every verdict back instead
    html_after = html is not None and args.jobs > 1 and "-" not in paths
    progress = not args.quiet and sys.stderr.isatty()
    # the text report of one process streams kept verdicts: nothing (--quiet) or their lines to a spool file
    streamed = args.output_format == "text" and html is None and not args.sample and (args.jobs == 1 or "-" in paths)
    spool = tempfile.TemporaryFile("w+", encoding="utf-8") if streamed and not args.quiet else None  # noqa: SIM115  (closed after rendering, below)
    keep: Callable[[Verdict], object] | None = None
    if streamed:
        keep = (
            (lambda v: None)
            if spool is None
            else (lambda v: _spool(spool, v, strict=args.strict, show=args.show_warnings))
        )
    report = collect(
        paths,
        mode=args.mode,
        strict=args.strict,
        sort_by=args.sort_by,
        input_format=args.input_format,
        keep_all=(args.output_format == "json" and not args.only_failures) or html_after,
        check_fields=not args.no_field_checks,
        progress=progress and args.jobs == 1,
        jobs=args.jobs,
        on_verdict=html.add if html is not None and not html_after else None,
        keep=keep,
    )
    if html is not None:
        if html_after:
            html.update(report.verdicts)
        for error in report.errors:
            html.add_error(error)
    if args.sample:
        _relative_to_samples(report)
    if not args.quiet:
        if args.output_format == "json":
            render_json(report, sys.stdout, only_failures=args.only_failures)
        else:
            render_text(
                report, sys.stdout, only_failures=args.only_failures, show_warnings=args.show_warnings, spooled=spool
            )
    if spool is not None:
        spool.close()
    if html is not None:
        try:
            html.write(args.report)
        except OSError as err:
            print(f"runfsm validate: error: cannot write the report {args.report}: {err.strerror}", file=sys.stderr)
            return 2
    return report.summary.exit_code


def _spool(spool: IO[str], verdict: Verdict, *, strict: bool, show: bool) -> None:
    """Write a kept verdict's report lines to the spool file, as ``render_text`` would print them."""
    lines = _failure_lines(verdict, Summary(strict=strict), show)
    if lines:
        spool.write("\n".join(lines) + "\n")


def _html_report(paths: list[str], *, strict: bool) -> Report:
    """The HTML report to fill (``--report``); raises GraphvizMissing before any input is read."""
    from runfsm.diagram import lifecycle_diagram, render  # noqa: PLC0415  (only --report draws)
    from runfsm.report import Report  # noqa: PLC0415

    render(lifecycle_diagram(), format="svg")
    return Report(sources=paths, strict=strict)


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
        warnings = tuple(
            (i, dataclasses.replace(loc, source=short(loc.source)) if loc is not None else None, m)
            for i, loc, m in verdict.warnings
        )
        run_id = short(verdict.run_id) if verdict.run_id is not None else None
        return dataclasses.replace(verdict, offenses=offenses, warnings=warnings, run_id=run_id)

    report.verdicts = [fix(v) for v in report.verdicts]
    report.errors = [InputError(e.detail, source=short(e.source), line=e.line) for e in report.errors]
