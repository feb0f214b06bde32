"""Polling, streams or webhooks? The essay's claim measured: requests and detection delays, and the receiver's rate.

Part 1 (virtual time, no sleeping): N background responses drawn from the reference workload
(``/work/shared/workloads/poll_reference.json``, the same seed and distributions as
``bench_poll.py``: queued ~ Exp(0.4 s), in_progress ~ LogNormal(median 6 s, sigma 0.9), outcomes
94/3/2/1 % completed/failed/incomplete/cancelled; a background response has no requires_action,
so the workload's tool rounds are off, and a cancel ends it at once). Followed by:

- **webhooks + reconcile**, through the real code: each response is ``track``-ed at create; its
  terminal webhook, signed, goes through ``Receiver.handle`` and a real SQLite store; a fraction
  of webhooks (0 %, 1 %, 10 %) is lost for good; ``Reconciler`` polls the objects still open
  ``--overdue-after`` seconds after create, through its policy, under a ``--budget`` per minute.
  Webhook latency (terminal status to delivery) is an assumption, not a measurement:
  LogNormal(median ``--latency`` s, sigma 0.5).
- the **stream watcher** and runfsm's and the anchors' **polling policies**, run by the real
  ``Watcher`` over ``bench_poll``'s simulated API on the same timelines.

Delays: from the terminal status to the client knowing it. Ratios are against ``runfsm DEFAULT``.

Part 2 (real time, loopback): ``runfsm webhooks serve`` in its own process (signature checks,
the SQLite store on disk) receives signed events at a fixed offered rate from an open-loop
client; the same load goes, in alternating rounds, to a bare uvicorn app answering 200 (the HTTP
floor) and to the receiver with ``--synchronous NORMAL``. Events/s acknowledged, p50/p99 latency.

Run: ``python tests/benchmarks/bench_webhooks.py`` (``--runs 500 --rate 100 --seconds 3`` for a quick look).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import heapq
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_poll  # the sibling benchmark: its simulated API and anchors
import httpx2

from runfsm.following.backoff import DEFAULT, ECONOMY, RESPONSIVE, Exponential, Fixed
from runfsm.testing.fake.webhooks import TEST_SECRET, event_body, sign
from runfsm.webhooks import Receiver, Reconciler, WebhookStore

if TYPE_CHECKING:
    from collections.abc import Mapping

    from runfsm.following.backoff import PollPolicy
    from runfsm.webhooks import Entered

EPOCH = 1_750_000_000.0
_STATUS = {
    "completed": "completed",
    "failed": "failed",
    "incomplete": "incomplete",
    "cancelled_by_other_client": "cancelled",
}


def response_plans(spec: Mapping[str, Any], n: int, seed: int) -> list[bench_poll.Plan]:
    """The workload's plans with no tool rounds and an immediate cancel: background responses."""
    spec = copy.deepcopy(dict(spec))
    spec["requires_action"]["probability_first_round"] = 0.0
    plans = bench_poll.draw_plans(spec, n, seed)
    for plan in plans:
        plan.cancelling = 0.0
    return plans


@dataclass
class Row:
    """One approach's figures."""

    name: str
    requests: list[int] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    undetected: int = 0


class Clock:
    """Virtual Unix time for the receiver and the reconciler."""

    def __init__(self) -> None:
        self.now = EPOCH

    def __call__(self) -> float:
        return self.now


def follow_webhooks(
    plans: list[bench_poll.Plan],
    *,
    loss: float,
    latency: float,
    overdue_after: float,
    budget: int,
    seed: int,
    store_dir: Path,
    expires: float,
) -> Row:
    """Webhooks first, reconcile as the fallback, through the real receiver, store and reconciler."""
    rng = random.Random(seed)
    clock = Clock()
    ends: dict[str, tuple[float, str]] = {}
    for i, plan in enumerate(plans):
        run = bench_poll.SimRun(f"resp_{i}", plan, expires)
        ends[run.id] = (EPOCH + run.terminal_time(), _STATUS[plan.outcome])
    retrieves: dict[str, int] = dict.fromkeys(ends, 0)

    def retrieve(object_id: str) -> dict[str, Any]:
        retrieves[object_id] += 1
        end, status = ends[object_id]
        plan = plans[int(object_id.split("_")[1])]
        if clock.now >= end:
            return {"id": object_id, "object": "response", "status": status, "created_at": EPOCH, f"{status}_at": end}
        started = EPOCH + plan.queued[0]
        return {
            "id": object_id,
            "object": "response",
            "status": "in_progress" if clock.now >= started else "queued",
            "created_at": EPOCH,
        }

    path = store_dir / f"bench-{loss}-{seed}.sqlite"
    store = WebhookStore(path, synchronous="NORMAL")
    receiver = Receiver(store, secret=TEST_SECRET, retrieve=retrieve, overdue_after=overdue_after, clock=clock)
    detected: dict[str, float] = {}

    def seen(entered: Entered) -> None:
        if entered.state.is_terminal:
            detected.setdefault(entered.object_id, clock.now)

    receiver.on_change(seen)
    arrivals: list[tuple[float, str]] = []
    for object_id, (end, _) in ends.items():
        receiver.track({"id": object_id, "object": "response", "status": "queued", "created_at": EPOCH})
        if rng.random() >= loss:
            arrivals.append((end + rng.lognormvariate(math.log(latency), 0.5), object_id))
    receiver.drain()
    heapq.heapify(arrivals)
    reconciler = Reconciler(receiver, per_minute=budget, clock=clock)
    not_before = -math.inf  # after a pass the budget cut short: the bucket's next token
    n = 0
    while True:
        upcoming = reconciler.next_due()
        due = max(upcoming, not_before) if upcoming is not None else math.inf
        at = arrivals[0][0] if arrivals else math.inf
        if at == math.inf and due == math.inf:
            break
        if at <= due:
            clock.now = max(clock.now, at)
            _, object_id = heapq.heappop(arrivals)
            end, status = ends[object_id]
            n += 1
            body = event_body(f"evt_{n}", f"response.{status}", object_id, end)
            answer = receiver.handle(sign(TEST_SECRET, f"msg_{n}", time.time(), body), body)
            assert answer.status == 200, answer
            receiver.drain()
        else:
            clock.now = max(clock.now, due)
            done = reconciler.run_once()
            not_before = reconciler.bucket.ready_at(clock.now) if done.deferred else -math.inf
    receiver.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    row = Row(f"webhooks {loss:.0%} lost + reconcile")
    for object_id, (end, _) in ends.items():
        row.requests.append(retrieves[object_id])
        if object_id in detected:
            row.delays.append(detected[object_id] - end)
        else:
            row.undetected += 1
    return row


def follow_polling(
    plans: list[bench_poll.Plan],
    name: str,
    policy: PollPolicy | None,
    *,
    create: bool,
    seed: int,
    timeout: float | None,
    expires: float,
) -> Row:
    """One of bench_poll's pollers (or the stream watcher) on the same timelines."""
    poll_row = bench_poll.follow_each(
        name,
        plans,
        policy=policy,
        hint=(0.0, 1.0),
        use_create_response=create,
        timeout=timeout,
        expires=expires,
        seed=seed,
    )
    return Row(name, poll_row.retrieves, poll_row.terminal, poll_row.abandoned)


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank)."""
    return bench_poll.pct(values, q)


def print_part1(rows: list[Row]) -> None:
    """One line per approach, with ratios against runfsm DEFAULT."""
    base = next(r for r in rows if r.name == "runfsm DEFAULT")
    base_req = statistics.fmean(base.requests)
    base_p50, base_p95 = pct(base.delays, 0.5), pct(base.delays, 0.95)
    head = (
        f"{'approach':<34}{'requests/obj':>13}{'term p50':>10}{'term p95':>10}{'undetected':>11}"
        f"{'req ratio':>10}{'p50 ratio':>10}{'p95 ratio':>10}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        req = statistics.fmean(r.requests)
        p50, p95 = pct(r.delays, 0.5), pct(r.delays, 0.95)
        print(
            f"{r.name:<34}{req:>13.2f}{p50:>10.2f}{p95:>10.2f}{r.undetected:>11}"
            f"{req / base_req:>10.3f}{p50 / base_p50:>10.2f}{p95 / base_p95:>10.2f}"
        )


# ----------------------------------------------------------------------------- part 2: the receiver's rate

FLOOR_APP = """
import sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"ok":true}'})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(command: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)  # real time: waiting for the server to listen
    process.kill()
    raise RuntimeError(f"server did not start: {command}")


@dataclass
class Load:
    """One round's result."""

    name: str
    acked: int
    errors: int
    seconds: float
    latencies: list[float]


async def _offer(url: str, rate: float, seconds: float, prefix: str) -> tuple[int, int, float, list[float]]:
    """Open loop: event i is sent at i / rate whatever the answers; latency counts from that time."""
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    limits = httpx2.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx2.AsyncClient(timeout=30.0, limits=limits) as client:
        start = time.perf_counter()

        async def one(i: int) -> None:
            nonlocal errors
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            body = event_body(f"evt_{prefix}{i}", "response.completed", f"resp_{prefix}{i}", EPOCH)
            headers = sign(TEST_SECRET, f"msg_{prefix}{i}", time.time(), body)
            try:
                answer = await client.post(url, content=body, headers=headers)
            except httpx2.HTTPError:
                errors += 1
                return
            if answer.status_code == 200:
                latencies.append(time.perf_counter() - due)
            else:
                errors += 1

        await asyncio.gather(*(one(i) for i in range(total)))
        elapsed = time.perf_counter() - start
    return len(latencies), errors, elapsed, latencies


def receiver_rate(rate: float, seconds: float, rounds: int) -> list[Load]:
    """Alternating rounds: the HTTP floor, the receiver (FULL), the receiver (NORMAL)."""
    env = {**os.environ, "BENCH_SECRET": TEST_SECRET}
    results: list[Load] = []
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:  # on disk, not tmpfs: fsync is what it costs
        for r in range(rounds):
            for name in ("HTTP floor (uvicorn, 200)", "receiver, synchronous FULL", "receiver, synchronous NORMAL"):
                port = _free_port()
                if name.startswith("HTTP"):
                    command = [sys.executable, "-c", FLOOR_APP, str(port)]
                else:
                    mode = name.rsplit(" ", 1)[1]
                    store = Path(tmp) / f"rate-{r}-{mode}.sqlite"
                    command = [
                        sys.executable,
                        "-m",
                        "runfsm",
                        "webhooks",
                        "serve",
                        "--secret-env",
                        "BENCH_SECRET",
                        "--store",
                        str(store),
                        "--port",
                        str(port),
                        "--synchronous",
                        mode,
                    ]
                process = _start(command, port, env)
                try:
                    acked, errors, elapsed, latencies = asyncio.run(
                        _offer(f"http://127.0.0.1:{port}/", rate, seconds, f"{r}{name[:3]}")
                    )
                finally:
                    process.terminate()
                    process.wait(30)
                results.append(Load(name, acked, errors, elapsed, latencies))
    return results


def print_part2(results: list[Load], rate: float) -> None:
    """Medians over rounds per server, and ratios against the HTTP floor."""
    names = list(dict.fromkeys(r.name for r in results))
    figures: dict[str, tuple[float, float, float, int]] = {}
    for name in names:
        mine = [r for r in results if r.name == name]
        eps = statistics.median(r.acked / r.seconds for r in mine)
        p50 = statistics.median(pct(r.latencies, 0.5) for r in mine) * 1000
        p99 = statistics.median(pct(r.latencies, 0.99) for r in mine) * 1000
        figures[name] = (eps, p50, p99, sum(r.errors for r in mine))
    floor = figures[names[0]]
    head = f"{'server':<30}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'p99 / floor':>13}"
    print(head)
    print("-" * len(head))
    for name, (eps, p50, p99, errors) in figures.items():
        print(f"{name:<30}{eps:>10.1f}{p50:>9.1f}{p99:>9.1f}{errors:>8}{p99 / floor[2]:>13.2f}")
    print(f"(offered: {rate:g} events/s, open loop; latency from each event's scheduled send time to its 200)")


def main(argv: list[str] | None = None) -> int:
    """Run both parts; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", type=Path, default=bench_poll.WORKLOAD)
    parser.add_argument("--runs", type=int, default=2000, help="background responses followed (default 2000)")
    parser.add_argument("--latency", type=float, default=1.0, help="median webhook latency, s (assumed; default 1)")
    parser.add_argument("--overdue-after", type=float, default=60.0, help="reconcile deadline after create, s")
    parser.add_argument("--budget", type=int, default=600, help="reconcile requests per minute (default 600)")
    parser.add_argument("--rate", type=float, default=200.0, help="offered webhooks per second in part 2")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one part-2 round, s")
    parser.add_argument("--rounds", type=int, default=2, help="alternating part-2 rounds per server")
    parser.add_argument("--part", choices=("1", "2", "both"), default="both")
    args = parser.parse_args(argv)
    spec = json.loads(args.workload.read_text())
    seed = spec["seed"]
    expires = float(spec["expires_after_s"])
    started = time.perf_counter()
    if args.part in ("1", "both"):
        plans = response_plans(spec, args.runs, seed)
        print(
            f"bench_webhooks part 1: {args.runs} background responses, seed {seed}, virtual time; delays in s "
            f"(webhook latency LogNormal(median {args.latency:g} s, sigma 0.5), assumed; reconcile after "
            f"{args.overdue_after:g} s, budget {args.budget}/min)"
        )
        rows: list[Row] = []
        shm = Path("/dev/shm")
        with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
            for loss in (0.0, 0.01, 0.10):
                rows.append(
                    follow_webhooks(
                        plans,
                        loss=loss,
                        latency=args.latency,
                        overdue_after=args.overdue_after,
                        budget=args.budget,
                        seed=seed,
                        store_dir=Path(tmp),
                        expires=expires,
                    )
                )
        rows.append(
            follow_polling(plans, "runfsm stream watch", None, create=True, seed=seed, timeout=None, expires=expires)
        )
        pollers: list[tuple[str, PollPolicy, bool, float | None]] = [
            ("runfsm DEFAULT", DEFAULT, True, None),
            ("runfsm ECONOMY", ECONOMY, True, None),
            ("runfsm RESPONSIVE", RESPONSIVE, True, None),
            ("anchor tight_loop 0.1s", Fixed(0.1), False, None),
            ("anchor sdk_poll", bench_poll.sdk_poll, False, None),
            ("anchor seed_backoff", Exponential(0.5, 1.5, 5.0), False, 60.0),
            ("anchor fixed_2_5s", Fixed(2.5), False, None),
        ]
        for name, policy, create, timeout in pollers:
            rows.append(follow_polling(plans, name, policy, create=create, seed=seed, timeout=timeout, expires=expires))
        print_part1(rows)
    if args.part in ("2", "both"):
        print(
            f"\nbench_webhooks part 2: the receiver over loopback, {args.rounds} alternating rounds of "
            f"{args.seconds:g} s per server"
        )
        print_part2(receiver_rate(args.rate, args.seconds, args.rounds), args.rate)
    print(f"\n(wall time {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
