"""Benchmark: records arriving after their run's terminal status cost the same each, however many.

One run ends (``queued``, ``completed``), then N late records of one kind follow in the same
file; ``summarize_paths`` judges the file. Kinds, side by side in one process, in alternating
rounds (the machine is shared and noisy):

- ``repeat``: the terminal status again (a poller saw it once more: a re-observation);
- ``illegal``: ``in_progress`` after ``completed`` (each one an illegal jump, with its offense);
- ``call``: a ``submit_tool_outputs`` client call after the end (each one a note);
- ``unknown``: a status no lifecycle knows (each one an unknown-status offense);
- ``mixed``: the four in turn.

Printed: microseconds per late record at N = 10,000 and N = 100,000 (the median of the rounds),
and their ratio: a linear cost has a ratio near 1; a quadratic one grows with N (about 10 here).
Goal: every ratio under 2. The run's verdict is checked too (the offenses are all there).

Run: ``python tests/benchmarks/bench_late.py [--rounds R]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runfsm.verdict import Verdict

KINDS = ("repeat", "illegal", "call", "unknown", "mixed")
SIZES = (10_000, 100_000)
_LINES = {
    "repeat": '{"id":"r","status":"completed"}\n',
    "illegal": '{"id":"r","status":"in_progress"}\n',
    "call": '{"run_id":"r","call":"submit_tool_outputs"}\n',
    "unknown": '{"id":"r","status":"warp_speed"}\n',
}


def write(folder: Path, kind: str, n: int) -> Path:
    """A file with one ended run and ``n`` late records of ``kind``."""
    path = folder / f"{kind}-{n}.jsonl"
    cycle = list(_LINES.values()) if kind == "mixed" else [_LINES[kind]]
    with path.open("w") as f:
        f.write('{"id":"r","status":"queued"}\n{"id":"r","status":"completed"}\n')
        for i in range(n):
            f.write(cycle[i % len(cycle)])
    return path


def judge(path: Path, kind: str, n: int) -> float:
    """Seconds to summarize the file; checks what the run's verdict says."""
    from runfsm.validation import summarize_paths

    verdicts: list[Verdict] = []
    start = time.perf_counter()
    summary = summarize_paths([path], on_verdict=verdicts.append)
    elapsed = time.perf_counter() - start
    calls = n if kind == "call" else n // 4 if kind == "mixed" else 0
    assert summary.runs == 1, summary
    assert summary.observations == 2 + n - calls, summary
    jumps = {"illegal": n, "unknown": n, "mixed": n // 2}.get(kind, 0)
    assert len(verdicts[0].offenses if verdicts else ()) == jumps
    return elapsed


def main() -> None:
    """Time every kind at both sizes, alternating, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times: dict[tuple[str, int], list[float]] = {(k, n): [] for k in KINDS for n in SIZES}
    with tempfile.TemporaryDirectory() as folder:
        paths = {(k, n): write(Path(folder), k, n) for k in KINDS for n in SIZES}
        for round_ in range(args.rounds):
            order = KINDS if round_ % 2 == 0 else KINDS[::-1]  # alternate the order between rounds
            for kind in order:
                for n in SIZES:
                    times[kind, n].append(judge(paths[kind, n], kind, n))
    print(f"{'late records':<14}{'us/record at 10k':>18}{'us/record at 100k':>19}{'ratio':>8}")
    for kind in KINDS:
        small, large = (statistics.median(times[kind, n]) / n * 1e6 for n in SIZES)
        print(f"{kind:<14}{small:>18.2f}{large:>19.2f}{large / small:>8.2f}")


if __name__ == "__main__":
    main()
