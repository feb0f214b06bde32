"""Tests for runfsm.testing.fake.clock: the virtual clock only moves when told to."""

from __future__ import annotations

import asyncio
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runfsm.testing.fake import VirtualClock


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False)))
def test_sleep_advances_by_the_sum(durations: list[float]) -> None:
    """sleep(s) returns at once and moves now() by exactly the seconds slept, counted in slept/sleeps."""
    clock = VirtualClock(start=0.0)
    for d in durations:
        clock.sleep(d)
    assert clock.now() == pytest.approx(sum(durations))
    assert clock.slept == pytest.approx(sum(durations))
    assert clock.sleeps == len(durations)


def test_advance_is_not_counted_as_sleep() -> None:
    """advance() moves time (the test's doing) but is not a sleep of the code under test."""
    clock = VirtualClock(start=10.0)
    assert clock.advance(5) == 15.0
    assert (clock.slept, clock.sleeps, clock.elapsed) == (0.0, 0, 5.0)


def test_advance_to_never_goes_backwards() -> None:
    """advance_to() moves forward only."""
    clock = VirtualClock(start=100.0)
    assert clock.advance_to(50.0) == 100.0
    assert clock.advance_to(150.0) == 150.0


def test_async_sleep_advances() -> None:
    """async_sleep is the coroutine twin of sleep."""
    clock = VirtualClock(start=0.0)
    asyncio.run(clock.async_sleep(3))
    assert clock.now() == 3.0


@pytest.mark.parametrize("bad", [-1, math.inf, math.nan])
def test_bad_durations_are_rejected(bad: float) -> None:
    """Negative, infinite and NaN durations raise ValueError naming the method."""
    with pytest.raises(ValueError, match=r"VirtualClock\.sleep"):
        VirtualClock().sleep(bad)


def test_non_numbers_are_rejected() -> None:
    """A non-number is a TypeError (booleans too)."""
    with pytest.raises(TypeError, match="number of seconds"):
        VirtualClock().advance(True)
    with pytest.raises(TypeError, match="finite number"):
        VirtualClock(start="now")  # type: ignore[arg-type]  # the bad input under test
