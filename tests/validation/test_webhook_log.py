"""``runfsm validate`` reads a log of raw webhook event bodies: a format of its own, deduplicated, in timeline order.

Each line is one delivered body (``{"id": "evt_...", "object": "event", "type": ..., "created_at":
..., "data": {"id": ...}}``). The lifecycle comes from the event type through the presets'
webhook tables, the object is ``data.id``, a redelivery of an event id is skipped (and counted
as skipped), and each object's events are judged in ``created_at`` order, since deliveries
come in no guaranteed order. The conservation properties over every format include it
(``tests/validation/test_conservation.py``, ``webhook_log`` in ``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm.commands.main import main
from runfsm.lifecycles import BATCH_LIFECYCLE, RESPONSE_LIFECYCLE, BatchStatus, ResponseStatus
from runfsm.status import status_aliases
from runfsm.validation import summarize_paths, validate_paths
from runfsm.validation.records import Record, detect_format, detect_lifecycle, read_records
from runfsm.verdict import RunResult

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from runfsm.lifecycle import Lifecycle


def event(event_id: str, kind: str, object_id: str, created_at: float) -> dict[str, Any]:
    """One delivered webhook body, as OpenAI sends it (thin: the object's id only)."""
    return {"id": event_id, "object": "event", "type": kind, "created_at": created_at, "data": {"id": object_id}}


def _write(path: Path, lines: Sequence[object]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def test_the_format_is_detected_from_the_first_event() -> None:
    """A first line with "object": "event" opens a webhook log; other JSON stays JSON Lines."""
    line = json.dumps(event("evt_1", "batch.completed", "batch_1", 10)).encode()
    assert detect_format(line) == "webhooks"
    assert detect_format(b'{"object": "thread.run", "id": "run_1", "status": "queued", "event": 1}') == "jsonl"
    assert detect_format(b'{"event": "thread.run.queued", "data": {"id": "run_1"}}') == "jsonl"


def test_what_the_jsonl_reader_did_and_what_this_format_does(tmp_path: Path) -> None:
    """Read as JSON Lines, a redelivery is judged twice and arrival order rules; as webhooks, neither.

    The object failed at t=10 and, by its own clock, was reported completed at t=20: delivered
    the other way round. JSON Lines (forced) judges the arrival order, and counts the redelivery
    as a record; the webhook log skips it and finds the offense at the event that came later
    in the object's timeline.
    """
    log = _write(
        tmp_path / "hooks.log",
        [
            event("evt_2", "response.completed", "resp_1", 20),
            event("evt_1", "response.failed", "resp_1", 10),
            event("evt_2", "response.completed", "resp_1", 20),
        ],
    )
    as_jsonl = summarize_paths([log], lifecycle="response", input_format="jsonl")
    as_webhooks = summarize_paths([log], lifecycle="response")
    assert (as_jsonl.sources[0].in_records, as_jsonl.sources[0].skipped) == (3, 0)
    assert (as_webhooks.sources[0].in_records, as_webhooks.sources[0].skipped) == (2, 1)
    (verdict,) = validate_paths([log], lifecycle="response")
    assert verdict.result is RunResult.ILLEGAL
    assert verdict.first_offense is not None
    assert verdict.first_offense.location is not None
    assert verdict.first_offense.location.line == 1  # completed (t=20) after failed (t=10)


@pytest.mark.parametrize(
    ("lifecycle", "kind", "status"),
    [
        (RESPONSE_LIFECYCLE, "response.incomplete", ResponseStatus.Incomplete),
        (BATCH_LIFECYCLE, "batch.expired", BatchStatus.Expired),
    ],
    ids=["response", "batch"],
)
def test_the_lifecycle_comes_from_the_event_type(
    lifecycle: Lifecycle[Any], kind: str, status: Any, tmp_path: Path
) -> None:
    """--lifecycle auto reads the preset from the type; the record is data.id in the status the type announces."""
    log = _write(tmp_path / "hooks.log", [event("evt_1", kind, "obj_1", 5)])
    assert detect_lifecycle([log]) is lifecycle
    (record,) = list(read_records(str(log), lifecycle=lifecycle))
    assert isinstance(record, Record)
    assert (record.run_id, record.status, record.mode, record.timestamp) == ("obj_1", status, "poll", 5.0)
    assert record.fields is None  # thin: nothing to check fields against
    assert main(["validate", "--lifecycle", "auto", str(log)]) == 0


def test_every_line_gets_its_rule(tmp_path: Path) -> None:
    """Records; a redelivery, a blank line and an event no preset follows skipped; the rest errors at their line."""
    log = _write(
        tmp_path / "hooks.log",
        [
            event("evt_1", "batch.completed", "batch_1", 10),
            event("evt_1", "batch.completed", "batch_1", 10),  # redelivered: skipped
            "",
            event("evt_2", "fine_tuning.job.succeeded", "ftjob_1", 11),  # no preset follows it: skipped
            event("evt_1", "batch.failed", "batch_1", 12),  # the same id, another event: an error
            event("evt_3", "response.completed", "resp_1", 13),  # another preset: an error naming it
            {"id": "evt_4", "object": "event", "type": "batch.failed", "created_at": "soon", "data": {"id": "b"}},
            {"id": "evt_5", "object": "event", "type": "batch.failed", "created_at": 1, "data": "batch_2"},
            "not json",
            event("evt_6", "batch.canceled", "batch_3", 14),  # under the prefix, unknown: a record
        ],
    )
    errors: list[Any] = []
    summary = summarize_paths([log], lifecycle="batch", on_error=errors.append)
    counts = summary.sources[0]
    assert (counts.lines, counts.in_records, counts.skipped, counts.errors) == (10, 2, 3, 5)
    assert counts.balanced
    messages = {e.line: str(e) for e in errors}
    assert "was read at line 1 as batch.completed of batch_1" in messages[5]
    assert "validate it with --lifecycle response" in messages[6]
    assert "'created_at' is 'soon'" in messages[7]
    assert "'data' is 'batch_2'" in messages[8]
    assert "malformed JSON" in messages[9]
    assert summary.unknown_status == 1
    aliased = summarize_paths(
        [log], lifecycle="batch", aliases=status_aliases(["batch.canceled=cancelled"], BATCH_LIFECYCLE)
    )
    assert aliased.unknown_status == 0


def test_the_log_runfsm_webhooks_log_writes_is_read_as_this_format(tmp_path: Path) -> None:
    """What the store logs (bodies once each, in arrival order) is detected as a webhook log."""
    bodies = [event("evt_b", "response.cancelled", "resp_2", 30), event("evt_a", "response.completed", "resp_1", 40)]
    log = _write(tmp_path / "store.log", bodies)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["validate", "--format", "json", str(log)]) == 0
    document = json.loads(out.getvalue())
    assert document["summary"]["runs"] == 2
    assert document["summary"]["sources"][0]["in_records"] == 2


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_delivery_order_and_redeliveries_do_not_change_the_verdicts(data: st.DataObject, tmp_path_factory: Any) -> None:
    """Any shuffle of the deliveries, with events delivered again, gives the verdicts of the log in timeline order."""
    lifecycle: Lifecycle[Any] = data.draw(st.sampled_from([RESPONSE_LIFECYCLE, BATCH_LIFECYCLE]), label="lifecycle")
    types = sorted(lifecycle.webhooks)
    n = data.draw(st.integers(1, 5), label="objects")
    bodies = []
    for k in range(n):
        for e in range(data.draw(st.integers(1, 2), label="events")):
            at = data.draw(st.integers(0, 100), label="created_at")
            bodies.append(event(f"evt_{k}_{e}", data.draw(st.sampled_from(types)), f"obj_{k}", at))
    timeline = sorted(bodies, key=lambda b: (b["data"]["id"], b["created_at"]))
    delivered = data.draw(st.permutations(bodies + data.draw(st.lists(st.sampled_from(bodies), max_size=4))))
    folder = tmp_path_factory.mktemp("hooks")
    ordered = _write(folder / "timeline.log", list(timeline))
    shuffled = _write(folder / "delivered.log", list(delivered))

    def results(path: Path) -> dict[str | None, tuple[RunResult, object]]:
        return {v.run_id: (v.result, v.final) for v in validate_paths([path], lifecycle=lifecycle)}

    # ties in created_at keep the file's order, so only objects without ties must agree
    tied = {
        b["data"]["id"]
        for b in bodies
        for c in bodies
        if b is not c and b["data"]["id"] == c["data"]["id"] and b["created_at"] == c["created_at"]
    }
    expected = {k: v for k, v in results(ordered).items() if k not in tied}
    assert {k: v for k, v in results(shuffled).items() if k not in tied} == expected
    counts = summarize_paths([shuffled], lifecycle=lifecycle).sources[0]
    assert counts.in_records == len(bodies)
    assert counts.skipped == len(delivered) - len(bodies)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), objects=st.integers(1, 6))
def test_the_duckdb_engine_reads_webhook_logs_as_the_python_engine(
    seed: int, objects: int, tmp_path_factory: Any, make_webhook_log: Callable[[int, int], bytes]
) -> None:
    """Shuffled deliveries with redeliveries: duckdb gives the python engine's summary, verdicts and errors."""
    pytest.importorskip("duckdb")
    from runfsm.validation.engines import summarize_with

    path = tmp_path_factory.mktemp("hooks") / "hooks.log"
    path.write_bytes(make_webhook_log(seed, objects))

    def outcome(engine: str) -> tuple[dict[str, Any], list[str], list[str]]:
        verdicts: list[Any] = []
        errors: list[str] = []
        summary = summarize_with(
            engine,
            [str(path)],
            lifecycle="auto",
            every_verdict=True,
            on_verdict=verdicts.append,
            on_error=lambda e: errors.append(str(e)),
        )
        return summary.to_dict(), sorted(repr(v) for v in verdicts), errors

    assert outcome("duckdb") == outcome("python")
