"""The paths runs took, as people read them, and how often each distinct path (history shape) occurred.

:func:`path_text` writes one verdict's path on the lifecycle as a line of states
(``queued → in_progress → ✗ completed``); :class:`ShapeCounts` counts verdicts by that path and
result, so a report can say which histories are frequent. Memory is bounded: past
``max_shapes`` distinct shapes, further new shapes are counted together as "other shapes",
never dropped from the totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from runfsm.verdict import RunResult, StepKind

if TYPE_CHECKING:
    from runfsm.verdict import Verdict

__all__ = ["MAX_PATH_STEPS", "Shape", "ShapeCounts", "path_steps", "path_text"]

MAX_PATH_STEPS = 40
"""The most steps :func:`path_text` writes; a longer path says how many steps it leaves out."""

_ARROW = " \u2192 "  # RIGHTWARDS ARROW (escapes keep the source ASCII)
_MARK: dict[StepKind, str] = {
    StepKind.START: "",
    StepKind.JOINED: "",
    StepKind.OBSERVED: "",
    StepKind.INFERRED: "",
    StepKind.UNRECORDED_CALL: "",
    StepKind.ILLEGAL: "\u2717 ",  # BALLOT X
}


def path_steps(verdict: Verdict) -> tuple[str, ...]:
    """The states the run was seen or inferred in, in order, as labels.

    ``(in_progress)``: passed through between two polls, unseen; ``✗ x``: an illegal jump to x.
    A stream capture that began mid-run starts with ``…``.
    """
    parts: list[str] = []
    steps = verdict.steps
    for k, step in enumerate(steps):
        label = step.dest.label
        # a polled jump is several steps of one observation: only its last state was seen
        passed_through = k + 1 < len(steps) and steps[k + 1].index == step.index
        if step.kind in (StepKind.INFERRED, StepKind.UNRECORDED_CALL) and passed_through:
            label = f"({label})"
        elif step.kind is StepKind.JOINED and not parts:
            label = f"\u2026 {label}"  # HORIZONTAL ELLIPSIS: the capture began mid-run
        parts.append(_MARK[step.kind] + label)
    return tuple(parts)


def path_text(steps: tuple[str, ...], *, limit: int = MAX_PATH_STEPS) -> str:
    """``steps`` joined by arrows; beyond ``limit`` steps, the first ones, ``…``, the last ones and the count."""
    if not steps:
        return "(no status observed)"
    if len(steps) <= limit:
        return _ARROW.join(steps)
    head, tail = steps[: limit // 2], steps[-(limit // 2) :]
    left_out = len(steps) - len(head) - len(tail)
    return _ARROW.join((*head, f"\u2026 {left_out:,} more steps \u2026", *tail))


@dataclass(slots=True)
class Shape:
    """One distinct history shape: its path and result, how many runs had it, and one of them."""

    steps: tuple[str, ...]
    result: RunResult
    runs: int
    example: str | None
    """The smallest run id with this shape (the same whatever order the runs came in)."""


class ShapeCounts:
    """Verdicts counted by history shape (path and result), for the ``max_shapes`` first distinct shapes."""

    __slots__ = ("max_shapes", "other_runs", "other_shapes", "shapes")

    def __init__(self, *, max_shapes: int = 10_000) -> None:
        if not isinstance(max_shapes, int) or max_shapes < 0:
            raise ValueError(f"max_shapes must be an int >= 0, got {max_shapes!r}")
        self.max_shapes = max_shapes
        self.shapes: dict[tuple[tuple[str, ...], RunResult], Shape] = {}
        self.other_runs = 0
        """Runs whose shape came after ``max_shapes`` distinct ones were counted."""
        self.other_shapes = 0
        """Distinct shapes not kept (each new one past ``max_shapes``; a repeat may be counted again)."""

    def add(self, verdict: Verdict) -> None:
        """Count one run."""
        self._count(path_steps(verdict), verdict.result, 1, verdict.run_id)

    def _count(self, steps: tuple[str, ...], result: RunResult, runs: int, example: str | None) -> None:
        key = (steps, result)
        shape = self.shapes.get(key)
        if shape is not None:
            shape.runs += runs
            if example is not None and (shape.example is None or example < shape.example):
                shape.example = example
        elif len(self.shapes) < self.max_shapes:
            self.shapes[key] = Shape(steps, result, runs, example)
        else:
            self.other_runs += runs
            self.other_shapes += 1

    def merge(self, other: ShapeCounts) -> ShapeCounts:
        """Add another count's shapes (another process's); return this one."""
        for shape in other.shapes.values():
            self._count(shape.steps, shape.result, shape.runs, shape.example)
        self.other_runs += other.other_runs
        self.other_shapes += other.other_shapes
        return self

    def most_frequent(self, limit: int | None = None) -> list[Shape]:
        """The shapes, the most frequent first (ties: by result, then path), at most ``limit`` of them."""
        ranked = sorted(self.shapes.values(), key=lambda s: (-s.runs, s.result.value, s.steps))
        return ranked if limit is None else ranked[:limit]
