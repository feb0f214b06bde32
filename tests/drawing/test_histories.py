"""runfsm.drawing.histories: a run's path written for people, and runs counted by history shape."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from runfsm.drawing.histories import ShapeCounts, path_steps, path_text
from runfsm.tracker import Mode, RunTracker
from runfsm.verdict import RunResult, Verdict

if TYPE_CHECKING:
    from collections.abc import Sequence


def _verdict(statuses: Sequence[object], *, mode: Mode = "stream", run_id: str = "run_1") -> Verdict:
    tracker = RunTracker(run_id, mode=mode, on_illegal="record", on_missing_call="assume", clock=None)
    tracker.observe_all(statuses)
    return Verdict.from_tracker(tracker)


def test_path_marks_inferred_states_and_illegal_jumps() -> None:
    """Observed states as they are, inferred ones in parentheses, a rejected jump with a ballot X."""
    assert path_steps(_verdict(["queued", "completed"], mode="poll")) == ("queued", "(in_progress)", "completed")
    assert path_text(path_steps(_verdict(["queued", "in_progress", "completed", "queued"]))) == (
        "queued \u2192 in_progress \u2192 completed \u2192 \u2717 queued"
    )
    assert path_text(()) == "(no status observed)"


def test_long_paths_are_shortened_with_the_count() -> None:
    """A path longer than the limit keeps its ends and says how many steps it leaves out."""
    steps = tuple(f"s{i}" for i in range(100))
    text = path_text(steps, limit=10)
    assert text.startswith("s0 \u2192 s1 \u2192 s2 \u2192 s3 \u2192 s4 \u2192 \u2026 90 more steps \u2026")
    assert text.endswith("s95 \u2192 s96 \u2192 s97 \u2192 s98 \u2192 s99")


def test_shapes_counted_by_path_and_result() -> None:
    """Same path and result, same shape; the example is the smallest run id; ranking by count."""
    counts = ShapeCounts()
    for run_id in ("b", "a", "c"):
        counts.add(_verdict(["queued", "in_progress", "completed"], run_id=run_id))
    counts.add(_verdict(["queued", "in_progress"], run_id="z"))
    top = counts.most_frequent()
    assert [(s.runs, s.result, s.example) for s in top] == [(3, RunResult.LEGAL, "a"), (1, RunResult.UNFINISHED, "z")]


def test_shape_memory_is_bounded_and_merge_adds() -> None:
    """Past max_shapes distinct shapes, new ones are counted as other runs; merge adds counts of another process."""
    small = ShapeCounts(max_shapes=1)
    small.add(_verdict(["queued", "in_progress", "completed"], run_id="a"))
    small.add(_verdict(["queued", "expired"], run_id="b"))
    assert (len(small.shapes), small.other_runs, small.other_shapes) == (1, 1, 1)
    other = ShapeCounts()
    other.add(_verdict(["queued", "in_progress", "completed"], run_id="0"))
    merged = ShapeCounts().merge(small).merge(other)
    assert [(s.runs, s.example) for s in merged.most_frequent()] == [(2, "0")]
    assert merged.other_runs == 1
    with pytest.raises(ValueError, match="max_shapes"):
        ShapeCounts(max_shapes=-1)
