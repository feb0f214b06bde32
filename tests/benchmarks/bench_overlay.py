"""Overlay cost: what drawing runs on the lifecycle adds to validating them, and its memory.

Run: ``python tests/benchmarks/bench_overlay.py [RUNS]`` (default 20,000 simulated runs).

1. Time, side by side in one process on the same simulated corpus (poll-mode run objects):
   one pass of ``validate_paths`` (reading and judging: what ``runfsm validate`` does) versus one
   pass of ``Summary.add``, ``Overlay.add`` and ``Report.add`` over the verdicts it yields.
   Goal: ``Overlay.add`` costs under 10% of validating.
2. Memory retained by an ``Overlay`` after 1x, 10x and 100x as many verdicts (tracemalloc).
   Goal: flat (counters only, no verdict kept).
3. Rendering the overlay diagram once: Mermaid, DOT, SVG (Graphviz), relative to DOT.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from typing import TYPE_CHECKING

from runfsm.drawing.diagram import to_dot, to_mermaid, to_svg
from runfsm.drawing.overlay import Overlay
from runfsm.drawing.report import Report
from runfsm.testing.simulate import simulate_runs, write_corpus
from runfsm.validation import Summary, validate_paths

if TYPE_CHECKING:
    from collections.abc import Callable

    from runfsm.verdict import Verdict


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _time(path: str) -> list[Verdict]:
    verdicts = list(validate_paths([path]))  # also warms up imports and caches

    def validate() -> None:
        for _ in validate_paths([path]):
            pass

    def summary() -> None:
        s = Summary()
        for v in verdicts:
            s.add(v)

    def overlay() -> None:
        o = Overlay()
        for v in verdicts:
            o.add(v)

    def report() -> None:
        r = Report()
        for v in verdicts:
            r.add(v)

    fns = {"validate": validate, "summary": summary, "overlay": overlay, "report": report}
    times = dict.fromkeys(fns, float("inf"))
    for _ in range(5):  # interleaved, so drift on a shared machine hits all alike
        for key, fn in fns.items():
            times[key] = min(times[key], _best(fn, repeat=1))
    base = times["validate"]
    print(f"1. time per pass over the same {len(verdicts):,} runs (best of 5, interleaved; ratio to validating)")
    print(f"   validate_paths (read + judge)   {base:8.3f} s   1.000")
    for key, label in (
        ("summary", "Summary.add"),
        ("overlay", "Overlay.add"),
        ("report", "Report.add (overlay included)"),
    ):
        print(f"   {label:<31} {times[key]:8.3f} s   {times[key] / base:.3f}")
    return verdicts


def _memory(all_verdicts: list[Verdict]) -> Overlay:
    verdicts = all_verdicts[:1000]

    def feed(n: int) -> int:
        gc.collect()
        tracemalloc.start()
        overlay = Overlay(highlight=verdicts[3].run_id)
        for i in range(n):
            # a fresh verdict object each time, as validate_paths yields them
            overlay.add(dataclasses.replace(verdicts[i % len(verdicts)], run_id=f"r{i}"))
        gc.collect()
        current, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return current

    print("2. memory retained by an Overlay (tracemalloc)")
    sizes = [(n, feed(n)) for n in (1_000, 10_000, 100_000)]
    for n, size in sizes:
        print(f"   {n:>7,} verdicts   {size / 1024:8.1f} KiB   {size / sizes[0][1]:.2f}")
    return Overlay().update(verdicts)


def _render(overlay: Overlay) -> None:
    diagram = overlay.diagram()
    dot = _best(lambda: to_dot(diagram), repeat=5)
    mmd = _best(lambda: to_mermaid(diagram), repeat=5)
    svg = _best(lambda: to_svg(diagram), repeat=3)
    print("3. rendering the overlay once (best of several)")
    print(f"   DOT      {dot * 1000:8.2f} ms   1.00")
    print(f"   Mermaid  {mmd * 1000:8.2f} ms   {mmd / dot:.2f}")
    print(f"   SVG      {svg * 1000:8.2f} ms   {svg / dot:.0f}   (Graphviz layout)")


def main() -> None:
    """Generate the corpus, run the three measurements, print the tables."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "runs.jsonl")
        with open(path, "w", encoding="utf-8") as fh:
            lines = write_corpus(fh, simulate_runs(runs, seed=1, illegal=0.02, fmt="jsonl"), fmt="jsonl", seed=1)
        print(f"corpus: {runs:,} simulated runs, {lines:,} lines of run objects (poll mode)\n")
        verdicts = _time(path)
        overlay = _memory(verdicts)
        _render(overlay)


if __name__ == "__main__":
    main()
