"""Run verdicts judged from a tracker's history: result, first offense, steps for overlays."""

from __future__ import annotations

import json

from runfsm import RunStatus, RunTracker
from runfsm.verdict import Location, OffenseKind, RunResult, StepKind, Verdict

R = RunStatus


def _tracker(mode: str = "poll") -> RunTracker:
    return RunTracker("run_v", mode=mode, on_illegal="record", on_missing_call="assume")  # type: ignore[arg-type]


def test_legal_finished_run() -> None:
    """A legal run that reached a terminal status is LEGAL, with its inferred states and steps."""
    t = _tracker()
    t.observe_all(["queued", "completed"])
    v = Verdict.from_tracker(t)
    assert v.result is RunResult.LEGAL
    assert v.ok
    assert v.inferred == ((1, (R.InProgress,)),)
    assert [(s.source, s.dest, s.kind) for s in v.steps] == [
        (R.Null, R.Queued, StepKind.START),
        (R.Queued, R.InProgress, StepKind.INFERRED),
        (R.InProgress, R.Completed, StepKind.INFERRED),
    ]


def test_unfinished_run() -> None:
    """No terminal status observed: UNFINISHED, not illegal."""
    t = _tracker()
    t.observe_all(["queued", "in_progress"])
    assert Verdict.from_tracker(t).result is RunResult.UNFINISHED


def test_illegal_run_locates_its_first_offense() -> None:
    """The first offending observation is located by file:line and names from, to and the allowed targets."""
    t = _tracker("stream")
    t.observe_all(["queued", "in_progress", "completed", "in_progress"])
    locations = [Location("log.jsonl", n) for n in (3, 7, 9, 12)]
    v = Verdict.from_tracker(t, locations=locations)
    assert v.result is RunResult.ILLEGAL
    first = v.first_offense
    assert first is not None
    assert (first.kind, first.index, str(first.location)) == (OffenseKind.ILLEGAL, 3, "log.jsonl:12")
    assert (first.source, first.target, first.allowed) == (R.Completed, R.InProgress, ())
    assert "completed -> in_progress" in first.message
    assert v.steps[-1].kind is StepKind.ILLEGAL
    json.dumps(v.to_dict())


def test_unrecorded_calls_are_warnings_unless_strict() -> None:
    """A jump needing an unrecorded cancel is its own kind: legal by default, illegal when strict."""
    t = _tracker()
    t.observe_all(["queued", "in_progress", "cancelled"])
    lax, strict = Verdict.from_tracker(t), Verdict.from_tracker(t, strict=True)
    assert lax.result is RunResult.LEGAL
    assert lax.first_offense is None
    assert [o.kind for o in lax.offenses] == [OffenseKind.UNRECORDED_CALL]
    assert strict.result is RunResult.ILLEGAL
    assert strict.first_offense is not None
    assert "cancel" in strict.first_offense.message


def test_unknown_status_beats_unfinished() -> None:
    """An unknown status makes the run UNKNOWN_STATUS, with the raw value in the offense."""
    t = _tracker()
    t.observe_all(["queued", "paused"])
    v = Verdict.from_tracker(t)
    assert v.result is RunResult.UNKNOWN_STATUS
    assert v.offenses[0].raw == "paused"
    assert "unknown status 'paused'" in v.offenses[0].message


def test_warnings_and_lenient_edges_are_collected() -> None:
    """Field warnings are located; lenient edges used are listed."""
    t = _tracker()
    t.observe({"object": "thread.run", "id": "run_v", "status": "queued"})
    t.observe({"object": "thread.run", "id": "run_v", "status": "failed"})
    v = Verdict.from_tracker(t, locations=[Location("a", 1), Location("a", 2)])
    assert [(e.source, e.dest) for e in v.lenient] == [(R.Queued, R.Failed)]
    assert v.warnings[0][:2] == (1, Location("a", 2))
