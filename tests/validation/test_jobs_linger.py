"""``--jobs N`` and late records: the workers attach exactly what one process attaches.

An ended run lingers ``linger`` *slots* of input after the record that ended it: a slot is a
line of the inputs, or one record of a line of several (a ``runs.list`` page, a compact run),
see ``ReadPosition``. A record of the run within that window is judged with it (a late record);
a record past it starts a new history. Every worker reads every line, so every worker finds the
same slots: whether a record is attached depends on nothing a worker does not know. Pinned
here: the merged summary and verdicts of N workers are one process's, with small ``linger``
and late records past it, and ``runfsm validate --jobs 2`` prints what ``--jobs 1`` prints
past the default ``linger``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm.validation import DEFAULT_LINGER, Summary, summarize_paths
from runfsm.validation.formats.base import owns

if TYPE_CHECKING:
    from pathlib import Path

    from runfsm.verdict import Verdict

_IDS = ("a", "b", "c", "d", "e")
_STATUSES = ("queued", "in_progress", "requires_action", "completed", "failed", "cancelled")


def _run(run_id: str, status: str, t: int | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {"id": run_id, "object": "thread.run", "status": status}
    if t is not None:
        run["t"] = t
    return run


def _partitioned(paths: list[Path], jobs: int, **options: Any) -> tuple[Summary, list[Verdict]]:
    """What ``--jobs N`` computes: each worker's summary (merged) and verdicts."""
    merged = Summary(strict=options.get("strict", False))
    verdicts: list[Verdict] = []
    for k in range(jobs):
        merged.merge(summarize_paths(paths, partition=(k, jobs), on_verdict=verdicts.append, **options))
    return merged, verdicts


def _one(paths: list[Path], **options: Any) -> tuple[Summary, list[Verdict]]:
    verdicts: list[Verdict] = []
    return summarize_paths(paths, on_verdict=verdicts.append, **options), verdicts


_RUN = st.tuples(st.sampled_from(_IDS), st.sampled_from(_STATUSES), st.none() | st.integers(0, 9)).map(
    lambda r: _run(*r)
)
_LINE = st.one_of(
    _RUN,
    _RUN,
    _RUN,
    st.lists(_RUN, min_size=2, max_size=4).map(lambda runs: {"object": "list", "data": runs}),  # a runs.list page
    st.tuples(st.sampled_from(_IDS), st.lists(st.sampled_from(_STATUSES), min_size=2, max_size=3)).map(
        lambda r: {"run_id": r[0], "statuses": r[1]}  # a compact run: several records of one run on one line
    ),
    st.sampled_from(_IDS).map(lambda i: {"run_id": i, "call": "submit_tool_outputs"}),
    st.just({"object": "thread.message", "id": "m"}),  # a line without a record
    st.just("not json"),
)


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


_OPTIONS = st.fixed_dictionaries(
    {"linger": st.integers(0, 6), "strict": st.booleans(), "sort_by": st.sampled_from([None, None, "t"])}
)


@settings(max_examples=200, deadline=None)
@given(files=st.lists(st.lists(_LINE, max_size=30), min_size=1, max_size=2), jobs=st.integers(2, 3), options=_OPTIONS)
def test_workers_give_what_one_process_gives(
    tmp_path_factory: Any, files: list[list[Any]], jobs: int, options: dict[str, Any]
) -> None:
    """Logs of few reused ids (list pages, compact runs, calls, other lines, bad lines): the same summary and verdicts.

    ``linger`` is small, so many late records come past their run's window and start new
    histories; in files of two inputs, the slots of the first count for the second.
    """
    folder = tmp_path_factory.mktemp("logs")
    paths = [_write(folder / f"runs{n}.jsonl", lines) for n, lines in enumerate(files)]
    whole, whole_verdicts = _one(paths, every_verdict=True, **options)
    merged, merged_verdicts = _partitioned(paths, jobs, every_verdict=True, **options)
    assert merged.to_dict() == whole.to_dict()
    assert sorted(map(repr, merged_verdicts)) == sorted(map(repr, whole_verdicts))


def test_a_late_record_past_the_window_starts_a_new_history_in_every_worker(tmp_path: Path) -> None:
    """Run ``a`` ends (line 2); 4 runs of the other worker end; a late ``in_progress`` of ``a`` comes at line 11.

    With ``linger=9`` it is judged with ``a`` (an illegal jump out of ``completed``); with
    ``linger=8`` it starts a new history (unfinished): one process and two workers alike.
    """
    others = [f"b{i}" for i in range(20) if owns(f"b{i}", (0, 2))][:4]
    assert not owns("a", (0, 2))
    lines = [_run("a", "queued"), _run("a", "completed")]
    for other in others:
        lines += [_run(other, "queued"), _run(other, "completed")]
    lines.append(_run("a", "in_progress"))  # line 11; the end of "a" is line 2
    path = _write(tmp_path / "late.jsonl", lines)
    for linger, expected in ((9, (5, 1, 0)), (8, (6, 0, 1))):
        whole, _ = _one([path], linger=linger)
        merged, _ = _partitioned([path], 2, linger=linger)
        assert (whole.runs, whole.illegal, whole.unfinished) == expected
        assert merged.to_dict() == whole.to_dict()


@pytest.mark.slow
def test_the_command_with_jobs_prints_what_one_process_prints_past_the_default_linger(tmp_path: Path) -> None:
    """``runfsm validate --jobs 2``: a late record past the default window starts a new history, as with ``--jobs 1``.

    Run ``a`` ends; ``DEFAULT_LINGER + 1`` lines of runs of the other worker follow; then a late ``in_progress``
    of ``a``, and a late ``in_progress`` of ``c`` (whose end is only 3 lines before: judged with it).
    """
    others = [f"b{i}" for i in range(300_000) if owns(f"b{i}", (0, 2))][: DEFAULT_LINGER + 1]
    assert not owns("a", (0, 2))
    lines = [_run("a", "queued"), _run("a", "completed")]
    lines += [_run(other, "completed") for other in others]
    lines += [_run("c", "queued"), _run("c", "failed"), _run("a", "in_progress"), _run("c", "in_progress")]
    path = _write(tmp_path / "late.jsonl", lines)
    validate = [sys.executable, "-m", "runfsm", "validate", "--engine", "python", "--format", "json", str(path)]
    single = subprocess.run(validate, capture_output=True, text=True, check=False)
    jobs = subprocess.run([*validate, "--jobs", "2"], capture_output=True, text=True, check=False)
    assert (jobs.returncode, jobs.stderr) == (single.returncode, single.stderr) == (1, "")
    doc_one, doc_jobs = json.loads(single.stdout), json.loads(jobs.stdout)
    assert doc_jobs["summary"] == doc_one["summary"]
    assert sorted(map(repr, doc_jobs["runs"])) == sorted(map(repr, doc_one["runs"]))
    summary = doc_one["summary"]
    assert (summary["illegal"], summary["unfinished"]) == (1, 1)  # c illegal; a's late record: a new history
