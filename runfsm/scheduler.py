"""Following many runs under one requests-per-minute budget: :class:`TokenBucket` and :class:`Scheduler`.

The scheduler keeps one :class:`~runfsm.follow.FollowCore` per run (the same decisions as the
watcher) and sends one request at a time, when the budget allows: runs whose tool outputs are
ready go first, then the earliest ``expires_at``. A 429 pauses every run (the server's
``retry-after``, or the retry backoff), not only the one that got it.

The budget is a token bucket holding at most ``burst`` tokens, refilled at
``(per_minute - burst) / 60`` tokens a second: any 60 s window then sees at most
``burst + (per_minute - burst) = per_minute`` requests, whatever the number of runs.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from runfsm.backoff import DEFAULT, PollPolicy, RetryPolicy
from runfsm.client import OpenAIRuns, Reply, RunsAPI, ToolOutput
from runfsm.exceptions import ApiError, WatchError
from runfsm.follow import DEFAULT_GRACE, FollowCore, Step, StepKind, WatchResult
from runfsm.tracker import OnIllegal, RunTracker

__all__ = ["ScheduledHandler", "Scheduler", "TokenBucket"]

ScheduledHandler = Callable[[Any], "Sequence[ToolOutput] | Future[Sequence[ToolOutput]]"]
"""Gets the ``requires_action`` run; returns the outputs, or a ``Future`` of them (e.g. from a thread pool)."""

_WINDOW = 60.0


class TokenBucket:
    """A request budget: never more than ``per_minute`` requests in any 60 s window.

    >>> bucket = TokenBucket(120, burst=2, now=0.0)
    >>> bucket.take(0.0), bucket.take(0.0), bucket.ready_at(0.0)
    (True, True, 0.5)
    """

    __slots__ = ("_last", "_level", "burst", "per_minute", "rate")

    def __init__(self, per_minute: int, *, burst: int | None = None, now: float = 0.0) -> None:
        if isinstance(per_minute, bool) or not isinstance(per_minute, int) or per_minute < 2:
            raise ValueError(f"per_minute must be an integer >= 2, got {per_minute!r}")
        if burst is None:
            burst = max(1, per_minute // 10)
        if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst < per_minute:
            raise ValueError(f"burst must be an integer in [1, per_minute), got {burst!r}")
        self.per_minute = per_minute
        self.burst = burst
        self.rate = (per_minute - burst) / _WINDOW
        self._level = float(burst)
        self._last = now

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._level = min(float(self.burst), self._level + (now - self._last) * self.rate)
            self._last = now

    def ready_at(self, now: float) -> float:
        """The earliest time (>= ``now``) at which a request may be sent."""
        self._refill(now)
        if self._level >= 1.0:
            return now
        return now + (1.0 - self._level) / self.rate

    def take(self, now: float) -> bool:
        """Spend one token at ``now`` if there is one; True if spent."""
        self._refill(now)
        if self._level < 1.0 - 1e-6:  # rounding at ready_at() on unix-time clocks; far below one token per window
            return False
        self._level -= 1.0
        return True


@dataclass(order=True, slots=True)
class _Job:
    key: tuple[int, float, float, int]
    core: FollowCore = field(compare=False)
    step: Step = field(compare=False)
    on_action: ScheduledHandler | None = field(compare=False)
    pending: Future[Sequence[ToolOutput]] | None = field(default=None, compare=False)
    error: WatchError | None = field(default=None, compare=False)


class Scheduler:
    """Follows many runs by polling, under one requests-per-minute budget.

    Add runs with :meth:`add` (a run object from ``runs.create``, or a run id with
    ``thread_id=``), then call :meth:`run`, which returns when every run has ended (or its
    watch failed: the :class:`~runfsm.exceptions.WatchError` is in the result, the other runs
    go on). ``clock`` and ``sleep`` are injectable, like the watcher's.
    """

    def __init__(
        self,
        client: Any,
        *,
        per_minute: int,
        burst: int | None = None,
        policy: PollPolicy = DEFAULT,
        retry: RetryPolicy | None = None,
        grace: float = DEFAULT_GRACE,
        on_illegal: OnIllegal = "log",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
        idle_wait: float = 0.05,
    ) -> None:
        if all(callable(getattr(client, n, None)) for n in ("retrieve", "submit_tool_outputs", "cancel")):
            self.api: RunsAPI = client
        elif hasattr(client, "beta"):
            self.api = OpenAIRuns(client)
        else:
            raise TypeError(
                f"Scheduler takes an openai.OpenAI client or a runfsm.client.RunsAPI, got {type(client).__name__}"
            )
        self.clock = clock
        self.sleep = sleep
        self.bucket = TokenBucket(per_minute, burst=burst, now=clock())
        self.policy = policy
        self.retry = retry if retry is not None else RetryPolicy()
        self.grace = grace
        self.on_illegal: OnIllegal = on_illegal
        self.idle_wait = idle_wait
        self.paused_until = -math.inf
        self.sent: list[float] = []
        """The time of every request sent, in order (what the budget property is checked on)."""
        self._jobs: list[_Job] = []
        self._seq = itertools.count()
        self._results: dict[str, WatchResult | WatchError] = {}

    def add(
        self,
        run: object,
        *,
        thread_id: str | None = None,
        on_action: ScheduledHandler | None = None,
        tracker: RunTracker | None = None,
        timeout: float | None = None,
    ) -> RunTracker:
        """Start following a run; returns its tracker (register callbacks on it)."""
        from runfsm.watcher import _split  # noqa: PLC0415 - shared argument parsing, no cycle at import time

        thread, run_id, obj = _split(run, thread_id)
        if tracker is None:
            tracker = RunTracker(
                run_id, mode="poll", on_illegal=self.on_illegal, on_missing_call="assume", clock=self.clock
            )
        core = FollowCore(
            thread,
            run_id,
            tracker=tracker,
            policy=self.policy,
            retry=self.retry,
            clock=self.clock,
            timeout=timeout,
            grace=self.grace,
            has_handler=on_action is not None,
        )
        step = core.on_reply(Reply(obj)) if obj is not None else core.retrieve_now()
        self._push(_Job((0, 0.0, 0.0, 0), core, step, on_action))
        return tracker

    def _push(self, job: _Job) -> None:
        if job.step.kind is StepKind.DONE:
            assert job.core.run_id is not None
            self._results[job.core.run_id] = job.error if job.error is not None else job.core.result
            return
        now = self.clock()
        urgent = job.step.kind is not StepKind.RETRIEVE
        expires = job.core.expires_at if job.core.expires_at is not None else math.inf
        job.key = (0 if urgent else 1, now + job.step.wait if not urgent else now, expires, next(self._seq))
        self._jobs.append(job)

    def run(self) -> dict[str, WatchResult | WatchError]:
        """Follow every added run to its end; results by run id."""
        while self._jobs:
            now = self.clock()
            self._resolve_handlers(now)
            ready = [j for j in self._jobs if j.pending is None and j.key[1] <= now]
            if not ready:
                self._idle(now)
                continue
            start = max(self.bucket.ready_at(now), self.paused_until)
            if start > now:
                self.sleep(start - now)
                continue
            # earliest due first within a class; among ready jobs, urgent ones then earliest expires_at
            job = min(ready, key=lambda j: (j.key[0], j.key[2], j.key[1], j.key[3]))
            self._jobs.remove(job)
            self._execute(job, now)
        return self._results

    def _idle(self, now: float) -> None:
        dues = [j.key[1] for j in self._jobs if j.pending is None]
        waits = [max(d - now, 0.0) for d in dues]
        if any(j.pending is not None for j in self._jobs):
            waits.append(self.idle_wait)
        self.sleep(max(min(waits), 1e-6))

    def _resolve_handlers(self, now: float) -> None:
        for job in list(self._jobs):
            future = job.pending
            if future is not None and future.done():
                job.pending = None
                outputs = future.result()
                self._advance(job, lambda: job.core.handled(outputs))  # noqa: B023 - called at once

    def _advance(self, job: _Job, decide: Callable[[], Step]) -> None:
        """Apply one decision of the core; a WatchError ends only this run."""
        try:
            job.step = decide()
        except WatchError as err:
            job.error, job.step = err, Step(StepKind.DONE)
        if job in self._jobs:
            self._jobs.remove(job)
        if job.step.kind is StepKind.HANDLE:
            self._handle(job)
        else:
            self._push(job)

    def _handle(self, job: _Job) -> None:
        assert job.on_action is not None
        outputs = job.on_action(job.step.run)
        if isinstance(outputs, Future):
            job.pending = outputs
            self._jobs.append(job)
            return
        self._advance(job, lambda: job.core.handled(outputs))

    def _execute(self, job: _Job, now: float) -> None:
        if job.step.kind is StepKind.HANDLE:
            self._handle(job)
            return
        if not self.bucket.take(now):  # rounding left the token a hair short: wait for it
            self._jobs.append(job)
            self.sleep(max(self.bucket.ready_at(now) - now, 1e-6))
            return
        self.sent.append(now)
        core, step = job.core, job.step
        assert core.run_id is not None
        try:
            if step.kind is StepKind.RETRIEVE:
                reply = self.api.retrieve(core.thread_id, core.run_id)
            elif step.kind is StepKind.SUBMIT:
                reply = self.api.submit_tool_outputs(core.thread_id, core.run_id, step.outputs)
            else:
                reply = self.api.cancel(core.thread_id, core.run_id)
        except ApiError as err:
            failure = err
        else:
            self._advance(job, lambda: core.on_reply(reply))
            return
        if failure.kind == "rate_limited":
            pause = failure.retry_after if failure.retry_after is not None else self.retry.wait(1)
            self.paused_until = max(self.paused_until, self.clock() + pause)
        self._advance(job, lambda: core.on_failure(failure, request=step.kind))

    def max_in_window(self, window: float = _WINDOW) -> int:
        """The largest number of requests sent in any ``window`` seconds (closed interval)."""
        best, lo = 0, 0
        for hi, t in enumerate(self.sent):
            while t - self.sent[lo] > window:
                lo += 1
            best = max(best, hi - lo + 1)
        return best
