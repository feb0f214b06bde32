"""Validation per lifecycle preset: the fast path agrees with the reference; each API's files are read and detected."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm import BATCH_LIFECYCLE, PRESETS, RESPONSE_LIFECYCLE, RUN_LIFECYCLE, Lifecycle, Trigger
from runfsm.exceptions import InputError
from runfsm.testing.strategies import illegal_histories, poll_histories, stream_histories
from runfsm.validation import summarize_paths, validate, validate_many, validate_paths
from runfsm.validation.records import Record, detect_lifecycle
from runfsm.verdict import RunResult

ALL = pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=list(PRESETS))


def _history(lifecycle: Lifecycle[Any], mode: str) -> st.SearchStrategy[list[Any]]:
    if mode == "stream":
        return st.one_of(
            stream_histories(lifecycle=lifecycle, terminal=False, depth=2),
            illegal_histories(lifecycle=lifecycle).map(lambda pair: pair[0]),
        )
    return st.one_of(
        poll_histories(lifecycle=lifecycle, depth=2),
        illegal_histories(mode="poll", lifecycle=lifecycle).map(lambda pair: pair[0]),
    )


def _records(run_id: str, mode: str, history: list[Any]) -> list[Record]:
    out = []
    for line, entry in enumerate(history, 1):
        if isinstance(entry, Trigger):
            out.append(Record(run_id, None, entry.value, source=run_id, line=line, mode=None, call=entry))
        else:
            out.append(Record(run_id, entry, entry.wire or entry.name, source=run_id, line=line, mode=mode))  # type: ignore[arg-type]
    return out


@ALL
@settings(max_examples=60, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**16), linger=st.sampled_from([0, 1, 2, 3, 1_000]))
def test_fast_path_gives_the_reference_verdicts(
    lifecycle: Lifecycle[Any], data: st.DataObject, seed: int, linger: int
) -> None:
    """validate_many (shapes and ledger) gives, per interleaved run, exactly validate()'s (the tracker's) verdict."""
    rng = random.Random(seed)
    histories: dict[str, list[Record]] = {}
    for n in range(data.draw(st.integers(1, 4), label="runs")):
        mode = data.draw(st.sampled_from(["stream", "poll"]), label="mode")
        histories[f"{lifecycle.key}_{n}"] = _records(f"{lifecycle.key}_{n}", mode, data.draw(_history(lifecycle, mode)))
    if linger < sum(map(len, histories.values())):  # nothing after an end: the run may be let go of already
        for key, records in histories.items():
            end = next((k for k, r in enumerate(records) if r.status in lifecycle.terminal), None)
            histories[key] = records if end is None else records[: end + 1]
    # interleaved: each record at a random time, increasing within its run
    timed = [
        (t, r)
        for records in histories.values()
        for t, r in zip(sorted(rng.random() for _ in records), records, strict=True)
    ]
    stream = [r for _, r in sorted(timed, key=lambda pair: pair[0])]
    verdicts = list(validate_many(stream, linger=linger, lifecycle=lifecycle))
    assert sorted(v.run_id or "" for v in verdicts) == sorted(k for k, v in histories.items() if v)
    for verdict in verdicts:
        assert verdict.run_id is not None
        assert verdict == validate(histories[verdict.run_id], lifecycle=lifecycle), verdict.run_id


def _write(path: Path, lines: list[object]) -> str:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return str(path)


def test_a_log_of_polled_background_responses(tmp_path: Path) -> None:
    """Response objects as polled: legal histories, a broken invariant warned, an illegal regression reported."""
    lines: list[object] = [
        {"object": "response", "id": "resp_a", "status": "queued", "background": True},
        {"object": "response", "id": "resp_a", "status": "completed", "completed_at": 9},
        {"object": "response", "id": "resp_b", "status": "in_progress"},
        {"object": "response", "id": "resp_b", "status": "failed"},  # no error: a warning
        {"object": "response", "id": "resp_c", "status": "cancelled"},
        {"object": "response", "id": "resp_c", "status": "completed", "completed_at": 5},  # [O-qa]
    ]
    path = _write(tmp_path / "responses.jsonl", lines)
    verdicts = {v.run_id: v for v in validate_paths([path], lifecycle="response")}
    assert verdicts["resp_a"].result is RunResult.LEGAL
    assert verdicts["resp_a"].inferred[0][1] == (RESPONSE_LIFECYCLE.parse("in_progress"),)
    assert [w[2] for w in verdicts["resp_b"].warnings] == ["failed: error is not set"]
    assert verdicts["resp_c"].result is RunResult.ILLEGAL


def test_a_log_of_response_stream_events_and_webhooks(tmp_path: Path) -> None:
    """Responses stream events (``type`` + ``response``) are streams; output deltas are skipped; webhooks are polls."""
    resp = {"object": "response", "id": "resp_s"}
    lines: list[object] = [
        {"type": "response.created", "sequence_number": 0, "response": {**resp, "status": "queued"}},
        {"type": "response.in_progress", "sequence_number": 1, "response": {**resp, "status": "in_progress"}},
        {"type": "response.output_text.delta", "sequence_number": 2, "delta": "Hi"},
        {
            "type": "response.completed",
            "sequence_number": 3,
            "response": {**resp, "status": "completed", "completed_at": 3},
        },
        {"object": "event", "id": "evt_1", "type": "response.cancelled", "created_at": 1, "data": {"id": "resp_w"}},
    ]
    path = _write(tmp_path / "events.jsonl", lines)
    errors: list[InputError] = []
    verdicts = {v.run_id: v for v in validate_paths([path], lifecycle="auto", on_error=errors.append)}
    assert errors == []
    assert (verdicts["resp_s"].mode, verdicts["resp_s"].result) == ("stream", RunResult.LEGAL)
    assert verdicts["resp_s"].observations == 3
    assert (verdicts["resp_w"].mode, verdicts["resp_w"].result) == ("poll", RunResult.LEGAL)


def test_a_log_of_batches_with_a_cancel(tmp_path: Path) -> None:
    """Batch objects polled hours apart, and a cancel recorded as a client call, summarized."""
    lines: list[object] = [
        {"object": "batch", "id": "batch_1", "status": "validating"},
        {"object": "batch", "id": "batch_1", "status": "completed", "completed_at": 80000},
        {"object": "batch", "id": "batch_2", "status": "in_progress", "in_progress_at": 10},
        {"run_id": "batch_2", "call": "cancel"},
        {"object": "batch", "id": "batch_2", "status": "cancelled", "cancelled_at": 600},
        {"object": "batch", "id": "batch_3", "status": "in_progress", "in_progress_at": 10},
        {"object": "batch", "id": "batch_3", "status": "validating"},
    ]
    path = _write(tmp_path / "batches.jsonl", lines)
    summary = summarize_paths([path], lifecycle="batch")
    assert (summary.runs, summary.legal, summary.illegal) == (3, 2, 1)
    assert summary.inferred_jumps == 2
    assert detect_lifecycle([path]) is BATCH_LIFECYCLE


def test_records_of_another_lifecycle_are_reported_with_a_hint(tmp_path: Path) -> None:
    """A batch log validated as runs: every line is an error naming the preset that reads it."""
    path = _write(tmp_path / "batches.jsonl", [{"object": "batch", "id": "batch_1", "status": "validating"}])
    errors: list[InputError] = []
    assert list(validate_paths([path], on_error=errors.append)) == []
    assert len(errors) == 1
    assert "expected 'thread.run' (a batch: validate it with --lifecycle batch)" in str(errors[0])


def test_auto_detection_falls_back_to_the_run(tmp_path: Path) -> None:
    """Nothing names a lifecycle (CSV, compact records, no file): auto detection gives None and validation the run."""
    csv = tmp_path / "runs.csv"
    csv.write_text("run_id,status\nr,queued\nr,completed\n", encoding="utf-8")
    assert detect_lifecycle([str(csv), "-", str(tmp_path / "missing")]) is None
    (verdict,) = validate_paths([str(csv)], lifecycle="auto")
    assert verdict.result is RunResult.LEGAL
    assert (
        detect_lifecycle([_write(tmp_path / "r.jsonl", [{"event": "thread.run.queued", "data": {}}])]) is RUN_LIFECYCLE
    )


def test_a_compressed_log_names_its_lifecycle(tmp_path: Path) -> None:
    """``lifecycle="auto"`` reads the first records of a ``.gz`` log too (it used to fall back to the run)."""
    import gzip

    path = tmp_path / "batches.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"object": "batch", "id": "batch_1", "status": "validating"}\n'))
    assert detect_lifecycle([path]) is BATCH_LIFECYCLE
    summary = summarize_paths([path], lifecycle="auto")
    assert (summary.runs, summary.unfinished, summary.input_errors) == (1, 1, 0)


def test_list_pages_of_other_objects(tmp_path: Path) -> None:
    """A list page of another lifecycle's objects is a located error naming the preset (it used to raise).

    A page of the same API's other objects (run steps, messages) is skipped, not judged as runs.
    """
    batch = {"object": "batch", "id": "batch_1", "status": "validating"}
    step = {"object": "thread.run.step", "id": "step_1", "status": "completed"}
    path = _write(tmp_path / "pages.jsonl", [{"object": "list", "data": [batch]}, {"object": "list", "data": [step]}])
    errors: list[InputError] = []
    summary = summarize_paths([path], lifecycle=RUN_LIFECYCLE, on_error=errors.append)
    assert [str(e) for e in errors] == [
        f"{path}:1: 'object' is 'batch': expected 'thread.run' (a batch: validate it with --lifecycle batch)"
    ]
    assert summary.runs == 0
    assert (summary.sources[0].errors, summary.sources[0].skipped) == (1, 1)
