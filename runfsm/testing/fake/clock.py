"""The virtual clock the fake Assistants API runs on: tests advance time instead of sleeping."""

from __future__ import annotations

import math
import threading

__all__ = ["EPOCH", "VirtualClock", "stamp"]

EPOCH = 1_750_000_000.0
"""Where a new :class:`VirtualClock` starts: a plausible Unix time, so ``created_at`` values look real."""


class VirtualClock:
    """A thread-safe clock that only moves when told to.

    ``now()`` is read by the fake server (run timestamps, expiry, scripted durations);
    ``sleep(s)`` and ``advance(s)`` move it forward, so client code given ``sleep=clock.sleep``
    waits in virtual time. ``async_sleep`` is the coroutine twin for async clients.

    >>> clock = VirtualClock(start=100.0)
    >>> clock.sleep(2.5)
    >>> clock.now(), clock.slept
    (102.5, 2.5)
    """

    __slots__ = ("_lock", "_now", "sleeps", "slept", "start")

    def __init__(self, *, start: float = EPOCH) -> None:
        if not isinstance(start, (int, float)) or isinstance(start, bool) or not math.isfinite(start):
            raise TypeError(f"VirtualClock start must be a finite number of seconds, got {start!r}")
        self.start = float(start)
        self._now = float(start)
        self._lock = threading.Lock()
        self.slept = 0.0
        """Total seconds passed to :meth:`sleep` / :meth:`async_sleep` (not :meth:`advance`)."""
        self.sleeps = 0
        """How many times :meth:`sleep` / :meth:`async_sleep` was called."""

    def __repr__(self) -> str:
        return f"<VirtualClock t+{self.elapsed:g}s>"

    def now(self) -> float:
        """The current virtual Unix time, in seconds."""
        with self._lock:
            return self._now

    __call__ = now

    @property
    def elapsed(self) -> float:
        """Seconds since the clock was created."""
        return self.now() - self.start

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (>= 0, finite); return the new time."""
        _check_seconds(seconds, "advance")
        with self._lock:
            self._now += float(seconds)
            return self._now

    def advance_to(self, when: float) -> float:
        """Move time forward to ``when`` (never backwards); return the new time."""
        with self._lock:
            if when > self._now:
                self._now = float(when)
            return self._now

    def sleep(self, seconds: float) -> None:
        """A drop-in for ``time.sleep``: advances the clock, returns at once."""
        _check_seconds(seconds, "sleep")
        with self._lock:
            self._now += float(seconds)
            self.slept += float(seconds)
            self.sleeps += 1

    async def async_sleep(self, seconds: float) -> None:
        """A drop-in for ``asyncio.sleep`` / ``anyio.sleep``: advances the clock, returns at once."""
        self.sleep(seconds)


def _check_seconds(seconds: float, what: str) -> None:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        raise TypeError(f"VirtualClock.{what} takes a number of seconds, got {seconds!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"VirtualClock.{what} takes a finite number of seconds >= 0, got {seconds!r}")


def stamp(at: float, start: float) -> str:
    """Virtual time ``at`` as an offset from ``start``, as the kit's messages print it.

    >>> stamp(EPOCH + 12.5, EPOCH)
    't+12.5s'
    """
    return f"t+{round(at - start, 3):g}s"
