"""The offline HTML report of a validation: summary, overlay diagram (inline SVG), failing runs.

One self-contained file: CSS inline, the diagram as inline SVG, no script, no font, no link,
and a Content-Security-Policy that forbids the page to load anything, so it opens the same
without a network. Everything taken from the input (run ids, file names, raw statuses) is
HTML-escaped. The summary is :class:`runfsm.validation.Summary`, the one ``runfsm validate``
prints, and a run fails as it decides (:meth:`Summary.is_failure`). Memory is bounded: verdicts
are counted as they come, and only the first ``max_failures`` failing runs and input errors are
kept for the tables (the rest are counted).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runfsm.drawing.diagram import to_svg
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
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #dadce0; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f1f3f4; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.legal { color: #137333; } .illegal, .unknown_status { color: #d93025; font-weight: 600; }
.unfinished { color: #e37400; } code { font-size: 0.95em; }
figure { margin: 1em 0; overflow-x: auto; border: 1px solid #dadce0; padding: 0.5em; }
figure svg { max-width: 100%; height: auto; }
ul.offenses { margin: 0; padding-left: 1.1em; }
"""
_BEFORE_SVG = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class _FailingRun:
    run_id: str | None
    result: RunResult
    final: LifecycleState
    offenses: tuple[tuple[str, str, str], ...]
    """(kind, message, location) of each offense."""


def _esc(value: object) -> str:
    """Input text for the page: control characters as visible escapes, then HTML-escaped (valid XML too)."""
    return html.escape(printable(str(value)), quote=True)


class Report:
    """Collects verdicts (:meth:`add`) and input errors (:meth:`add_error`); renders the page (:meth:`html`).

    ``sources`` names the inputs in the page; ``strict`` is ``runfsm validate --strict``
    (unfinished runs fail); ``highlight`` is a run id drawn as a path on the overlay;
    ``max_failures`` bounds the table of failing runs (and of input errors).
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
        self.failures: list[_FailingRun] = []
        self.failures_not_listed = 0
        self.errors: list[str] = []

    @property
    def runs(self) -> int:
        """How many verdicts were added."""
        return self.overlay.runs

    def add(self, verdict: Verdict) -> None:
        """Count one run; keep it for the table if it failed (up to ``max_failures``)."""
        self.overlay.add(verdict)  # validates the type
        self.summary.add(verdict)
        if not self.summary.is_failure(verdict):
            return
        if len(self.failures) >= self.max_failures:
            self.failures_not_listed += 1
            return
        offenses = tuple(
            (o.kind.value, o.message, str(o.location) if o.location is not None else "") for o in verdict.offenses
        )
        if verdict.result is RunResult.UNFINISHED:
            offenses += (("unfinished", f"no terminal status observed; last status {verdict.final}", ""),)
        elif verdict.result is RunResult.JOINED:
            joined = next((s.dest for s in verdict.steps if s.kind is StepKind.JOINED), verdict.final)
            offenses += (("joined", f"the stream capture began mid-run, at {joined}", ""),)
        self.failures.append(_FailingRun(verdict.run_id, verdict.result, verdict.final, offenses))

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
        """Add another report's runs, failing runs and input errors (another process's); return this one.

        Its failing runs come after this one's, within ``max_failures``.
        """
        if not isinstance(other, Report):
            raise TypeError(f"Report.merge takes a Report, got {type(other).__name__}")
        self.summary.merge(other.summary)
        self.overlay.merge(other.overlay)
        room = max(self.max_failures - len(self.failures), 0)
        self.failures.extend(other.failures[:room])
        self.failures_not_listed += other.failures_not_listed + max(len(other.failures) - room, 0)
        self.errors.extend(other.errors[: max(self.max_failures - len(self.errors), 0)])
        return self

    # -- rendering

    def _summary(self) -> str:
        counts = self.summary.to_dict().items()
        rows = [(k.replace("_", " "), v) for k, v in counts if isinstance(v, int) and not isinstance(v, bool)]
        body = "".join(f'<tr><th scope="row">{_esc(k)}</th><td class="n">{v:,}</td></tr>' for k, v in rows)
        mode = " (strict: unfinished runs and runs joined mid-run fail)" if self.summary.strict else ""
        return f"<table>{body}</table>{mode and f'<p>{mode.strip()}</p>'}"

    def _errors(self) -> str:
        if not self.summary.input_errors:
            return ""
        items = "".join(f"<li><code>{_esc(e)}</code></li>" for e in self.errors)
        more = self.summary.input_errors - len(self.errors)
        rest = f"<p>… and {more:,} more.</p>" if more > 0 else ""
        return f'<h2 id="errors">Unusable input ({self.summary.input_errors:,})</h2>\n<ul>{items}</ul>{rest}\n'

    def _failures(self) -> str:
        if not self.failures:
            return "<p>No failing runs.</p>"
        head = "<tr><th>run</th><th>result</th><th>left in</th><th>offending observations</th></tr>"
        rows = []
        for f in self.failures:
            items = "".join(
                f"<li>{_esc(message)}" + (f" <code>{_esc(loc)}</code>" if loc else "") + "</li>"
                for _kind, message, loc in f.offenses
            )
            run = _esc(f.run_id) if f.run_id is not None else "<i>unnamed</i>"
            rows.append(
                f'<tr><td><code>{run}</code></td><td class="{_esc(f.result.value)}">{_esc(f.result.value)}</td>'
                f'<td>{_esc(f.final.label)}</td><td><ul class="offenses">{items}</ul></td></tr>'
            )
        more = (
            f"<p>… and {self.failures_not_listed:,} more failing runs not listed.</p>"
            if self.failures_not_listed
            else ""
        )
        return f"<table>{head}{''.join(rows)}</table>{more}"

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`html` to ``path`` (UTF-8)."""
        text = self.html()
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)

    def html(self) -> str:
        """The whole page (deterministic: no timestamp)."""
        from runfsm import __version__  # noqa: PLC0415  (the package imports nothing of this module)

        svg = _BEFORE_SVG.sub("", to_svg(self.overlay.diagram()), count=1)
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
            f'<h2 id="diagram">Observed runs on the lifecycle</h2>\n<figure>\n{svg}</figure>\n'
            f'<h2 id="failing">Failing runs ({failing:,})</h2>\n{self._failures()}\n'
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
