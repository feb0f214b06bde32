"""Polling policies: each piece's rule, the presets' shape, and argument validation."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runfsm import RunStatus
from runfsm.following.backoff import (
    DEFAULT,
    PRESETS,
    ByStatus,
    Capped,
    Exponential,
    Fixed,
    Jitter,
    PollContext,
    RetryPolicy,
    Schedule,
)

statuses = st.sampled_from([RunStatus.Queued, RunStatus.InProgress, RunStatus.Cancelling])
contexts = st.builds(
    PollContext,
    status=statuses,
    polls=st.integers(0, 500),
    since_change=st.floats(0, 700),
    elapsed=st.floats(0, 700),
    hint=st.none() | st.floats(0, 10),
)


def test_exponential_grows_caps_and_restarts_with_the_status() -> None:
    """Initial * factor ** polls, capped; polls counts from the last status change."""
    policy = Exponential(0.5, factor=2.0, cap=3.0)
    waits = [policy(PollContext(RunStatus.InProgress, polls=n)) for n in range(5)]
    assert waits == [0.5, 1.0, 2.0, 3.0, 3.0]


@given(contexts)
def test_exponential_never_exceeds_its_cap(ctx: PollContext) -> None:
    """Whatever the context (even hundreds of polls), the wait stays within [initial, cap]."""
    assert 0.5 <= Exponential(0.5, factor=1.5, cap=5.0)(ctx) <= 5.0


def test_schedule_picks_the_step_of_the_status_age() -> None:
    """Schedule steps are (after_seconds, wait): the latest step started applies."""
    policy = Schedule(((0, 1.0), (5, 2.0), (20, 4.0)))
    assert [policy(PollContext(RunStatus.InProgress, since_change=t)) for t in (0, 4.9, 5, 19, 25)] == [
        1.0,
        1.0,
        2.0,
        2.0,
        4.0,
    ]


def test_by_status_routes_by_member_name() -> None:
    """ByStatus uses the override for its status, the default elsewhere, and rejects unknown names."""
    policy = ByStatus(Fixed(3.0), Queued=Fixed(1.0))
    assert policy(PollContext(RunStatus.Queued)) == 1.0
    assert policy(PollContext(RunStatus.InProgress)) == 3.0
    with pytest.raises(ValueError, match="'Running' is not a RunStatus member name"):
        ByStatus(Fixed(1.0), Running=Fixed(1.0))


@given(contexts, st.floats(0, 0.9))
def test_jitter_stays_within_its_fraction(ctx: PollContext, fraction: float) -> None:
    """Jitter multiplies by a factor in [1 - fraction, 1 + fraction]."""
    wait = Jitter(Fixed(2.0), fraction=fraction, rng=random.Random(0))(ctx)
    assert 2.0 * (1 - fraction) - 1e-9 <= wait <= 2.0 * (1 + fraction) + 1e-9


@given(contexts)
def test_presets_wait_a_sane_time(ctx: PollContext) -> None:
    """Every preset waits between 0.3 s and 11 s (it never spins, never sleeps past a late finish for long)."""
    for policy in PRESETS.values():
        assert 0.3 <= policy(ctx) <= 11.0


def test_capped_and_validation() -> None:
    """Capped bounds a policy; bad numbers are refused with the argument's name."""
    assert Capped(Fixed(9.0), cap=2.0)(PollContext(RunStatus.Queued)) == 2.0
    with pytest.raises(ValueError, match=r"Fixed\.seconds"):
        Fixed(0)
    with pytest.raises(TypeError, match=r"Fixed\.seconds"):
        Fixed(float("nan"))
    with pytest.raises(ValueError, match="factor"):
        Exponential(1.0, factor=0.5)
    with pytest.raises(ValueError, match="start with a step at 0"):
        Schedule(((1, 1.0),))
    with pytest.raises(ValueError, match="increasing"):
        Schedule(((0, 1.0), (5, 2.0), (5, 3.0)))
    assert DEFAULT is PRESETS["DEFAULT"]


@given(st.integers(1, 100), st.none() | st.floats(0, 60))
def test_retry_waits_honour_retry_after_and_the_cap(failures: int, retry_after: float | None) -> None:
    """Retry waits are at most the cap, and never shorter than the server's retry-after."""
    policy = RetryPolicy(initial=0.5, cap=20.0, rng=random.Random(1))
    wait = policy.wait(failures, retry_after=retry_after)
    assert wait <= max(20.0, retry_after or 0.0)
    if retry_after is not None:
        assert wait >= retry_after
