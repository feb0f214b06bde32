"""runfsm.drawing.report: the offline, self-contained HTML report (summary, overlay as inline SVG, failing runs).

Also ``runfsm validate ... --report out.html``, the command that writes it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm.commands.main import main
from runfsm.drawing.report import Report, write_report
from runfsm.exceptions import InputError
from runfsm.printable import printable
from runfsm.tracker import Mode, RunTracker
from runfsm.verdict import Location, Verdict

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


def _verdict(
    statuses: Sequence[object], *, run_id: str, source: str = "logs/runs.jsonl", mode: Mode = "stream"
) -> Verdict:
    tracker = RunTracker(run_id, mode=mode, on_illegal="record", on_missing_call="assume", clock=None)
    tracker.observe_all(statuses)
    return Verdict.from_tracker(tracker, locations=[Location(source, i + 1) for i in range(len(statuses))])


class _Page(HTMLParser):
    """Collects tags, their attributes, and the text of every <code> element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.code: list[str] = []
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_code = tag == "code"
        if self._in_code:
            self.code.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self._in_code = False

    def handle_data(self, data: str) -> None:
        if self._in_code:
            self.code[-1] += data


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def _sample() -> list[Verdict]:
    return [
        _verdict(["queued", "in_progress", "completed"], run_id="ok_1"),
        _verdict(["queued", "in_progress", "completed"], run_id="ok_2"),
        _verdict(["queued", "in_progress", "completed", "queued"], run_id="bad_1"),
        _verdict(["queued", "in_progress", "paused_forever"], run_id="odd_1", source="logs/other.csv"),
        _verdict(["queued", "in_progress"], run_id="open_1"),
    ]


def test_report_needs_no_network() -> None:
    """No script, link, image, font or url(); a CSP forbids loading anything; URLs are only XML namespaces."""
    page = Report(sources=["logs/runs.jsonl"]).update(_sample()).html()
    tags = _parse(page).tags
    assert not [t for t, _ in tags if t in ("script", "link", "img", "iframe", "object", "embed", "image", "use")]
    assert not [a for _t, a in tags for k in a if k.startswith("on")]  # no event handlers
    assert "url(" not in page
    assert "@import" not in page
    csp = [a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp == ["default-src 'none'; style-src 'unsafe-inline'; img-src data:"]
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert "<!DOCTYPE svg" not in page  # the SVG's DTD reference is dropped


def test_report_shows_summary_diagram_and_failing_runs() -> None:
    """Counts by result, the overlay as well-formed inline SVG, and one row per failing run with file:line."""
    report = Report(sources=["logs/runs.jsonl"]).update(_sample())
    page = report.html()
    for label, count in (("runs", 5), ("legal", 2), ("illegal", 1), ("unknown status", 1), ("unfinished", 1)):
        assert f'<th scope="row">{label}</th><td class="n">{count}<' in page
    assert report.summary.to_dict()["observations"] == 15
    svg = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
    root = ET.fromstring(svg)  # well-formed
    ids = {g.get("id") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert "illegal-Completed-Queued" in ids
    assert "state-Null" in ids
    assert "state-Incomplete" in ids
    code = _parse(_section(page, "failing-runs")).code
    assert "bad_1" in code
    assert "odd_1" in code
    assert "logs/runs.jsonl:4" in code  # the illegal jump's line
    assert "logs/other.csv:3" in code  # the unknown status's line
    assert "ok_1" not in code
    assert "open_1" not in code  # unfinished is not failing: it has a table of its own
    assert "open_1" in _parse(_section(page, "unfinished-runs")).code
    assert "Unfinished runs (1)" in page
    assert "illegal jump completed -&gt; queued" in page
    assert "Failing runs (2)" in page


def _section(page: str, table_id: str) -> str:
    """The HTML of one table of the page (by its id)."""
    start = page.index(f'<table id="{table_id}">')
    return page[start : page.index("</table>", start) + len("</table>")]


def test_each_listed_run_shows_its_path() -> None:
    """Failing and unfinished runs show the path they took: inferred states in parentheses, illegal jumps marked."""
    page = Report().update(_sample()).html()
    failing = _section(page, "failing-runs")
    assert "queued \u2192 in_progress \u2192 completed \u2192 \u2717 queued" in failing
    assert "<details><summary>1 finding: illegal jump completed -&gt; queued" in failing
    assert "queued \u2192 in_progress</td>" in _section(page, "unfinished-runs")


def test_ranked_tables_count_jumps_and_shapes() -> None:
    """The most frequent illegal jumps and history shapes come with their counts, the most frequent first."""
    ok = [_verdict(["queued", "in_progress", "completed"], run_id=f"ok_{i}") for i in range(3)]
    bad = [_verdict(["queued", "completed", "queued"], run_id=f"bad_{i}") for i in range(2)]
    page = Report().update([*bad, *ok]).html()
    jumps = _section(page, "illegal-jumps")
    assert '<td>queued</td><td>completed</td><td class="n">2</td><td class="n">100.0%</td>' in jumps
    shapes = _section(page, "shapes")
    rows = re.findall(r'<tr><td class="n">(\d+)</td><td class="n">([\d.]+%)</td><td class="(\w+)"', shapes)
    assert rows == [("3", "60.0%", "legal"), ("2", "40.0%", "illegal")]
    assert "<code>bad_0</code>" in shapes  # the smallest run id of the shape, whatever the order


def test_strict_report_lists_unfinished_runs() -> None:
    """With strict (``runfsm validate --strict``), unfinished runs fail and are listed."""
    page = Report(strict=True).update(_sample()).html()
    assert "open_1" in _parse(page).code
    assert "no terminal status observed; last status in_progress" in page
    assert "Failing runs (3)" in page


def test_input_errors_are_listed_escaped() -> None:
    """Unusable lines are counted in the summary and listed with their location, escaped."""
    report = Report(max_failures=1)
    report.add_error(InputError("expected a JSON object, got '<b>'", source="a.jsonl", line=3))
    report.add_error(InputError("bad", source="a.jsonl", line=4))
    page = report.html()
    assert "a.jsonl:3: expected a JSON object, got '<b>'" in _parse(page).code
    assert "Unusable input (2)" in page
    assert "and 1 more" in page
    assert '<th scope="row">input errors</th><td class="n">2<' in page


def test_failing_table_is_bounded() -> None:
    """Past max_failures, failing runs are counted, not kept."""
    bad = [_verdict(["queued", "completed", "queued"], run_id=f"b{i}", mode="poll") for i in range(7)]
    report = Report(max_failures=3).update(bad)
    assert len(report.failures) == 3
    assert report.failures_not_listed == 4
    assert "and 4 more failing runs not listed" in report.html()
    with pytest.raises(ValueError, match="max_failures"):
        Report(max_failures=-1)


@settings(max_examples=20)
@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30))
def test_everything_from_the_input_is_escaped(run_id: str, source: str) -> None:
    """Any run id and file name come back as the same text (controls as visible escapes), never as markup.

    The page stays valid XML whatever the text: controls and lone surrogates included.
    """
    page = (
        Report(sources=[source], highlight=run_id)
        .update([_verdict(["queued", "completed"], run_id=run_id, source=source)])
        .html()
    )
    parsed = _parse(page)
    ET.fromstring(page)
    run_id, source = printable(run_id), printable(source)
    assert run_id in parsed.code
    assert source in parsed.code
    assert f"{source}:2" in parsed.code
    assert [t for t, _ in parsed.tags].count("script") == 0
    body = page[page.index("<body>") :]
    assert "<svg" in body
    ET.fromstring(body[body.index("<svg") : body.index("</svg>") + 6])  # the run id in the SVG caption is escaped too


def test_hostile_run_id_is_not_markup() -> None:
    """A run id that is an HTML tag appears escaped only."""
    page = (
        Report(highlight="<script>x</script>")
        .update([_verdict(["queued", "failed", "queued"], run_id="<script>x</script>")])
        .html()
    )
    assert "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


def test_report_is_deterministic_and_written(tmp_path: Path) -> None:
    """Same verdicts, same page; write_report writes exactly html()."""
    first = Report(sources=["a"]).update(_sample()).html()
    assert first == Report(sources=["a"]).update(_sample()).html()
    out = tmp_path / "report.html"
    report = write_report(out, iter(_sample()), sources=["a"])
    assert out.read_text(encoding="utf-8") == first == report.html()


# ----------------------------------------------------------------------------- runfsm validate --report


def test_validate_report_on_a_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``runfsm validate FILE --report out.html`` writes the report; the exit code and text output are unchanged."""
    corpus = tmp_path / "runs.jsonl"
    assert main(["simulate", "--runs", "200", "--illegal", "0.05", "--seed", "11", "-o", str(corpus)]) == 0
    capsys.readouterr()
    plain = main(["validate", str(corpus)])
    text = capsys.readouterr().out
    page_path = tmp_path / "out.html"
    assert main(["validate", str(corpus), "--report", str(page_path)]) == plain == 1
    assert capsys.readouterr().out == text
    page = page_path.read_text(encoding="utf-8")
    failing = set(re.findall(r"^FAIL (\S+) ", text, flags=re.MULTILINE))
    assert failing
    for run_id in failing:
        assert f"<code>{run_id}</code>" in page
    runs = int(re.search(r"^runs\s+(\d+)", text, flags=re.MULTILINE)[1])  # type: ignore[index]
    assert f'<th scope="row">runs</th><td class="n">{runs:,}<' in page
    ET.fromstring(page[page.index("<svg") : page.index("</svg>") + 6])


def test_validate_report_without_graphviz_fails_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without Graphviz, --report exits 2 before reading anything and writes no file."""
    monkeypatch.setenv("PATH", str(tmp_path))
    page = tmp_path / "out.html"
    assert main(["validate", "--sample", "--report", str(page)]) == 2
    captured = capsys.readouterr()
    assert "apt-get install graphviz" in captured.err
    assert captured.out == ""
    assert not page.exists()


def test_validate_report_with_jobs_matches_one_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --jobs 2 each worker fills a report of its own, merged: same output lines, summary and failing runs."""
    corpus = tmp_path / "runs.jsonl"
    assert main(["simulate", "--runs", "120", "--illegal", "0.1", "--seed", "5", "-o", str(corpus)]) == 0
    capsys.readouterr()
    pages, outputs = [], []
    for jobs in ("1", "2"):
        page = tmp_path / f"out{jobs}.html"
        assert main(["validate", str(corpus), "--jobs", jobs, "--report", str(page)]) == 1
        outputs.append(capsys.readouterr().out)
        pages.append(page.read_text(encoding="utf-8"))
    assert sorted(outputs[0].splitlines()) == sorted(outputs[1].splitlines())  # runs come in partition order
    summary = [p[p.index('<h2 id="summary">') : p.index('<h2 id="failing">')] for p in pages]
    assert summary[0] == summary[1]  # the summary and the overlay diagram
    failing = [sorted(re.findall(r'<tr><td class="run"><code>([^<]+)</code>', p)) for p in pages]
    assert failing[0] == failing[1]
    assert failing[0]


@pytest.mark.parametrize("split", [0, 1, 2, 3, 5])
def test_merged_reports_equal_one_report_of_every_run(split: int) -> None:
    """Reports filled by two processes, merged, render the page one report of every run renders."""
    import pickle

    verdicts = _sample()
    whole = Report(sources=["logs/runs.jsonl"], max_failures=1).update(verdicts)
    first = Report(sources=["logs/runs.jsonl"], max_failures=1).update(verdicts[:split])
    second = pickle.loads(pickle.dumps(Report(max_failures=1).update(verdicts[split:])))  # as a worker sends it
    merged = first.merge(second)
    assert merged.summary == whole.summary
    assert merged.html() == whole.html()
    assert (len(merged.failures), merged.failures_not_listed) == (1, 1)
