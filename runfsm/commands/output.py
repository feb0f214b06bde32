"""The report of ``runfsm validate``: text and JSON rendering, and the spool that streams runs to disk.

A large log has many failing runs. Holding their verdicts until the summary is known would make
memory grow with the input, so the command renders each kept run as it comes (an *entry*: its
text lines, or its JSON object) into a :class:`Spool`, a temporary file, and copies the spool
into the report once the summary is printed. Worker processes of ``--jobs`` spool into files of
their own, which the parent appends in partition order.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Literal

from runfsm.commands.target import TargetError
from runfsm.printable import printable
from runfsm.validation.summary import Summary
from runfsm.verdict import OffenseKind, RunResult, StepKind, Verdict

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from runfsm.exceptions import InputError

__all__ = [
    "MAX_LISTED_ERRORS",
    "EntryKind",
    "Spool",
    "ValidationReport",
    "entry_renderer",
    "failure_lines",
    "render_json",
    "render_text",
]

EntryKind = Literal["text", "json"]

MAX_LISTED_ERRORS = 1_000
"""Input errors kept to be listed (JSON lists them all, text the first ``_SHOWN_ERRORS``); every one is counted."""
_SHOWN_ERRORS = 50
_RUNS_PLACEHOLDER = "\x00runs\x00"


@dataclass
class ValidationReport:
    """What one ``runfsm validate`` run found: the summary, the verdicts kept for the report, the errors."""

    summary: Summary
    verdicts: list[Verdict] = field(default_factory=list)
    """Failing runs and runs with warnings (every run for a full JSON report), when not spooled."""
    errors: list[InputError] = field(default_factory=list)
    """The input errors to list: the first :data:`MAX_LISTED_ERRORS` (the summary counts them all)."""
    records: int = 0

    def add_error(self, error: InputError) -> None:
        """Keep one more input error to list, unless :data:`MAX_LISTED_ERRORS` are kept already."""
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(error)

    @property
    def errors_not_listed(self) -> int:
        """Input errors counted in the summary but not kept to be listed."""
        return max(self.summary.input_errors - len(self.errors), 0)


def _status(value: Any) -> str:
    return str(value.label)


def failure_lines(
    verdict: Verdict, summary: Summary, show_warnings: bool, *, show_unfinished: bool = False
) -> list[str]:
    """The text report's lines for one run.

    ``FAIL`` with its offenses, ``WARN`` for unrecorded calls; with ``show_unfinished``,
    ``UNFINISHED`` for a run with no terminal status that does not fail (not strict); with
    ``show_warnings``, ``FIELD`` for each field-invariant warning and ``NOTE`` for each
    client-call note.
    """
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
        elif verdict.result is RunResult.JOINED:
            first = next((s for s in verdict.steps if s.kind is StepKind.JOINED), None)
            at = f"{_status(first.dest)} (observation {first.index})" if first is not None else "?"
            lines.append(f"  the stream capture began mid-run, at {at}")
    else:
        for offense in calls:
            lines.append(f"WARN {verdict.run_id} ({verdict.mode} mode): {offense.location}: {offense.message}")
        if show_unfinished and verdict.result is RunResult.UNFINISHED:
            lines.append(
                f"UNFINISHED {verdict.run_id} ({verdict.mode} mode): no terminal status observed; "
                f"last status {_status(verdict.final)} after {verdict.observations} observations"
            )
    if show_warnings:
        for tag, found in (("FIELD", verdict.warnings), ("NOTE", verdict.notes)):
            for index, location, message in found:
                where = f"{location}: " if location is not None else ""
                lines.append(f"{tag} {verdict.run_id}: {where}observation {index}: {message}")
    # ids, file names and raw statuses come from the input: one line each, no terminal control
    return [printable(line) for line in lines]


def _json_entry(verdict: Verdict, summary: Summary) -> str:
    """One run of the JSON document, indented as ``json.dump(..., indent=2)`` places it in ``"runs"``."""
    text = json.dumps({**verdict.to_dict(), "failed": summary.is_failure(verdict)}, indent=2)
    return "    " + text.replace("\n", "\n    ")


def entry_renderer(
    kind: EntryKind,
    *,
    strict: bool,
    show_warnings: bool = False,
    only_failures: bool = False,
    show_unfinished: bool = False,
) -> Callable[[Verdict], str]:
    """What a kept run becomes in the report: ``""`` when it shows nothing.

    ``"text"``: its :func:`failure_lines`, each ending in a newline. ``"json"``: its object in
    the document's ``"runs"`` list (only failing runs with ``only_failures``, and unfinished
    ones too with ``show_unfinished``).
    """
    summary = Summary(strict=strict)
    if kind == "text":

        def text(verdict: Verdict) -> str:
            lines = failure_lines(verdict, summary, show_warnings, show_unfinished=show_unfinished)
            return "\n".join(lines) + "\n" if lines else ""

        return text

    def json_entry(verdict: Verdict) -> str:
        listed = summary.is_failure(verdict) or (show_unfinished and verdict.result is RunResult.UNFINISHED)
        if only_failures and not listed:
            return ""
        return _json_entry(verdict, summary)

    return json_entry


class Spool:
    """Rendered entries in a temporary file: written as runs are judged, copied into the report at the end.

    JSON entries are separated by a comma and a newline; text entries carry their own newlines.
    """

    def __init__(
        self,
        kind: EntryKind,
        *,
        strict: bool,
        show_warnings: bool = False,
        only_failures: bool = False,
        show_unfinished: bool = False,
        path: str | None = None,
    ) -> None:
        self.kind: EntryKind = kind
        self.strict = strict
        self.options = {
            "show_warnings": show_warnings,
            "only_failures": only_failures,
            "show_unfinished": show_unfinished,
        }
        """How entries are rendered (see :func:`entry_renderer`): what a worker's spool needs to match."""
        self.render = entry_renderer(kind, strict=strict, **self.options)
        self.path = path
        self.file: IO[str] = (
            tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115  (closed by close())
            if path is None
            else open(path, "w+", encoding="utf-8")  # noqa: SIM115  (closed by close())
        )
        self.entries = 0

    def add(self, verdict: Verdict) -> None:
        """Render one kept run into the spool."""
        text = self.render(verdict)
        if text:
            self._write(text)

    def _write(self, text: str) -> None:
        with self._writing():
            self._separate()
            self.file.write(text)
        self.entries += 1

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """A write to the spool that fails (a full disk, a file size limit) is a :class:`TargetError` naming it.

        Without a file name in it, the command would take it for standard output's failure.
        """
        try:
            yield
        except OSError as err:
            where = self.path or f"a temporary file in {tempfile.gettempdir()}"
            raise TargetError(f"cannot write the kept runs' spool ({where}): {err.strerror or err}") from err

    def _separate(self) -> None:
        """Before another entry: JSON entries are separated by a comma and a newline."""
        if self.entries and self.kind == "json":
            self.file.write(",\n")

    def extend(self, path: str, entries: int) -> None:
        """Append another spool's file (a worker's) holding ``entries`` entries."""
        if not entries:
            return
        with self._writing():
            self._separate()
            with open(path, encoding="utf-8") as other:
                shutil.copyfileobj(other, self.file)
        self.entries += entries

    def copy_to(self, out: IO[str]) -> None:
        """Write the entries to ``out``."""
        with self._writing():
            self.file.flush()
        self.file.seek(0)
        shutil.copyfileobj(self.file, out)

    def close(self) -> None:
        """Remove the spool file."""
        self.file.close()


def render_text(
    report: ValidationReport,
    out: IO[str],
    *,
    only_failures: bool = False,
    show_warnings: bool = False,
    show_unfinished: bool = False,
    spooled: Spool | None = None,
) -> None:
    """The human report: summary table, then failing (and with ``show_unfinished``, unfinished) runs, warnings, errors.

    ``spooled`` holds the failing runs' lines already rendered, in place of ``report.verdicts``.
    """
    s = report.summary
    if not only_failures:
        rows = [
            ("runs", s.runs),
            ("observations", s.observations),
            ("legal", s.legal),
            ("illegal", s.illegal),
            ("unknown status", s.unknown_status),
            ("joined mid-run", s.joined),
            ("unfinished", s.unfinished),
            ("inferred jumps", s.inferred_jumps),
            ("lenient edges used", s.lenient_edges),
            ("unrecorded calls", s.unrecorded_calls),
            ("field warnings", s.warnings),
            ("client-call notes", s.call_notes),
            ("input errors", s.input_errors),
        ]
        for label, value in rows:
            out.write(f"{label:<20}{value:>10,}\n")
        if s.sources:
            out.write(f"\n{'lines':>10}{'in records':>12}{'skipped':>10}{'errors':>10}  input\n")
            for c in s.sources:
                out.write(f"{c.lines:>10,}{c.in_records:>12,}{c.skipped:>10,}{c.errors:>10,}  {printable(c.source)}\n")
    body: list[str] = []
    for verdict in report.verdicts:
        body.extend(failure_lines(verdict, s, show_warnings, show_unfinished=show_unfinished))
    spooled_any = spooled is not None and spooled.entries > 0
    has_body = bool(body) or spooled_any
    if has_body:
        if not only_failures:
            out.write("\n")
        if spooled is not None and spooled_any:
            spooled.copy_to(out)
        if body:
            out.write("\n".join(body) + "\n")
    if report.errors or s.input_errors:
        out.write("\ninput errors:\n" if not only_failures or has_body else "input errors:\n")
        for error in report.errors[:_SHOWN_ERRORS]:
            out.write(f"  {printable(str(error))}\n")
        hidden = s.input_errors - min(len(report.errors), _SHOWN_ERRORS)
        if hidden > 0:
            out.write(
                f"  {hidden:,} more input errors not listed here (of {s.input_errors:,}, all counted above; "
                f"--format json lists the first {min(s.input_errors, MAX_LISTED_ERRORS):,})\n"
            )


def render_json(
    report: ValidationReport,
    out: IO[str],
    *,
    only_failures: bool = False,
    show_unfinished: bool = False,
    spooled: Spool | None = None,
) -> None:
    """One JSON document: summary, exit code, runs (each a verdict), input errors, how many are not listed.

    The runs are ``report.verdicts`` (only failing ones with ``only_failures``) followed by
    the entries of ``spooled``; the document is written piece by piece, never held whole.
    """
    s = report.summary
    doc = {
        "summary": s.to_dict(),
        "exit_code": s.exit_code,
        "runs": _RUNS_PLACEHOLDER,
        "input_errors": [{"source": e.source, "line": e.line, "message": e.detail} for e in report.errors],
        "input_errors_not_listed": report.errors_not_listed,
    }
    # "runs" comes before anything taken from the input: the first occurrence is the placeholder
    head, tail = json.dumps(doc, indent=2).split(json.dumps(_RUNS_PLACEHOLDER), 1)
    out.write(head)
    entries = [
        _json_entry(v, s)
        for v in report.verdicts
        if not only_failures or s.is_failure(v) or (show_unfinished and v.result is RunResult.UNFINISHED)
    ]
    spooled_any = spooled is not None and spooled.entries > 0
    if not entries and not spooled_any:
        out.write("[]")
    else:
        out.write("[\n")
        if spooled is not None and spooled_any:
            spooled.copy_to(out)
            if entries:
                out.write(",\n")
        out.write(",\n".join(entries))
        out.write("\n  ]")
    out.write(tail)
    out.write("\n")
