"""Terminal injection: what the input says is shown, never obeyed; SVG and HTML stay valid XML.

Run ids, file names, raw statuses, ``--run`` and ``--title`` come from whoever wrote the logs
or the command line. An id carrying ANSI escapes, a carriage return or a newline followed by
``FAIL`` must not recolour the terminal, overwrite a line or forge a failing run: every text
output writes such characters as visible escapes, and every SVG and HTML output parses as XML.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

import pytest

from runfsm.commands.main import main
from runfsm.drawing.diagram import graphviz_available

if TYPE_CHECKING:
    from pathlib import Path

needs_graphviz = pytest.mark.skipif(not graphviz_available(), reason="needs Graphviz (dot)")

EVIL_ID = "run_\x1b[2J\x1b[32mPASS\rok\nFAIL run_forged (stream mode): illegal\u202e\x9b31m\x00"
EVIL_STATUS = "in_progress\x1b]0;pwned\x07\nFAIL run_forged2"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _corpus(tmp_path: Path) -> Path:
    """A log whose file name and run ids carry terminal controls: one illegal run, one unknown status."""
    path = tmp_path / "logs\x1b[31m\rname.jsonl"
    lines = [
        {"run_id": EVIL_ID, "statuses": ["queued", "completed", "in_progress"]},
        {"run_id": "run_\x1b[1mfine", "statuses": ["queued", "in_progress", "completed"]},
        {"run_id": "run_unknown\r", "statuses": ["queued", EVIL_STATUS]},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"run_id": "\x1b[5mbroken\n')
    return path


def _assert_clean(text: str) -> None:
    assert not _CONTROL.search(text), f"a control character reached the output: {text!r}"


def test_text_report_shows_controls_as_escapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The text report (FAIL lines, locations, input errors) escapes every control; no FAIL line is forged."""
    code = main(["validate", "--show-warnings", str(_corpus(tmp_path))])
    captured = capsys.readouterr()
    assert code == 2  # the unknown status and the broken line are unusable input
    _assert_clean(captured.out)
    _assert_clean(captured.err)
    fail_lines = [line for line in captured.out.splitlines() if line.startswith("FAIL")]
    assert len(fail_lines) == 2, fail_lines  # the illegal run and the unknown status: nothing forged
    assert "run_\\x1b[2J\\x1b[32mPASS\\rok\\nFAIL run_forged" in fail_lines[0]
    assert "logs\\x1b[31m\\rname.jsonl" in captured.out


def test_only_failures_and_jobs_escape_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Worker processes render failing runs the same way: --jobs 2 --only-failures prints no control."""
    assert main(["validate", "--only-failures", "--jobs", "2", str(_corpus(tmp_path))]) == 2
    captured = capsys.readouterr()
    _assert_clean(captured.out)
    assert sum(line.startswith("FAIL") for line in captured.out.splitlines()) == 2


def test_json_lines_errors_on_stderr_are_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format jsonl writes its input errors on stderr: escaped there too; the verdicts stay exact JSON."""
    assert main(["validate", "--format", "jsonl", str(_corpus(tmp_path))]) == 2
    captured = capsys.readouterr()
    _assert_clean(captured.err)
    _assert_clean(captured.out)
    assert "logs\\x1b[31m\\rname.jsonl:4:" in captured.err


def test_json_report_keeps_the_exact_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """JSON output escapes controls as JSON does, so a program reading it gets the id byte for byte."""
    main(["validate", "--format", "json", str(_corpus(tmp_path))])
    out = capsys.readouterr().out
    _assert_clean(out)
    assert EVIL_ID in {run["run_id"] for run in json.loads(out)["runs"]}


@needs_graphviz
def test_html_report_is_valid_xml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The HTML report parses as XML (controls shown as escapes, markup escaped) whatever the ids and names."""
    report = tmp_path / "report.html"
    main(["validate", "--report", str(report), str(_corpus(tmp_path))])
    capsys.readouterr()
    page = report.read_text(encoding="utf-8")
    root = ET.fromstring(page)
    assert "run_\\x1b[2J" in "".join(root.itertext())
    _assert_clean(page)


@needs_graphviz
@pytest.mark.parametrize("fmt", ["svg", "mmd", "dot"])
def test_diagram_with_evil_run_and_title(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """--run and --title land in the drawing: SVG stays valid XML, Mermaid and DOT carry no control."""
    out = tmp_path / f"overlay.{fmt}"
    title = "T\x1b[31m\nitle\x00 <b>&amp;</b>\u2028"
    code = main(["diagram", "--overlay", str(_corpus(tmp_path)), "--run", EVIL_ID, "--title", title, "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 2, captured.err  # the corpus has unusable lines
    _assert_clean(captured.err)
    text = out.read_text(encoding="utf-8")
    _assert_clean(text)
    if fmt == "svg":
        svg = ET.fromstring(text)
        shown = "".join(svg.itertext())
        assert "T\\x1b[31m" in shown
        assert "<b>&amp;</b>" in shown


def test_mermaid_on_standard_output_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    """The plain lifecycle drawn with a hostile --title: the Mermaid text on stdout has no control."""
    assert main(["diagram", "--title", "x\x1b[2J\r\n%% injected"]) == 0
    out = capsys.readouterr().out
    _assert_clean(out)
    assert "injected" in out.splitlines()[1]  # still inside the title line
