"""Pollers compared on the reference workload, in virtual time (no sleeping, no HTTP).

Simulates ``/work/shared/workloads/poll_reference.json`` (``--workload`` to point elsewhere):
10,000 runs (seed 42), each created at t=0 and moving through its statuses on its own
(queued ~ Exp(0.4 s), in_progress ~ LogNormal(median 6 s, sigma 0.9), 0-3 requires_action rounds
splitting the in_progress time in halves, client tool time ~ LogNormal(1.5 s, 0.7), outcomes
94/3/2/1 % completed/failed/incomplete/cancelled by another client, expiry at 600 s).
Every poller is driven through the REAL runfsm code: ``Watcher.poll`` / ``Watcher.watch`` /
``Scheduler.run`` with a simulated ``RunsAPI`` and a virtual clock. The anchors are expressed
as policies run by the same watcher (they retrieve once right after create, as their loops do;
runfsm's presets observe the create response instead).

Run: ``python tests/benchmarks/bench_poll.py`` (``--runs 2000`` for a quick look).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runfsm.exceptions import ApiError
from runfsm.following.backoff import DEFAULT, ECONOMY, RESPONSIVE, Exponential, Fixed, Jitter, PollContext, PollPolicy
from runfsm.following.client import Reply, ToolOutput
from runfsm.following.errors import WatchError, WatchTimeout
from runfsm.following.scheduler import Scheduler
from runfsm.following.watcher import Watcher

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

WORKLOAD = Path("/work/shared/workloads/poll_reference.json")
TERMINAL = {"completed", "failed", "incomplete", "cancelled", "expired"}


class VirtualClock:
    """Virtual time: ``sleep`` advances ``now`` and completes the futures due by then."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, Future[Sequence[ToolOutput]], Sequence[ToolOutput]]] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        due = [t for t in self._timers if t[0] <= self.now]
        self._timers = [t for t in self._timers if t[0] > self.now]
        for _, fut, value in due:
            fut.set_result(value)

    def later(self, delay: float, value: Sequence[ToolOutput]) -> Future[Sequence[ToolOutput]]:
        fut: Future[Sequence[ToolOutput]] = Future()
        self._timers.append((self.now + delay, fut, value))
        return fut


@dataclass
class Plan:
    """What the server will do with one run (drawn from the workload)."""

    queued: list[float]
    segments: list[float]
    tools: list[float]
    outcome: str
    cancelling: float


def draw_plans(spec: Mapping[str, Any], n: int, seed: int) -> list[Plan]:
    """Draw each run's plan from the workload's distributions (seeded)."""
    rng = random.Random(seed)
    ra = spec["requires_action"]
    outcomes = spec["outcome"]
    names, weights = list(outcomes), list(outcomes.values())
    plans = []
    for _ in range(n):
        total = rng.lognormvariate(math.log(spec["in_progress_s"]["median"]), spec["in_progress_s"]["sigma"])
        rounds = 0
        p = ra["probability_first_round"]
        while rounds < ra["max_rounds"] and rng.random() < p:
            rounds += 1
            p = ra["probability_next_round"]
        segments, left = [], total
        for _ in range(rounds):
            segments.append(left * ra["in_progress_before_fraction"])
            left -= segments[-1]
        segments.append(left)
        tool = ra["client_tool_time_s"]
        plans.append(
            Plan(
                queued=[rng.expovariate(1 / spec["queued_s"]["mean"]) for _ in range(rounds + 1)],
                segments=segments,
                tools=[rng.lognormvariate(math.log(tool["median"]), tool["sigma"]) for _ in range(rounds)],
                outcome=rng.choices(names, weights)[0],
                cancelling=rng.expovariate(1 / 0.5),
            )
        )
    return plans


class SimRun:
    """One run's server side: a timeline of ``(time, status)`` grown as the client submits."""

    def __init__(self, run_id: str, plan: Plan, expires: float) -> None:
        self.id, self.plan, self.expires = run_id, plan, expires
        self.timeline: list[tuple[float, str]] = []
        self.round = 0
        self.phase_start = 0
        self._phase(0.0)
        self.seen_ra: set[int] = set()
        self.ra_delays: list[float] = []

    def _phase(self, t: float) -> None:
        i = self.round
        self.timeline.append((t, "queued"))
        t += self.plan.queued[i]
        self.timeline.append((t, "in_progress"))
        t += self.plan.segments[i]
        if i < len(self.plan.segments) - 1:
            self.timeline.append((t, "requires_action"))
        elif self.plan.outcome == "cancelled_by_other_client":
            self.timeline.append((t, "cancelling"))
            self.timeline.append((t + self.plan.cancelling, "cancelled"))
        else:
            self.timeline.append((t, self.plan.outcome))

    def at(self, t: float) -> tuple[float, str]:
        """(since, status) at time ``t``, expiry included."""
        since, status = self.timeline[0]
        for start, s in self.timeline:
            if start > t or start >= self.expires:
                break
            since, status = start, s
        if t >= self.expires and status not in TERMINAL:
            return self.expires, "expired"
        return since, status

    def terminal_time(self) -> float:
        since, _status = self.at(math.inf)
        return since

    def obj(self, t: float) -> dict[str, Any]:
        since, status = self.at(t)
        run: dict[str, Any] = {"id": self.id, "object": "thread.run", "thread_id": "thread_sim", "status": status}
        run["created_at"], run["started_at"] = 0, 0 if status != "queued" else None
        run["expires_at"] = None if status in TERMINAL else self.expires
        if status == "requires_action":
            run["required_action"] = {
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {"tool_calls": [{"id": f"call_{self.round}", "type": "function"}]},
            }
            if self.round not in self.seen_ra:
                self.seen_ra.add(self.round)
                self.ra_delays.append(t - since)
        elif status == "completed":
            run["completed_at"] = since
        elif status == "failed":
            run["failed_at"], run["last_error"] = since, {"code": "server_error", "message": "Sorry"}
        elif status == "incomplete":
            run["incomplete_details"] = {"reason": "max_completion_tokens"}
        elif status == "cancelled":
            run["cancelled_at"] = since
        return run

    def submit(self, t: float) -> None:
        _, status = self.at(t)
        if status != "requires_action":
            raise ApiError(f'Runs in status "{status}" do not accept tool outputs.', kind="rejected", status_code=400)
        self.timeline = [e for e in self.timeline if e[0] <= t]
        self.phase_start = len(self.timeline)
        self.round += 1
        self._phase(t)


class SimAPI:
    """A ``RunsAPI`` over simulated runs, on a virtual clock, with an optional server rate limit and hints."""

    def __init__(
        self, clock: VirtualClock, *, hint: tuple[float, float], rng: random.Random, limit: int | None = None
    ) -> None:
        self.clock, self.hint, self.rng, self.limit = clock, hint, rng, limit
        self.runs: dict[str, SimRun] = {}
        self.retrieves: dict[str, int] = {}
        self.calls: list[float] = []
        self.rate_limited = 0

    def _admit(self) -> None:
        now = self.clock.now
        self.calls.append(now)
        if self.limit is not None:
            recent = sum(1 for c in self.calls[-self.limit - 1 :] if now - c < 60)
            if recent > self.limit:
                self.rate_limited += 1
                raise ApiError("Rate limit reached", kind="rate_limited", status_code=429, retry_after=1.0)

    def _reply(self, run: SimRun) -> Reply:
        fraction, value = self.hint
        hint = value if fraction and self.rng.random() < fraction else None
        return Reply(run.obj(self.clock.now), hint)

    def retrieve(self, thread_id: str, run_id: str) -> Reply:
        self.retrieves[run_id] = self.retrieves.get(run_id, 0) + 1
        self._admit()
        return self._reply(self.runs[run_id])

    def submit_tool_outputs(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> Reply:
        self._admit()
        self.runs[run_id].submit(self.clock.now)
        return self._reply(self.runs[run_id])

    def cancel(self, thread_id: str, run_id: str) -> Reply:
        raise NotImplementedError("nobody cancels in this workload")

    def latest_run(self, thread_id: str) -> Reply | None:
        raise NotImplementedError("streams never break in this workload")

    def list_run_steps(self, thread_id: str, run_id: str) -> list[Any]:
        raise NotImplementedError("no submit loses its answer in this workload")

    def _events(self, run: SimRun, start: int) -> Iterator[dict[str, Any]]:
        i = start
        while True:
            timeline = run.timeline
            if i >= len(timeline):
                return
            t, status = timeline[i]
            if t >= run.expires:
                t, status = run.expires, "expired"
            self.clock.sleep(t - self.clock.now)
            yield {"event": f"thread.run.{status}", "data": run.obj(self.clock.now)}
            if status in TERMINAL or status == "requires_action":
                return
            i += 1

    def create_stream(self, thread_id: str, params: Mapping[str, Any]) -> Iterator[Any]:
        run = self.runs[params["metadata"]["run_id"]]
        yield {"event": "thread.run.created", "data": {**run.obj(0.0), "status": "queued"}}
        yield from self._events(run, 0)

    def submit_stream(self, thread_id: str, run_id: str, outputs: Sequence[ToolOutput]) -> Iterator[Any]:
        run = self.runs[run_id]
        run.submit(self.clock.now)
        yield from self._events(run, run.phase_start)


@dataclass
class Row:
    name: str
    retrieves: list[int] = field(default_factory=list)
    terminal: list[float] = field(default_factory=list)
    action: list[float] = field(default_factory=list)
    abandoned: int = 0
    expired: int = 0
    max_window: int | None = None
    rate_limited: int = 0


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def tool_outputs(run: Any) -> list[ToolOutput]:
    """One output per tool call of a requires_action run."""
    calls = run["required_action"]["submit_tool_outputs"]["tool_calls"]
    return [{"tool_call_id": c["id"], "output": "ok"} for c in calls]


def follow_each(
    name: str,
    plans: list[Plan],
    *,
    policy: PollPolicy | None,
    hint: tuple[float, float],
    use_create_response: bool,
    timeout: float | None,
    expires: float,
    seed: int,
) -> Row:
    """One watcher per run (each in its own virtual time line)."""
    row = Row(name)
    rng = random.Random(seed)
    for i, plan in enumerate(plans):
        clock = VirtualClock()
        api = SimAPI(clock, hint=hint, rng=rng)
        run = SimRun(f"run_{i}", plan, expires)
        api.runs[run.id] = run
        tools = iter(plan.tools)

        def handler(r: Any, clock: VirtualClock = clock, tools: Iterator[float] = tools) -> list[ToolOutput]:
            clock.sleep(next(tools))
            return tool_outputs(r)

        watcher = Watcher(
            api, policy=policy or DEFAULT, respect_hint=not name.startswith("anchor"), clock=clock, sleep=clock.sleep
        )
        try:
            if policy is None:
                result = watcher.watch(
                    "thread_sim", assistant_id="asst", on_action=handler, metadata={"run_id": run.id}
                )
            elif use_create_response:
                result = watcher.poll(run.obj(0.0), on_action=handler, timeout=timeout)
            else:
                result = watcher.poll(run.id, thread_id="thread_sim", on_action=handler, timeout=timeout)
        except WatchTimeout:
            row.abandoned += 1
            row.retrieves.append(api.retrieves.get(run.id, 0))
            continue
        row.retrieves.append(api.retrieves.get(run.id, 0))
        row.terminal.append(clock.now - run.terminal_time())
        row.action.extend(run.ra_delays)
        if result.tracker.state.wire == "expired":
            row.expired += 1
    return row


def many_runs(
    plans: list[Plan],
    *,
    scenario: Mapping[str, Any],
    hint: tuple[float, float],
    expires: float,
    seed: int,
    budget: int | None = None,
) -> Row:
    """The scheduler following ``concurrent_runs`` runs at once under ``budget`` (the scenario's by default)."""
    n = scenario["concurrent_runs"]
    clock = VirtualClock()
    api = SimAPI(clock, hint=hint, rng=random.Random(seed), limit=scenario["server_rate_limit_per_minute"])
    per_minute = budget or scenario["budget_requests_per_minute"]
    scheduler = Scheduler(api, per_minute=per_minute, clock=clock, sleep=clock.sleep)
    sims: list[SimRun] = []
    for i, plan in enumerate(plans[:n]):
        run = SimRun(f"run_{i}", plan, expires)
        api.runs[run.id] = run
        sims.append(run)
        tools = iter(plan.tools)

        def handler(r: Any, tools: Iterator[float] = tools) -> Future[Sequence[ToolOutput]]:
            return clock.later(next(tools), tool_outputs(r))

        scheduler.add(run.obj(0.0), on_action=handler)
    results = scheduler.run()
    row = Row("scheduler DEFAULT" if budget is None else "scheduler, no budget")
    for run in sims:
        res = results[run.id]
        row.retrieves.append(api.retrieves.get(run.id, 0))
        if isinstance(res, WatchError):
            row.abandoned += 1
            continue
        last = res.tracker.history[-1].time
        assert last is not None
        row.terminal.append(last - run.terminal_time())
        row.action.extend(run.ra_delays)
        if res.tracker.state.wire == "expired":
            row.expired += 1
    row.max_window = scheduler.max_in_window()
    row.rate_limited = api.rate_limited
    return row


def sdk_poll(ctx: PollContext) -> float:
    """openai-python ``runs.poll``: the first response's ``openai-poll-after-ms``, else 1 s, fixed."""
    return ctx.first_hint if ctx.first_hint is not None else 1.0


def print_table(title: str, rows: list[Row]) -> None:
    """Print one row per poller."""
    print(f"\n{title}")
    head = (
        f"{'poller':<26}{'retrieves/run':>14}{'term p50':>10}{'term p95':>10}{'act p50':>9}{'act p95':>9}"
        f"{'abandoned':>10}{'expired':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.name:<26}{statistics.fmean(r.retrieves):>14.2f}{pct(r.terminal, 0.5):>10.2f}"
            f"{pct(r.terminal, 0.95):>10.2f}{pct(r.action, 0.5):>9.2f}{pct(r.action, 0.95):>9.2f}"
            f"{r.abandoned:>10}{r.expired:>9}"
        )


def dominates(a: Row, b: Row) -> bool:
    """``a`` has fewer retrieves and lower p95 delays than ``b`` and abandons nothing."""
    return (
        statistics.fmean(a.retrieves) < statistics.fmean(b.retrieves)
        and pct(a.terminal, 0.95) < pct(b.terminal, 0.95)
        and pct(a.action, 0.95) < pct(b.action, 0.95)
        and a.abandoned == 0
    )


def main(argv: list[str] | None = None) -> int:
    """Run every scenario, print the tables and the goals; exit 1 if a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", type=Path, default=WORKLOAD)
    parser.add_argument("--runs", type=int, default=None, help="override the workload's run count")
    args = parser.parse_args(argv)
    spec = json.loads(args.workload.read_text())
    n = args.runs or spec["runs"]
    seed = spec["seed"]
    expires = float(spec["expires_after_s"])
    plans = draw_plans(spec, n, seed)
    started = time.perf_counter()
    pollers: list[tuple[str, PollPolicy | None, bool, float | None]] = [
        ("runfsm DEFAULT", DEFAULT, True, None),
        ("runfsm ECONOMY", ECONOMY, True, None),
        ("runfsm RESPONSIVE", RESPONSIVE, True, None),
        # the capped exponential form, tuned the same way: how much the run-age schedule adds
        ("runfsm exp 2s x1.2 cap2.3", Jitter(Exponential(2.0, 1.2, 2.3), 0.05, rng=random.Random(seed)), True, None),
        ("anchor tight_loop 0.1s", Fixed(0.1), False, None),
        ("anchor sdk_poll", sdk_poll, False, None),
        ("anchor seed_backoff", Exponential(0.5, 1.5, 5.0), False, 60.0),
        ("anchor fixed_2_5s", Fixed(2.5), False, None),
        ("runfsm stream watch", None, True, None),
    ]
    base_hint = spec["server_poll_hint_ms"]
    scenarios = {
        "reference": (base_hint["fraction_of_responses"], base_hint["value"] / 1000),
        "server_hints": (
            spec["scenarios"]["server_hints"]["server_poll_hint_ms"]["fraction_of_responses"],
            spec["scenarios"]["server_hints"]["server_poll_hint_ms"]["value"] / 1000,
        ),
    }
    print(
        f"bench_poll: {n} runs, seed {seed}, virtual time; delays in seconds (term: terminal status seen "
        f"after it happened; act: requires_action seen after it happened)"
    )
    verdicts: list[tuple[str, bool]] = []
    hint_blind = {"anchor tight_loop 0.1s", "anchor seed_backoff", "anchor fixed_2_5s"}
    first_rows: dict[str, Row] = {}
    for scenario, hint in scenarios.items():
        rows = []
        for name, policy, create, timeout in pollers:
            if name in hint_blind and name in first_rows:
                rows.append(first_rows[name])  # these loops never read the hint: the same runs give the same figures
                continue
            row = follow_each(
                name,
                plans,
                policy=policy,
                hint=hint,
                use_create_response=create,
                timeout=timeout,
                expires=expires,
                seed=seed,
            )
            first_rows.setdefault(name, row)
            rows.append(row)
        print_table(f"scenario {scenario} (hint on {hint[0]:.0%} of responses, {hint[1]:g} s)", rows)
        by = {r.name: r for r in rows}
        default = by["runfsm DEFAULT"]
        verdicts.append((f"{scenario}: DEFAULT dominates seed_backoff", dominates(default, by["anchor seed_backoff"])))
        beaten = [
            r.name
            for r in rows
            if r.name.startswith("anchor")
            and statistics.fmean(r.retrieves) < statistics.fmean(default.retrieves)
            and pct(r.terminal, 0.95) < pct(default.terminal, 0.95)
        ]
        verdicts.append((f"{scenario}: no anchor beats DEFAULT on retrieves and p95 ({beaten or 'none'})", not beaten))
        verdicts.append((f"{scenario}: stream watch needs 0 retrieves", sum(by["runfsm stream watch"].retrieves) == 0))
    many = spec["scenarios"]["many_runs"]
    row = many_runs(plans, scenario=many, hint=scenarios["reference"], expires=expires, seed=seed)
    # for contrast: the same scheduler with no budget (every run polled when its policy says)
    free = many_runs(plans, scenario=many, hint=scenarios["reference"], expires=expires, seed=seed, budget=10**7)
    print_table(
        f"scenario many_runs ({many['concurrent_runs']} runs at once, budget "
        f"{many['budget_requests_per_minute']}/min, server limit {many['server_rate_limit_per_minute']}/min)",
        [row, free],
    )
    for r in (row, free):
        print(f"{r.name}: largest number of requests in any 60 s window: {r.max_window}; 429s: {r.rate_limited}")
    verdicts.append(("many_runs: scheduler within budget", (row.max_window or 0) <= many["budget_requests_per_minute"]))
    print("\ngoals:")
    for text, ok in verdicts:
        print(f"  [{'ok' if ok else 'MISSED'}] {text}")
    print(f"\n(wall time {time.perf_counter() - started:.1f} s)")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
