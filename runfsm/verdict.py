"""The verdict on one run's observed history: legal, illegal, unknown status or unfinished, and where."""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runfsm.tracker import Mode, Outcome, RunTracker

if TYPE_CHECKING:
    from collections.abc import Sequence

    from runfsm.lifecycle import Edge
    from runfsm.vocabulary import LifecycleState, Trigger

__all__ = ["Location", "Offense", "OffenseKind", "RunResult", "Step", "StepKind", "Verdict", "raw_text"]


class RunResult(enum.Enum):
    """A run's overall result. When several apply, the first in this order wins."""

    ILLEGAL = "illegal"
    """At least one jump the lifecycle forbids (or, when strict, an unrecorded client call)."""
    UNKNOWN_STATUS = "unknown_status"
    """At least one status runfsm does not know."""
    JOINED = "joined"
    """Stream mode: the capture began mid-run (after ``created``/``queued``); legal from there on.

    A partial history, not an illegal one: a failure only when strict, like an unfinished run.
    """
    UNFINISHED = "unfinished"
    """Legal so far, but no terminal status was observed."""
    LEGAL = "legal"
    """Legal, and ended in a terminal status."""


@dataclass(frozen=True, slots=True)
class Location:
    """Where a record came from: a file (or ``<stdin>``) and its 1-based line."""

    source: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.source}:{self.line}" if self.line is not None else self.source


class OffenseKind(enum.Enum):
    """Why an observation counts against a run."""

    ILLEGAL = "illegal"
    UNKNOWN_STATUS = "unknown_status"
    UNRECORDED_CALL = "unrecorded_call"
    """Poll mode: a jump explained only by a client call the log does not contain."""


@dataclass(frozen=True, slots=True)
class Offense:
    """One offending observation, located."""

    kind: OffenseKind
    index: int
    """Position of the observation in the run's history."""
    location: Location | None
    source: LifecycleState
    """The state the run was in."""
    target: LifecycleState | None
    """The observed status (None when unknown)."""
    raw: str
    """The observed value as text (the unknown status itself, for example)."""
    allowed: tuple[LifecycleState, ...]
    """Direct successors of ``source``."""
    missing_calls: tuple[Trigger, ...] = ()

    @property
    def message(self) -> str:
        """One line for people."""
        allowed = ", ".join(s.label for s in self.allowed) or "nothing (terminal)"
        src = self.source.label
        if self.kind is OffenseKind.UNKNOWN_STATUS:
            return f"unknown status {self.raw!r} after {src}"
        tgt = self.target.label if self.target is not None else self.raw
        if self.kind is OffenseKind.UNRECORDED_CALL:
            calls = " and ".join(c.value for c in self.missing_calls)
            return f"{src} -> {tgt} needs a {calls} call the log does not contain"
        return f"illegal jump {src} -> {tgt}; allowed after {src}: {allowed}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind.value,
            "index": self.index,
            "location": str(self.location) if self.location is not None else None,
            "from": self.source.label,
            "to": self.target.label if self.target is not None else self.raw,
            "allowed": [s.label for s in self.allowed],
            "missing_calls": [c.value for c in self.missing_calls],
            "message": self.message,
        }


class StepKind(enum.Enum):
    """How an edge of a run's path was known (what a diagram overlay draws)."""

    START = "start"
    """Watching began in ``dest`` (``source`` is the initial state; no edge was taken)."""
    JOINED = "joined"
    """Stream mode: the capture began in ``dest``, mid-run (``source`` is the initial state; no edge was seen)."""
    OBSERVED = "observed"
    INFERRED = "inferred"
    UNRECORDED_CALL = "unrecorded_call"
    ILLEGAL = "illegal"
    """Rejected: drawn as an extra edge; the run stayed in ``source``."""


@dataclass(frozen=True, slots=True)
class Step:
    """One edge of a run's path."""

    source: LifecycleState
    dest: LifecycleState
    kind: StepKind
    lenient: bool
    index: int
    """The observation that produced it."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Everything known about one run's history, located in the input."""

    run_id: str | None
    mode: Mode
    result: RunResult
    final: LifecycleState
    """The state the run was left in."""
    observations: int
    """Status observations (client calls excluded)."""
    offenses: tuple[Offense, ...] = ()
    """Illegal jumps, unknown statuses and unrecorded client calls, in order."""
    inferred: tuple[tuple[int, tuple[LifecycleState, ...]], ...] = ()
    """Poll mode: (observation index, states passed through unobserved)."""
    lenient: tuple[Edge[Any], ...] = ()
    """Lenient edges used, in order."""
    warnings: tuple[tuple[int, Location | None, str], ...] = ()
    """Field-invariant warnings: (observation index, location, message)."""
    steps: tuple[Step, ...] = ()
    """The path, edge by edge, for overlays."""
    notes: tuple[tuple[int, Location | None, str], ...] = ()
    """Client-call notes: a call recorded after the run ended, or while the run could not take it
    (observation index, location, message). Never a reason to reject, like warnings."""
    strict: bool = False

    @property
    def ok(self) -> bool:
        """True for a legal, finished run."""
        return self.result is RunResult.LEGAL

    @property
    def first_offense(self) -> Offense | None:
        """The first offense that decides the result (unrecorded calls only when strict)."""
        for offense in self.offenses:
            if offense.kind is not OffenseKind.UNRECORDED_CALL or self.strict:
                return offense
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        first = self.first_offense
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "result": self.result.value,
            "final": self.final.label,
            "observations": self.observations,
            "first_offense": first.to_dict() if first is not None else None,
            "offenses": [o.to_dict() for o in self.offenses],
            "inferred": [{"index": i, "states": [s.label for s in states]} for i, states in self.inferred],
            "lenient_edges": [[e.source.label, e.dest.label] for e in self.lenient],
            "warnings": [
                {"index": i, "location": str(loc) if loc is not None else None, "message": m}
                for i, loc, m in self.warnings
            ],
            "notes": [
                {"index": i, "location": str(loc) if loc is not None else None, "message": m}
                for i, loc, m in self.notes
            ],
        }

    @classmethod
    def from_tracker(
        cls,
        tracker: RunTracker,
        *,
        locations: Sequence[Location | None] | None = None,
        strict: bool = False,
    ) -> Verdict:
        """Judge a tracker's history. ``locations[i]`` locates history entry ``i``.

        The tracker should record rather than raise (``on_illegal="record"``), and assume
        unrecorded calls (``on_missing_call="assume"``) so that they are reported as their own
        kind instead of as illegal jumps.
        """
        lifecycle = tracker.lifecycle
        offenses: list[Offense] = []
        inferred: list[tuple[int, tuple[LifecycleState, ...]]] = []
        lenient: list[Edge[Any]] = []
        warnings: list[tuple[int, Location | None, str]] = []
        notes: list[tuple[int, Location | None, str]] = []
        steps: list[Step] = []
        observations = 0
        joined = False
        for obs in tracker.history:
            loc = locations[obs.index] if locations is not None and obs.index < len(locations) else None
            if obs.outcome is Outcome.CALL:
                notes.extend((obs.index, loc, w) for w in obs.warnings)
            elif obs.outcome is not Outcome.UNKNOWN_STATUS:
                warnings.extend((obs.index, loc, w) for w in obs.warnings)
            if obs.outcome is Outcome.CALL:
                continue
            observations += 1
            lenient.extend(obs.lenient)
            allowed = lifecycle.successors(obs.source)
            raw = str(obs.status) if obs.status is not None else raw_text(obs.raw)
            if obs.outcome is Outcome.UNKNOWN_STATUS:
                offenses.append(Offense(OffenseKind.UNKNOWN_STATUS, obs.index, loc, obs.source, None, raw, allowed))
            elif obs.outcome is Outcome.ILLEGAL:
                kind = OffenseKind.ILLEGAL
                offenses.append(Offense(kind, obs.index, loc, obs.source, obs.status, raw, allowed, obs.missing_calls))
                assert obs.status is not None
                steps.append(Step(obs.source, obs.status, StepKind.ILLEGAL, False, obs.index))
            elif obs.outcome is Outcome.START:
                steps.append(Step(obs.source, obs.state, StepKind.START, False, obs.index))
            elif obs.outcome is Outcome.JOINED:
                joined = True
                steps.append(Step(obs.source, obs.state, StepKind.JOINED, False, obs.index))
            elif obs.outcome in (Outcome.ACCEPTED, Outcome.INFERRED, Outcome.UNRECORDED_CALL):
                if obs.outcome is Outcome.UNRECORDED_CALL:
                    offenses.append(
                        Offense(
                            OffenseKind.UNRECORDED_CALL,
                            obs.index,
                            loc,
                            obs.source,
                            obs.status,
                            raw,
                            allowed,
                            obs.missing_calls,
                        )
                    )
                    kind_of_step = StepKind.UNRECORDED_CALL
                else:
                    kind_of_step = StepKind.INFERRED if obs.inferred else StepKind.OBSERVED
                if obs.inferred:
                    inferred.append((obs.index, obs.inferred))
                path = (obs.source, *obs.inferred, obs.state)
                for a, b in itertools.pairwise(path):
                    edge = lifecycle.edge(a, b)
                    steps.append(Step(a, b, kind_of_step, edge is not None and edge.is_lenient, obs.index))
        kinds = {o.kind for o in offenses}
        if OffenseKind.ILLEGAL in kinds or (strict and OffenseKind.UNRECORDED_CALL in kinds):
            result = RunResult.ILLEGAL
        elif OffenseKind.UNKNOWN_STATUS in kinds:
            result = RunResult.UNKNOWN_STATUS
        elif joined:
            result = RunResult.JOINED
        elif not tracker.is_terminal:
            result = RunResult.UNFINISHED
        else:
            result = RunResult.LEGAL
        return cls(
            run_id=tracker.run_id,
            mode=tracker.mode,
            result=result,
            final=tracker.state,
            observations=observations,
            offenses=tuple(offenses),
            inferred=tuple(inferred),
            lenient=tuple(lenient),
            warnings=tuple(warnings),
            notes=tuple(notes),
            steps=tuple(steps),
            strict=strict,
        )


def raw_text(raw: object) -> str:
    """An observed value as text: a string as is, a run or event dict by its status or event, else its repr."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, dict):
        for key in ("status", "event"):
            if key in raw:
                return str(raw[key])
    return repr(raw)
