"""Following responses and batches with the watcher: requests per object and detection delay, in virtual time.

The real openai client talks to the in-process fake (``runfsm.testing.fake``); every poller runs
on the fake's virtual clock, so an hour of batch costs no real hour. Each object plays a drawn
script (seed 42):

- background responses: queued ~ Exp(mean 2 s), in_progress ~ LogNormal(median 60 s, sigma 1.0);
- batches: validating ~ U(30 s, 5 min), in_progress ~ LogNormal(median 2 h, sigma 0.6) (under
  20 h), finalizing ~ U(1, 15 min).

Compared on the same objects: the watcher with the lifecycle's policy (``RESPONSE_DEFAULT``,
``BATCH_DEFAULT``), the watcher with the run's ``DEFAULT`` policy, ``poll_object`` (the
reference poller with the same policy), and, for responses, the stream watch. Printed per
approach: retrieves (or requests) per object, and the delay between the object reaching its
final status and the watch returning (p50, p95), with ratios to the lifecycle's policy.

Run: ``python tests/benchmarks/bench_follow_presets.py`` (defaults: ``--responses 200 --batches 20``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from typing import TYPE_CHECKING, Any

from runfsm import BATCH_LIFECYCLE, RESPONSE_LIFECYCLE
from runfsm.following import DEFAULT, Watcher, poll_object
from runfsm.testing.fake import FakeAssistants

if TYPE_CHECKING:
    from collections.abc import Callable

    from runfsm.lifecycle import Lifecycle

BATCH = {"input_file_id": "file_1", "endpoint": "/v1/responses", "completion_window": "24h"}


def response_scripts(n: int, rng: random.Random) -> list[list[tuple[str, float]]]:
    """``n`` background response scripts (see the module docstring)."""
    return [
        [("queued", rng.expovariate(0.5)), ("in_progress", rng.lognormvariate(4.094, 1.0)), ("completed", 0.0)]
        for _ in range(n)
    ]


def batch_scripts(n: int, rng: random.Random) -> list[list[tuple[str, float]]]:
    """``n`` batch scripts (see the module docstring)."""
    return [
        [
            ("validating", rng.uniform(30, 300)),
            ("in_progress", min(rng.lognormvariate(8.882, 0.6), 20 * 3600)),
            ("finalizing", rng.uniform(60, 900)),
            ("completed", 0.0),
        ]
        for _ in range(n)
    ]


def _create(client: Any, lifecycle: Lifecycle[Any]) -> Any:
    if lifecycle is RESPONSE_LIFECYCLE:
        return client.responses.create(model="gpt-fake", input="hi", background=True)
    return client.batches.create(**BATCH)


def follow_watcher(policy: Any) -> Callable[[FakeAssistants, Any, Lifecycle[Any]], int]:
    """Poll with ``Watcher(lifecycle=...)`` and ``policy`` (None: the lifecycle's); returns requests sent."""

    def run(fake: FakeAssistants, client: Any, lifecycle: Lifecycle[Any]) -> int:
        watcher = Watcher(client, lifecycle=lifecycle, policy=policy, clock=fake.clock.now, sleep=fake.clock.sleep)
        return watcher.poll(_create(client, lifecycle)).requests

    return run


def follow_poll_object(fake: FakeAssistants, client: Any, lifecycle: Lifecycle[Any]) -> int:
    """``poll_object`` with the lifecycle's policy (the reference poller); returns retrieves."""
    obj = _create(client, lifecycle)
    resource = client.responses if lifecycle is RESPONSE_LIFECYCLE else client.batches
    return poll_object(
        lambda: resource.retrieve(obj.id), lifecycle=lifecycle, clock=fake.clock.now, sleep=fake.clock.sleep
    ).retrieves


def follow_stream(fake: FakeAssistants, client: Any, lifecycle: Lifecycle[Any]) -> int:
    """``Watcher(lifecycle=RESPONSE_LIFECYCLE).watch(...)``: the create stream; returns requests sent."""
    watcher = Watcher(client, lifecycle=lifecycle, clock=fake.clock.now, sleep=fake.clock.sleep)
    return watcher.watch(model="gpt-fake", input="hi").requests


def measure(
    lifecycle: Lifecycle[Any], scripts: list[list[tuple[str, float]]], follow: Callable[..., int]
) -> tuple[float, float, float, float]:
    """(requests per object, delay p50, delay p95, real seconds) of ``follow`` over ``scripts``."""
    fake = FakeAssistants(max_requests=100_000)
    client = fake.client(max_retries=0)
    requests: list[int] = []
    delays: list[float] = []
    started = time.perf_counter()
    for script in scripts:
        fake.background.queue(lifecycle, script)
        created = fake.clock.now()
        requests.append(follow(fake, client, lifecycle))
        ended_at = created + sum(seconds for _, seconds in script[:-1])
        delays.append(max(0.0, fake.clock.now() - ended_at))
    quantiles = statistics.quantiles(delays, n=20, method="inclusive")
    return statistics.fmean(requests), statistics.median(delays), quantiles[18], time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Print the comparison table; exit 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=200)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args(argv)
    rng = random.Random(42)
    cases: list[tuple[Lifecycle[Any], list[list[tuple[str, float]]]]] = [
        (RESPONSE_LIFECYCLE, response_scripts(args.responses, rng)),
        (BATCH_LIFECYCLE, batch_scripts(args.batches, rng)),
    ]
    header = ("req/obj", "p50 s", "p95 s", "req ratio", "p95 ratio")
    print(f"{'lifecycle':10} {'approach':28} " + " ".join(f"{h:>9}" for h in header))
    for lifecycle, scripts in cases:
        approaches: list[tuple[str, Callable[..., int]]] = [
            (f"watcher, {lifecycle.key.upper()}_DEFAULT", follow_watcher(None)),
            ("poll_object, preset", follow_poll_object),
            ("watcher, run's DEFAULT", follow_watcher(DEFAULT)),
        ]
        if lifecycle is RESPONSE_LIFECYCLE:
            approaches.append(("stream watch", follow_stream))
        rows = [(name, measure(lifecycle, scripts, follow)) for name, follow in approaches]
        base_requests, _, base_p95, _ = rows[0][1]
        for name, (per_object, p50, p95, _) in rows:
            print(
                f"{lifecycle.key:10} {name:28} {per_object:9.2f} {p50:8.1f} {p95:8.1f} "
                f"{per_object / base_requests:9.3f} {p95 / base_p95 if base_p95 else 0.0:9.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
