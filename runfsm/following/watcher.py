"""Following one run: :class:`Watcher` (sync) and :class:`AsyncWatcher`, twins over one decision core.

``watch`` creates a run with ``stream=True`` and follows its SSE events (zero status retrieves),
joining the create and submit streams by run id, and falls back to polling if a stream breaks.
``poll`` follows an existing run by retrieving it, spaced by a polling policy
(:mod:`runfsm.following.backoff`). ``cancel`` asks for a cancel and follows ``cancelling`` to whatever
terminal status really comes. Every observation goes to a :class:`~runfsm.tracker.RunTracker`,
so its callbacks fire and illegal jumps are caught. What to do after each response is decided
by :class:`~runfsm.following.core.FollowCore`; the twins differ only in I/O and sleeping.

>>> from runfsm.following.watcher import Watcher
>>> Watcher(object())
Traceback (most recent call last):
  ...
TypeError: Watcher takes an openai.OpenAI, an azure.ai.agents.AgentsClient or a runfsm.following.RunsAPI, got object
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from runfsm.exceptions import ApiError
from runfsm.following.adapters import async_runs_api, runs_api
from runfsm.following.backoff import DEFAULT, PollPolicy, RetryPolicy
from runfsm.following.client import AsyncRunsAPI, Reply, RunsAPI, ToolOutput
from runfsm.following.core import DEFAULT_GRACE, FollowCore, Step, StepKind, WatchResult, follow_tracker

if TYPE_CHECKING:
    from runfsm.tracker import Mode, OnIllegal, RunTracker

__all__ = ["ActionHandler", "AsyncActionHandler", "AsyncWatcher", "Watcher"]

ActionHandler = Callable[[Any], Sequence[ToolOutput]]
"""Gets the ``requires_action`` run; returns one ``{"tool_call_id", "output"}`` per tool call."""
AsyncActionHandler = Callable[[Any], Sequence[ToolOutput] | Awaitable[Sequence[ToolOutput]]]
"""The same, for :class:`AsyncWatcher`; may be a coroutine function."""


def _split(run: object, thread_id: str | None) -> tuple[str, str, object | None]:
    """``(thread_id, run_id, run object or None)`` from a run object or a run id."""
    if isinstance(run, str):
        if thread_id is None:
            raise TypeError("thread_id= is required when the run is given by id")
        return thread_id, run, None
    run_id = run.get("id") if isinstance(run, dict) else getattr(run, "id", None)
    owner = run.get("thread_id") if isinstance(run, dict) else getattr(run, "thread_id", None)
    if not isinstance(run_id, str):
        raise TypeError(f"expected a run id or a run object with an 'id', got {type(run).__name__}")
    thread = thread_id if thread_id is not None else owner
    if not isinstance(thread, str):
        raise TypeError("thread_id= is required: the run object does not name its thread")
    return thread, run_id, run


class _BaseWatcher:
    """Settings and the core factory shared by the twins."""

    def __init__(
        self,
        *,
        policy: PollPolicy = DEFAULT,
        retry: RetryPolicy | None = None,
        grace: float = DEFAULT_GRACE,
        on_illegal: OnIllegal = "log",
        respect_hint: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not callable(policy):
            raise TypeError(f"policy must be callable (see runfsm.following.backoff), got {policy!r}")
        self.policy = policy
        self.retry = retry if retry is not None else RetryPolicy()
        self.grace = grace
        self.on_illegal: OnIllegal = on_illegal
        self.respect_hint = respect_hint
        self.clock = clock

    def _core(
        self,
        thread_id: str,
        run_id: str | None,
        *,
        tracker: RunTracker | None,
        mode: Mode,
        timeout: float | None,
        has_handler: bool,
    ) -> FollowCore:
        if tracker is None:
            tracker = follow_tracker(run_id, mode=mode, on_illegal=self.on_illegal, clock=self.clock)
        else:
            tracker.mode = mode
        return FollowCore(
            thread_id,
            run_id,
            tracker=tracker,
            policy=self.policy,
            retry=self.retry,
            clock=self.clock,
            timeout=timeout,
            grace=self.grace,
            has_handler=has_handler,
            respect_hint=self.respect_hint,
        )


class Watcher(_BaseWatcher):
    """Follows runs with a synchronous client: ``openai.OpenAI``, ``azure.ai.agents.AgentsClient`` or a ``RunsAPI``.

    ``clock`` (unix seconds, compared with ``expires_at``) and ``sleep`` are injectable, so a
    test drives a watch on a virtual clock. Requests are retried by the watcher, not the SDK
    (see :mod:`runfsm.following.client`). Pass ``tracker=`` to register callbacks first; a tracker made
    with ``on_illegal="raise"`` ends the watch with :class:`~runfsm.exceptions.IllegalTransition`
    on an illegal jump (the default tracker logs it and goes on).
    """

    def __init__(
        self,
        client: Any,
        *,
        policy: PollPolicy = DEFAULT,
        retry: RetryPolicy | None = None,
        grace: float = DEFAULT_GRACE,
        on_illegal: OnIllegal = "log",
        respect_hint: bool = True,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        super().__init__(
            policy=policy, retry=retry, grace=grace, on_illegal=on_illegal, respect_hint=respect_hint, clock=clock
        )
        self.api: RunsAPI = runs_api(client, who="Watcher")
        self.sleep = sleep

    def poll(
        self,
        run: object,
        *,
        thread_id: str | None = None,
        on_action: ActionHandler | None = None,
        tracker: RunTracker | None = None,
        timeout: float | None = None,
    ) -> WatchResult:
        """Follow a run by polling until it ends (or pauses, when there is no ``on_action`` handler).

        ``run`` is the run object returned by ``runs.create`` (observed without a request) or
        a run id (then ``thread_id=`` is required). ``timeout`` (seconds) caps the watch;
        without it the watch lasts until the run's ``expires_at`` plus the grace period.
        """
        thread, run_id, obj = _split(run, thread_id)
        core = self._core(thread, run_id, tracker=tracker, mode="poll", timeout=timeout, has_handler=bool(on_action))
        step = core.on_reply(Reply(obj)) if obj is not None else core.retrieve_now()
        return self._drive(core, step, on_action)

    def cancel(
        self,
        run: object,
        *,
        thread_id: str | None = None,
        tracker: RunTracker | None = None,
        timeout: float | None = None,
    ) -> WatchResult:
        """Ask the server to cancel the run, then follow it to whatever terminal status really comes."""
        thread, run_id, obj = _split(run, thread_id)
        core = self._core(thread, run_id, tracker=tracker, mode="poll", timeout=timeout, has_handler=False)
        if obj is not None:
            core.on_reply(Reply(obj))
        if core.tracker.is_terminal:
            return core.result
        return self._drive(core, core.request_cancel(), None)

    def watch(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        on_action: ActionHandler | None = None,
        tracker: RunTracker | None = None,
        timeout: float | None = None,
        **create_params: Any,
    ) -> WatchResult:
        """Create a run with ``stream=True`` and follow it through its SSE streams, polling only if a stream breaks."""
        core = self._core(thread_id, None, tracker=tracker, mode="stream", timeout=timeout, has_handler=bool(on_action))
        params = {"assistant_id": assistant_id, **create_params}
        core.result.streams += 1
        step = self._consume(core, self.api.create_stream(thread_id, params))
        return self._drive(core, step, on_action, stream=True, create=lambda: self.api.create_stream(thread_id, params))

    # -- the loop

    def _consume(self, core: FollowCore, events: Iterator[Any]) -> Step:
        try:
            for event in events:
                step = core.on_event(event)
                if step is not None:
                    close = getattr(events, "close", None)
                    if close is not None:
                        close()
                    return step
        except ApiError as err:
            return core.on_stream_end(err)
        return core.on_stream_end()

    def _drive(
        self,
        core: FollowCore,
        step: Step,
        on_action: ActionHandler | None,
        *,
        stream: bool = False,
        create: Callable[[], Iterator[Any]] | None = None,
    ) -> WatchResult:
        while step.kind is not StepKind.DONE:
            if step.kind is StepKind.CREATE:
                assert create is not None  # only a watch that created its run is told to create it again
                if step.wait > 0:
                    self.sleep(step.wait)
                core.result.streams += 1
                step = self._consume(core, create())
                continue
            if step.kind is StepKind.HANDLE:
                assert on_action is not None  # the core asks only when there is a handler
                step = core.handled(on_action(step.run))
                continue
            if step.kind is StepKind.SUBMIT and stream and not core.result.fell_back:
                assert core.run_id is not None
                core.result.streams += 1
                step = self._consume(core, self.api.submit_stream(core.thread_id, core.run_id, step.outputs))
                continue
            if step.wait > 0:
                self.sleep(step.wait)
            step = self._request(core, step)
        return core.result

    def _request(self, core: FollowCore, step: Step) -> Step:
        if step.kind is StepKind.LOCATE:
            try:
                found = self.api.latest_run(core.thread_id)
            except ApiError as err:
                return core.on_failure(err, request=step.kind)
            return core.on_located(found)
        assert core.run_id is not None
        if step.kind is StepKind.STEPS:
            try:
                steps = self.api.list_run_steps(core.thread_id, core.run_id)
            except ApiError as err:
                return core.on_failure(err, request=step.kind)
            return core.on_steps(steps)
        try:
            if step.kind is StepKind.RETRIEVE:
                reply = self.api.retrieve(core.thread_id, core.run_id)
            elif step.kind is StepKind.SUBMIT:
                reply = self.api.submit_tool_outputs(core.thread_id, core.run_id, step.outputs)
            else:
                reply = self.api.cancel(core.thread_id, core.run_id)
        except ApiError as err:
            return core.on_failure(err, request=step.kind)
        return core.on_reply(reply)


class AsyncWatcher(_BaseWatcher):
    """The asyncio twin of :class:`Watcher`: ``openai.AsyncOpenAI``, the aio ``AgentsClient`` or an ``AsyncRunsAPI``."""

    def __init__(
        self,
        client: Any,
        *,
        policy: PollPolicy = DEFAULT,
        retry: RetryPolicy | None = None,
        grace: float = DEFAULT_GRACE,
        on_illegal: OnIllegal = "log",
        respect_hint: bool = True,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            policy=policy, retry=retry, grace=grace, on_illegal=on_illegal, respect_hint=respect_hint, clock=clock
        )
        self.api: AsyncRunsAPI = async_runs_api(client, who="AsyncWatcher")
        self.sleep = sleep

    async def poll(
        self,
        run: object,
        *,
        thread_id: str | None = None,
        on_action: AsyncActionHandler | None = None,
        tracker: RunTracker | None = None,
        timeout: float | None = None,
    ) -> WatchResult:
        """See :meth:`Watcher.poll`; ``on_action`` may be a coroutine function."""
        thread, run_id, obj = _split(run, thread_id)
        core = self._core(thread, run_id, tracker=tracker, mode="poll", timeout=timeout, has_handler=bool(on_action))
        step = core.on_reply(Reply(obj)) if obj is not None else core.retrieve_now()
        return await self._drive(core, step, on_action)

    async def cancel(
        self,
        run: object,
        *,
        thread_id: str | None = None,
        tracker: RunTracker | None = None,
        timeout: float | None = None,
    ) -> WatchResult:
        """See :meth:`Watcher.cancel`."""
        thread, run_id, obj = _split(run, thread_id)
        core = self._core(thread, run_id, tracker=tracker, mode="poll", timeout=timeout, has_handler=False)
        if obj is not None:
            core.on_reply(Reply(obj))
        if core.tracker.is_terminal:
            return core.result
        return await self._drive(core, core.request_cancel(), None)

    async def watch(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        on_action: AsyncActionHandler | None = None,
        tracker: RunTracker | None = None,
        timeout: float | None = None,
        **create_params: Any,
    ) -> WatchResult:
        """See :meth:`Watcher.watch`."""
        core = self._core(thread_id, None, tracker=tracker, mode="stream", timeout=timeout, has_handler=bool(on_action))
        params = {"assistant_id": assistant_id, **create_params}
        core.result.streams += 1
        step = await self._consume(core, self.api.create_stream(thread_id, params))
        return await self._drive(
            core, step, on_action, stream=True, create=lambda: self.api.create_stream(thread_id, params)
        )

    async def _consume(self, core: FollowCore, events: AsyncIterator[Any]) -> Step:
        try:
            async for event in events:
                step = core.on_event(event)
                if step is not None:
                    close = getattr(events, "aclose", None)
                    if close is not None:
                        await close()
                    return step
        except ApiError as err:
            return core.on_stream_end(err)
        return core.on_stream_end()

    async def _drive(
        self,
        core: FollowCore,
        step: Step,
        on_action: AsyncActionHandler | None,
        *,
        stream: bool = False,
        create: Callable[[], AsyncIterator[Any]] | None = None,
    ) -> WatchResult:
        while step.kind is not StepKind.DONE:
            if step.kind is StepKind.CREATE:
                assert create is not None  # only a watch that created its run is told to create it again
                if step.wait > 0:
                    await self.sleep(step.wait)
                core.result.streams += 1
                step = await self._consume(core, create())
                continue
            if step.kind is StepKind.HANDLE:
                assert on_action is not None  # the core asks only when there is a handler
                outputs = on_action(step.run)
                if inspect.isawaitable(outputs):
                    outputs = await outputs
                step = core.handled(outputs)
                continue
            if step.kind is StepKind.SUBMIT and stream and not core.result.fell_back:
                assert core.run_id is not None
                core.result.streams += 1
                events = self.api.submit_stream(core.thread_id, core.run_id, step.outputs)
                step = await self._consume(core, events)
                continue
            if step.wait > 0:
                await self.sleep(step.wait)
            step = await self._request(core, step)
        return core.result

    async def _request(self, core: FollowCore, step: Step) -> Step:
        if step.kind is StepKind.LOCATE:
            try:
                found = await self.api.latest_run(core.thread_id)
            except ApiError as err:
                return core.on_failure(err, request=step.kind)
            return core.on_located(found)
        assert core.run_id is not None
        if step.kind is StepKind.STEPS:
            try:
                steps = await self.api.list_run_steps(core.thread_id, core.run_id)
            except ApiError as err:
                return core.on_failure(err, request=step.kind)
            return core.on_steps(steps)
        try:
            if step.kind is StepKind.RETRIEVE:
                reply = await self.api.retrieve(core.thread_id, core.run_id)
            elif step.kind is StepKind.SUBMIT:
                reply = await self.api.submit_tool_outputs(core.thread_id, core.run_id, step.outputs)
            else:
                reply = await self.api.cancel(core.thread_id, core.run_id)
        except ApiError as err:
            return core.on_failure(err, request=step.kind)
        return core.on_reply(reply)
