"""What a tracker records: one :class:`Observation` per status or call it is fed, and its :class:`Outcome`.

An observation is the per-record verdict of :class:`~runfsm.tracker.RunTracker`: the state
before and after, what was inferred or used on the way (lenient edges, client calls), what
was missing, and field warnings.
These are plain data, saved and restored with the tracker (:mod:`runfsm.saved`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, cast

from typing_extensions import TypeVar

from runfsm.lifecycle import Lifecycle
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.saved import Step, read_entry
from runfsm.status import RunStatus
from runfsm.vocabulary import LifecycleState, Trigger

if TYPE_CHECKING:
    from runfsm.lifecycle import Edge

__all__ = ["Observation", "Outcome"]

T = TypeVar("T")
S = TypeVar("S", bound=LifecycleState, default=RunStatus)
"""The state enum of the tracked lifecycle (run statuses unless told otherwise)."""


def lifecycle_or_run(lifecycle: Lifecycle[S] | object) -> Lifecycle[S]:
    """``lifecycle``, or the Assistants run's for None; ``TypeError`` for anything but a Lifecycle.

    >>> lifecycle_or_run("batch")
    Traceback (most recent call last):
      ...
    TypeError: lifecycle takes a Lifecycle, got 'batch': for a preset give runfsm.preset('batch')
    """
    if lifecycle is None:
        return cast("Lifecycle[S]", RUN_LIFECYCLE)
    if not isinstance(lifecycle, Lifecycle):
        hint = f": for a preset give runfsm.preset({lifecycle!r})" if isinstance(lifecycle, str) else ""
        raise TypeError(f"lifecycle takes a Lifecycle, got {lifecycle!r}{hint}")
    return lifecycle


def history_list(values: Iterable[T], name: str = "history") -> list[T]:
    """``values`` as a list; ``TypeError`` for one item given alone, which would be read piece by piece.

    A string or bytes would be read letter by letter, a mapping (a run object, an event) by its
    keys, an API object (anything with a ``status``) by its fields.

    >>> history_list("queued")
    Traceback (most recent call last):
      ...
    TypeError: history is one str ('queued'), where a sequence belongs: give a list, such as ['queued']
    """
    check_not_one(values, name)
    return list(values)


def check_not_one(values: object, name: str) -> None:
    """``TypeError`` when ``values``, meant to be many, is one item alone (see :func:`history_list`)."""
    if isinstance(values, (str, bytes, bytearray, Mapping)) or hasattr(values, "status"):
        shown = repr(values) if len(repr(values)) <= 60 else f"{repr(values)[:57]}..."
        raise TypeError(
            f"{name} is one {type(values).__name__} ({shown}), where a sequence belongs: give a list, such as [{shown}]"
        )


class Outcome(enum.Enum):
    """What the tracker made of one observation (the per-observation verdict)."""

    START = "start"
    """Poll mode: the first status seen; watching began here."""
    JOINED = "joined"
    """Stream mode: the first status seen is not one a run starts in; the capture began mid-run."""
    ACCEPTED = "accepted"
    """A direct edge of the lifecycle (see ``Observation.lenient`` for lenient ones)."""
    INFERRED = "inferred"
    """Poll mode: a jump explained by unobserved states, listed in ``Observation.inferred``."""
    REPEATED = "repeated"
    """The current status again: a normal re-observation, not a transition."""
    UNRECORDED_CALL = "unrecorded_call"
    """Poll mode with ``on_missing_call="assume"``: explained only by a client call nobody recorded."""
    ILLEGAL = "illegal"
    """Rejected: the state did not change."""
    UNKNOWN_STATUS = "unknown_status"
    """Rejected: the status is not one runfsm knows."""
    CALL = "call"
    """A client call the tracker was told of (no status)."""

    @property
    def is_rejection(self) -> bool:
        """True for the outcomes that left the state unchanged because the input was wrong."""
        return self in (Outcome.ILLEGAL, Outcome.UNKNOWN_STATUS)


@dataclass(slots=True, eq=True)
class Observation(Generic[S]):
    """One entry of a tracker's history. Read-only by convention (not frozen: frozen costs microseconds)."""

    index: int
    """Position in the history, from 0."""
    time: float | None
    """When it was observed (the ``at`` argument, or the tracker's clock)."""
    raw: object
    """What was passed to ``observe`` (or the call's name for ``CALL`` entries)."""
    status: S | None
    """The parsed status; None for unknown statuses and for calls."""
    source: S
    """The tracker's state before."""
    state: S
    """The tracker's state after (equal to ``source`` when rejected)."""
    outcome: Outcome
    inferred: tuple[S, ...] = ()
    """Poll mode: states the run must have passed through unobserved, in order."""
    lenient: tuple[Edge[S], ...] = ()
    """Lenient edges this observation used (directly or on its inferred path)."""
    calls: tuple[Trigger, ...] = ()
    """Client calls: the one recorded (``CALL``), or those the inferred path used up."""
    missing_calls: tuple[Trigger, ...] = ()
    """Client calls the jump needed that were not recorded."""
    warnings: tuple[str, ...] = ()
    """Field-invariant warnings and other notes; never a reason to reject."""

    @property
    def accepted(self) -> bool:
        """True unless the observation was rejected."""
        return not self.outcome.is_rejection

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``raw`` made JSON-safe)."""
        return {
            "index": self.index,
            "time": self.time,
            "raw": _jsonable(self.raw),
            "status": self.status.name if self.status is not None else None,
            "source": self.source.name,
            "state": self.state.name,
            "outcome": self.outcome.value,
            "inferred": [s.name for s in self.inferred],
            "lenient": [[e.source.name, e.dest.name] for e in self.lenient],
            "calls": [c.value for c in self.calls],
            "missing_calls": [c.value for c in self.missing_calls],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, lifecycle: Lifecycle[Any] | None = None) -> Observation[Any]:
        """Inverse of :meth:`to_dict`; :class:`~runfsm.exceptions.SavedTrackerError` names a bad field."""
        return read_entry(data, lifecycle=lifecycle_or_run(lifecycle), make=observation_from_step)


_OUTCOMES = {o.value: o for o in Outcome}


def observation_from_step(
    index: int, time: float | None, raw: object, step: Step, warnings: tuple[str, ...]
) -> Observation[Any]:
    return Observation(
        index,
        time,
        raw,
        step.status,
        step.source,
        step.state,
        _OUTCOMES[step.outcome],
        step.inferred,
        step.lenient,
        step.calls,
        step.missing_calls,
        warnings,
    )


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value.name if isinstance(value, LifecycleState) else value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return _jsonable(dump(mode="json"))
    event = getattr(value, "event", None)
    if isinstance(event, str):
        return {"event": event, "data": _jsonable(getattr(value, "data", None))}
    return repr(value)
