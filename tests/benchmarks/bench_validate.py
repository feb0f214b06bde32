"""Benchmark ``runfsm validate`` against the parse-only floor and one ``transitions.Machine`` per run.

Usage::

    python tests/benchmarks/bench_validate.py [--events 1000000] [--jobs 2] [--dir /tmp/runfsm-bench]

On a JSON Lines file of run objects written by ``runfsm.testing.simulate`` (poll mode, 50 runs
interleaved, tool rounds, client calls, a few illegal and unfinished runs), it prints, side by
side in one process:

- events/s of ``runfsm validate`` (``runfsm.commands.main.main``, the real code path), with 1 and N jobs;
- events/s of reading and parsing the same file with the same JSON parser and nothing else
  (the floor no validator can beat);
- events/s of the naive approach: one ``transitions.Machine`` per run (on a prefix of the file,
  it is slow), parsing included;
- the ratios, and peak memory (max RSS of a child process running ``runfsm validate FILE``, text
  report included) at one tenth of the events and at all of them.

The compared things alternate within each of ``--repeat`` rounds. Events/s are the best of the
rounds; the ratio to the floor is taken round by round (the things of one round share the noisy
shared machine's mood of the moment) and the median of those ratios is printed with their range.
Goals: validate >= 50% of the floor, >= 10x one-Machine-per-run, peak memory flat (ratio close
to 1) as the file grows tenfold.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from runfsm.commands.main import main
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.status import RunStatus
from runfsm.testing.simulate import simulate_runs, write_corpus
from runfsm.validation.records import json_parser

if TYPE_CHECKING:
    from collections.abc import Callable


def corpus(folder: Path, events: int, seed: int) -> Path:
    """A cached corpus of ``events`` lines of run objects (2% illegal, 2% unfinished runs)."""
    path = folder / f"runs-{events}-{seed}.jsonl"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        runs = simulate_runs(-1, seed=seed, illegal=0.02, unfinished=0.02, fmt="jsonl")
        with tmp.open("w", encoding="utf-8") as out:
            write_corpus(out, runs, fmt="jsonl", seed=seed, max_lines=events)
        tmp.rename(path)
    return path


def count_lines(path: Path) -> int:
    """Lines in the file (the events)."""
    with path.open("rb") as f:
        return sum(1 for _ in f)


def parse_only(path: Path) -> None:
    """The floor: read every line and parse it with the parser the readers use."""
    _name, loads = json_parser()
    with path.open("rb") as f:
        for line in f:
            loads(line)


def validate_cli(path: Path, jobs: int = 1) -> None:
    """``runfsm validate --quiet FILE`` in this process (the command's real code path)."""
    main(["validate", "--quiet", "--jobs", str(jobs), str(path)])


class _Model:
    """A bare model for one run's own Machine."""

    state: str


def machine_per_run(path: Path, limit: int) -> int:
    """The naive way: parse, then one ``transitions.Machine`` per run, fed each status; returns events seen."""
    from transitions import Machine, MachineError

    _name, loads = json_parser()
    states = [s.name for s in RUN_LIFECYCLE.states]
    transitions = [
        {"trigger": RUN_LIFECYCLE.trigger_name(e.dest), "source": e.source.name, "dest": e.dest.name}
        for e in RUN_LIFECYCLE.edges
    ]
    models: dict[str, _Model] = {}
    illegal = 0
    seen = 0
    with path.open("rb") as f:
        for line in f:
            if seen >= limit:
                break
            seen += 1
            obj = loads(line)
            run_id = obj.get("id")
            if not isinstance(run_id, str):
                continue  # a client-call record
            status = RunStatus.parse(obj["status"])
            model = models.get(run_id)
            if model is None:
                model = models[run_id] = _Model()
                Machine(model=model, states=states, transitions=transitions, initial="Null", auto_transitions=False)
                model.state = status.name  # a poll may start anywhere
                continue
            if model.state == status.name:
                continue
            try:
                model.trigger(RUN_LIFECYCLE.trigger_name(status))  # type: ignore[attr-defined]  # added by Machine
            except MachineError:
                illegal += 1  # a poll jump: a plain machine cannot explain it
    return seen


def peak_rss_kib(path: Path) -> tuple[int, int]:
    """Peak RSS (KiB) of a child process running ``runfsm validate FILE`` (text report), and its unfinished runs.

    The child runs the real command, report included (written to a temporary file, from which
    the ``unfinished`` row is read). Unfinished runs stay open to the end of the input, so
    they are what memory may grow with. The peak is read from ``VmHWM`` in
    ``/proc/self/status``: ``ru_maxrss`` on Linux survives fork and exec, so a child of a big
    parent would report the parent's peak.
    """
    code = (
        "import contextlib, resource, sys, tempfile\n"
        "from runfsm.commands.main import main\n"
        "with tempfile.TemporaryFile('w+') as out:\n"
        "    with contextlib.redirect_stdout(out):\n"
        "        main(['validate', sys.argv[1]])\n"
        "    out.seek(0)\n"
        "    unfinished = next(l.split()[-1] for l in out if l.startswith('unfinished '))\n"
        "try:\n"
        "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "except OSError:\n"
        "    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(hwm, unfinished.replace(',', ''))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True)
    hwm, unfinished = out.stdout.split()[-2:]
    return int(hwm), int(unfinished)


def best(times: dict[str, list[float]], name: str, fn: Callable[[], object]) -> None:
    """Run ``fn`` once and record its wall time under ``name``."""
    start = time.perf_counter()
    fn()
    times.setdefault(name, []).append(time.perf_counter() - start)


def run(argv: list[str] | None = None) -> None:
    """Build the corpora, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--machine-events", type=int, default=100_000, help="prefix fed to the naive approach")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "runfsm-bench")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)

    parser_name, _loads = json_parser()
    big = corpus(args.dir, args.events, args.seed)
    small = corpus(args.dir, args.events // 10, args.seed)
    events = count_lines(big)
    print(f"corpus: {big} ({events:,} events, {big.stat().st_size / 1e6:,.0f} MB); JSON parser: {parser_name}")
    print(f"cpus: {os.cpu_count()}; load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")

    (small_rss, small_open), (big_rss, big_open) = peak_rss_kib(small), peak_rss_kib(big)  # from a small parent

    times: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        best(times, "parse only (floor)", lambda: parse_only(big))
        best(times, "runfsm validate", lambda: validate_cli(big))
        if args.jobs > 1:
            best(times, f"runfsm validate --jobs {args.jobs}", lambda: validate_cli(big, args.jobs))
    start = time.perf_counter()
    machine_seen = machine_per_run(big, args.machine_events)
    times["one Machine per run"] = [time.perf_counter() - start]

    rate = {name: (machine_seen if name == "one Machine per run" else events) / min(t) for name, t in times.items()}
    floor_times = times["parse only (floor)"]
    # the ratio to the floor, round by round: a round's runs share the machine's mood of the moment
    paired = {
        name: sorted(f / t for f, t in zip(floor_times, ts, strict=True))
        for name, ts in times.items()
        if len(ts) == len(floor_times)
    }
    vs_floor = {name: statistics.median(ratios) for name, ratios in paired.items()}
    naive = rate["one Machine per run"]
    print()
    print(f"{'':36}{'events/s':>12}{'vs floor':>10}{'(range)':>14}{'vs Machine':>12}")
    for name, value in rate.items():
        if name in vs_floor:
            low, high = paired[name][0], paired[name][-1]
            ratio = f"{vs_floor[name]:>9.0%} {f'{low:.0%}-{high:.0%}':>13}"
        else:
            ratio = f"{value / rate['parse only (floor)']:>9.0%} {'':>13}"
        print(f"{name:36}{value:>12,.0f}{ratio} {value / naive:>11.1f}x")
    print(f"(events/s: best of {args.repeat} rounds; vs floor: median of the rounds' ratios, and their range)")
    print(f"(one Machine per run measured on the first {machine_seen:,} events)")

    print()
    print(f"peak memory of runfsm validate: {count_lines(small):,} events {small_rss / 1024:,.1f} MiB; ", end="")
    print(f"{events:,} events {big_rss / 1024:,.1f} MiB; ratio {big_rss / small_rss:.2f}")
    print(f"(runs left open at the end, i.e. unfinished: {small_open:,} and {big_open:,})")
    print()
    single = vs_floor["runfsm validate"]
    fastest = max(v for k, v in vs_floor.items() if k.startswith("runfsm validate"))
    print(
        f"goal >= 50% of the floor: 1 job {single:.0%}, best {fastest:.0%} -> {'met' if fastest >= 0.5 else 'NOT met'}"
    )
    print(f"goal >= 10x one Machine per run: {rate['runfsm validate'] / naive:.1f}x -> ", end="")
    print("met" if rate["runfsm validate"] / naive >= 10 else "NOT met")
    print(f"goal flat memory: ratio {big_rss / small_rss:.2f} -> {'met' if big_rss / small_rss < 1.3 else 'NOT met'}")


if __name__ == "__main__":
    run()
