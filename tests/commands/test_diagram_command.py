"""``runfsm diagram`` from the command line, on real files.

The corpus tests generate logs with ``runfsm simulate``, count the transitions straight from
the file (JSON parsing, ``Counter`` and the declared edge set), and compare with the counts
the command draws (read back from its DOT output, as Graphviz parses it).
"""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from runfsm.commands.main import main
from runfsm.commands.validate import sample_paths
from runfsm.drawing.diagram import lifecycle_diagram, to_mermaid
from runfsm.drawing.overlay import MAX_DRAWN_PAIRS
from runfsm.lifecycles import RUN_EDGES
from runfsm.status import RunStatus, parse_status

ROOT = Path(__file__).resolve().parents[2]
EDGES = {(e.source, e.dest) for e in RUN_EDGES}
COUNT = re.compile(r"(?:^|· |, |ILLEGAL )\u00d7(\d+)")
FIRST_SEEN = re.compile(r"first seen \u00d7(\d+)")


def _drawn_counts(dot: str) -> dict[str, dict[str, str]]:
    """Edge attributes keyed by edge id, parsed by Graphviz itself."""
    out = subprocess.run(["dot", "-Tjson0"], input=dot.encode(), capture_output=True, check=True).stdout
    return {e["id"]: e for e in json.loads(out)["edges"] if "id" in e}


def _number(pattern: re.Pattern[str], label: str) -> int:
    match = pattern.search(label)
    return int(match[1]) if match else 0


# ----------------------------------------------------------------------------- the lifecycle


def test_default_is_the_mermaid_lifecycle(capsys: pytest.CaptureFixture[str]) -> None:
    """``runfsm diagram`` prints the Mermaid lifecycle (the committed diagrams/run-lifecycle.mmd)."""
    assert main(["diagram"]) == 0
    out = capsys.readouterr().out
    assert out == to_mermaid(lifecycle_diagram())
    assert out == (ROOT / "diagrams" / "run-lifecycle.mmd").read_text(encoding="utf-8")


def test_output_format_follows_the_extension(tmp_path: Path) -> None:
    """-o x.svg writes SVG, -o x.png PNG, -o x.dot DOT; a --format that agrees with the extension changes nothing."""
    for name, start in (("a.svg", b"<?xml"), ("a.png", b"\x89PNG"), ("a.dot", b"digraph"), ("a.mmd", b"---")):
        assert main(["diagram", "-o", str(tmp_path / name)]) == 0
        assert (tmp_path / name).read_bytes().startswith(start), name
    assert main(["diagram", "--format", "dot", "-o", str(tmp_path / "b.gv")]) == 0
    assert (tmp_path / "b.gv").read_bytes().startswith(b"digraph")


@pytest.mark.parametrize(
    ("fmt", "name", "named"),
    [("svg", "x.png", ".svg"), ("png", "x.SVG", ".png"), ("mermaid", "x.dot", ".mmd or .mermaid")],
)
def test_format_the_extension_contradicts_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, name: str, named: str
) -> None:
    """--format svg -o x.png does not write SVG into a .png: exit 2, saying which names fit, and no file."""
    assert main(["diagram", "--format", fmt, "-o", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert f"--format says {fmt}; name the file for {fmt} ({named}), or leave --format out" in err
    assert not (tmp_path / name).exists()


def test_title_option(capsys: pytest.CaptureFixture[str]) -> None:
    """--title replaces the title."""
    assert main(["diagram", "--title", "My runs"]) == 0
    assert 'title: "My runs"\n' in capsys.readouterr().out


def test_overlay_options_need_overlay(capsys: pytest.CaptureFixture[str]) -> None:
    """--run, --mode and --strict without --overlay are a usage error (exit 2)."""
    assert main(["diagram", "--run", "run_1"]) == 2
    assert "need --overlay" in capsys.readouterr().err


def test_missing_graphviz_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SVG without ``dot`` exits 2 saying what to install; Mermaid and DOT still work."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["diagram", "--format", "svg"]) == 2
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert main(["diagram", "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith("digraph")


def test_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An output path that cannot be written is exit 3 (the output failed) with the reason."""
    assert main(["diagram", "-o", str(tmp_path / "missing" / "x.mmd")]) == 3
    assert "cannot write" in capsys.readouterr().err


# ----------------------------------------------------------------------------- overlays


def _stream_corpus(path: Path) -> dict[str, list[RunStatus]]:
    """Statuses per run, straight from a JSON Lines file of stream events (run events only)."""
    runs: dict[str, list[RunStatus]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if not event["event"].startswith("thread.run.") or event["event"].startswith("thread.run.step."):
            continue
        runs.setdefault(event["data"]["id"], []).append(parse_status(event["event"]))
    return runs


def test_stream_corpus_overlay_shows_the_right_counts(tmp_path: Path) -> None:
    """On a simulated stream corpus, each drawn edge count is the number of such transitions in the file.

    Streams see every change, so a run moves along each status that is a declared edge from
    where it is; any other status (the simulator's injected jumps) is an illegal jump from there,
    except as a run's first status: a capture that begins mid-run is joined there (drawn as a start).
    """
    corpus = tmp_path / "events.jsonl"
    assert (
        main(["simulate", "--runs", "400", "--format", "events", "--illegal", "0.05", "--seed", "7", "-o", str(corpus)])
        == 0
    )
    observed: Counter[tuple[RunStatus, RunStatus]] = Counter()
    illegal: Counter[tuple[RunStatus, RunStatus]] = Counter()
    for statuses in _stream_corpus(corpus).values():
        state = RunStatus.Null
        for status in statuses:
            if status is state:
                continue
            if (state, status) in EDGES:
                observed[(state, status)] += 1
                state = status
            elif state is RunStatus.Null:
                state = status  # joined mid-run
            else:
                illegal[(state, status)] += 1
    assert sum(illegal.values()) > 0  # the corpus has illegal jumps to draw

    out = tmp_path / "overlay.dot"
    assert main(["diagram", "--overlay", str(corpus), "--aggregate", "never", "-o", str(out)]) == 0
    drawn = _drawn_counts(out.read_text(encoding="utf-8"))
    for source, dest in EDGES:
        label = drawn[f"edge-{source.name}-{dest.name}"]["label"]
        assert _number(COUNT, label) == observed[(source, dest)], (source, dest, label)
    drawn_illegal = {k: _number(COUNT, v["label"]) for k, v in drawn.items() if k.startswith("illegal-")}
    assert drawn_illegal == {f"illegal-{a.name}-{b.name}": n for (a, b), n in illegal.items()}

    # aggregated (the default beyond a few pairs): no red edge; each state counts the illegal jumps leaving it
    assert len(illegal) > MAX_DRAWN_PAIRS
    assert main(["diagram", "--overlay", str(corpus), "-o", str(out)]) == 0
    dot = out.read_text(encoding="utf-8")
    assert "illegal-" not in dot
    out_of: Counter[str] = Counter()
    for (a, _b), n in illegal.items():
        out_of[a.name] += n
    assert _state_counts(dot, "illegal jumps out") == dict(out_of)


def _state_counts(dot: str, what: str) -> dict[str, int]:
    """``what xN`` (with the multiplication sign) written in the states' labels of a DOT source, by state."""
    found = re.findall(rf'^\s+(\w+) \[id="state-\w+", label=<.*?{what} \u00d7([\d,]+)', dot, re.MULTILINE)
    return {state: int(n.replace(",", "")) for state, n in found}


def test_poll_corpus_overlay_counts_first_seen_statuses(tmp_path: Path) -> None:
    """On a simulated polled corpus, the drawn "first seen" counts are the runs' first statuses in the file."""
    corpus = tmp_path / "compact.jsonl"
    assert main(["simulate", "--runs", "300", "--format", "compact", "--seed", "3", "-o", str(corpus)]) == 0
    first: Counter[RunStatus] = Counter()
    for line in corpus.read_text(encoding="utf-8").splitlines():
        statuses = [s for s in json.loads(line)["statuses"] if s not in ("submit_tool_outputs", "cancel")]
        first[parse_status(statuses[0])] += 1

    out = tmp_path / "overlay.dot"
    assert main(["diagram", "--overlay", str(corpus), "--aggregate", "never", "--format", "dot", "-o", str(out)]) == 0
    drawn = _drawn_counts(out.read_text(encoding="utf-8"))
    seen = {
        k.split("-")[-1]: _number(FIRST_SEEN, v["label"])
        for k, v in drawn.items()
        if k.startswith(("start-Null-", "edge-Null-")) and _number(FIRST_SEEN, v["label"])
    }
    assert seen == {s.name: n for s, n in first.items()}
    assert sum(first.values()) == 300

    # aggregated: first sightings off the declared edges are written in the states
    assert main(["diagram", "--overlay", str(corpus), "--aggregate", "always", "--format", "dot", "-o", str(out)]) == 0
    dot = out.read_text(encoding="utf-8")
    assert "start-Null-" not in dot
    declared = {dest for source, dest in EDGES if source is RunStatus.Null}
    assert _state_counts(dot, "first seen here") == {s.name: n for s, n in first.items() if s not in declared}


def test_overlay_reads_every_input_format_and_highlights_a_run(tmp_path: Path) -> None:
    """The bundled samples (JSON Lines, events, SSE, CSV, compact) draw as one overlay; --run outlines a path."""
    out = tmp_path / "samples.svg"
    assert main(["diagram", "--overlay", *sample_paths(), "--run", "run_late4", "-o", str(out)]) == 0
    root = ET.fromstring(out.read_text(encoding="utf-8"))
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "run run_late4 highlighted" in texts
    assert "ILLEGAL" in texts  # the samples contain illegal jumps


def test_overlay_of_a_directory_draws_its_files(tmp_path: Path) -> None:
    """A directory stands for its files, as for validate: the same drawing as the files named one by one."""
    import shutil

    folder = tmp_path / "logs"
    folder.mkdir()
    for path in sample_paths():
        shutil.copy(path, folder)
    named, whole = tmp_path / "named.dot", tmp_path / "whole.dot"
    assert main(["diagram", "--overlay", *sorted(str(p) for p in folder.iterdir()), "-o", str(named)]) == 0
    assert main(["diagram", "--overlay", str(folder), "-o", str(whole)]) == 0
    assert whole.read_text() == named.read_text()
    assert "ILLEGAL" in whole.read_text()


def test_overlay_of_unknown_run_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--run with an id not in the input exits 2 naming it."""
    assert main(["diagram", "--overlay", *sample_paths(), "--run", "run_nope"]) == 2
    assert "run_nope" in capsys.readouterr().err


def test_bad_lines_are_reported_and_the_rest_drawn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unusable line is named (file:line) on stderr, exit 2, and the other runs are still drawn."""
    log = tmp_path / "runs.jsonl"
    log.write_text(
        '{"run_id": "a", "statuses": ["queued", "in_progress", "completed"]}\n{not json\n'
        '{"run_id": "b", "statuses": ["queued", "completed"]}\n',
        encoding="utf-8",
    )
    out = tmp_path / "o.mmd"
    assert main(["diagram", "--overlay", str(log), "-o", str(out)]) == 2
    assert f"{log}:2" in capsys.readouterr().err
    assert "2 observed runs" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["x.pdf", "x.jpeg", "x", "x.svg.txt"])
def test_unknown_extension_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    """-o x.pdf does not write Mermaid into a .pdf: an unknown extension is exit 2, naming the known ones."""
    assert main(["diagram", "-o", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert "unknown extension" in err
    assert ".svg" in err
    assert ".png" in err
    assert not (tmp_path / name).exists()


def test_format_names_what_an_unknown_extension_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --format, any file name is taken as given (the user said what it holds)."""
    assert main(["diagram", "--format", "dot", "-o", str(tmp_path / "lifecycle.txt")]) == 0
    assert (tmp_path / "lifecycle.txt").read_text().startswith("digraph")
    capsys.readouterr()


def test_output_file_is_named_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-o says on standard error which file it wrote, in what format, how large."""
    out = tmp_path / "life.dot"
    assert main(["diagram", "-o", str(out)]) == 0
    assert capsys.readouterr().err == f"runfsm diagram: wrote {out} (dot, {out.stat().st_size:,} bytes)\n"
