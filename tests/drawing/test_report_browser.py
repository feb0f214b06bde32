"""The HTML report as a reader sees it: opened in a real headless Chromium at 15, 2,000 and 100,000 runs.

The corpora come from :mod:`runfsm.testing.simulate` (stream events, run objects, compact
runs); ``runfsm validate --report`` writes the page. The browser then says what the page
shows, and the tests assert on that rather than on pixels: nothing overflows the window, the
drawing fits the page with labels of a legible size, illegal jumps are aggregated (a handful of
red curves at most), the tables rank the illegal jumps the corpus really holds, every listed run
shows its path, and the details open without script. A screenshot of each page is written (and
copied to ``$RUNFSM_SCREENSHOTS`` when that is set) to be looked at.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, Literal

import pytest

from runfsm.commands.main import main
from runfsm.drawing.diagram import graphviz_available
from runfsm.drawing.overlay import MAX_DRAWN_PAIRS
from runfsm.testing.simulate import simulate_runs, write_corpus
from runfsm.validation import validate_paths
from runfsm.verdict import OffenseKind

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [
    pytest.mark.skipif(not graphviz_available(), reason="the report draws with Graphviz"),
    pytest.mark.xdist_group("browser"),  # one worker, one Chromium (--dist loadgroup)
]

# ----------------------------------------------------------------------------- the browser
# Debian's chromium (.ci/install installs it) with --remote-debugging-pipe: it reads DevTools
# commands on descriptor 3 and writes answers on 4, one JSON message each, ended by a NUL byte.
# No port, no network, no extra package.

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-pipe",
)


def chromium_binary() -> str | None:
    """Debian's chromium, or another Chromium on PATH."""
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found is not None:
            return found
    return None


class Browser:
    """One headless Chromium with one page; :meth:`load`, :meth:`evaluate`, :meth:`screenshot`."""

    def __init__(self, binary: str, profile: Path, *, width: int = 1400, height: int = 1000) -> None:
        low_r, self._out = os.pipe()
        self._in, low_w = os.pipe()
        # the browser reads descriptor 3 and writes 4: a shell puts the pipe's ends there, then runs it
        # (from descriptors above 9, so that neither end is itself 3 or 4 and closed by the redirections)
        theirs_r, theirs_w = fcntl.fcntl(low_r, fcntl.F_DUPFD, 10), fcntl.fcntl(low_w, fcntl.F_DUPFD, 10)
        os.close(low_r)
        os.close(low_w)
        redirect = f'exec "$0" "$@" 3<&{theirs_r} 4>&{theirs_w} {theirs_r}<&- {theirs_w}>&-'
        self._process = subprocess.Popen(
            ["bash", "-c", redirect, binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(theirs_r, theirs_w),
        )
        os.close(theirs_r)
        os.close(theirs_w)
        self._buffer = b""
        self._next_id = 0
        target = next(t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self._session = self.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def call(self, method: str, *, page: bool = True, timeout: float = 60, **params: Any) -> dict[str, Any]:
        """Send one command (to the page once attached, unless ``page`` is False) and wait for its answer."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        session = getattr(self, "_session", None)
        if page and session is not None:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._in], [], [], left)[0]:
                    raise TimeoutError(f"chromium did not answer {method} within {timeout} s")
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise ConnectionError(f"chromium closed the pipe during {method}")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result

    def load(self, url: str) -> None:
        """Open ``url`` and wait until the page has loaded."""
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 60
        while self.evaluate("document.readyState") != "complete":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading")
            time.sleep(0.05)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, *, max_height: int = 4000) -> None:
        """A PNG of the page from the top, as tall as the page (at most ``max_height`` pixels)."""
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], max_height), "scale": 1}
        data = self.call("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """Close the browser (and wait for it)."""
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError, OSError):
            self.call("Browser.close", page=False, timeout=10)
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._in)
        os.close(self._out)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A headless Chromium in a fresh profile, shared by a module's tests; skipped when none is installed."""
    binary = chromium_binary()
    if binary is None:
        pytest.skip("needs Chromium (.ci/install installs Debian's chromium)")
    chromium = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield chromium
    finally:
        chromium.close()


# ----------------------------------------------------------------------------- the pages

WIDTH, HEIGHT = 1400, 1000
"""The browser window: a laptop screen."""
MIN_FONT_PX = 9.0
"""The smallest text the drawing may show, in CSS pixels."""

# What the page shows, measured by the browser (sizes in CSS pixels).
MEASURE = r"""(() => {
  const figure = document.querySelector('figure');
  const svg = figure.querySelector('svg');
  const f = figure.getBoundingClientRect(), s = svg.getBoundingClientRect();
  const scale = s.width / svg.viewBox.baseVal.width;
  const fonts = [...svg.querySelectorAll('text')].map(t => parseFloat(t.getAttribute('font-size')) * scale);
  const rows = sel => [...document.querySelectorAll(sel)].map(tr => [...tr.cells].map(c => c.textContent.trim()));
  const heading = id => document.getElementById(id)?.textContent ?? '';
  return {
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
    figure: [f.left, f.right, f.width], svg: [s.left, s.right, s.width, s.height],
    minFont: Math.min(...fonts), texts: fonts.length,
    stateTexts: [...svg.querySelectorAll('g.node text')].map(t => t.textContent),
    illegalEdges: svg.querySelectorAll('g.edge[id^="illegal-"]').length,
    edges: svg.querySelectorAll('g.edge').length,
    jumps: rows('#illegal-jumps tr:not(:first-child), #illegal-jumps-more tr:not(:first-child)'),
    shapes: rows('#shapes tr:not(:first-child), #shapes-more tr:not(:first-child)'),
    failing: rows('#failing-runs tr:not(:first-child)'),
    unfinished: rows('#unfinished-runs tr:not(:first-child)'),
    failingHeading: heading('failing'), unfinishedHeading: heading('unfinished'),
    details: document.querySelectorAll('details').length,
    openDetails: document.querySelectorAll('details[open]').length,
    rowDetails: document.querySelectorAll('#failing-runs details').length,
    scripts: document.querySelectorAll('script').length,
    summary: Object.fromEntries(rows('h2#summary + table tr').map(([k, v]) => [k, Number(v.replace(/,/g, ''))])),
  };
})()"""

Format = Literal["events", "jsonl", "compact"]


def _report(tmp_path: Path, runs: int, fmt: Format, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """A simulated corpus (5% illegal, 5% unfinished runs) and the report ``runfsm validate`` writes of it."""
    corpus = tmp_path / f"corpus-{runs}.jsonl"
    mode: Literal["stream", "poll"] = "stream" if fmt == "events" else "poll"
    with corpus.open("w", encoding="utf-8", newline="") as out:
        write_corpus(
            out, simulate_runs(runs, seed=runs, mode=mode, illegal=0.05, unfinished=0.05, fmt=fmt), fmt=fmt, seed=runs
        )
    page = tmp_path / f"report-{runs}.html"
    assert main(["validate", "--quiet", str(corpus), "--report", str(page)]) in (0, 1)
    capsys.readouterr()
    return corpus, page


def _expected_jumps(corpus: Path) -> Counter[tuple[str, str]]:
    """The illegal jumps of the corpus, counted from the verdicts (not from the report)."""
    jumps: Counter[tuple[str, str]] = Counter()
    for verdict in validate_paths([str(corpus)]):
        for offense in verdict.offenses:
            if offense.kind is OffenseKind.ILLEGAL and offense.target is not None:
                jumps[offense.source.label, offense.target.label] += 1
    return jumps


def _number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.mark.slow
@pytest.mark.parametrize(("runs", "fmt"), [(15, "events"), (2_000, "jsonl"), (100_000, "compact")])
def test_report_in_a_browser(
    tmp_path: Path, browser: Browser, capsys: pytest.CaptureFixture[str], runs: int, fmt: Format
) -> None:
    """At every size the page fits the window, the drawing stays legible, and the tables say what the corpus holds."""
    corpus, page = _report(tmp_path, runs, fmt, capsys)
    browser.load(page.as_uri())
    shown: dict[str, Any] = browser.evaluate(MEASURE)
    shot = tmp_path / f"report-{runs}.png"
    browser.screenshot(shot)
    if os.environ.get("RUNFSM_SCREENSHOTS"):
        shutil.copy(shot, os.environ["RUNFSM_SCREENSHOTS"])

    # the page and the drawing fit the window: no horizontal scrolling, nothing outside the figure
    assert shown["scrollWidth"] <= shown["innerWidth"] == WIDTH
    fig_left, fig_right, fig_width = shown["figure"]
    svg_left, svg_right, svg_width, svg_height = shown["svg"]
    assert fig_left <= svg_left
    assert svg_right <= fig_right
    assert svg_width > 0.5 * fig_width  # drawn at a useful size, not squeezed to a corner
    assert svg_height <= 1.2 * HEIGHT
    # legible: no text in the drawing under MIN_FONT_PX (the old page showed labels of about 3 px)
    assert shown["texts"] > 20
    assert shown["minFont"] >= MIN_FONT_PX, shown["minFont"]

    summary = shown["summary"]
    assert summary["runs"] == runs
    expected = _expected_jumps(corpus)
    assert summary["illegal"] > 0
    # illegal jumps aggregated: never one curve per pair once there are more than a few pairs
    assert shown["illegalEdges"] <= MAX_DRAWN_PAIRS
    if len(expected) > MAX_DRAWN_PAIRS:
        written = [re.search(r"illegal jumps out \u00d7([\d,]+)", t) for t in shown["stateTexts"]]
        assert sum(_number(m.group(1)) for m in written if m) == sum(expected.values())
    else:
        assert shown["illegalEdges"] == len(expected)

    # the most frequent illegal jumps, with their counts, as the verdicts count them
    table = [((a, b), _number(n)) for a, b, n, _share in shown["jumps"]]
    assert len(table) == min(len(expected), 115)
    assert dict(table) == {pair: expected[pair] for pair, _n in table}
    assert [n for _pair, n in table] == sorted((n for _pair, n in table), reverse=True)
    left_out = [n for pair, n in expected.items() if pair not in dict(table)]
    assert max(left_out, default=0) <= min(n for _pair, n in table)  # the most frequent ones are the ones shown

    # history shapes: ranked by count, each with a path; together no more runs than there are
    counts = [_number(row[0]) for row in shown["shapes"]]
    assert counts == sorted(counts, reverse=True)
    assert 0 < sum(counts) <= runs
    assert all(row[3] for row in shown["shapes"])

    # every listed failing run shows its path (illegal ones with the rejected jump) and expandable findings
    failing = summary["illegal"] + summary["unknown status"]
    assert f"Failing runs ({failing:,})" == shown["failingHeading"]
    assert len(shown["failing"]) == min(failing, 500)
    assert shown["rowDetails"] == len(shown["failing"])
    for run_id, result, _left, path, findings in shown["failing"]:
        assert run_id
        assert path
        assert "finding" in findings
        if result == "illegal":
            assert "\u2717" in path, (run_id, path)
    # unfinished runs are listed too, behind a <details>
    if summary["unfinished"]:
        assert shown["unfinishedHeading"] == f"Unfinished runs ({summary['unfinished']:,})"
        assert len(shown["unfinished"]) == min(summary["unfinished"], 500)
        assert all(row[3] for row in shown["unfinished"])
    assert shown["details"] >= shown["rowDetails"]
    assert shown["openDetails"] == 0
    assert shown["scripts"] == 0
