"""Benchmark: following many runs at once with the runfsm tracker versus plain ``transitions``.

Compares, at N runs (default 100,000), side by side in one invocation:

- ``runfsm``: one ``RunTracker`` per run (no per-run machine, no ``add_model``);
- ``runfsm+callbacks``: the same with an on-enter callback, so every change goes through the
  one shared ``transitions`` machine;
- ``add_model``: one shared ``transitions.Machine`` with every run added as a model;
- ``machine/run``: one ``transitions.Machine`` per run.

Each approach runs in its own child process so that memory is measured cleanly (resident
set growth while the runs are alive, divided by N). Printed per approach: bytes per run at
start, bytes per run after its history (six observations), microseconds to start tracking
a run (first 1,000 runs and last 1,000 runs: a flat cost has a ratio near 1), and
microseconds per observation. Then the ratios the issue names.

Run: ``python tests/benchmarks/bench_tracker.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from typing import Any

HISTORY = ("queued", "in_progress", "requires_action", "queued", "in_progress", "completed")
APPROACHES = ("runfsm", "runfsm+callbacks", "add_model", "machine/run")
WINDOW = 1000


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize()


def _transitions_spec() -> tuple[list[str], list[dict[str, str]]]:
    from runfsm import RUN_LIFECYCLE

    states = [s.name for s in RUN_LIFECYCLE.states]
    transitions = [
        {"trigger": RUN_LIFECYCLE.trigger_name(e.dest), "source": e.source.name, "dest": e.dest.name}
        for e in RUN_LIFECYCLE.edges
    ]
    return states, transitions


def measure(approach: str, n: int) -> dict[str, Any]:
    """Run one approach with ``n`` runs in this process; return its figures."""
    from runfsm import RunTracker, StateEntered

    starters: list[Any] = []
    observe: Any
    if approach.startswith("runfsm"):
        callbacks = approach == "runfsm+callbacks"
        entered = [0]

        def count(event: StateEntered) -> None:
            entered[0] += 1

        def start(i: int) -> Any:
            tracker = RunTracker(f"run_{i}", mode="stream", clock=None)
            if callbacks:
                tracker.on_enter(tracker.lifecycle.initial.__class__.Completed, count)
            return tracker

        def observe(run: Any, status: str) -> None:
            run.observe(status)

    else:
        from transitions import Machine

        states, transitions = _transitions_spec()

        class Model:
            pass

        if approach == "add_model":
            shared = Machine(model=None, states=states, initial="Null", transitions=transitions, auto_transitions=False)

            def start(i: int) -> Any:
                model = Model()
                shared.add_model(model)
                return model

        else:

            def start(i: int) -> Any:
                model = Model()
                Machine(model=model, states=states, initial="Null", transitions=transitions, auto_transitions=False)
                return model

        def observe(run: Any, status: str) -> None:
            run.trigger(status)

    gc.collect()
    gc.disable()
    base = _rss_bytes()
    first_start = last_start = 0.0
    t_all = time.perf_counter()
    for i in range(n):
        if i == 0 or i == n - WINDOW:
            t0 = time.perf_counter()
        starters.append(start(i))
        if i == WINDOW - 1:
            first_start = (time.perf_counter() - t0) / WINDOW
        if i == n - 1:
            last_start = (time.perf_counter() - t0) / WINDOW
    start_total = time.perf_counter() - t_all
    after_start = _rss_bytes()
    t0 = time.perf_counter()
    for run in starters:
        for status in HISTORY:
            observe(run, status)
    observe_s = time.perf_counter() - t0
    after_observe = _rss_bytes()
    gc.enable()
    return {
        "approach": approach,
        "runs": n,
        "bytes_per_run_start": (after_start - base) / n,
        "bytes_per_run_history": (after_observe - base) / n,
        "start_us_first": first_start * 1e6,
        "start_us_last": last_start * 1e6,
        "start_us_mean": start_total / n * 1e6,
        "observe_us": observe_s / (n * len(HISTORY)) * 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    """Run every approach in a child process and print the table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=100_000, help="runs tracked at once (default 100000)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 2 * WINDOW:
        parser.error(f"--runs must be at least {2 * WINDOW}")
    if args.child:
        print(json.dumps(measure(args.child, args.runs)))
        return 0

    rows = []
    for approach in APPROACHES:
        print(f"measuring {approach} at {args.runs:,} runs ...", file=sys.stderr, flush=True)
        out = subprocess.run(
            [sys.executable, __file__, "--runs", str(args.runs), "--child", approach],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return 2
        rows.append(json.loads(out.stdout))

    print(f"\nFollowing {args.runs:,} runs at once; history per run: {' -> '.join(HISTORY)}\n")
    header = (
        f"{'approach':<18} {'B/run start':>12} {'B/run +hist':>12} {'start us':>9} "
        f"{'first 1k':>9} {'last 1k':>9} {'last/first':>10} {'us/observe':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        flat = r["start_us_last"] / r["start_us_first"]
        print(
            f"{r['approach']:<18} {r['bytes_per_run_start']:>12,.0f} {r['bytes_per_run_history']:>12,.0f} "
            f"{r['start_us_mean']:>9.2f} {r['start_us_first']:>9.2f} {r['start_us_last']:>9.2f} "
            f"{flat:>10.2f} {r['observe_us']:>11.2f}"
        )
    by = {r["approach"]: r for r in rows}
    ours, add, per = by["runfsm"], by["add_model"], by["machine/run"]
    mem_vs_add = add["bytes_per_run_start"] / ours["bytes_per_run_start"]
    mem_vs_per = per["bytes_per_run_start"] / ours["bytes_per_run_start"]
    flat = ours["start_us_last"] / ours["start_us_first"]
    print()
    print(f"memory per run, add_model / runfsm:    {mem_vs_add:6.1f}x   (goal >= 10x)")
    print(f"memory per run, machine/run / runfsm:  {mem_vs_per:6.1f}x")
    print(f"runfsm bytes per run at start:         {ours['bytes_per_run_start']:6.0f} B  (goal <= 1024 B)")
    print(f"runfsm start cost last 1k / first 1k:  {flat:6.2f}   (flat is ~1)")
    print(f"observe, add_model / runfsm:           {add['observe_us'] / ours['observe_us']:6.1f}x")
    print(f"observe, machine/run / runfsm:         {per['observe_us'] / ours['observe_us']:6.1f}x")
    ok = mem_vs_add >= 10 and ours["bytes_per_run_start"] <= 1024
    print(f"\ngoals met: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
