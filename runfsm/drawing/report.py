"""The offline HTML report of a validation: summary, overlay diagram (inline SVG), what went wrong and where.

One self-contained file: CSS inline, the diagram as inline SVG, no script, no font, no link,
and a Content-Security-Policy that forbids the page to load anything, so it opens the same
without a network. Everything taken from the input (run ids, file names, raw statuses) is
HTML-escaped. The summary is :class:`runfsm.validation.Summary`, the one ``runfsm validate``
prints, and a run fails as it decides (:meth:`Summary.is_failure`). Memory is bounded: verdicts
are counted as they come, and only the first ``max_failures`` failing runs, unfinished runs and
input errors are kept for the tables (the rest are counted).

The page is made to stay useful at 100,000 runs: the overlay aggregates illegal jumps into a
count per state once there are more than a few kinds (so it fits the page with legible labels,
the legend is text under it), tables rank the most frequent illegal jumps and history shapes
with their counts, each listed run shows its path on the lifecycle, and the details (a run's
findings, the rest of a ranking, the unfinished runs) open with ``<details>``, no script.
"""

from __future__ import annotations

import dataclasses
import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runfsm.drawing.diagram import legend_lines, to_svg
from runfsm.drawing.histories import ShapeCounts, path_steps, path_text
from runfsm.drawing.overlay import Overlay
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.printable import printable
from runfsm.validation import Summary
from runfsm.verdict import RunResult, StepKind, Verdict

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Sequence

    from runfsm.exceptions import InputError
    from runfsm.lifecycle import Lifecycle
    from runfsm.vocabulary import LifecycleState

__all__ = ["Report", "write_report"]

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #202124;
       margin: 2em auto; max-width: 1400px; padding: 0 1.5em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 2em; }
.sub { color: #5f6368; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0; max-width: 100%; }
th, td { border: 1px solid #dadce0; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f1f3f4; } td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.path, td code { overflow-wrap: anywhere; } td.run { min-width: 17em; }
.legal { color: #137333; } .illegal, .unknown_status { color: #d93025; font-weight: 600; }
.unfinished, .joined { color: #e37400; } code { font-size: 0.95em; }
figure { margin: 1em 0; border: 1px solid #dadce0; padding: 0.5em; }
figure svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { color: #5f6368; font-size: 0.9em; } figcaption ul { margin: 0.3em 0; padding-left: 1.1em; }
ul.offenses { margin: 0; padding-left: 1.1em; }
details > summary { cursor: pointer; } h2 + details, section > details { margin: 0.5em 0; }
.columns { display: flex; flex-wrap: wrap; gap: 0 2.5em; align-items: flex-start; }
.columns > section { flex: 1 1 30em; min-width: 0; }
"""
_BEFORE_SVG = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_SUMMARY_LABELS = {"call_notes": "client-call notes", "joined": "joined mid-run", "lenient_edges": "lenient edges"}
_TOP = 15
"""Rows shown at once in the tables of illegal jumps and history shapes (the rest behind <details>)."""
_MORE = 100
"""Rows behind each table's <details>."""


@dataclass(frozen=True, slots=True)
class _ListedRun:
    run_id: str | None
    result: RunResult
    final: LifecycleState
    offenses: tuple[tuple[str, str, str], ...]
    """(kind, message, location) of each offense."""
    path: str
    """The run's path on the lifecycle (:func:`~runfsm.drawing.histories.path_text`)."""
    observations: int


def _esc(value: object) -> str:
    """Input text for the page: control characters as visible escapes, then HTML-escaped (valid XML too)."""
    return html.escape(printable(str(value)), quote=True)


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


class Report:
    """Collects verdicts (:meth:`add`) and input errors (:meth:`add_error`); renders the page (:meth:`html`).

    ``sources`` names the inputs in the page; ``strict`` is ``runfsm validate --strict``
    (unfinished runs fail); ``highlight`` is a run id drawn as a path on the overlay;
    ``max_failures`` bounds the tables of failing runs, of unfinished runs and of input errors.
    """

    def __init__(
        self,
        *,
        title: str = "runfsm validation report",
        sources: Sequence[str] = (),
        strict: bool = False,
        highlight: str | None = None,
        max_failures: int = 500,
        lifecycle: Lifecycle[Any] = RUN_LIFECYCLE,
    ) -> None:
        if not isinstance(max_failures, int) or max_failures < 0:
            raise ValueError(f"max_failures must be an int >= 0, got {max_failures!r}")
        self.title = title
        self.sources = tuple(str(s) for s in sources)
        self.max_failures = max_failures
        self.summary = Summary(strict=strict)
        """The counts ``runfsm validate`` prints."""
        self.overlay = Overlay(lifecycle=lifecycle, highlight=highlight)
        self.shapes = ShapeCounts()
        """Every run counted by history shape (path and result)."""
        self.failures: list[_ListedRun] = []
        self.failures_not_listed = 0
        self.unfinished: list[_ListedRun] = []
        """Unfinished runs that do not fail (not strict), the first ``max_failures``."""
        self.unfinished_not_listed = 0
        self.errors: list[str] = []

    @property
    def runs(self) -> int:
        """How many verdicts were added."""
        return self.overlay.runs

    def add(self, verdict: Verdict) -> None:
        """Count one run; keep it for a table if it failed or is unfinished (up to ``max_failures`` each)."""
        self.overlay.add(verdict)  # validates the type
        self.summary.add(verdict)
        self.shapes.add(verdict)
        failed = self.summary.is_failure(verdict)
        if not failed and verdict.result is not RunResult.UNFINISHED:
            return
        listed = self.failures if failed else self.unfinished
        if len(listed) >= self.max_failures:
            if failed:
                self.failures_not_listed += 1
            else:
                self.unfinished_not_listed += 1
            return
        offenses = tuple(
            (o.kind.value, o.message, str(o.location) if o.location is not None else "") for o in verdict.offenses
        )
        if verdict.result is RunResult.UNFINISHED:
            offenses += (("unfinished", f"no terminal status observed; last status {verdict.final}", ""),)
        elif verdict.result is RunResult.JOINED:
            joined = next((s.dest for s in verdict.steps if s.kind is StepKind.JOINED), verdict.final)
            offenses += (("joined", f"the stream capture began mid-run, at {joined}", ""),)
        path = path_text(path_steps(verdict))
        listed.append(_ListedRun(verdict.run_id, verdict.result, verdict.final, offenses, path, verdict.observations))

    def add_error(self, error: InputError) -> None:
        """Count one unusable input line (the first ``max_failures`` are listed)."""
        self.summary.add_error(error)
        if len(self.errors) < self.max_failures:
            self.errors.append(str(error))

    def update(self, verdicts: Iterable[Verdict]) -> Report:
        """Add every verdict of an iterable; return the report."""
        for verdict in verdicts:
            self.add(verdict)
        return self

    def merge(self, other: Report) -> Report:
        """Add another report's runs, listed runs and input errors (another process's); return this one.

        Its listed runs come after this one's, within ``max_failures``.
        """
        if not isinstance(other, Report):
            raise TypeError(f"Report.merge takes a Report, got {type(other).__name__}")
        self.summary.merge(other.summary)
        self.overlay.merge(other.overlay)
        self.shapes.merge(other.shapes)
        room = max(self.max_failures - len(self.failures), 0)
        self.failures.extend(other.failures[:room])
        self.failures_not_listed += other.failures_not_listed + max(len(other.failures) - room, 0)
        room = max(self.max_failures - len(self.unfinished), 0)
        self.unfinished.extend(other.unfinished[:room])
        self.unfinished_not_listed += other.unfinished_not_listed + max(len(other.unfinished) - room, 0)
        self.errors.extend(other.errors[: max(self.max_failures - len(self.errors), 0)])
        return self

    # -- rendering

    def _summary(self) -> str:
        counts = self.summary.to_dict().items()
        rows = [
            (_SUMMARY_LABELS.get(k, k.replace("_", " ")), v)
            for k, v in counts
            if isinstance(v, int) and not isinstance(v, bool)
        ]
        body = "".join(f'<tr><th scope="row">{_esc(k)}</th><td class="n">{v:,}</td></tr>' for k, v in rows)
        mode = " (strict: unfinished runs and runs joined mid-run fail)" if self.summary.strict else ""
        return f"<table>{body}</table>{mode and f'<p>{mode.strip()}</p>'}"

    def _figure(self) -> str:
        diagram = dataclasses.replace(self.overlay.diagram(), legend=False, nodesep=0.25)
        svg = _BEFORE_SVG.sub("", to_svg(diagram), count=1)
        entries = [part for line in legend_lines(diagram) for part in line.split("    ") if part.strip()]
        legend = "".join(f"<li>{_esc(entry.strip())}</li>" for entry in entries)
        return f"<figure>\n{svg}<figcaption><ul>{legend}</ul></figcaption></figure>"

    def _illegal_jumps(self) -> str:
        jumps = self.overlay.illegal_jumps()
        if not jumps:
            return "<p>No illegal jumps.</p>"
        total = sum(n for _pair, n in jumps)
        rows = [
            f'<tr><td>{_esc(a.label)}</td><td>{_esc(b.label)}</td><td class="n">{n:,}</td>'
            f'<td class="n">{_share(n, total)}</td></tr>'
            for (a, b), n in jumps[: _TOP + _MORE]
        ]
        head = '<tr><th>from</th><th>to</th><th>jumps</th><th title="of all illegal jumps">share</th></tr>'
        return self._ranked("illegal-jumps", head, rows, f"{len(jumps):,} kinds, {total:,} jumps")

    def _shapes(self) -> str:
        shapes = self.shapes.most_frequent(_TOP + _MORE)
        if not shapes:
            return "<p>No runs.</p>"
        rows = [
            f'<tr><td class="n">{s.runs:,}</td><td class="n">{_share(s.runs, self.runs)}</td>'
            f'<td class="{_esc(s.result.value)}">{_esc(s.result.value)}</td>'
            f'<td class="path">{_esc(path_text(s.steps))}</td>'
            f'<td class="run"><code>{_esc(s.example) if s.example is not None else ""}</code></td></tr>'
            for s in shapes
        ]
        head = "<tr><th>runs</th><th>share</th><th>result</th><th>path</th><th>for example</th></tr>"
        distinct = len(self.shapes.shapes)
        note = f"{distinct:,} distinct"
        if self.shapes.other_runs:
            note += f"; {self.shapes.other_runs:,} more runs with rarer shapes not kept"
        return self._ranked("shapes", head, rows, note)

    @staticmethod
    def _ranked(name: str, head: str, rows: list[str], note: str) -> str:
        """A ranked table: the first rows shown, the next ones behind a <details> (no script needed)."""
        shown = f'<table id="{name}">{head}{"".join(rows[:_TOP])}</table>'
        rest = ""
        if len(rows) > _TOP:
            rest = (
                f"<details><summary>{len(rows) - _TOP:,} more</summary>"
                f'<table id="{name}-more">{head}{"".join(rows[_TOP:])}</table></details>'
            )
        return f"<p>{_esc(note)}</p>{shown}{rest}"

    def _errors(self) -> str:
        if not self.summary.input_errors:
            return ""
        items = "".join(f"<li><code>{_esc(e)}</code></li>" for e in self.errors)
        more = self.summary.input_errors - len(self.errors)
        rest = f"<p>… and {more:,} more.</p>" if more > 0 else ""
        return f'<h2 id="errors">Unusable input ({self.summary.input_errors:,})</h2>\n<ul>{items}</ul>{rest}\n'

    @staticmethod
    def _run_rows(listed: list[_ListedRun]) -> str:
        rows = []
        for f in listed:
            items = "".join(
                f"<li>{_esc(message)}" + (f" <code>{_esc(loc)}</code>" if loc else "") + "</li>"
                for _kind, message, loc in f.offenses
            )
            first = _esc(f.offenses[0][1]) if f.offenses else ""
            count = f"{len(f.offenses)} finding{'s' if len(f.offenses) != 1 else ''}"
            run = _esc(f.run_id) if f.run_id is not None else "<i>unnamed</i>"
            rows.append(
                f'<tr><td class="run"><code>{run}</code></td>'
                f'<td class="{_esc(f.result.value)}">{_esc(f.result.value)}</td>'
                f"<td>{_esc(f.final.label)}</td>"
                f'<td class="path">{_esc(f.path)}</td>'
                f'<td><details><summary>{count}: {first}</summary><ul class="offenses">{items}</ul></details></td></tr>'
            )
        return "".join(rows)

    def _failures(self) -> str:
        if not self.failures:
            return "<p>No failing runs.</p>"
        head = "<tr><th>run</th><th>result</th><th>left in</th><th>path</th><th>offending observations</th></tr>"
        more = (
            f"<p>… and {self.failures_not_listed:,} more failing runs not listed.</p>"
            if self.failures_not_listed
            else ""
        )
        return f'<table id="failing-runs">{head}{self._run_rows(self.failures)}</table>{more}'

    def _unfinished(self) -> str:
        count = len(self.unfinished) + self.unfinished_not_listed
        if not count:
            return ""
        head = "<tr><th>run</th><th>result</th><th>last status</th><th>path</th><th>finding</th></tr>"
        more = (
            f"<p>… and {self.unfinished_not_listed:,} more unfinished runs not listed.</p>"
            if self.unfinished_not_listed
            else ""
        )
        return (
            f'<h2 id="unfinished">Unfinished runs ({count:,})</h2>\n'
            f"<details><summary>no terminal status observed: list them</summary>"
            f'<table id="unfinished-runs">{head}{self._run_rows(self.unfinished)}</table>{more}</details>\n'
        )

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`html` to ``path`` (UTF-8)."""
        text = self.html()
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)

    def html(self) -> str:
        """The whole page (deterministic: no timestamp)."""
        from runfsm import __version__  # noqa: PLC0415  (the package imports nothing of this module)

        sources = ", ".join(f"<code>{_esc(s)}</code>" for s in self.sources) or "(no sources named)"
        failing = len(self.failures) + self.failures_not_listed
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8" />\n'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}" />\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1" />\n'
            f"<title>{_esc(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"<h1>{_esc(self.title)}</h1>\n"
            f'<p class="sub">{self.runs:,} runs from {sources}; runfsm {_esc(__version__)}</p>\n'
            f'<h2 id="summary">Summary</h2>\n{self._summary()}\n'
            f'<h2 id="diagram">Observed runs on the lifecycle</h2>\n{self._figure()}\n'
            '<div class="columns">\n'
            f'<section><h2 id="jumps">Most frequent illegal jumps</h2>\n{self._illegal_jumps()}</section>\n'
            f'<section><h2 id="histories">Most frequent history shapes</h2>\n{self._shapes()}</section>\n'
            "</div>\n"
            f'<h2 id="failing">Failing runs ({failing:,})</h2>\n{self._failures()}\n'
            f"{self._unfinished()}"
            f"{self._errors()}"
            "</body>\n</html>\n"
        )


def write_report(
    path: str | os.PathLike[str],
    verdicts: Iterable[Verdict],
    *,
    title: str = "runfsm validation report",
    sources: Sequence[str] = (),
    strict: bool = False,
    highlight: str | None = None,
    max_failures: int = 500,
) -> Report:
    """Build the report from ``verdicts`` (consumed once) and write it to ``path``; return the report."""
    report = Report(title=title, sources=sources, strict=strict, highlight=highlight, max_failures=max_failures)
    report.update(verdicts)
    report.write(path)
    return report
