"""``--jobs N`` and late records: the workers agree with one process, or say they may not.

One process lets an ended run go once ``linger`` more runs ended after it; a record of that
run arriving later starts a new history. A worker counts only the ends of its own runs, so it
may still hold the run and attach the late record to it: a different verdict. Each worker marks
where its runs ended in the input (lines plus the extra records of list pages, the same in every
worker, see ``ReadPosition``) and counts a late record it attaches when that many records of
all workers came in between that one process may have let the run go
(:attr:`Summary.beyond_linger`, with the first one's place). Pinned here: with no such record
counted, the workers' merged summary is exactly one process's; the case that differs is counted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm.validation import Summary, summarize_paths
from runfsm.validation.formats.base import owns

if TYPE_CHECKING:
    from pathlib import Path

_IDS = ("a", "b", "c", "d", "e")
_STATUSES = ("queued", "in_progress", "completed", "failed")


def _merged(path: Path, jobs: int, linger: int) -> Summary:
    merged = Summary()
    for k in range(jobs):
        merged.merge(summarize_paths([path], linger=linger, partition=(k, jobs)))
    return merged


def _run(run_id: str, status: str) -> dict[str, Any]:
    return {"id": run_id, "object": "thread.run", "status": status}


def _corpus(path: Path) -> Path:
    """Run ``a`` ends, then 4 runs of the other worker (of 2) end, then a late ``in_progress`` for ``a``."""
    others = [f"b{i}" for i in range(20) if owns(f"b{i}", (0, 2))][:4]
    assert not owns("a", (0, 2))
    lines = [_run("a", "queued"), _run("a", "completed")]
    for other in others:
        lines += [_run(other, "queued"), _run(other, "completed")]
    lines.append(_run("a", "in_progress"))
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_late_record_past_the_window_is_counted(tmp_path: Path) -> None:
    """With ``linger=3`` one process forgot run ``a``; the worker owning it did not: that is counted, with its place."""
    path = _corpus(tmp_path / "late.jsonl")
    whole = summarize_paths([path], linger=3)
    merged = _merged(path, 2, linger=3)
    assert (whole.runs, whole.illegal) == (6, 0)  # a new history for "a" (unfinished)
    assert (merged.runs, merged.illegal) == (5, 1)  # "a" completed, then in_progress: illegal
    assert whole.beyond_linger == 0
    assert merged.beyond_linger == 1
    assert merged.beyond_linger_at == f"{path}:11"
    assert merged.to_dict()["beyond_linger"] == 1


def test_within_the_window_nothing_is_counted(tmp_path: Path) -> None:
    """With ``linger=10`` both keep run ``a``: same summary, nothing counted (and no key in the JSON)."""
    path = _corpus(tmp_path / "late.jsonl")
    merged = _merged(path, 2, linger=10)
    assert merged.beyond_linger == 0
    assert merged.to_dict() == summarize_paths([path], linger=10).to_dict()


_LINE = st.one_of(
    st.tuples(st.sampled_from(_IDS), st.sampled_from(_STATUSES)).map(lambda r: _run(*r)),
    st.lists(st.tuples(st.sampled_from(_IDS), st.sampled_from(_STATUSES)), min_size=2, max_size=4).map(
        lambda runs: {"object": "list", "data": [_run(*r) for r in runs]}
    ),
    st.just({"object": "thread.message", "id": "m"}),  # a line without a record
)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(_LINE, max_size=40), linger=st.integers(1, 4), jobs=st.integers(2, 3))
def test_workers_agree_with_one_process_unless_they_say_so(
    tmp_path_factory: Any, lines: list[dict[str, Any]], linger: int, jobs: int
) -> None:
    """On logs of few reused ids (and list pages): the merged summary is one process's, or the workers count why not."""
    path = tmp_path_factory.mktemp("logs") / "runs.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    whole = summarize_paths([path], linger=linger)
    merged = _merged(path, jobs, linger)
    assert whole.beyond_linger == 0
    if merged.beyond_linger == 0:
        assert merged.to_dict() == whole.to_dict()


def test_the_command_warns_on_stderr(tmp_path: Path) -> None:
    """``runfsm validate --engine python --jobs 2`` says so on stderr and in its summary (one process: nothing)."""
    others = [f"b{i}" for i in range(30_000) if owns(f"b{i}", (0, 2))][:10_001]
    lines = [_run("a", "queued"), _run("a", "completed")]
    for other in others:
        lines.append(_run(other, "completed"))
    lines.append(_run("a", "in_progress"))
    path = tmp_path / "late.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    validate = [sys.executable, "-m", "runfsm", "validate"]
    jobs = subprocess.run(
        [*validate, "--engine", "python", "--jobs", "2", str(path)], capture_output=True, text=True, check=False
    )
    assert "warning: 1 late records (the first at" in jobs.stderr, jobs.stderr
    assert "may differ from --jobs 1" in jobs.stdout
    single = subprocess.run([*validate, "--engine", "python", str(path)], capture_output=True, text=True, check=False)
    assert "late records" not in single.stderr + single.stdout
