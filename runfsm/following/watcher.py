"""Following one run (or a background response, or a batch): :class:`Watcher` (sync) and :class:`AsyncWatcher`.

``watch`` creates a run with ``stream=True`` and follows its SSE events (zero status retrieves),
joining the create and submit streams by run id, and falls back to polling if a stream breaks.
``poll`` follows an existing run by retrieving it, spaced by a polling policy
(:mod:`runfsm.following.backoff`). ``cancel`` asks for a cancel and follows ``cancelling`` to whatever
terminal status really comes. Every observation goes to a :class:`~runfsm.tracker.RunTracker`,
so its callbacks fire and illegal jumps are caught. What to do after each response is decided
by :class:`~runfsm.following.core.FollowCore`; the twins differ only in I/O and sleeping.

``lifecycle=`` picks what is followed (the Assistants run by default): ``Watcher(client,
lifecycle=BATCH_LIFECYCLE).poll(batch)`` follows a batch with the batch policy, and
``Watcher(client, lifecycle=RESPONSE_LIFECYCLE).watch(model=..., input=...)`` creates a
background response with ``stream=True`` and resumes its stream (``starting_after``) when it
breaks. How each API is addressed is :mod:`runfsm.following.calls`'.

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
from typing import TYPE_CHECKING, Any, Generic

from runfsm.exceptions import ApiError
from runfsm.following.backoff import PollPolicy, RetryPolicy
from runfsm.following.calls import calls_for
from runfsm.following.client import Reply, ToolOutput
from runfsm.following.core import FollowCore, S, Step, StepKind, WatchResult, follow_tracker
from runfsm.following.profile import profile
from runfsm.observation import lifecycle_or_run

if TYPE_CHECKING:
    from runfsm.lifecycle import Lifecycle
    from runfsm.tracker import Mode, OnIllegal, RunTracker

__all__ = ["ActionHandler", "AsyncActionHandler", "AsyncWatcher", "Watcher"]

ActionHandler = Callable[[Any], Sequence[ToolOutput]]
"""Gets the ``requires_action`` run; returns one ``{"tool_call_id", "output"}`` per tool call."""
AsyncActionHandler = Callable[[Any], Sequence[ToolOutput] | Awaitable[Sequence[ToolOutput]]]
"""The same, for :class:`AsyncWatcher`; may be a coroutine function."""


class _BaseWatcher(Generic[S]):
    """Settings and the core factory shared by the twins."""

    def __init__(
        self,
        *,
        lifecycle: Lifecycle[S] | None,
        policy: PollPolicy | None,
        retry: RetryPolicy | None = None,
        grace: float | None,
        on_illegal: OnIllegal = "log",
        respect_hint: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lifecycle: Lifecycle[S] = lifecycle_or_run(lifecycle)
        defaults = profile(self.lifecycle)
        policy = policy if policy is not None else defaults.policy
        if not callable(policy):
            raise TypeError(f"policy must be callable (see runfsm.following.backoff), got {policy!r}")
        self.policy = policy
        self.retry = retry if retry is not None else RetryPolicy()
        self.grace = grace if grace is not None else defaults.grace
        self.on_illegal: OnIllegal = on_illegal
        self.respect_hint = respect_hint
        self.clock = clock
        self._pauses = any(state.is_paused for state in self.lifecycle.states)

    def _core(
        self,
        thread_id: str | None,
        run_id: str | None,
        *,
        tracker: RunTracker[S] | None,
        mode: Mode,
        timeout: float | None,
        has_handler: bool,
    ) -> FollowCore[S]:
        if has_handler and not self._pauses:
            raise TypeError(f"on_action: a {self.lifecycle.title.lower()} never waits for tool outputs")
        if tracker is None:
            tracker = follow_tracker(
                run_id, mode=mode, on_illegal=self.on_illegal, clock=self.clock, lifecycle=self.lifecycle
            )
        else:
            if tracker.lifecycle is not self.lifecycle:
                raise ValueError(f"the tracker follows {tracker.lifecycle.name}, this watcher {self.lifecycle.name}")
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
            can_locate=self._calls.can_locate,
            can_resume=self._calls.can_resume,
        )

    _calls: Any  # the twins bind it: RunCalls or ObjectCalls


class Watcher(_BaseWatcher[S]):
    """Follows runs with a synchronous client: ``openai.OpenAI``, ``azure.ai.agents.AgentsClient`` or a ``RunsAPI``.

    With ``lifecycle=RESPONSE_LIFECYCLE`` or ``BATCH_LIFECYCLE`` it follows background responses
    or batches (``openai.OpenAI`` or an ``ObjectsAPI``); ``policy`` and ``grace`` default to the
    lifecycle's (:func:`~runfsm.following.profile.profile`).

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
        lifecycle: Lifecycle[S] | None = None,
        policy: PollPolicy | None = None,
        retry: RetryPolicy | None = None,
        grace: float | None = None,
        on_illegal: OnIllegal = "log",
        respect_hint: bool = True,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        super().__init__(
            lifecycle=lifecycle,
            policy=policy,
            retry=retry,
            grace=grace,
            on_illegal=on_illegal,
            respect_hint=respect_hint,
            clock=clock,
        )
        self._calls = calls_for(client, self.lifecycle, who="Watcher", aio=False)
        self.api: Any = self._calls.api
        """The adapter in use: a ``RunsAPI`` for runs, an ``ObjectsAPI`` for the other lifecycles."""
        self.sleep = sleep

    def poll(
        self,
        run: object,
        *,
        thread_id: str | None = None,
        on_action: ActionHandler | None = None,
        tracker: RunTracker[S] | None = None,
        timeout: float | None = None,
    ) -> WatchResult[S]:
        """Follow a run by polling until it ends (or pauses, when there is no ``on_action`` handler).

        ``run`` is the run object returned by ``runs.create`` (observed without a request) or
        a run id (then ``thread_id=`` is required). ``timeout`` (seconds) caps the watch;
        without it the watch lasts until the run's ``expires_at`` plus the grace period.
        """
        thread, run_id, obj = self._calls.split(run, thread_id)
        core = self._core(thread, run_id, tracker=tracker, mode="poll", timeout=timeout, has_handler=bool(on_action))
        step = core.on_reply(Reply(obj)) if obj is not None else core.retrieve_now()
        return self._drive(core, step, on_action)

    def cancel(
        self,
        run: object,
        *,
        thread_id: str | None = None,
        tracker: RunTracker[S] | None = None,
        timeout: float | None = None,
    ) -> WatchResult[S]:
        """Ask the server to cancel the run, then follow it to whatever terminal status really comes."""
        thread, run_id, obj = self._calls.split(run, thread_id)
        core = self._core(thread, run_id, tracker=tracker, mode="poll", timeout=timeout, has_handler=False)
        if obj is not None:
            core.on_reply(Reply(obj))
        if core.tracker.is_terminal:
            return core.result
        return self._drive(core, core.request_cancel(), None)

    def watch(
        self,
        thread_id: str | None = None,
        *,
        assistant_id: str | None = None,
        on_action: ActionHandler | None = None,
        tracker: RunTracker[S] | None = None,
        timeout: float | None = None,
        **create_params: Any,
    ) -> WatchResult[S]:
        """Create a run with ``stream=True`` and follow it through its SSE streams, polling only if a stream breaks.

        A run needs its thread and ``assistant_id=``. A background response takes the create
        call's parameters only (``watch(model=..., input=...)``, sent with ``background=True,
        stream=True``); a broken stream is resumed after its last event while resuming yields
        events, then polled.
        """
        thread, create = self._calls.opener(thread_id, assistant_id, create_params)
        core = self._core(thread, None, tracker=tracker, mode="stream", timeout=timeout, has_handler=bool(on_action))
        core.result.streams += 1
        step = self._consume(core, create())
        return self._drive(core, step, on_action, stream=True, create=create)

    # -- the loop

    def _consume(self, core: FollowCore[S], events: Iterator[Any]) -> Step:
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
        core: FollowCore[S],
        step: Step,
        on_action: ActionHandler | None,
        *,
        stream: bool = False,
        create: Callable[[], Iterator[Any]] | None = None,
    ) -> WatchResult[S]:
        while step.kind is not StepKind.DONE:
            if step.kind is StepKind.CREATE:
                assert create is not None  # only a watch that created its run is told to create it again
                if step.wait > 0:
                    self.sleep(step.wait)
                core.result.streams += 1
                step = self._consume(core, create())
                continue
            if step.kind is StepKind.RESUME:
                if step.wait > 0:
                    self.sleep(step.wait)
                core.result.streams += 1
                step = self._consume(core, self._calls.resume_stream(core))
                continue
            if step.kind is StepKind.HANDLE:
                assert on_action is not None  # the core asks only when there is a handler
                step = core.handled(on_action(step.run))
                continue
            if step.kind is StepKind.SUBMIT and stream and not core.result.fell_back:
                assert core.run_id is not None
                core.result.streams += 1
                step = self._consume(core, self._calls.submit_stream(core, step.outputs))
                continue
            if step.wait > 0:
                self.sleep(step.wait)
            step = self._request(core, step)
        return core.result

    def _request(self, core: FollowCore[S], step: Step) -> Step:
        if step.kind is StepKind.LOCATE:
            try:
                found = self._calls.locate(core)
            except ApiError as err:
                return core.on_failure(err, request=step.kind)
            return core.on_located(found)
        assert core.run_id is not None
        if step.kind is StepKind.STEPS:
            try:
                steps = self._calls.steps(core)
            except ApiError as err:
                return core.on_failure(err, request=step.kind)
            return core.on_steps(steps)
        try:
            if step.kind is StepKind.RETRIEVE:
                reply = self._calls.retrieve(core)
            elif step.kind is StepKind.SUBMIT:
                reply = self._calls.submit(core, step.outputs)
            else:
                reply = self._calls.cancel(core)
        except ApiError as err:
            return core.on_failure(err, request=step.kind)
        return core.on_reply(reply)


class AsyncWatcher(_BaseWatcher[S]):
    """The asyncio twin of :class:`Watcher`: ``openai.AsyncOpenAI``, the aio ``AgentsClient`` or an ``AsyncRunsAPI``."""

    def __init__(
        self,
        client: Any,
        *,
        lifecycle: Lifecycle[S] | None = None,
        policy: PollPolicy | None = None,
        retry: RetryPolicy | None = None,
        grace: float | None = None,
        on_illegal: OnIllegal = "log",
        respect_hint: bool = True,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            lifecycle=lifecycle,
            policy=policy,
            retry=retry,
            grace=grace,
            on_illegal=on_illegal,
            respect_hint=respect_hint,
            clock=clock,
        )
        self._calls = calls_for(client, self.lifecycle, who="AsyncWatcher", aio=True)
        self.api: Any = self._calls.api
        """The adapter in use: an ``AsyncRunsAPI`` for runs, an ``AsyncObjectsAPI`` for the other lifecycles."""
        self.sleep = sleep

    async def poll(
        self,
        run: object,
        *,
        thread_id: str | None = None,
        on_action: AsyncActionHandler | None = None,
        tracker: RunTracker[S] | None = None,
        timeout: float | None = None,
    ) -> WatchResult[S]:
        """See :meth:`Watcher.poll`; ``on_action`` may be a coroutine function."""
        thread, run_id, obj = self._calls.split(run, thread_id)
        core = self._core(thread, run_id, tracker=tracker, mode="poll", timeout=timeout, has_handler=bool(on_action))
        step = core.on_reply(Reply(obj)) if obj is not None else core.retrieve_now()
        return await self._drive(core, step, on_action)

    async def cancel(
        self,
        run: object,
        *,
        thread_id: str | None = None,
        tracker: RunTracker[S] | None = None,
        timeout: float | None = None,
    ) -> WatchResult[S]:
        """See :meth:`Watcher.cancel`."""
        thread, run_id, obj = self._calls.split(run, thread_id)
        core = self._core(thread, run_id, tracker=tracker, mode="poll", timeout=timeout, has_handler=False)
        if obj is not None:
            core.on_reply(Reply(obj))
        if core.tracker.is_terminal:
            return core.result
        return await self._drive(core, core.request_cancel(), None)

    async def watch(
        self,
        thread_id: str | None = None,
        *,
        assistant_id: str | None = None,
        on_action: AsyncActionHandler | None = None,
        tracker: RunTracker[S] | None = None,
        timeout: float | None = None,
        **create_params: Any,
    ) -> WatchResult[S]:
        """See :meth:`Watcher.watch`."""
        thread, create = self._calls.opener(thread_id, assistant_id, create_params)
        core = self._core(thread, None, tracker=tracker, mode="stream", timeout=timeout, has_handler=bool(on_action))
        core.result.streams += 1
        step = await self._consume(core, create())
        return await self._drive(core, step, on_action, stream=True, create=create)

    async def _consume(self, core: FollowCore[S], events: AsyncIterator[Any]) -> Step:
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
        core: FollowCore[S],
        step: Step,
        on_action: AsyncActionHandler | None,
        *,
        stream: bool = False,
        create: Callable[[], AsyncIterator[Any]] | None = None,
    ) -> WatchResult[S]:
        while step.kind is not StepKind.DONE:
            if step.kind is StepKind.CREATE:
                assert create is not None  # only a watch that created its run is told to create it again
                if step.wait > 0:
                    await self.sleep(step.wait)
                core.result.streams += 1
                step = await self._consume(core, create())
                continue
            if step.kind is StepKind.RESUME:
                if step.wait > 0:
                    await self.sleep(step.wait)
                core.result.streams += 1
                step = await self._consume(core, self._calls.resume_stream(core))
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
                events = self._calls.submit_stream(core, step.outputs)
                step = await self._consume(core, events)
                continue
            if step.wait > 0:
                await self.sleep(step.wait)
            step = await self._request(core, step)
        return core.result

    async def _request(self, core: FollowCore[S], step: Step) -> Step:
        if step.kind is StepKind.LOCATE:
            try:
                found = await self._calls.locate(core)
            except ApiError as err:
                return core.on_failure(err, request=step.kind)
            return core.on_located(found)
        assert core.run_id is not None
        if step.kind is StepKind.STEPS:
            try:
                steps = await self._calls.steps(core)
            except ApiError as err:
                return core.on_failure(err, request=step.kind)
            return core.on_steps(steps)
        try:
            if step.kind is StepKind.RETRIEVE:
                reply = await self._calls.retrieve(core)
            elif step.kind is StepKind.SUBMIT:
                reply = await self._calls.submit(core, step.outputs)
            else:
                reply = await self._calls.cancel(core)
        except ApiError as err:
            return core.on_failure(err, request=step.kind)
        return core.on_reply(reply)
