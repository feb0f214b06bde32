"""Records arriving after their run ended cost the same each, however many (issue 11, class 9).

The ledger once rebuilt the run's verdict for every late record (``dataclasses.replace`` with
the offenses, steps, warnings and notes so far copied into new tuples) and searched the run's
codes backwards for its terminal status before every late client call: N late records cost
about N²/2 copied entries. These tests count that work instead of timing it (the benchmark
``tests/benchmarks/bench_late.py`` times it): every element of a tuple handed to
``dataclasses.replace`` and every item ``reversed`` yields, inside ``runfsm.validation.ledger``,
for N and for 2N late records of one kind. Linear work doubles (give or take a constant);
quadratic work quadruples. Each test also checks the verdict holds every late record.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

import runfsm.validation.ledger as ledger_module
from runfsm.validation import summarize_paths

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from runfsm.verdict import Verdict

_LINES = {
    "repeat": '{"id":"r","status":"completed"}\n',
    "illegal": '{"id":"r","status":"in_progress"}\n',
    "call": '{"run_id":"r","call":"submit_tool_outputs"}\n',
    "unknown": '{"id":"r","status":"warp_speed"}\n',
}
_KINDS = (*_LINES, "mixed")
_N = 200


class _WorkCounter:
    """Counts the entries the ledger copies into verdicts and scans backwards."""

    def __init__(self) -> None:
        self.work = 0

    def replace(self, obj: Any, /, **changes: Any) -> Any:
        self.work += sum(len(v) for v in changes.values() if isinstance(v, tuple))
        return dataclasses.replace(obj, **changes)

    def reversed(self, seq: Any) -> Iterator[Any]:
        for item in reversed(seq):
            self.work += 1
            yield item


def _write(folder: Path, kind: str, n: int) -> Path:
    """A file with one ended run (``queued``, ``completed``) and ``n`` late records of ``kind``."""
    path = folder / f"{kind}-{n}.jsonl"
    cycle = list(_LINES.values()) if kind == "mixed" else [_LINES[kind]]
    body = "".join(cycle[i % len(cycle)] for i in range(n))
    path.write_text('{"id":"r","status":"queued"}\n{"id":"r","status":"completed"}\n' + body)
    return path


def _work(monkeypatch: pytest.MonkeyPatch, path: Path) -> tuple[int, list[Verdict]]:
    """The work counted while ``summarize_paths`` judges the file, and the verdicts it reported."""
    counter = _WorkCounter()
    with monkeypatch.context() as patch:
        patch.setattr(ledger_module, "dataclasses", SimpleNamespace(replace=counter.replace))
        patch.setattr(ledger_module, "reversed", counter.reversed, raising=False)
        verdicts: list[Verdict] = []
        summary = summarize_paths([path], every_verdict=True, on_verdict=verdicts.append)
    assert summary.runs == 1, summary
    return counter.work, verdicts


def _offenses(verdicts: Iterable[Verdict]) -> int:
    return sum(len(v.offenses) for v in verdicts)


@pytest.mark.parametrize("kind", _KINDS)
def test_late_records_cost_linear_work(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twice the late records cost at most twice the work (plus a constant), for every kind."""
    small, small_verdicts = _work(monkeypatch, _write(tmp_path, kind, _N))
    large, large_verdicts = _work(monkeypatch, _write(tmp_path, kind, 2 * _N))
    jumps = {"illegal": 1, "unknown": 1, "mixed": 0.5}.get(kind, 0)
    assert _offenses(small_verdicts) == jumps * _N
    assert _offenses(large_verdicts) == jumps * 2 * _N
    calls = {"call": 1, "mixed": 0.25}.get(kind, 0)
    assert small_verdicts[0].observations == 2 + _N - calls * _N
    assert large - 2 * small <= 8, f"{kind}: work {small} for {_N} late records, {large} for {2 * _N}"


def test_the_counter_sees_the_late_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counted work grows with the late offenses: the linearity above is not 0 == 0."""
    small, _ = _work(monkeypatch, _write(tmp_path, "illegal", _N))
    large, _ = _work(monkeypatch, _write(tmp_path, "illegal", 2 * _N))
    assert small >= _N
    assert large >= 2 * _N
