"""Exit codes that mean what the README says, and output failures as one line, never a traceback.

0 every run legal, 1 some run failed, 2 unusable input or usage, 3 the output could not be
written, 130 interrupted. These run the real ``runfsm`` program in a child process, because
what is under test is what a shell sees: a full disk (``/dev/full``), a closed standard output
or input, a reader that stops early, Ctrl-C while ``--jobs`` workers run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runfsm.commands.exits import EXIT_CODES, EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_OUTPUT, EXIT_USAGE
from runfsm.commands.main import main
from runfsm.drawing.diagram import graphviz_available

RUNFSM = [sys.executable, "-m", "runfsm"]
LEGAL = '{"run_id": "r%d", "statuses": ["queued", "in_progress", "completed"]}\n'
ILLEGAL = '{"run_id": "x%d", "statuses": ["queued", "completed", "in_progress"]}\n'


def _corpus(tmp_path: Path, runs: int, *, illegal_every: int = 2) -> Path:
    """``runs`` compact runs, every ``illegal_every``-th one illegal (so the text report is long)."""
    path = tmp_path / f"corpus-{runs}.jsonl"
    with path.open("w") as out:
        out.writelines((ILLEGAL if i % illegal_every == 0 else LEGAL) % i for i in range(runs))
    return path


def _shell(command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    runfsm = " ".join(RUNFSM)
    return subprocess.run(
        ["bash", "-c", command.replace("runfsm", runfsm)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    assert "Exception ignored" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("command", ["validate corpus-2000.jsonl", "lifecycle", "diagram", "simulate --runs 50"])
def test_full_disk_is_exit_3(tmp_path: Path, command: str) -> None:
    """Writing to a full disk: one line naming the cause, exit 3, for every command."""
    _corpus(tmp_path, 2000)
    done = _shell(f"runfsm {command} > /dev/full", tmp_path)
    assert done.returncode == EXIT_OUTPUT, done.stderr
    assert "No space left on device" in _one_line_error(done.stderr)


needs_graphviz = pytest.mark.skipif(not graphviz_available(), reason="needs Graphviz (dot)")
TO_FILE = [
    "diagram --format mermaid",
    pytest.param("diagram --format svg", marks=needs_graphviz),
    pytest.param("diagram --format png", marks=needs_graphviz),
    "simulate --runs 2000",
    "simulate --runs 2000 --format csv",
    "simulate --events 5000 --format sse",
    pytest.param("validate corpus-2000.jsonl --quiet --report", marks=needs_graphviz),
    pytest.param("validate corpus-2000.jsonl --quiet --format json --report", marks=needs_graphviz),
    pytest.param("validate corpus-2000.jsonl --quiet --format jsonl --report", marks=needs_graphviz),
]
"""Every command writing a file it is given (``-o FILE``, ``--report FILE``), in each of its formats.

``validate`` is quiet: its report to standard output is :func:`test_full_disk_is_exit_3`'s.
"""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("command", TO_FILE)
def test_full_output_file_is_exit_3(tmp_path: Path, command: str) -> None:
    """``-o /dev/full`` or ``--report /dev/full``: one line naming the file and the cause, exit 3."""
    _corpus(tmp_path, 2000)
    option = "" if "--report" in command else "-o"
    done = _shell(f"runfsm {command} {option} /dev/full > /dev/null", tmp_path)
    assert done.returncode == EXIT_OUTPUT, done.stderr
    assert _one_line_error(done.stderr).endswith("error: cannot write /dev/full: No space left on device")


@pytest.mark.parametrize("command", TO_FILE)
def test_output_file_too_large_leaves_the_old_one(tmp_path: Path, command: str) -> None:
    """A regular file that cannot be written whole (``ulimit -f 1``: File too large): exit 3, the old file intact.

    Nothing half-written is left behind: no partial target, no temporary ``.runfsm-*.part``.
    """
    _corpus(tmp_path, 2000)
    name = "out.png" if "png" in command else "out.svg" if "svg" in command else "out.txt"
    (tmp_path / name).write_text("the previous file\n")
    option = "" if "--report" in command else "-o"
    done = _shell(f"ulimit -f 1; runfsm {command} {option} {name} > /dev/null", tmp_path)
    assert done.returncode == EXIT_OUTPUT, done.stderr
    assert _one_line_error(done.stderr).endswith(f"error: cannot write {name}: File too large")
    assert (tmp_path / name).read_text() == "the previous file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "corpus-2000.jsonl"])


def test_a_spool_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    """The failing runs are spooled to a temporary file as they come: when it cannot grow, that file is named (exit 3).

    Not "cannot write to standard output": standard output was fine.
    """
    _corpus(tmp_path, 2000)
    done = _shell(f"ulimit -f 1; TMPDIR={tmp_path} runfsm validate corpus-2000.jsonl > /dev/null", tmp_path)
    assert done.returncode == EXIT_OUTPUT, done.stderr
    said = f"error: cannot write the kept runs' spool (a temporary file in {tmp_path}): File too large"
    assert _one_line_error(done.stderr).endswith(said)


def test_closed_stdout_is_exit_3(tmp_path: Path) -> None:
    """Standard output closed (``>&-``) on a failing corpus: exit 3, not 1 (nobody saw the verdict)."""
    _corpus(tmp_path, 10)
    done = _shell("runfsm validate corpus-10.jsonl >&-", tmp_path)
    assert done.returncode == EXIT_OUTPUT
    assert "standard output is closed" in _one_line_error(done.stderr)


def test_closed_stdin_is_unusable_input(tmp_path: Path) -> None:
    """Standard input closed (``<&-``): reported as an input error of ``-``, exit 2, no traceback."""
    done = _shell("runfsm validate - <&-", tmp_path)
    assert done.returncode == EXIT_USAGE
    assert "Traceback" not in done.stderr
    assert "-: cannot read: standard input is closed" in done.stdout


def test_reader_that_stops_early_never_makes_exit_0(tmp_path: Path) -> None:
    """``runfsm validate | head -1`` on a corpus with legal runs only and with illegal ones: exit 3, never 0."""
    for corpus, illegal_every in (("corpus-legal.jsonl", 10**9), ("corpus-3000.jsonl", 2)):
        path = tmp_path / corpus
        if illegal_every > 3000:
            path.write_text("".join(LEGAL % i for i in range(20000)))
            options = "--format json"  # the JSON document lists every run: long enough to fill the pipe
        else:
            _corpus(tmp_path, 3000, illegal_every=illegal_every)
            options = ""
        done = _shell(f"set -o pipefail; runfsm validate {options} {corpus} | head -1", tmp_path)
        assert done.returncode == EXIT_OUTPUT, done.stderr
        assert "closed before the report ended" in _one_line_error(done.stderr)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="watches the workers through /proc (Linux)")
def test_ctrl_c_during_jobs_is_one_line_and_130(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while --jobs workers judge runs.

    Only the parent reports it: one line, exit 130; the workers print no traceback.
    """
    corpus = _corpus(tmp_path, 400_000)
    child = subprocess.Popen(
        [*RUNFSM, "validate", "--engine", "python", "--jobs", "2", str(corpus)],  # worker processes
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(_children(child.pid)) < 2 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert child.poll() is None, "the corpus was judged before the workers could be interrupted"
    time.sleep(0.5)  # the workers are judging now
    os.killpg(child.pid, signal.SIGINT)
    _out, err = child.communicate(timeout=60)
    assert child.returncode == EXIT_INTERRUPTED, err
    assert _one_line_error(err) == "runfsm validate: interrupted"


def test_unwritable_report_fails_before_reading(tmp_path: Path) -> None:
    """--report into a missing folder: exit 3 at once, though standard input (never closed) is the input."""
    child = subprocess.Popen(
        [*RUNFSM, "validate", "--report", str(tmp_path / "no" / "such" / "report.html"), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        child.wait(timeout=30)  # reading standard input first would wait forever
    finally:
        child.kill()
        _out, err = child.communicate()
    assert child.returncode == EXIT_OUTPUT
    assert "cannot write" in _one_line_error(err)
    assert "report.html" in err


def test_failing_verdict_still_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """When the report is written, the verdict decides: a corpus with an illegal run exits 1."""
    assert main(["validate", str(_corpus(tmp_path, 4))]) == EXIT_FAILURES
    capsys.readouterr()


@pytest.mark.parametrize("command", ["validate", "diagram", "simulate", "lifecycle"])
def test_help_lists_the_exit_codes(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every command's --help ends with the exit codes and what each means."""
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    block = out[out.index("exit codes:") :]
    for code, meaning in EXIT_CODES.items():
        assert f"\n  {code:<5}{meaning}\n" in block, (code, block)
