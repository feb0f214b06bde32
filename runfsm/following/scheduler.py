"""Following many runs (or background responses, or batches) under one requests-per-minute budget.

The scheduler keeps one :class:`~runfsm.following.core.FollowCore` per run (the same decisions as the
watcher) and sends one request at a time, when the budget allows: runs whose tool outputs are
ready go first, then the earliest ``expires_at``. A 429 pauses every run (the server's
``retry-after``, or the retry backoff), not only the one that got it.

One run's trouble ends only that run, and every added run gets a result: a tool handler that
raises, returns something that is not a list of tool outputs, or hands back a future that fails
ends its run with :class:`~runfsm.following.errors.HandlerFailed` (the handler's exception is the
``__cause__``); a future or coroutine that does not complete within ``handler_timeout`` (or, without
one, before the run's deadline) ends it with :class:`~runfsm.following.errors.HandlerTimeout` and is
cancelled (a coroutine is cancelled at once; a thread pool's future only if it has not started: one
already running finishes, and its result is ignored). A handler that blocks the calling thread cannot
be interrupted: give the sync scheduler a handler that returns a ``concurrent.futures.Future`` (a
thread pool's ``submit``) to time it out.
Any other exception while following one run (a tracker callback that raises, a tracker made with
``on_illegal="raise"``, an adapter that raises something other than ``ApiError``) ends that run
with a :class:`~runfsm.following.errors.WatchError` whose ``__cause__`` it is.

The budget is a :class:`~runfsm.following.budget.TokenBucket` (re-exported here): never more
than ``per_minute`` requests in any 60 s window, whatever the number of runs.

>>> Scheduler(object(), per_minute=60)
Traceback (most recent call last):
  ...
TypeError: Scheduler takes an openai.OpenAI, an azure.ai.agents.AgentsClient or a runfsm.following.RunsAPI, got object

Objects of several lifecycles can share one budget: ``add(batch)`` follows a batch (the
lifecycle is read from the object's ``object`` field, or given as ``lifecycle=``) with the batch
policy, next to runs and background responses. Each lifecycle's API is reached through the same
client (:func:`~runfsm.following.calls.calls_for`).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runfsm.exceptions import ApiError, RunfsmError
from runfsm.following.adapters import POLL_METHODS
from runfsm.following.backoff import PollPolicy, RetryPolicy
from runfsm.following.budget import WINDOW, TokenBucket
from runfsm.following.calls import ObjectCalls, RunCalls, calls_for
from runfsm.following.client import Reply, ToolOutput
from runfsm.following.core import FollowCore, Step, StepKind, WatchResult, follow_tracker
from runfsm.following.errors import HandlerFailed, HandlerTimeout, WatchError
from runfsm.following.profile import profile
from runfsm.lifecycles import preset_for_object
from runfsm.observation import lifecycle_or_run

if TYPE_CHECKING:
    from collections.abc import Mapping

    from runfsm.lifecycle import Lifecycle
    from runfsm.tracker import OnIllegal, RunTracker

__all__ = ["AsyncScheduler", "ScheduledHandler", "Scheduler", "TokenBucket"]

ScheduledHandler = Callable[[Any], "Sequence[ToolOutput] | Future[Sequence[ToolOutput]]"]
"""Gets the ``requires_action`` run; returns the outputs, or a ``Future`` of them (e.g. from a thread pool)."""


def _check_timeout(value: float | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
        raise ValueError(f"handler_timeout must be a positive number of seconds or None, got {value!r}")


@dataclass(slots=True)
class _Job:
    key: tuple[int, float, float, int]
    """(0 for submits / cancels / handlers else 1, due time, expires_at, arrival order)."""
    core: FollowCore[Any]
    calls: RunCalls | ObjectCalls
    step: Step
    on_action: Callable[[Any], Any] | None
    handler_timeout: float | None = None
    pending: Any = None
    """A Future (or asyncio task) of the handler's outputs, while it runs."""
    pending_until: float = math.inf
    """When the handler's future is given up on: its timeout, or the run's deadline."""
    error: WatchError | None = None


class _BaseScheduler:
    """The bookkeeping both twins share: jobs, the bucket, the 429 pause, the order, the decisions."""

    def __init__(
        self,
        client: Any,
        *,
        aio: bool,
        lifecycle: Lifecycle[Any] | None,
        per_minute: int,
        burst: int | None,
        policy: PollPolicy | Mapping[str, PollPolicy] | None,
        retry: RetryPolicy | None,
        grace: float | None,
        on_illegal: OnIllegal,
        clock: Callable[[], float],
        idle_wait: float,
        handler_timeout: float | None,
    ) -> None:
        _check_timeout(handler_timeout)
        self.lifecycle: Lifecycle[Any] = lifecycle_or_run(lifecycle)
        """The lifecycle of what :meth:`add` is given by id (objects say theirs)."""
        self._client = client
        self._aio = aio
        self._calls: dict[str, RunCalls | ObjectCalls] = {}
        self.api: Any = self._calls_of(self.lifecycle).api
        """The adapter of :attr:`lifecycle` in use (a ``RunsAPI`` for runs)."""
        self.handler_timeout = handler_timeout
        self.clock = clock
        self.bucket = TokenBucket(per_minute, burst=burst, now=clock())
        self.policy = policy
        """One policy for every object, one per lifecycle key, or None: each lifecycle's own."""
        self.retry = retry if retry is not None else RetryPolicy()
        self.grace = grace
        self.on_illegal: OnIllegal = on_illegal
        self.idle_wait = idle_wait
        self.paused_until = -math.inf
        self.sent: list[float] = []
        """The time of every request sent, in order (what the budget property is checked on)."""
        self._jobs: list[_Job] = []
        self._seq = itertools.count()
        self._results: dict[str, WatchResult[Any] | WatchError] = {}

    def _calls_of(self, lifecycle: Lifecycle[Any]) -> RunCalls | ObjectCalls:
        calls = self._calls.get(lifecycle.name)
        if calls is None:
            who = "AsyncScheduler" if self._aio else "Scheduler"
            calls = calls_for(self._client, lifecycle, who=who, aio=self._aio, methods=POLL_METHODS)
            self._calls[lifecycle.name] = calls
        return calls

    def _lifecycle_of(self, obj: object, tracker: RunTracker[Any] | None) -> Lifecycle[Any]:
        if tracker is not None:
            return tracker.lifecycle
        kind = obj.get("object") if isinstance(obj, dict) else getattr(obj, "object", None)
        found = preset_for_object(kind) if isinstance(kind, str) and not isinstance(obj, str) else None
        return found if found is not None else self.lifecycle

    def _policy_of(self, lifecycle: Lifecycle[Any]) -> PollPolicy:
        if self.policy is None:
            return profile(lifecycle).policy
        if callable(self.policy):
            return self.policy
        policy = self.policy.get(lifecycle.key)
        return policy if policy is not None else profile(lifecycle).policy

    def add(
        self,
        run: object,
        *,
        thread_id: str | None = None,
        lifecycle: Lifecycle[Any] | None = None,
        on_action: Callable[[Any], Any] | None = None,
        tracker: RunTracker[Any] | None = None,
        timeout: float | None = None,
        handler_timeout: float | None = None,
    ) -> RunTracker[Any]:
        """Start following a run (or another lifecycle's object); returns its tracker (register callbacks on it).

        ``run`` is a run object from ``runs.create`` (observed without a request) or a run id
        (then ``thread_id=`` is required). A background response or a batch is given as the
        object (its ``object`` field names its lifecycle) or by id with ``lifecycle=``; the
        scheduler's ``lifecycle`` is assumed for ids otherwise. ``on_action(run)`` returns the tool outputs, or a
        future of them (a ``concurrent.futures.Future``; for the async twin, an awaitable), so
        that slow tools do not hold up the other runs. ``handler_timeout`` (seconds, for this
        run; the scheduler's by default) bounds how long such a future may take. Adding a run
        that is already followed raises ``ValueError``: each run has one result.
        """
        followed = lifecycle_or_run(lifecycle) if lifecycle is not None else self._lifecycle_of(run, tracker)
        if tracker is not None and tracker.lifecycle is not followed:
            raise ValueError(f"the tracker follows {tracker.lifecycle.name}, not {followed.name}")
        calls = self._calls_of(followed)
        thread, run_id, obj = calls.split(run, thread_id)
        _check_timeout(handler_timeout)
        if run_id in self._results or any(j.core.run_id == run_id for j in self._jobs):
            what = "run" if thread is not None else followed.title.lower()
            raise ValueError(f"{what} {run_id} is already added to this scheduler")
        if on_action is not None and not any(state.is_paused for state in followed.states):
            raise TypeError(f"on_action: a {followed.title.lower()} never waits for tool outputs")
        if tracker is None:
            tracker = follow_tracker(
                run_id, mode="poll", on_illegal=self.on_illegal, clock=self.clock, lifecycle=followed
            )
        core = FollowCore(
            thread,
            run_id,
            tracker=tracker,
            policy=self._policy_of(followed),
            retry=self.retry,
            clock=self.clock,
            timeout=timeout,
            grace=self.grace,
            has_handler=on_action is not None,
        )
        limit = handler_timeout if handler_timeout is not None else self.handler_timeout
        job = _Job((0, 0.0, 0.0, 0), core, calls, Step(StepKind.RETRIEVE), on_action, handler_timeout=limit)
        self._advance(job, (lambda: core.on_reply(Reply(obj))) if obj is not None else core.retrieve_now)
        return tracker

    # -- the order of things

    def _push(self, job: _Job) -> None:
        if job.step.kind is StepKind.DONE:
            assert job.core.run_id is not None
            self._results[job.core.run_id] = job.error if job.error is not None else job.core.result
            return
        now = self.clock()
        urgent = job.step.kind is not StepKind.RETRIEVE
        expires = job.core.expires_at if job.core.expires_at is not None else math.inf
        job.key = (0 if urgent else 1, now if urgent else now + job.step.wait, expires, next(self._seq))
        self._jobs.append(job)

    def _next(self, now: float) -> tuple[_Job | None, float]:
        """The job to carry out now (taken out of the queue, its token spent), or None and how long to wait."""
        ready = [j for j in self._jobs if j.pending is None and j.key[1] <= now]
        if not ready:
            waits = [j.key[1] - now for j in self._jobs if j.pending is None]
            waits.extend(min(self.idle_wait, j.pending_until - now) for j in self._jobs if j.pending is not None)
            return None, max(min(waits, default=self.idle_wait), 1e-6)
        handlers = [j for j in ready if j.step.kind is StepKind.HANDLE]
        if handlers:  # calling a handler costs no request
            job = handlers[0]
        else:
            start = max(self.bucket.ready_at(now), self.paused_until)
            if start > now:
                return None, start - now
            # runs with something to send first, then the earliest expires_at, then the longest overdue
            job = min(ready, key=lambda j: (j.key[0], j.key[2], j.key[1], j.key[3]))
            if not self.bucket.take(now):  # rounding left the token a hair short: wait for it
                return None, max(self.bucket.ready_at(now) - now, 1e-6)
            self.sent.append(now)
        self._jobs.remove(job)
        return job, 0.0

    def _settle_handlers(self, now: float) -> None:
        """Apply the outputs of handler futures that completed; give up on those past their time."""
        for job in [j for j in self._jobs if j.pending is not None]:
            pending = job.pending
            if pending.done():
                job.pending = None
                if pending.cancelled():
                    self._handler_failed(job, "the handler's future was cancelled", None)
                elif pending.exception() is not None:
                    err = pending.exception()
                    self._handler_failed(job, f"the handler's future failed: {type(err).__name__}: {err}", err)
                else:
                    self._outputs(job, pending.result())
            elif now >= job.pending_until:
                job.pending = None
                pending.cancel()
                which = "its timeout" if job.pending_until != job.core.deadline else "the run's deadline"
                self._handler_failed(
                    job, f"the handler's future did not complete before {which}", None, kind=HandlerTimeout
                )

    # -- applying the core's decisions

    def _end(self, job: _Job, error: WatchError) -> None:
        job.error, job.step = error, Step(StepKind.DONE)
        if job in self._jobs:
            self._jobs.remove(job)
        self._push(job)

    def _advance(self, job: _Job, decide: Callable[[], Step]) -> None:
        """Apply one decision of the core; an error ends only this run."""
        try:
            step = decide()
        except WatchError as err:
            self._end(job, err)
            return
        except RunfsmError as err:  # a callback, an on_illegal="raise" tracker: recorded, the other runs go on
            self._end(job, self._wrapped(job, f"following stopped: {type(err).__name__}: {err}", err, WatchError))
            return
        job.step = step
        if job in self._jobs:
            self._jobs.remove(job)
        self._push(job)

    def _wrapped(self, job: _Job, message: str, cause: BaseException | None, kind: type[WatchError]) -> WatchError:
        core = job.core
        error = kind(message, run_id=core.run_id, thread_id=core.thread_id, tracker=core.tracker)
        error.__cause__ = cause
        return error

    def _handler_failed(
        self, job: _Job, message: str, cause: BaseException | None, *, kind: type[HandlerFailed] = HandlerFailed
    ) -> None:
        job.core.result.notes.append(message)
        self._end(job, self._wrapped(job, message, cause, kind))

    def _call_handler(self, job: _Job) -> tuple[bool, Any]:
        """``(True, what the handler returned)``, or ``(False, None)`` after ending the run because it raised."""
        assert job.on_action is not None  # the core asks only when there is a handler
        try:
            return True, job.on_action(job.step.run)
        except Exception as err:  # noqa: BLE001 - the user's handler: its error becomes this run's result
            self._handler_failed(job, f"the handler raised {type(err).__name__}: {err}", err)
            return False, None

    def _outputs(self, job: _Job, outputs: Any) -> None:
        """The handler's outputs are in: the next step is their submit (or the run ends if they are no outputs)."""
        job.pending = None
        try:
            step = job.core.handled(outputs)
        except TypeError as err:
            self._handler_failed(job, str(err), err)
            return
        self._advance(job, lambda: step)

    def _park(self, job: _Job, pending: Any) -> None:
        """The handler returned a future: wait for it outside the queue's order, until its time is up."""
        job.pending = pending
        limit = job.handler_timeout
        job.pending_until = min(self.clock() + limit, job.core.deadline) if limit is not None else job.core.deadline
        self._jobs.append(job)

    def _request_failed(self, job: _Job, err: Exception) -> None:
        """The API adapter raised something other than ApiError: this run ends, the error recorded."""
        self._end(
            job,
            self._wrapped(
                job, f"the {job.step.kind.value} request raised {type(err).__name__}: {err}", err, WatchError
            ),
        )

    def _answered(self, job: _Job, reply: Reply | list[Any] | None, failure: ApiError | None) -> None:
        if failure is None:
            if isinstance(reply, list):  # the run's steps (StepKind.STEPS)
                steps = reply
                self._advance(job, lambda: job.core.on_steps(steps))
                return
            assert reply is not None
            answer = reply
            self._advance(job, lambda: job.core.on_reply(answer))
            return
        if failure.kind == "rate_limited":
            pause = failure.retry_after if failure.retry_after is not None else self.retry.wait(1)
            self.paused_until = max(self.paused_until, self.clock() + pause)
        kind = job.step.kind
        self._advance(job, lambda: job.core.on_failure(failure, request=kind))

    def max_in_window(self, window: float = WINDOW) -> int:
        """The largest number of requests sent in any ``window`` seconds (closed interval)."""
        best, lo = 0, 0
        for hi, t in enumerate(self.sent):
            while t - self.sent[lo] > window:
                lo += 1
            best = max(best, hi - lo + 1)
        return best


class Scheduler(_BaseScheduler):
    """Follows many runs by polling, under one requests-per-minute budget (one request at a time).

    Add runs with :meth:`add`, then call :meth:`run`, which returns when every run has ended (or
    its watch failed: the :class:`~runfsm.exceptions.WatchError` is in the results, the other
    runs go on). ``clock`` and ``sleep`` are injectable, like the watcher's.
    """

    def __init__(
        self,
        client: Any,
        *,
        per_minute: int,
        burst: int | None = None,
        lifecycle: Lifecycle[Any] | None = None,
        policy: PollPolicy | Mapping[str, PollPolicy] | None = None,
        retry: RetryPolicy | None = None,
        grace: float | None = None,
        on_illegal: OnIllegal = "log",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
        idle_wait: float = 0.05,
        handler_timeout: float | None = None,
    ) -> None:
        super().__init__(
            client,
            aio=False,
            lifecycle=lifecycle,
            per_minute=per_minute,
            burst=burst,
            policy=policy,
            retry=retry,
            grace=grace,
            on_illegal=on_illegal,
            clock=clock,
            idle_wait=idle_wait,
            handler_timeout=handler_timeout,
        )
        self.sleep = sleep

    def run(self) -> dict[str, WatchResult[Any] | WatchError]:
        """Follow every added run to its end; results by run id (one per added run)."""
        while self._jobs:
            self._settle_handlers(self.clock())
            job, wait = self._next(self.clock())
            if job is None:
                if self._jobs:
                    self.sleep(wait)
                continue
            if job.step.kind is StepKind.HANDLE:
                called, outputs = self._call_handler(job)
                if not called:
                    continue
                if isinstance(outputs, Future):
                    self._park(job, outputs)
                elif inspect.isawaitable(outputs):
                    if inspect.iscoroutine(outputs):
                        outputs.close()  # never awaited: close it rather than leak a warning
                    self._handler_failed(
                        job, "the handler returned an awaitable: use AsyncScheduler for async handlers", None
                    )
                else:
                    self._outputs(job, outputs)
                continue
            try:
                reply, failure = self._send(job)
            except Exception as err:  # noqa: BLE001 - recorded as this run's result
                self._request_failed(job, err)
                continue
            self._answered(job, reply, failure)
        return self._results

    def _send(self, job: _Job) -> tuple[Reply | list[Any] | None, ApiError | None]:
        core, step, calls = job.core, job.step, job.calls
        assert core.run_id is not None
        try:
            if step.kind is StepKind.STEPS:
                return calls.steps(core), None
            if step.kind is StepKind.RETRIEVE:
                return calls.retrieve(core), None
            if step.kind is StepKind.SUBMIT:
                return calls.submit(core, step.outputs), None
            return calls.cancel(core), None
        except ApiError as err:
            return None, err


class AsyncScheduler(_BaseScheduler):
    """The asyncio twin of :class:`Scheduler`: requests of different runs are in flight together.

    The budget still gates when each request starts; a run has at most one request in flight.
    Handlers may be coroutine functions (run as tasks, so slow tools hold up nobody).
    """

    def __init__(
        self,
        client: Any,
        *,
        per_minute: int,
        burst: int | None = None,
        lifecycle: Lifecycle[Any] | None = None,
        policy: PollPolicy | Mapping[str, PollPolicy] | None = None,
        retry: RetryPolicy | None = None,
        grace: float | None = None,
        on_illegal: OnIllegal = "log",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        idle_wait: float = 0.05,
        handler_timeout: float | None = None,
    ) -> None:
        super().__init__(
            client,
            aio=True,
            lifecycle=lifecycle,
            per_minute=per_minute,
            burst=burst,
            policy=policy,
            retry=retry,
            grace=grace,
            on_illegal=on_illegal,
            clock=clock,
            idle_wait=idle_wait,
            handler_timeout=handler_timeout,
        )
        self.sleep = sleep

    async def run(self) -> dict[str, WatchResult[Any] | WatchError]:
        """Follow every added run to its end; results by run id (one per added run)."""
        in_flight: dict[asyncio.Task[tuple[Reply | list[Any] | None, ApiError | None]], _Job] = {}
        while self._jobs or in_flight:
            self._settle_handlers(self.clock())
            job, wait = self._next(self.clock()) if self._jobs else (None, self.idle_wait)
            if job is None:
                await self._wait(wait, set(in_flight))
            elif job.step.kind is StepKind.HANDLE:
                called, outputs = self._call_handler(job)
                if not called:
                    pass
                elif isinstance(outputs, Future):
                    self._park(job, asyncio.wrap_future(outputs))
                elif inspect.isawaitable(outputs):
                    self._park(job, asyncio.ensure_future(outputs))
                else:
                    self._outputs(job, outputs)
            else:
                in_flight[asyncio.create_task(self._send(job))] = job
                await asyncio.sleep(0)  # let the request start
            for task in [t for t in in_flight if t.done()]:
                sent = in_flight.pop(task)
                if task.exception() is not None:
                    error = task.exception()
                    assert isinstance(error, Exception)
                    self._request_failed(sent, error)
                    continue
                reply, failure = task.result()
                self._answered(sent, reply, failure)
        return self._results

    async def _wait(self, seconds: float, tasks: set[asyncio.Task[Any]]) -> None:
        """Sleep ``seconds`` on the injected clock, or less if a request in flight comes back first."""
        if not tasks:
            await self.sleep(seconds)
            await asyncio.sleep(0)  # an injected sleep may not yield: let handler tasks run
            return
        sleeper = asyncio.ensure_future(self.sleep(seconds))
        await asyncio.wait({sleeper, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        if not sleeper.done():
            sleeper.cancel()

    async def _send(self, job: _Job) -> tuple[Reply | list[Any] | None, ApiError | None]:
        core, step, calls = job.core, job.step, job.calls
        assert core.run_id is not None
        try:
            if step.kind is StepKind.STEPS:
                return await calls.steps(core), None
            if step.kind is StepKind.RETRIEVE:
                return await calls.retrieve(core), None
            if step.kind is StepKind.SUBMIT:
                return await calls.submit(core, step.outputs), None
            return await calls.cancel(core), None
        except ApiError as err:
            return None, err
