"""Benchmark: restoring a saved tracker (``RunTracker.from_json``) is linear, near the cost of reading its JSON.

Builds one poll-mode tracker per size (default 10,000, 100,000 and 1,000,000 observations of a run
that keeps asking for tool outputs: ``in_progress``, ``requires_action``, a recorded submit, ``queued``,
with repeats), saves it, then times in alternating rounds, in this one process:

- ``json.loads``: decoding the text alone (the floor: restoring must at least read it);
- ``from_json``: decoding, checking every field and the whole chain, building the observations;
- ``replay``: a fresh tracker fed the same statuses and calls (what resuming without a save costs).

Times are CPU times of this process (``time.process_time``): the work is single-threaded, and on a
shared machine wall time mostly measures the other sessions. Printed per size: the median over
rounds of microseconds per observation for each, and the ratios
``from_json / json.loads`` and ``from_json / replay``; then the linearity ratio: microseconds per
observation at the largest size over the smallest (near 1 means linear).

Run: ``python tests/benchmarks/bench_from_json.py [--sizes 10000,100000,1000000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable

from runfsm import RunTracker

_CYCLE = ("in_progress", "in_progress", "requires_action", "submit", "queued")


def _actions(n: int) -> list[str]:
    actions = ["queued"]
    while len(actions) < n - 1:
        actions.extend(_CYCLE)
    actions = actions[: n - 1]
    while actions[-1] in ("requires_action", "submit"):  # end on a legal jump to completed
        actions.pop()
    return [*actions, "completed"]


def _feed(tracker: RunTracker, actions: list[str]) -> RunTracker:
    for i, action in enumerate(actions):
        if action == "submit":
            tracker.submitted_tool_outputs(at=float(i))
        else:
            tracker.observe(action, at=float(i))
    return tracker


def _timed(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.process_time()
    result = fn()
    elapsed = time.process_time() - start
    del result
    return elapsed


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    per_obs: dict[int, float] = {}
    print(
        f"{'observations':>12} {'json.loads':>11} {'from_json':>10} {'replay':>9}   (us/observation, median)"
        f"  from_json/json.loads  from_json/replay"
    )
    for n in sizes:
        actions = _actions(n)
        original = _feed(RunTracker("run_bench", mode="poll", clock=None), actions)
        text = original.to_json()
        restored = RunTracker.from_json(text, clock=None)
        assert restored.history == original.history, "the benchmark restores what it saved"
        del original, restored
        runs: dict[str, list[float]] = {"json.loads": [], "from_json": [], "replay": []}
        for _ in range(args.rounds):  # alternating rounds: each round times all three, one after the other
            runs["json.loads"].append(_timed(lambda: json.loads(text)))  # noqa: B023 - called at once
            runs["from_json"].append(_timed(lambda: RunTracker.from_json(text, clock=None)))  # noqa: B023
            runs["replay"].append(_timed(lambda: _feed(RunTracker("run_bench", mode="poll", clock=None), actions)))  # noqa: B023
        us = {k: statistics.median(v) / n * 1e6 for k, v in runs.items()}
        per_obs[n] = us["from_json"]
        print(
            f"{n:>12,} {us['json.loads']:>11.2f} {us['from_json']:>10.2f} {us['replay']:>9.2f}"
            f"   {'':<25}  {us['from_json'] / us['json.loads']:>20.2f}  {us['from_json'] / us['replay']:>16.2f}"
        )
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        print(f"linearity: us/observation at {large:,} / at {small:,} = {per_obs[large] / per_obs[small]:.2f}")


if __name__ == "__main__":
    main()
