"""Polling policies: how long to wait before the next retrieve, as small composable callables.

A policy is any callable ``policy(ctx: PollContext) -> float`` (seconds). The watcher builds
the :class:`PollContext` after every response: the status seen, how many retrieves and how
many seconds since that status was first seen (both reset when the status changes), the time
since watching began, and the server's ``openai-poll-after-ms`` hint. The pieces compose like
tenacity's ``wait_*`` functions::

    Jitter(ByStatus(Fixed(0.5), InProgress=Schedule(...)), fraction=0.1)

The server's hint is applied by the watcher on top of any policy, as a lower bound on every
response (``respect_hint=False`` to turn it off).

Why not tenacity itself: tenacity decides from exceptions and attempt numbers; a poller decides
from the run's *status* (and resets when it changes), and in a scheduler its sleeps are replaced
by a shared request budget. The retry of 429 / 5xx / timeouts is a few lines in the watcher's
core, next to the status logic, with the same injected clock (:class:`RetryPolicy`).

The presets (:data:`DEFAULT`, :data:`ECONOMY`, :data:`RESPONSIVE`) are tuned by
``tests/benchmarks/bench_poll.py`` on the reference workload (runs of a few seconds, a heavy
tail up to a minute): poll the short ``queued`` phase fast, then space retrieves out as the
run ages, capped so that a late finish is still seen within a few seconds.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from runfsm.lifecycles import BATCH_LIFECYCLE, RESPONSE_LIFECYCLE, RUN_LIFECYCLE
from runfsm.observation import lifecycle_or_run

if TYPE_CHECKING:
    from runfsm.lifecycle import Lifecycle
    from runfsm.vocabulary import LifecycleState

__all__ = [
    "BATCH_DEFAULT",
    "BY_LIFECYCLE",
    "DEFAULT",
    "ECONOMY",
    "PRESETS",
    "RESPONSE_DEFAULT",
    "RESPONSIVE",
    "ByStatus",
    "Capped",
    "Exponential",
    "Fixed",
    "Jitter",
    "PollContext",
    "PollPolicy",
    "RetryPolicy",
    "Schedule",
    "policy_wait",
]


class PollContext(NamedTuple):
    """What a policy knows when it picks the next wait (a named tuple: built after every response)."""

    status: LifecycleState
    """The status of the last response (a member of the followed lifecycle's enum)."""
    polls: int = 0
    """Responses since the status last changed, minus one (0 right after a change)."""
    since_change: float = 0.0
    """Seconds since the current status was first seen."""
    elapsed: float = 0.0
    """Seconds since watching began."""
    hint: float | None = None
    """The last response's ``openai-poll-after-ms`` header, in seconds (None if absent)."""
    first_hint: float | None = None
    """The first hint seen during this watch (what openai-python's ``runs.poll`` uses)."""


PollPolicy = Callable[[PollContext], float]
"""A polling policy: seconds to wait before the next retrieve."""


def policy_wait(policy: PollPolicy, ctx: PollContext) -> float:
    """The seconds ``policy`` says to wait in ``ctx``; ``ValueError`` for a wait that is no finite number >= 0.

    A policy of your own that returned NaN would otherwise poll without pause (and ``inf`` never again).

    >>> from runfsm import RunStatus
    >>> policy_wait(lambda ctx: float("nan"), PollContext(RunStatus.Queued))
    Traceback (most recent call last):
      ...
    ValueError: the polling policy returned nan: a wait is a finite number of seconds >= 0
    """
    wait = policy(ctx)
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait < math.inf:
        raise ValueError(f"the polling policy returned {wait!r}: a wait is a finite number of seconds >= 0")
    return float(wait)


def _check_positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value) or math.isinf(value):
        raise TypeError(f"{name} must be a finite number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} seconds, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Fixed:
    """Always the same wait."""

    seconds: float

    def __post_init__(self) -> None:
        _check_positive("Fixed.seconds", self.seconds)

    def __call__(self, ctx: PollContext) -> float:
        """The wait in seconds for ``ctx``."""
        return self.seconds


@dataclass(frozen=True, slots=True)
class Exponential:
    """``initial * factor ** ctx.polls``, at most ``cap``: restarts at ``initial`` when the status changes."""

    initial: float
    factor: float = 2.0
    cap: float = 10.0

    def __post_init__(self) -> None:
        _check_positive("Exponential.initial", self.initial)
        _check_positive("Exponential.cap", self.cap)
        if _check_positive("Exponential.factor", self.factor) < 1:
            raise ValueError(f"Exponential.factor must be >= 1, got {self.factor!r}")

    def __call__(self, ctx: PollContext) -> float:
        """The wait in seconds for ``ctx``."""
        if ctx.polls > 200:  # factor ** polls would overflow long after reaching the cap
            return self.cap
        return min(self.cap, self.initial * self.factor**ctx.polls)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A wait shaped by how long the status has lasted: ``steps`` are ``(after_seconds, wait)``.

    ``Schedule(((0, 1.0), (5, 2.0), (20, 4.0)))`` waits 1 s while the status is younger than
    5 s, then 2 s, and 4 s once it has lasted 20 s. The first step must start at 0.
    """

    steps: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        steps = tuple((float(a), float(w)) for a, w in self.steps)
        if not steps or steps[0][0] != 0:
            raise ValueError(f"Schedule.steps must start with a step at 0 seconds, got {self.steps!r}")
        for (a, _), (b, _) in itertools.pairwise(steps):
            if b <= a:
                raise ValueError(f"Schedule.steps must be in increasing order of start time, got {self.steps!r}")
        for _, wait in steps:
            _check_positive("Schedule wait", wait)
        object.__setattr__(self, "steps", steps)

    def __call__(self, ctx: PollContext) -> float:
        """The wait in seconds for ``ctx``."""
        wait = self.steps[0][1]
        for after, step_wait in self.steps:
            if ctx.since_change < after:
                break
            wait = step_wait
        return wait


@dataclass(frozen=True, slots=True)
class ByStatus:
    """One policy per status, ``default`` for the others: ``ByStatus(Fixed(1), InProgress=Schedule(...))``.

    Statuses are named as members of ``lifecycle``'s enum (the Assistants run's by default):
    ``ByStatus(Fixed(60), lifecycle=BATCH_LIFECYCLE, Finalizing=Fixed(120))``.
    """

    default: PollPolicy
    overrides: Mapping[LifecycleState, PollPolicy] = field(default_factory=dict)

    def __init__(
        self, default: PollPolicy, /, *, lifecycle: Lifecycle[Any] | None = None, **by_name: PollPolicy
    ) -> None:
        lc = lifecycle_or_run(lifecycle)
        states = lc.by_name()
        overrides: dict[LifecycleState, PollPolicy] = {}
        for name, policy in by_name.items():
            status = states.get(name)
            if status is None:
                names = ", ".join(states)
                raise ValueError(
                    f"ByStatus: {name!r} is not a {lc.state_type.__name__} member name; expected one of {names}"
                ) from None
            overrides[status] = policy
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "overrides", overrides)

    def __call__(self, ctx: PollContext) -> float:
        """The wait in seconds for ``ctx``."""
        return self.overrides.get(ctx.status, self.default)(ctx)


@dataclass(frozen=True, slots=True)
class Jitter:
    """Multiply the wait by a uniform factor in ``[1 - fraction, 1 + fraction]`` (spreads many runs' polls)."""

    policy: PollPolicy
    fraction: float = 0.1
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= _check_positive("Jitter.fraction", self.fraction, allow_zero=True) < 1:
            raise ValueError(f"Jitter.fraction must be in [0, 1), got {self.fraction!r}")

    def __call__(self, ctx: PollContext) -> float:
        """The wait in seconds for ``ctx``."""
        return self.policy(ctx) * self.rng.uniform(1 - self.fraction, 1 + self.fraction)


@dataclass(frozen=True, slots=True)
class Capped:
    """At most ``cap`` seconds."""

    policy: PollPolicy
    cap: float

    def __post_init__(self) -> None:
        _check_positive("Capped.cap", self.cap)

    def __call__(self, ctx: PollContext) -> float:
        """The wait in seconds for ``ctx``."""
        return min(self.cap, self.policy(ctx))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Waits between retries of failed requests (429, 5xx, timeouts, dropped connections).

    Capped exponential backoff with full jitter, never shorter than the server's
    ``retry-after-ms`` / ``retry-after``. ``max_consecutive`` failures in a row end the watch
    (None: keep trying until the watch's deadline; the deadline always bounds the loop).
    """

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 20.0
    max_consecutive: int | None = None
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_positive("RetryPolicy.initial", self.initial)
        _check_positive("RetryPolicy.cap", self.cap)
        if _check_positive("RetryPolicy.factor", self.factor) < 1:
            raise ValueError(f"RetryPolicy.factor must be >= 1, got {self.factor!r}")
        if self.max_consecutive is not None and self.max_consecutive < 1:
            raise ValueError(f"RetryPolicy.max_consecutive must be >= 1 or None, got {self.max_consecutive!r}")

    def wait(self, failures: int, *, retry_after: float | None = None) -> float:
        """Seconds before retry number ``failures`` (1 for the first retry)."""
        ceiling = min(self.cap, self.initial * self.factor ** min(failures - 1, 60))
        wait = self.rng.uniform(ceiling / 2, ceiling)
        return max(wait, retry_after) if retry_after is not None else wait


def _preset(steps: Sequence[tuple[float, float]], *, queued: float) -> PollPolicy:
    return Jitter(ByStatus(Schedule(tuple(steps)), Queued=Fixed(queued)), fraction=0.05)


DEFAULT: PollPolicy = _preset(((0, 2.2), (25, 3.0)), queued=2.0)
"""Balanced: fewer retrieves and lower p95 delays than a 0.5 s x1.5 loop capped at 5 s, or a fixed 2.5 s poll."""
ECONOMY: PollPolicy = _preset(((0, 4.0), (20, 6.0), (60, 10.0)), queued=3.0)
"""Fewest requests when a few seconds of delay do not matter (batch jobs)."""
RESPONSIVE: PollPolicy = _preset(((0, 0.9), (20, 1.6), (60, 3.0)), queued=1.5)
"""Sub-second delays for 95 % of runs (interactive use), with fewer retrieves than the SDK's 1 s poll."""

PRESETS: Mapping[str, PollPolicy] = {"DEFAULT": DEFAULT, "ECONOMY": ECONOMY, "RESPONSIVE": RESPONSIVE}
"""The presets by name."""

RESPONSE_DEFAULT: PollPolicy = Jitter(
    ByStatus(Schedule(((0, 2.0), (60, 5.0), (300, 15.0))), lifecycle=RESPONSE_LIFECYCLE, Queued=Fixed(2.0)),
    fraction=0.05,
)
"""Background responses: reasoning tasks of seconds to many minutes, kept for about 10 minutes
after they end [R2]. 2 s at first (the guide polls every 2 s), 5 s after a minute, 15 s after
five. A judgement from the sources, not tuned by a benchmark (the reference workload is the run's)."""

BATCH_DEFAULT: PollPolicy = Jitter(
    ByStatus(
        Schedule(((0, 60.0), (600, 300.0), (3600, 900.0))),
        lifecycle=BATCH_LIFECYCLE,
        Validating=Fixed(30.0),
        Cancelling=Fixed(60.0),
    ),
    fraction=0.1,
)
"""Batches: minutes to hours within a 24-hour window [R4]. Validation is polled every 30 s,
a running batch every minute, then every 5 minutes after 10 minutes in one status and every
15 after an hour; cancelling (up to 10 minutes) every minute. A judgement, not a benchmark."""

BY_LIFECYCLE: Mapping[str, PollPolicy] = {
    RUN_LIFECYCLE.key: DEFAULT,
    RESPONSE_LIFECYCLE.key: RESPONSE_DEFAULT,
    BATCH_LIFECYCLE.key: BATCH_DEFAULT,
}
"""The default policy of each lifecycle preset, by its key."""
