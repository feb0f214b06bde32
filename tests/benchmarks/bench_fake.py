"""Benchmark: what one request to the fake Assistants API costs, by the way a test reaches it.

Side by side in one process, N ``retrieve_run`` calls (default 2,000) on one run:

- ``handle``: ``FakeAssistants.handle`` directly (the fake's own cost, no HTTP, no SDK);
- ``in-process``: the real ``openai.OpenAI`` client on the in-process ``httpx2`` transport;
- ``loopback``: the real ``openai.OpenAI`` client over HTTP to ``FakeAssistantsServer`` on 127.0.0.1;
- ``loopback async``: ``openai.AsyncOpenAI`` over the same loopback server.

Then one ``create_and_poll`` of a run scripted to take ten virtual minutes (600 polls at the
default ``openai-poll-after-ms`` of 1000), in-process and loopback: the wall time a test pays
for ten minutes of virtual polling. Printed: microseconds per request and ratios to ``handle``.

Run: ``python tests/benchmarks/bench_fake.py [--requests N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import warnings

from runfsm.testing.fake import STUCK, FakeAssistants, FakeAssistantsServer


def _per_request(fn: object, n: int) -> float:
    assert callable(fn)
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000)
    n: int = parser.parse_args().requests
    warnings.simplefilter("ignore", DeprecationWarning)  # openai marks the Assistants API deprecated

    results: dict[str, float] = {}
    fake = FakeAssistants(script=[("queued", STUCK)])
    client = fake.client()
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_bench")
    path = f"/v1/threads/{thread.id}/runs/{run.id}"
    results["handle"] = _per_request(lambda: fake.handle("GET", path), n)
    results["in-process"] = _per_request(lambda: client.beta.threads.runs.retrieve(run.id, thread_id=thread.id), n)

    with FakeAssistantsServer(script=[("queued", STUCK)]) as server:
        http = server.client()
        thread = http.beta.threads.create()
        run = http.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_bench")
        results["loopback"] = _per_request(lambda: http.beta.threads.runs.retrieve(run.id, thread_id=thread.id), n)

        async def async_retrieves() -> float:
            aclient = server.async_client()
            start = time.perf_counter()
            for _ in range(n):
                await aclient.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
            elapsed = time.perf_counter() - start
            await aclient.close()
            return elapsed / n * 1e6

        results["loopback async"] = asyncio.run(async_retrieves())

        polls: dict[str, float] = {}
        for name, target in (("in-process", FakeAssistants()), ("loopback", server)):
            target.queue_run(["queued", ("in_progress", 599), "completed"])
            c = target.client()
            t = c.beta.threads.create()
            start = time.perf_counter()
            done = c.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id="asst_bench")
            polls[name] = time.perf_counter() - start
            assert done.status == "completed"
        http.close()

    base = results["handle"]
    print(f"{'way':<16} {'us/request':>11} {'x handle':>9}")
    for name, us in results.items():
        print(f"{name:<16} {us:>11.1f} {us / base:>9.1f}")
    print()
    print("create_and_poll of a 600 s run (601 polls, virtual clock):")
    for name, seconds in polls.items():
        print(f"  {name:<12} {seconds:.2f} s wall")
    print(json.dumps({"requests": n, "us_per_request": results, "create_and_poll_600s_wall_s": polls}))


if __name__ == "__main__":
    main()
