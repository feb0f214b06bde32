"""A request budget shared by many followed objects: :class:`TokenBucket`.

The bucket holds at most ``burst`` tokens, refilled at ``(per_minute - burst) / 60`` tokens a
second: any 60 s window then sees at most ``burst + (per_minute - burst) = per_minute``
requests, whatever the number of objects. The scheduler spends one token per request, and so
does the webhook receiver's reconcile pass.
"""

from __future__ import annotations

__all__ = ["WINDOW", "TokenBucket"]

WINDOW = 60.0
"""The window a per-minute budget is counted over, in seconds."""


class TokenBucket:
    """A request budget: never more than ``per_minute`` requests in any 60 s window.

    >>> bucket = TokenBucket(62, burst=2, now=0.0)  # refilled at (62 - 2) / 60 = 1 token a second
    >>> bucket.take(0.0), bucket.take(0.0), bucket.take(0.0), bucket.ready_at(0.0)
    (True, True, False, 1.0)
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
        self.rate = (per_minute - burst) / WINDOW
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
