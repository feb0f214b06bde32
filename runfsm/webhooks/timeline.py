"""Applying what was heard about one object (webhook events, polled statuses) in the object's own order.

Deliveries arrive late, twice, and out of order; the object's life went one way. :func:`apply`
feeds one object's pending :class:`Sample` values to its tracker sorted by the object's own
timeline (``created_at`` of the event, or the time a poll saw the status), and judges each:

``applied``   the tracker moved (states it passed unobserved are entered too, as inferred);
``repeated``  the state the object is already in (a re-sent or re-announced event);
``late``      a state the object has already left: recorded, never applied, so a tracker
              never moves backwards;
``illegal``   a jump the lifecycle forbids (``cancelled`` then ``completed``): recorded by the
              tracker as a violation, the state stays.

Only ``applied`` samples enter states, so callbacks hang on :class:`Entered` records, one per
state entered, whatever the deliveries did. Pure: no I/O, no clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runfsm.tracker import Outcome, RunTracker

if TYPE_CHECKING:
    from collections.abc import Sequence

    from runfsm.lifecycle import Lifecycle
    from runfsm.vocabulary import LifecycleState

__all__ = ["Entered", "Judged", "Sample", "Verdict", "apply", "new_tracker"]


class Verdict(enum.Enum):
    """What became of one sample."""

    APPLIED = "applied"
    REPEATED = "repeated"
    LATE = "late"
    ILLEGAL = "illegal"


@dataclass(frozen=True, slots=True)
class Sample:
    """One status heard about an object: from a webhook event, a poll, or the create response."""

    key: str
    """Its idempotency key: the ``webhook-id``, or ``poll:...`` / ``track:...`` for the receiver's own."""
    state: LifecycleState
    at: float
    """When the object was in ``state``, on the object's own timeline."""


@dataclass(frozen=True, slots=True)
class Judged:
    """A sample and its verdict; ``index`` is its entry in the tracker's history (None when not fed to it)."""

    sample: Sample
    verdict: Verdict
    index: int | None


@dataclass(frozen=True, slots=True)
class Entered:
    """One state entered by an object: what a callback receives (once per state entered)."""

    object_id: str
    lifecycle: str
    """The lifecycle's name."""
    state: LifecycleState
    previous: LifecycleState
    inferred: bool
    """True if no sample named this state: it lies on the path to the one that did."""
    key: str
    """The key of the sample that caused it."""
    at: float
    """The sample's time on the object's timeline."""
    index: int
    """The tracker history entry that caused it."""


def new_tracker(object_id: str, lifecycle: Lifecycle[Any]) -> RunTracker:
    """The tracker the receiver keeps per object: poll mode (deliveries sample the life), violations recorded.

    A cancel by a client runfsm does not see explains a jump into ``cancelling`` (``assume``),
    as for the watcher's trackers.
    """
    return RunTracker(
        object_id,
        mode="poll",
        on_illegal="record",
        on_missing_call="assume",
        keep_raw=False,
        clock=None,
        lifecycle=lifecycle,
    )


def _order(sample: Sample) -> tuple[float, int, str]:
    # at equal times, terminal states last: they end what the others announce
    return (sample.at, int(sample.state.is_terminal), sample.key)


def apply(
    tracker: RunTracker, timeline_at: float | None, samples: Sequence[Sample]
) -> tuple[float | None, list[Judged], list[Entered]]:
    """Feed ``samples`` to ``tracker`` in timeline order; return the new timeline time, the verdicts, the entries.

    ``timeline_at`` is the time of the latest sample applied so far (None for a new object).
    """
    lifecycle: Lifecycle[Any] = tracker.lifecycle
    judged: list[Judged] = []
    entered: list[Entered] = []
    object_id = tracker.run_id or ""
    for sample in sorted(samples, key=_order):
        current = tracker.state
        if sample.state is current:
            verdict = Verdict.REPEATED
        else:
            behind = current in lifecycle.reachable(sample.state)
            ahead = sample.state in lifecycle.reachable(current)
            older = timeline_at is not None and sample.at < timeline_at
            verdict = Verdict.LATE if behind and (not ahead or older) else Verdict.APPLIED
        if verdict is not Verdict.APPLIED:
            judged.append(Judged(sample, verdict, None))
            continue
        obs = tracker.observe(sample.state, at=sample.at)
        if obs.outcome is Outcome.ILLEGAL:
            judged.append(Judged(sample, Verdict.ILLEGAL, obs.index))
            continue
        judged.append(Judged(sample, Verdict.APPLIED, obs.index))
        timeline_at = sample.at if timeline_at is None else max(timeline_at, sample.at)
        previous = current
        path = (obs.state,) if obs.outcome is Outcome.START else (*obs.inferred, obs.state)
        for state in path:
            entered.append(
                Entered(
                    object_id=object_id,
                    lifecycle=lifecycle.name,
                    state=state,
                    previous=previous,
                    inferred=state is not obs.state,
                    key=sample.key,
                    at=sample.at,
                    index=obs.index,
                )
            )
            previous = state
    return timeline_at, judged, entered
