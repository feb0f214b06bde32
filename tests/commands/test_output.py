"""runfsm.commands.output: entries rendered per run, spooled to disk, and the documents built from them."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

from runfsm.commands.output import Spool, ValidationReport, entry_renderer, render_json, render_text
from runfsm.validation import validate
from runfsm.validation.summary import Summary

if TYPE_CHECKING:
    from pathlib import Path

LEGAL = validate(["queued", "in_progress", "completed"], run_id="a")
ILLEGAL = validate(["queued", "completed", "in_progress"], mode="stream", run_id="b")
UNFINISHED = validate(["queued", "in_progress"], run_id="c")


def test_text_entries_show_failing_runs_only() -> None:
    """A legal run renders to nothing; a failing one to its FAIL line and located offense."""
    render = entry_renderer("text", strict=False)
    assert render(LEGAL) == ""
    assert render(ILLEGAL).startswith("FAIL b (stream mode): illegal\n")
    assert render(UNFINISHED) == ""
    assert "no terminal status observed" in entry_renderer("text", strict=True)(UNFINISHED)


def test_json_entries_respect_only_failures() -> None:
    """A JSON entry is the run's verdict with "failed"; with only_failures, passing runs render to nothing."""
    assert json.loads(entry_renderer("json", strict=False)(LEGAL))["failed"] is False
    assert entry_renderer("json", strict=False, only_failures=True)(LEGAL) == ""
    assert json.loads(entry_renderer("json", strict=False, only_failures=True)(ILLEGAL))["result"] == "illegal"


def test_worker_spools_append_into_one_valid_document(tmp_path: Path) -> None:
    """Spools written by workers (files of their own) are appended in order; the document parses."""
    parts = []
    for k, verdicts in enumerate([[ILLEGAL, LEGAL], [], [UNFINISHED]]):
        spool = Spool("json", strict=False, path=str(tmp_path / f"part-{k}"))
        for verdict in verdicts:
            spool.add(verdict)
        spool.close()
        parts.append((str(tmp_path / f"part-{k}"), spool.entries))
    merged = Spool("json", strict=False)
    for path, entries in parts:
        merged.extend(path, entries)
    summary = Summary()
    for verdict in (ILLEGAL, LEGAL, UNFINISHED):
        summary.add(verdict)
    out = io.StringIO()
    render_json(ValidationReport(summary), out, spooled=merged)
    merged.close()
    assert [run["run_id"] for run in json.loads(out.getvalue())["runs"]] == ["b", "a", "c"]


def test_text_report_prints_spooled_runs_after_the_summary() -> None:
    """The summary table comes first, then a blank line, then the spooled runs."""
    spool = Spool("text", strict=False)
    spool.add(ILLEGAL)
    summary = Summary()
    summary.add(ILLEGAL)
    out = io.StringIO()
    render_text(ValidationReport(summary), out, spooled=spool)
    spool.close()
    head, body = out.getvalue().split("\n\n", 1)
    assert head.startswith("runs ")
    assert body.startswith("FAIL b ")
