"""runfsm.validation: judging one run, many interleaved runs and whole files; the summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runfsm.exceptions import InputError
from runfsm.status import RunStatus
from runfsm.testing.simulate import SimulatedRun, simulate_run
from runfsm.validation import Summary, summarize_paths, validate, validate_many, validate_paths
from runfsm.validation.records import Record
from runfsm.verdict import Location, OffenseKind, RunResult, StepKind, Verdict
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    import random

R = RunStatus


def _records(run: SimulatedRun, *, source: str = "log", spoil: random.Random | None = None) -> list[Record]:
    """A simulated run as records (stream runs as events, poll runs as run objects).

    With ``spoil``, some run objects lose or gain a field, so that field warnings appear.
    """
    out: list[Record] = []
    for line, (item, snap) in enumerate(zip(run.observed, run.snapshots, strict=True), 1):
        if spoil is not None and snap and spoil.random() < 0.3:
            for name in ("started_at", "completed_at", "last_error", "cancelled_at"):
                snap.pop(name, None)
            snap["required_action"] = snap.get("required_action") or {"type": "odd"}
        if isinstance(item, Trigger):
            out.append(Record(run.run_id, None, item.value, source=source, line=line, mode=None, call=item))
        elif run.mode == "stream":
            event = {"event": item.event, "data": snap}
            out.append(Record(run.run_id, item, event, source=source, line=line, mode="stream", fields=snap))
        else:
            out.append(Record(run.run_id, item, snap, source=source, line=line, fields=snap))
    return out


def _stale_requires_action(records: list[Record], rng: random.Random, chance: float = 0.5) -> list[Record]:
    """Now and then, the requires_action before a submit is seen once more right after it (a stale poll)."""
    out: list[Record] = []
    for k, record in enumerate(records):
        out.append(record)
        before = records[k - 1] if k else None
        if (
            record.call is Trigger.SUBMIT_TOOL_OUTPUTS
            and before is not None
            and before.status is RunStatus.RequiresAction
        ) and rng.random() < chance:
            out.append(Record(before.run_id, before.status, before.raw, mode=before.mode, fields=before.fields))
    return [
        Record(r.run_id, r.status, r.raw, source=r.source, line=n, mode=r.mode, fields=r.fields, call=r.call)
        for n, r in enumerate(out, 1)
    ]


def _runs(mode: str, *, illegal: bool = False, unfinished: bool = False) -> st.SearchStrategy[SimulatedRun]:
    return st.builds(
        lambda rng, rounds, finished: simulate_run(
            rng,
            f"run_{rng.getrandbits(24):06x}",
            mode=mode,  # type: ignore[arg-type]  # "stream" or "poll"
            illegal=illegal,
            unfinished=unfinished and not finished,
            max_rounds=rounds,
            fmt="events" if mode == "stream" else "jsonl",
        ),
        st.randoms(use_true_random=False),
        st.integers(0, 4),
        st.booleans(),
    )


# ----------------------------------------------------------------------------- validate: one run


def test_stream_history_with_a_skipped_status_is_illegal_at_that_index() -> None:
    """Stream mode sees every change, so queued -> completed is an illegal jump, located and explained."""
    verdict = validate(["queued", "completed"], mode="stream", locations=[Location("f", 1), Location("f", 2)])
    assert verdict.result is RunResult.ILLEGAL
    offense = verdict.first_offense
    assert offense is not None
    assert (offense.index, offense.source, offense.target) == (1, R.Queued, R.Completed)
    assert str(offense.location) == "f:2"
    assert R.InProgress in offense.allowed
    assert "allowed after queued" in offense.message


def test_poll_history_infers_the_skipped_status() -> None:
    """Poll mode explains queued -> completed by an unobserved in_progress, recorded as inferred."""
    verdict = validate(["queued", "completed"], mode="poll")
    assert verdict.result is RunResult.LEGAL
    assert verdict.inferred == ((1, (R.InProgress,)),)
    assert [s.kind for s in verdict.steps] == [StepKind.START, StepKind.INFERRED, StepKind.INFERRED]


def test_auto_mode_is_stream_for_stream_events_and_poll_otherwise() -> None:
    """Auto mode: a history of stream events is judged as a stream; bare statuses as polls."""
    events = [
        {"event": "thread.run.queued", "data": {"id": "r"}},
        {"event": "thread.run.completed", "data": {"id": "r"}},
    ]
    assert validate(events).mode == "stream"
    assert validate(events).result is RunResult.ILLEGAL
    assert validate(["queued", "completed"]).mode == "poll"


def test_unrecorded_call_is_a_warning_unless_strict() -> None:
    """in_progress -> queued needs a submit the log lacks: its own kind, failing only with strict."""
    lenient = validate(["in_progress", "queued", "in_progress", "completed"])
    assert lenient.result is RunResult.LEGAL
    assert [o.kind for o in lenient.offenses] == [OffenseKind.UNRECORDED_CALL]
    assert lenient.offenses[0].missing_calls == (Trigger.SUBMIT_TOOL_OUTPUTS,)
    strict = validate(["in_progress", "queued", "in_progress", "completed"], strict=True)
    assert strict.result is RunResult.ILLEGAL


def test_recorded_call_explains_the_jump() -> None:
    """The same jump with the submit logged (as a Trigger or its string) is legal and inferred."""
    for call in (Trigger.SUBMIT_TOOL_OUTPUTS, "submit_tool_outputs"):
        verdict = validate(["in_progress", call, "queued", "completed"])
        assert verdict.offenses == ()
        assert verdict.inferred[0] == (2, (R.RequiresAction,))


def test_directly_observed_client_edge_is_legal_without_a_call() -> None:
    """requires_action then queued proves the submit happened: legal even with nothing logged."""
    verdict = validate(["requires_action", "queued", "in_progress", "completed"], mode="poll", strict=True)
    assert verdict.result is RunResult.LEGAL


def test_unknown_status_and_unfinished_runs() -> None:
    """An unknown status is its own result; a legal run without a terminal status is unfinished."""
    assert validate(["queued", "paused"]).result is RunResult.UNKNOWN_STATUS
    assert validate(["queued", "in_progress"]).result is RunResult.UNFINISHED


def test_step_events_are_skipped() -> None:
    """Run-step and message events in a history say nothing about the run and are skipped."""
    history = [
        {"event": "thread.run.created", "data": {"id": "r"}},
        {"event": "thread.run.step.created", "data": {"id": "s"}},
        {"event": "thread.run.queued", "data": {"id": "r"}},
    ]
    assert validate(history).observations == 2


@pytest.mark.parametrize(
    "alone",
    ["queued", b"completed", {"id": "run_1", "status": "queued"}],
    ids=["a string", "bytes", "a run object"],
)
def test_one_item_given_as_a_history_is_refused_not_read_piece_by_piece(alone: object) -> None:
    """validate("queued") judged the letters 'q', 'u', 'e'... as six unknown statuses; now it names the mistake."""
    with pytest.raises(TypeError, match=r"history is one .*give a list, such as \["):
        validate(alone)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"records is one .*give a list"):
        validate_many(alone)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"locations is one .*give a list"):
        validate(["queued"], locations=alone)  # type: ignore[arg-type]


def test_aliases_may_be_given_as_plain_names() -> None:
    """aliases={"canceled": "cancelled"} is read as status_aliases reads it (it failed deep in the tracker)."""
    verdict = validate(["queued", "cancelling", "canceled"], aliases={"canceled": "cancelled"})
    assert verdict.final is RunStatus.Cancelled
    assert verdict.result is RunResult.LEGAL


def test_validate_checks_its_arguments() -> None:
    """Bad options raise ValueError naming the option."""
    with pytest.raises(ValueError, match="mode"):
        validate(["queued"], mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="locations"):
        validate(["queued"], locations=[])


# ----------------------------------------------------------------------------- properties


@given(_runs("stream"))
def test_generated_legal_stream_history_is_never_illegal(run: SimulatedRun) -> None:
    """Any walk over the lifecycle, seen as a stream, is legal."""
    assert validate(_records(run)).result is RunResult.LEGAL


@given(_runs("poll", unfinished=True))
def test_generated_legal_poll_history_is_never_illegal(run: SimulatedRun) -> None:
    """Any walk, sub-sampled by a poller (calls recorded), is legal or unfinished, never illegal."""
    verdict = validate(_records(run))
    assert verdict.result in (RunResult.LEGAL, RunResult.UNFINISHED)
    assert verdict.result is (RunResult.LEGAL if run.finished else RunResult.UNFINISHED)
    assert not any(o.kind is OffenseKind.ILLEGAL for o in verdict.offenses)


@given(st.sampled_from(["stream", "poll"]).flatmap(lambda m: _runs(m, illegal=True, unfinished=True)))
def test_one_injected_illegal_jump_is_reported_at_exactly_its_index(run: SimulatedRun) -> None:
    """A history with one illegal status inserted is illegal, and the first offense is at that index."""
    if run.illegal_index is None:  # the simulator found no place for one (reported as such)
        assert validate(_records(run)).result is not RunResult.ILLEGAL
        return
    verdict = validate(_records(run))
    assert verdict.result is RunResult.ILLEGAL
    offense = verdict.first_offense
    assert offense is not None
    assert offense.kind is OffenseKind.ILLEGAL
    assert offense.index == run.illegal_index
    assert offense.target is run.observed[run.illegal_index]
    assert offense.location == Location("log", run.illegal_index + 1)
    assert [o.index for o in verdict.offenses if o.kind is OffenseKind.ILLEGAL] == [run.illegal_index]


@given(
    st.lists(
        st.sampled_from(["stream", "poll"]).flatmap(
            lambda m: st.one_of(_runs(m), _runs(m, illegal=True, unfinished=True))
        ),
        min_size=1,
        max_size=6,
    ),
    st.randoms(use_true_random=False),
    st.sampled_from([0, 1, 2, 3, 1_000]),
)
def test_fast_path_gives_the_reference_verdicts(runs: list[SimulatedRun], rng: random.Random, linger: int) -> None:
    """validate_many (fast path) gives, for interleaved runs, exactly validate()'s verdict for each run.

    ``linger`` (in records) is small, so that ended runs are let go of while records of other
    runs keep arriving; when the whole stream fits in it, late records after a run's end are
    mixed in too.
    """
    histories: dict[str, list[Record]] = {}
    late_ok = linger >= 1_000  # more than all the records of these runs
    for run in runs:
        records = _stale_requires_action(_records(run, source=run.run_id, spoil=rng), rng)
        if not late_ok:  # nothing may arrive after the end: the run may already be let go of
            end = next((k for k, r in enumerate(records) if r.status in RunStatus.terminal_states()), None)
            records = records if end is None else records[: end + 1]
        elif run.finished and rng.random() < 0.5:  # late records after the end: repeats, or something else
            last = records[-1]
            for _ in range(rng.randint(1, 3)):
                late = rng.choice([last.status, last.status, RunStatus.InProgress, None])
                raw = last.raw if late is last.status else ("bogus" if late is None else "in_progress")
                fields = last.fields if late is last.status else None
                line = len(records) + 1
                mode = last.mode
                records.append(Record(run.run_id, late, raw, source=run.run_id, line=line, mode=mode, fields=fields))
        histories[run.run_id] = records
    pending = {k: list(v) for k, v in histories.items()}
    stream: list[Record] = []
    while pending:
        key = rng.choice(sorted(pending))
        stream.append(pending[key].pop(0))
        if not pending[key]:
            del pending[key]
    assert not late_ok or len(stream) <= linger
    verdicts = list(validate_many(stream, linger=linger))
    assert sorted(v.run_id or "" for v in verdicts) == sorted(histories)
    for verdict in verdicts:
        assert verdict.run_id is not None
        assert verdict == validate(histories[verdict.run_id]), verdict.run_id


@given(st.lists(_runs("poll", unfinished=True), min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_fast_path_reads_stale_requires_action_as_the_tracker_does(
    runs: list[SimulatedRun], rng: random.Random
) -> None:
    """A requires_action polled again right after its submit (same tool-call ids) gets the reference verdict.

    The tracker reads it as a stale view of the round just answered (no new round, the
    submit explains the next move); the fast path hands such runs to the tracker.
    """
    histories = {run.run_id: _stale_requires_action(_records(run, source=run.run_id), rng, chance=1.0) for run in runs}
    stream = [r for _, records in sorted(histories.items()) for r in records]
    rng.shuffle(stream)
    stream.sort(key=lambda r: r.line or 0)  # interleaved, each run's records in order
    for verdict in validate_many(stream):
        assert verdict.run_id is not None
        assert verdict == validate(histories[verdict.run_id]), verdict.run_id


def test_late_record_after_the_end_is_illegal_while_the_run_lingers() -> None:
    """A record arriving after a run's terminal status is still judged with that run (within linger)."""
    records = [
        Record("a", R.Queued, "queued", line=1),
        Record("a", R.Completed, "completed", line=2),
        Record("b", R.Queued, "queued", line=3),
        Record("a", R.InProgress, "in_progress", line=4),
    ]
    verdicts = {v.run_id: v for v in validate_many(records)}
    assert verdicts["a"].result is RunResult.ILLEGAL
    first = verdicts["a"].first_offense
    assert first is not None
    assert (first.index, first.source, first.target, first.location) == (
        2,
        R.Completed,
        R.InProgress,
        Location("<input>", 4),
    )


def test_finished_runs_are_forgotten_after_linger() -> None:
    """With linger=0 a finished run is let go of at once: a later record starts a new history."""
    records = [
        Record("a", R.Queued, "queued", line=1),
        Record("a", R.Completed, "completed", line=2),
        Record("a", R.InProgress, "in_progress", line=3),
    ]
    verdicts = list(validate_many(records, linger=0))
    assert [v.result for v in verdicts] == [RunResult.LEGAL, RunResult.UNFINISHED]


def test_memory_follows_open_runs_not_input_size() -> None:
    """Ten thousand sequential runs: verdicts stream out while the input is still being read."""
    produced = 0

    def records() -> list[Record]:
        out = []
        for n in range(10_000):
            out.append(Record(f"r{n}", R.Queued, "queued", line=2 * n + 1))
            out.append(Record(f"r{n}", R.Completed, "completed", line=2 * n + 2))
        return out

    iterator = validate_many(iter(records()), linger=10)
    first = next(iterator)
    produced = 1 + sum(1 for _ in iterator)
    assert first.run_id == "r0"
    assert produced == 10_000


def test_validate_many_checks_its_arguments() -> None:
    """Bad options raise at once, before any record is read."""
    with pytest.raises(ValueError, match="linger"):
        validate_many([], linger=-1)
    with pytest.raises(ValueError, match="mode"):
        validate_many([], mode="x")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- files


def test_validate_paths_reports_input_errors_and_goes_on(tmp_path: Path) -> None:
    """A bad line goes to on_error with its location; the other records are still judged."""
    log = tmp_path / "log.jsonl"
    log.write_text('["queued","completed"]\nnot json\n{"run_id":"x","statuses":["queued","in_progress"]}\n')
    errors: list[InputError] = []
    verdicts = list(validate_paths([log], on_error=errors.append))
    assert [(e.source, e.line) for e in errors] == [(str(log), 2)]
    assert sorted(v.result.value for v in verdicts) == ["legal", "unfinished"]


def test_validate_paths_raises_the_first_error_without_on_error(tmp_path: Path) -> None:
    """Without on_error, the first unusable line raises InputError."""
    log = tmp_path / "log.jsonl"
    log.write_text("{oops\n")
    with pytest.raises(InputError, match=r"log\.jsonl:1"):
        list(validate_paths([log]))


def test_runs_are_joined_across_files(tmp_path: Path) -> None:
    """One run spread over two files (create stream, then submit stream) is one run."""
    first = tmp_path / "create.jsonl"
    second = tmp_path / "submit.jsonl"
    ev = '{{"event":"thread.run.{}","data":{{"id":"run_1"}}}}\n'
    first.write_text(
        ev.format("created") + ev.format("queued") + ev.format("in_progress") + ev.format("requires_action")
    )
    second.write_text(ev.format("queued") + ev.format("in_progress") + ev.format("completed"))
    (verdict,) = validate_paths([first, second])
    assert verdict.result is RunResult.LEGAL
    assert verdict.mode == "stream"
    assert verdict.observations == 7


def test_sort_by_orders_each_run_by_a_field(tmp_path: Path) -> None:
    """--sort-by: records out of file order are judged in timestamp order."""
    log = tmp_path / "log.csv"
    log.write_text("run_id,status,timestamp\nr,completed,30\nr,queued,10\nr,in_progress,20\n")
    (in_file_order,) = validate_paths([log], mode="stream")
    (sorted_,) = validate_paths([log], mode="stream", sort_by="timestamp")
    assert in_file_order.result is RunResult.ILLEGAL
    assert sorted_.result is RunResult.LEGAL


# ----------------------------------------------------------------------------- summary


def test_summary_counts_and_exit_code() -> None:
    """The summary counts results, inferred jumps, lenient edges and unrecorded calls; exit codes follow."""
    summary = Summary()
    summary.add(validate(["queued", "completed"]))  # legal, one inferred jump
    summary.add(validate(["queued", "failed"]))  # legal, lenient edge
    summary.add(validate(["in_progress", "queued"]))  # unfinished, unrecorded call
    assert summary.to_dict() | {"observations": 0} == {
        "runs": 3,
        "legal": 2,
        "illegal": 0,
        "unknown_status": 0,
        "joined": 0,
        "unfinished": 1,
        "observations": 0,
        "inferred_jumps": 2,
        "lenient_edges": 1,
        "unrecorded_calls": 1,
        "field_warnings": 0,
        "call_notes": 0,
        "input_errors": 0,
        "strict": False,
        "sources": [],
    }
    assert summary.exit_code == 0
    summary.add(validate(["completed", "queued"], mode="stream"))
    assert summary.exit_code == 1
    summary.add_error(InputError("bad", source="f", line=1))
    assert summary.exit_code == 2
    assert Summary(strict=True, unfinished=1).exit_code == 1
    assert (Summary(joined=1).exit_code, Summary(strict=True, joined=1).exit_code) == (0, 1)


def _corpus(fmt: str, seed: int, *, runs: int, illegal: float) -> str:
    """A simulated log in ``fmt`` (30% unfinished runs, 4 interleaved), as the text of its file."""
    from runfsm.testing.simulate import simulated_log

    return simulated_log(fmt, seed, runs=runs, illegal=illegal)  # type: ignore[arg-type]  # a corpus format


@given(st.integers(0, 2**32 - 1), st.sampled_from(["jsonl", "events", "compact", "csv", "sse"]))
def test_files_give_the_same_verdicts_as_records(seed: int, fmt: str) -> None:
    """validate_paths (compact records on its fast path) agrees with the ledger fed read Records.

    Both count how long an ended run lingers in slots of the file (``ReadPosition``); with
    ``linger`` larger than the file, validate_many over the Records (which counts records) agrees too.
    """
    import tempfile

    from runfsm.validation.formats.base import ReadPosition
    from runfsm.validation.ledger import Ledger
    from runfsm.validation.records import read_items, read_paths

    text = _corpus(fmt, seed, runs=12, illegal=0.3)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"corpus.{fmt}"
        path.write_text(text)
        from_paths = list(validate_paths([path], linger=2))
        position = ReadPosition()
        items = read_items([path], compact=False, position=position)
        from_records = list(Ledger("auto", False, 2, True, position=position).consume(items))
        whole = list(validate_paths([path], linger=100_000))
        records = [r for r in read_paths([path]) if isinstance(r, Record)]
        assert whole == list(validate_many(records, linger=100_000))
    assert from_paths == from_records
    assert len({v.run_id for v in from_paths}) == 12  # a small linger may split a run in two


# ----------------------------------------------------------------------------- summarize_paths


@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(["jsonl", "events", "compact", "csv", "sse"]),
    st.booleans(),
    st.integers(0, 5),
)
def test_summarize_paths_counts_what_validate_paths_yields(seed: int, fmt: str, strict: bool, linger: int) -> None:
    """The tally (no verdict for quiet runs) gives the summary of every verdict, and reports the others in order."""
    import tempfile

    text = _corpus(fmt, seed, runs=15, illegal=0.2)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"corpus.{fmt}"
        path.write_text(text + text[: len(text) // 3])  # late records too
        every = list(validate_paths([path], strict=strict, linger=linger, on_error=lambda e: None))
        reported: list[Verdict] = []
        summary = summarize_paths([path], strict=strict, linger=linger, on_verdict=reported.append)
        all_of_them: list[Verdict] = []
        summarize_paths([path], strict=strict, linger=linger, on_verdict=all_of_them.append, every_verdict=True)
    expected = Summary(strict=strict)
    for verdict in every:
        expected.add(verdict)
    assert summary.to_dict() | {"input_errors": 0, "sources": []} == expected.to_dict()
    assert summary.balanced
    assert reported == [v for v in every if v.offenses or v.warnings or v.notes or expected.is_failure(v)]
    assert all_of_them == every


def test_summarize_paths_counts_input_errors_and_passes_them_on(tmp_path: Path) -> None:
    """Unusable lines are counted in the summary and given to on_error; they are never raised."""
    log = tmp_path / "log.jsonl"
    log.write_text('["queued", "completed"]\n{not json\n')
    errors: list[InputError] = []
    summary = summarize_paths([log], on_error=errors.append)
    assert (summary.runs, summary.legal, summary.input_errors) == (1, 1, 1)
    assert [e.line for e in errors] == [2]
    assert summarize_paths([log]).input_errors == 1


def test_frequent_shapes_stay_judged_when_the_cache_turns_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shape cache keeps two generations: a shape seen again is kept, rare ones are dropped."""
    import runfsm.validation.ledger
    from runfsm.tracker import Mode
    from runfsm.validation.shapes import RUN_TABLES, Shape, Tables, judge_shape

    judged: list[bytes] = []

    def counted(mode: Mode, codes: bytearray, tables: Tables = RUN_TABLES) -> Shape | None:
        judged.append(bytes(codes))
        return judge_shape(mode, codes, tables)

    monkeypatch.setattr(runfsm.validation.ledger, "SHAPES_MAX", 4)
    monkeypatch.setattr(runfsm.validation.ledger, "judge_shape", counted)
    common = ["queued", "in_progress", "completed"]
    rare = [["queued", *["in_progress"] * n, "failed"] for n in range(1, 13)]
    runs = [(f"rare{n}", history) for n, history in enumerate(rare[:4])]  # the cache is full before...
    for n, history in enumerate(rare[4:]):  # ... the common shape first comes
        runs += [(f"common{n}", common), (f"rare{n + 4}", history)]
    records = [Record(run_id, R.parse(s), s) for run_id, history in runs for s in history]
    verdicts = list(validate_many(records, linger=0))
    assert all(v.result is RunResult.LEGAL for v in verdicts)
    assert judged.count(bytes([R.Queued, R.InProgress, R.Completed])) == 1
    assert len(judged) == 1 + len(rare)
