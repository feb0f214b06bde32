"""Polling one object of any lifecycle until it settles: a background response, a batch, a run.

:func:`poll_object` (and its async twin :func:`apoll_object`) calls ``retrieve()`` (any callable
returning the object: ``lambda: client.batches.retrieve(batch_id)``, ``lambda:
client.responses.retrieve(response_id)``), feeds every object to a
:class:`~runfsm.tracker.RunTracker` of the lifecycle, and waits between retrieves as the
lifecycle's policy says (:data:`~runfsm.following.backoff.BY_LIFECYCLE`: seconds for
responses, minutes for batches). It returns once the status is terminal or paused (the
client's move: a run's ``requires_action``). The tracker judges every status seen, as in
``RunTracker(mode="poll")``: an illegal jump is in its history and logged, never hidden.

Both twins run the same :class:`ObjectPoller` (the decisions), so they agree by construction;
only the waiting differs (``sleep`` or ``await asyncio.sleep``, both injectable).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runfsm.exceptions import RunfsmError
from runfsm.following.backoff import BY_LIFECYCLE, PollContext, policy_wait
from runfsm.observation import lifecycle_or_run
from runfsm.tracker import RunTracker

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from runfsm.following.backoff import PollPolicy
    from runfsm.lifecycle import Lifecycle

__all__ = ["ObjectPoller", "PollResult", "PollTimeout", "apoll_object", "poll_object"]


class PollTimeout(RunfsmError, TimeoutError):
    """The deadline passed before the object settled; ``tracker`` says where it stood."""

    def __init__(self, object_id: str | None, tracker: RunTracker[Any], seconds: float) -> None:
        self.object_id = object_id
        self.tracker = tracker
        what = f"{tracker.lifecycle.title.lower()} {object_id or '<unknown id>'}"
        super().__init__(f"{what}: still {tracker.state} after {seconds:g} s")


@dataclass(frozen=True, slots=True)
class PollResult:
    """How polling ended: the last object retrieved, the tracker that judged every one, the cost."""

    final: object
    """The last object ``retrieve()`` returned (terminal or paused)."""
    tracker: RunTracker[Any]
    retrieves: int
    """How many times ``retrieve()`` was called."""
    elapsed: float
    """Seconds from the first retrieve to the last (the injected clock's)."""


class ObjectPoller:
    """The decisions of polling one object: what a retrieved object means and how long to wait next.

    ``seen(obj, now)`` feeds the object to the tracker and returns None when polling is over
    (terminal or paused), else the seconds to wait. ``timeout`` (seconds since the first
    retrieve) raises :class:`PollTimeout` instead of a wait that would end past it.
    """

    def __init__(
        self,
        *,
        lifecycle: Lifecycle[Any] | None = None,
        policy: PollPolicy | None = None,
        tracker: RunTracker[Any] | None = None,
        timeout: float | None = None,
    ) -> None:
        self.lifecycle: Lifecycle[Any] = lifecycle_or_run(lifecycle)
        if policy is not None and not callable(policy):
            raise TypeError(f"policy must be callable (see runfsm.following.backoff), got {policy!r}")
        self.policy: PollPolicy = policy if policy is not None else BY_LIFECYCLE[self.lifecycle.key]
        self.tracker: RunTracker[Any] = (
            tracker if tracker is not None else RunTracker(mode="poll", lifecycle=self.lifecycle, clock=None)
        )
        if self.tracker.lifecycle is not self.lifecycle:
            raise ValueError(f"the tracker follows {self.tracker.lifecycle.name}, not {self.lifecycle.name}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
        self.timeout = timeout
        self.retrieves = 0
        self._start: float | None = None
        self._changed_at = 0.0
        self._polls = 0

    def seen(self, obj: object, now: float) -> float | None:
        """Feed one retrieved object; the seconds to wait before the next retrieve, or None when settled."""
        self.retrieves += 1
        if self._start is None:
            self._start = now
        before = self.tracker.state
        self.tracker.observe(obj, at=now)
        state = self.tracker.state
        if state.is_terminal or state.is_paused:
            return None
        if state is not before or self.retrieves == 1:
            self._changed_at, self._polls = now, 0
        else:
            self._polls += 1
        context = PollContext(
            status=state, polls=self._polls, since_change=now - self._changed_at, elapsed=now - self._start
        )
        wait = policy_wait(self.policy, context)
        if self.timeout is not None and now + wait - self._start > self.timeout:
            raise PollTimeout(self.tracker.run_id, self.tracker, self.timeout)
        return wait

    def result(self, final: object, now: float) -> PollResult:
        """The result once :meth:`seen` returned None."""
        return PollResult(final, self.tracker, self.retrieves, now - (self._start if self._start is not None else now))


def _check_retrieve(retrieve: object) -> None:
    if not callable(retrieve):
        raise TypeError(
            f"retrieve is what fetches the object, a function of no arguments "
            f"(lambda: client.batches.retrieve(batch_id)); got {retrieve!r}"
        )


def poll_object(
    retrieve: Callable[[], object],
    *,
    lifecycle: Lifecycle[Any] | None = None,
    policy: PollPolicy | None = None,
    tracker: RunTracker[Any] | None = None,
    timeout: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> PollResult:
    """Retrieve until the object settles (terminal or paused); see the module docstring.

    >>> from runfsm import BATCH_LIFECYCLE
    >>> polls = iter(["validating", "in_progress", "in_progress", "completed"])
    >>> result = poll_object(lambda: next(polls), lifecycle=BATCH_LIFECYCLE, sleep=lambda s: None)
    >>> result.retrieves, result.tracker.state
    (4, <BatchStatus.Completed: 5>)
    """
    poller = ObjectPoller(lifecycle=lifecycle, policy=policy, tracker=tracker, timeout=timeout)
    _check_retrieve(retrieve)
    while True:
        obj = retrieve()
        wait = poller.seen(obj, clock())
        if wait is None:
            return poller.result(obj, clock())
        sleep(wait)


async def apoll_object(
    retrieve: Callable[[], Awaitable[object]],
    *,
    lifecycle: Lifecycle[Any] | None = None,
    policy: PollPolicy | None = None,
    tracker: RunTracker[Any] | None = None,
    timeout: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] | None = None,
) -> PollResult:
    """The async twin of :func:`poll_object`: ``retrieve`` is awaited (``AsyncOpenAI``'s methods)."""
    if sleep is None:
        import asyncio  # noqa: PLC0415

        sleep = asyncio.sleep
    poller = ObjectPoller(lifecycle=lifecycle, policy=policy, tracker=tracker, timeout=timeout)
    _check_retrieve(retrieve)
    while True:
        obj = await retrieve()
        wait = poller.seen(obj, clock())
        if wait is None:
            return poller.result(obj, clock())
        await sleep(wait)
