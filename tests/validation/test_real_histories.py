"""Verdicts on histories that real reports showed (LIFECYCLE.md, "Added 2026-12").

Each test is one history that motivated a change: a stream capture that begins mid-run, a
stale ``requires_action`` right after a submit, an expired run with every timestamp null, an
``incomplete`` run stopped by the content filter, a misspelled status constant.
"""

from __future__ import annotations

import dataclasses
import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from runfsm import Outcome, RunStatus, RunTracker
from runfsm.commands.main import main
from runfsm.drawing import Overlay
from runfsm.drawing.report import Report
from runfsm.invariants import check_fields
from runfsm.status import status_aliases
from runfsm.validation import summarize_paths, validate, validate_paths
from runfsm.verdict import RunResult, StepKind
from runfsm.vocabulary import Trigger


def _run(status: str, **fields: Any) -> dict[str, Any]:
    return {"id": "run_late", "object": "thread.run", "thread_id": "thread_1", "status": status, **fields}


def _event(status: str, **fields: Any) -> dict[str, Any]:
    return {"event": f"thread.run.{status}", "data": _run(status, **fields)}


def _write_events(path: Path, statuses: list[str]) -> Path:
    path.write_text("".join(json.dumps(_event(s)) + "\n" for s in statuses), encoding="utf-8")
    return path


def test_a_consumer_that_connected_late_joined_the_run_mid_run() -> None:
    """A stream capture beginning at in_progress is a run joined mid-run: legal from there, not illegal."""
    verdict = validate([_event("in_progress"), _event("completed")])  # stream events: stream mode
    assert verdict.mode == "stream"
    assert verdict.result is RunResult.JOINED
    assert verdict.offenses == ()
    assert [(s.kind, s.dest) for s in verdict.steps] == [
        (StepKind.JOINED, RunStatus.InProgress),
        (StepKind.OBSERVED, RunStatus.Completed),
    ]


def test_a_submit_stream_logged_alone_starting_at_requires_action_is_joined() -> None:
    """requires_action, then the submit's queued: joined at requires_action, then legal."""
    verdict = validate(["thread.run.requires_action", "submit_tool_outputs", "thread.run.queued"], mode="stream")
    assert verdict.result is RunResult.JOINED
    assert not verdict.offenses


def test_a_log_cut_at_its_start_is_joined_at_the_terminal_status() -> None:
    """Only the last event survived: joined at completed."""
    assert validate(["thread.run.completed"], mode="stream").result is RunResult.JOINED


def test_a_stream_that_starts_where_runs_start_and_skips_a_state_is_still_illegal() -> None:
    """created, then completed: the start was seen, so the skipped states are an illegal jump."""
    verdict = validate(["thread.run.created", "thread.run.completed"], mode="stream")
    assert verdict.result is RunResult.ILLEGAL
    assert verdict.offenses[0].message.startswith("illegal jump created -> completed")


def test_joined_runs_are_counted_apart_and_fail_only_when_strict(tmp_path: Path) -> None:
    """The summary counts joined runs; the exit code is 0, or 1 with --strict, where the text report lists them."""
    log = _write_events(tmp_path / "late.jsonl", ["in_progress", "requires_action"])
    summary = summarize_paths([log])
    assert (summary.runs, summary.joined, summary.legal, summary.illegal) == (1, 1, 0, 0)
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["validate", str(log)]) == 0
    assert "joined mid-run" in out.getvalue()
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["validate", "--strict", str(log)]) == 1
    assert "FAIL run_late (stream mode): joined" in out.getvalue()
    assert "the stream capture began mid-run, at in_progress (observation 0)" in out.getvalue()
    out = io.StringIO()
    with redirect_stdout(out):
        main(["validate", "--format", "json", str(log)])
    assert json.loads(out.getvalue())["summary"]["joined"] == 1


def test_overlay_and_report_show_joined_runs(tmp_path: Path) -> None:
    """The overlay draws where the capture began and its caption counts joined runs; the strict report lists them."""
    log = _write_events(tmp_path / "late.jsonl", ["in_progress", "completed"])
    verdicts = list(validate_paths([log]))
    overlay = Overlay().update(verdicts)
    assert overlay.counts(RunStatus.Null, RunStatus.InProgress).started == 1
    assert "joined 1" in overlay.diagram().caption
    report = Report(strict=True).update(verdicts)
    assert report.summary.joined == 1
    assert "the stream capture began mid-run, at in_progress" in report.html()


def test_an_expired_deep_research_run_with_every_timestamp_null_breaks_no_field_invariant() -> None:
    """Azure deep-research runs expire with expires_at, failed_at, cancelled_at, last_error all null [O-42397]."""
    nulls = dict.fromkeys(["expires_at", "failed_at", "cancelled_at", "last_error", "incomplete_details"])
    assert check_fields(RunStatus.Expired, _run("expired", **nulls)) == ()
    verdict = validate(
        [_run("queued", created_at=1, expires_at=601), _run("in_progress", started_at=2), _run("expired", **nulls)]
    )
    assert (verdict.result, verdict.warnings) == (RunResult.LEGAL, ())


def test_an_incomplete_run_stopped_by_the_content_filter_breaks_no_field_invariant() -> None:
    """An incomplete run with reason content_filter is common on Azure [O-9672, O-9729]."""
    assert check_fields(RunStatus.Incomplete, _run("incomplete", incomplete_details={"reason": "content_filter"})) == ()


def _paused(*ids: str) -> dict[str, Any]:
    calls = [{"id": i, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}} for i in ids]
    return _run(
        "requires_action", required_action={"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": calls}}
    )


def test_a_stale_requires_action_right_after_a_submit_is_a_re_observation() -> None:
    """Azure's SDK polled requires_action again after submitting: same ids, so no new round and no missing call."""
    tracker = RunTracker("run_late", mode="poll", on_illegal="record")
    tracker.observe_all([_run("in_progress", started_at=1), _paused("call_1", "call_2")])
    tracker.submitted_tool_outputs()
    stale = tracker.observe(_paused("call_2", "call_1"))
    assert (stale.outcome, stale.inferred) == (Outcome.REPEATED, ())
    assert tracker.pending_calls == {Trigger.SUBMIT_TOOL_OUTPUTS}  # the submit still explains what comes next
    assert tracker.observe("queued").outcome is Outcome.ACCEPTED
    verdict = validate(
        [_run("in_progress", started_at=1), _paused("call_1"), "submit_tool_outputs", _paused("call_1"), "queued"]
    )
    assert (verdict.result, verdict.offenses, verdict.inferred) == (RunResult.UNFINISHED, (), ())


def test_a_genuine_second_round_with_new_ids_is_a_new_round() -> None:
    """New tool-call ids after a submit: the run went round again (queued, in_progress unobserved)."""
    tracker = RunTracker("run_late", mode="poll", on_illegal="record")
    tracker.observe_all([_run("in_progress", started_at=1), _paused("call_1")])
    tracker.submitted_tool_outputs()
    again = tracker.observe(_paused("call_9"))
    assert (again.outcome, again.inferred) == (Outcome.INFERRED, (RunStatus.Queued, RunStatus.InProgress))
    assert tracker.pending_calls == frozenset()


def test_without_tool_call_ids_a_second_requires_action_reads_as_a_new_round() -> None:
    """Compact logs carry no ids: after a submit, requires_action again is read as a new round (as before)."""
    tracker = RunTracker("run_c", mode="poll", on_illegal="record")
    tracker.observe_all(["in_progress", "requires_action"])
    tracker.submitted_tool_outputs()
    assert tracker.observe("requires_action").outcome is Outcome.INFERRED


def test_stale_requires_action_in_a_log_file_gives_the_same_verdict_on_every_path(tmp_path: Path) -> None:
    """A JSON Lines log with the stale poll: validate_paths (fast path) equals validate(), and the run is legal."""
    history = [
        _run("queued", created_at=1, expires_at=601),
        _run("in_progress", started_at=2),
        _paused("call_1"),
        {"run_id": "run_late", "call": "submit_tool_outputs"},
        _paused("call_1"),
        _run("completed", completed_at=9),
    ]
    log = tmp_path / "runs.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in history), encoding="utf-8")
    (fast,) = validate_paths([log])
    assert fast.result is RunResult.LEGAL
    assert not fast.offenses
    assert fast.observations == 5
    saved = RunTracker.from_json(_tracker_after(history[:5]).to_json())
    assert saved.observe(_paused("call_1")).outcome is Outcome.REPEATED  # the answered round survives a restore


def _tracker_after(history: list[dict[str, Any]]) -> RunTracker:
    tracker = RunTracker("run_late", mode="poll", on_illegal="record")
    for item in history:
        if "call" in item:
            tracker.submitted_tool_outputs()
        else:
            tracker.observe(item)
    return tracker


def test_a_misspelled_status_stays_unknown_unless_an_alias_maps_it(tmp_path: Path) -> None:
    """semantic-kernel once wrote "canceled": unknown by default, cancelled with --status-alias canceled=cancelled."""
    history = [_run("queued", created_at=1, expires_at=601), _run("cancelling"), _run("canceled", cancelled_at=5)]
    assert validate(history).result is RunResult.UNKNOWN_STATUS
    aliases = status_aliases(["canceled=cancelled"])
    verdict = validate(history, aliases=aliases)
    assert (verdict.result, verdict.final) == (RunResult.LEGAL, RunStatus.Cancelled)
    log = tmp_path / "runs.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in history), encoding="utf-8")
    assert [v.result for v in validate_paths([log])] == [RunResult.UNKNOWN_STATUS]
    assert list(validate_paths([log], aliases=aliases)) == [dataclasses.replace(verdict, run_id="run_late")]
    events = _write_events(tmp_path / "events.jsonl", ["created", "queued", "cancelling", "canceled"])
    assert main(["validate", str(events)]) == 2  # an unknown status
    assert main(["validate", "--status-alias", "canceled=cancelled", str(events)]) == 0


def test_a_status_alias_names_an_unknown_status_and_a_known_target() -> None:
    """An alias cannot rename a status runfsm knows, nor point at one it does not; the CLI says so (exit 2)."""
    with pytest.raises(ValueError, match="already a status"):
        status_aliases({"cancelled": "failed"})
    with pytest.raises(ValueError, match="not a status"):
        status_aliases(["canceled=cancellled"])
    with pytest.raises(ValueError, match="expected ALIAS=STATUS"):
        status_aliases(["canceled"])
    assert main(["validate", "--status-alias", "cancelled=failed", "--sample"]) == 2


def test_an_alias_names_one_status() -> None:
    """The same alias twice for one status is fine (any spelling of it); for two statuses, a usage error."""
    assert status_aliases(["canceled=cancelled", "canceled=Cancelled"]) == {"canceled": RunStatus.Cancelled}
    with pytest.raises(ValueError, match="'canceled' is already an alias of 'cancelled'; an alias names one status"):
        status_aliases(["canceled=cancelled", "canceled=failed"])
    argv = ["validate", "--status-alias", "canceled=cancelled", "--status-alias", "canceled=failed", "--sample"]
    assert main(argv) == 2
