"""Validating observed run histories: one run, many interleaved runs, whole files; and their summary.

:func:`validate` judges one run with a :class:`~runfsm.tracker.RunTracker` (the reference).
:func:`validate_many` judges interleaved records grouped by run id, on a fast path: each run
keeps a compact state and is advanced with ``RUN_LIFECYCLE.lookup`` and ``route``; only a run
that goes wrong (an illegal jump, an unknown status, an unrecorded client call) is handed to a
tracker and judged by :meth:`Verdict.from_tracker`. Both give equal verdicts (a tested property).

Memory follows the runs open at once: a run is forgotten once it ended and ``linger`` more runs
ended after it. Until then a late record of that run (one arriving after its terminal status)
is still attached to it and reported as an illegal jump out of the terminal status. A record
arriving later than that starts a new history under the same id (in stream mode that history
is itself illegal, since a stream cannot begin mid-run).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

from runfsm.exceptions import InputError, NotARunStatus
from runfsm.invariants import check_fields
from runfsm.lifecycle import DOCUMENTED, LENIENT, RUN_LIFECYCLE, SAME, Edge, Route, Trigger
from runfsm.records import InputFormat, Record, read_paths
from runfsm.status import RunStatus
from runfsm.tracker import RunTracker
from runfsm.verdict import Location, Offense, OffenseKind, RunResult, Step, StepKind, Verdict

if TYPE_CHECKING:
    import os

    from runfsm.tracker import Mode

__all__ = [
    "DEFAULT_LINGER",
    "ValidationMode",
    "Summary",
    "validate",
    "validate_many",
    "validate_paths",
]

ValidationMode = Literal["auto", "stream", "poll"]
_MODES: Final = ("auto", "stream", "poll")

DEFAULT_LINGER: Final = 10_000
"""How many runs may end after a run before it is forgotten (late records are caught until then)."""

_LOOKUP = RUN_LIFECYCLE.lookup
_TERMINAL = RUN_LIFECYCLE.terminal
_INITIAL = RUN_LIFECYCLE.initial
_NO_CALLS: frozenset[Trigger] = frozenset()


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")


def _call_of(item: object) -> Trigger | None:
    if isinstance(item, Trigger):
        return item if item.is_client_call else None
    if isinstance(item, str):
        try:
            trigger = Trigger(item)
        except ValueError:
            return None
        return trigger if trigger.is_client_call else None
    return None


def _is_stream_item(item: object) -> bool:
    if isinstance(item, Record):
        return item.mode == "stream"
    if isinstance(item, Mapping):
        return "event" in item
    return isinstance(getattr(item, "event", None), str)


def _tracker(run_id: str | None, mode: Mode) -> RunTracker:
    return RunTracker(run_id, mode=mode, on_illegal="record", on_missing_call="assume", keep_raw=True, clock=None)


def _feed(tracker: RunTracker, item: object) -> bool:
    """Feed one history item; False when it says nothing about the run's status (a step event)."""
    if isinstance(item, Record):
        if item.call is not None:
            tracker.record_call(item.call, at=item.timestamp)
        else:
            tracker.observe(item.raw, at=item.timestamp)
        return True
    call = _call_of(item)
    if call is not None:
        tracker.record_call(call)
        return True
    try:
        tracker.observe(item)
    except NotARunStatus:
        return False
    return True


def validate(
    history: Iterable[object],
    *,
    mode: ValidationMode = "auto",
    strict: bool = False,
    run_id: str | None = None,
    locations: Iterable[Location | None] | None = None,
) -> Verdict:
    """Judge one run's observed history.

    ``history`` holds, in order, what was observed: statuses in any spelling
    :func:`~runfsm.status.parse_status` accepts, run objects, stream events (dicts or openai
    objects), :class:`~runfsm.records.Record` objects, and client calls (``Trigger.SUBMIT_TOOL_OUTPUTS``,
    ``Trigger.CANCEL`` or their strings ``"submit_tool_outputs"``, ``"cancel"``). Run-step and
    message events are skipped. ``mode="auto"`` chooses stream mode when the history contains a
    stream event, poll mode otherwise. ``strict`` makes an unrecorded client call a violation.
    ``locations`` (one per history item) locates offenses; Records carry their own.
    """
    _check_mode(mode)
    items = list(history)
    locs = list(locations) if locations is not None else None
    if locs is not None and len(locs) != len(items):
        raise ValueError(f"locations has {len(locs)} entries for a history of {len(items)}")
    chosen: Mode = mode if mode != "auto" else "stream" if any(_is_stream_item(i) for i in items) else "poll"
    if run_id is None:
        run_id = next((i.run_id for i in items if isinstance(i, Record)), None)
    tracker = _tracker(run_id, chosen)
    kept: list[Location | None] = []
    for position, item in enumerate(items):
        if _feed(tracker, item):
            if locs is not None:
                kept.append(locs[position])
            else:
                kept.append(item.location if isinstance(item, Record) else None)
    return Verdict.from_tracker(tracker, locations=kept, strict=strict)


# ----------------------------------------------------------------------------- the fast path

_STEP_CACHE: dict[tuple[RunStatus, RunStatus, StepKind, bool, int], Step] = {}


def _step(source: RunStatus, dest: RunStatus, kind: StepKind, lenient: bool, index: int) -> Step:
    """Steps are small immutable values: share them instead of building one per event."""
    key = (source, dest, kind, lenient, index)
    step = _STEP_CACHE.get(key)
    if step is None:
        step = Step(source, dest, kind, lenient, index)
        if len(_STEP_CACHE) < 100_000:
            _STEP_CACHE[key] = step
    return step


class _Run:
    """One open run on the fast path: its state, what the verdict needs, and its records."""

    __slots__ = (
        "index",
        "inferred",
        "lenient",
        "locations",
        "mode",
        "observations",
        "pending",
        "records",
        "run_id",
        "state",
        "steps",
        "tracker",
        "warnings",
    )

    def __init__(self, run_id: str, mode: Mode | None) -> None:
        self.run_id = run_id
        self.mode: Mode | None = mode
        self.state: RunStatus = _INITIAL
        self.index = 0
        self.observations = 0
        self.pending: frozenset[Trigger] = _NO_CALLS
        self.records: list[Record] = []
        self.inferred: list[tuple[int, tuple[RunStatus, ...]]] = []
        self.lenient: list[Edge[RunStatus]] = []
        self.warnings: list[tuple[int, Location | None, str]] = []
        self.steps: list[Step] = []
        self.tracker: RunTracker | None = None
        self.locations: list[Location | None] = []


class _Closed:
    """A run that ended: its verdict, kept a while to catch late records."""

    __slots__ = ("index", "verdict")

    def __init__(self, verdict: Verdict, index: int) -> None:
        self.verdict = verdict
        self.index = index


class _Validator:
    """The state of :func:`validate_many`: open runs, recently ended runs, and the options."""

    def __init__(self, mode: ValidationMode, strict: bool, linger: int, fields: bool) -> None:
        self.mode = mode
        self.strict = strict
        self.linger = linger
        self.fields = fields
        self.open: dict[str, _Run] = {}
        self.closed: dict[str, _Closed] = {}

    # -- one record

    def feed(self, rec: Record) -> Verdict | None:
        """Process one record; return the verdict of a run forgotten to make room, if any."""
        run_id = rec.run_id
        run = self.open.get(run_id)
        if run is None:
            ended = self.closed.get(run_id)
            if ended is not None:
                self._late(ended, rec)
                return None
            mode = rec.mode if self.mode == "auto" else self.mode
            run = self.open[run_id] = _Run(run_id, mode)
        if run.tracker is not None:
            self._feed_tracker(run, rec)
        else:
            self._advance(run, rec)
        state = run.tracker.state if run.tracker is not None else run.state
        if state in _TERMINAL:
            return self._close(run)
        return None

    def _advance(self, run: _Run, rec: Record) -> None:
        index = run.index
        run.records.append(rec)
        call = rec.call
        if call is not None:
            run.index = index + 1
            state = run.state
            if state in _TERMINAL:
                run.warnings.append((index, rec.location, f"{call.value} recorded after the run ended ({state})"))
            elif call is Trigger.SUBMIT_TOOL_OUTPUTS and state is not RunStatus.RequiresAction:
                run.warnings.append(
                    (index, rec.location, f"submit_tool_outputs recorded while the run was last seen {state}")
                )
            run.pending = run.pending | {call}
            return
        dest = rec.status
        if dest is None:
            self._to_tracker(run)
            return
        if run.mode is None:
            run.mode = rec.mode or "poll"
        source = run.state
        code = _LOOKUP[source][dest]
        poll = run.mode == "poll"
        if code == SAME:
            if run.pending and poll:
                cycle = RUN_LIFECYCLE.route(source, dest, calls=run.pending)
                if cycle is not None and cycle.calls:
                    self._route(run, index, cycle, dest)
        elif source is _INITIAL and poll:
            run.steps.append(_step(source, dest, StepKind.START, False, index))
            run.state = dest
        elif code in (DOCUMENTED, LENIENT):
            lenient = code == LENIENT
            edge = RUN_LIFECYCLE.edge(source, dest) if lenient or run.pending else None
            if lenient:
                assert edge is not None
                run.lenient.append(edge)
            if edge is not None and edge.trigger.is_client_call and run.pending:
                run.pending = run.pending - {edge.trigger}
            run.steps.append(_step(source, dest, StepKind.OBSERVED, lenient, index))
            run.state = dest
        elif poll:
            route = RUN_LIFECYCLE.route(source, dest, calls=run.pending)
            if route is None:
                self._to_tracker(run)
                return
            self._route(run, index, route, dest)
        else:
            self._to_tracker(run)
            return
        run.index = index + 1
        run.observations += 1
        fields = rec.fields
        if fields is not None and self.fields:
            for message in check_fields(dest, fields):
                run.warnings.append((index, rec.location, message))

    def _route(self, run: _Run, index: int, route: Route[RunStatus], dest: RunStatus) -> None:
        inferred = route.inferred
        run.inferred.append((index, inferred))
        run.lenient.extend(route.lenient)
        calls = route.calls
        if calls:
            run.pending = run.pending - calls
        for a, b in itertools.pairwise((run.state, *inferred, dest)):
            edge = RUN_LIFECYCLE.edge(a, b)
            run.steps.append(_step(a, b, StepKind.INFERRED, edge is not None and edge.is_lenient, index))
        run.state = dest

    # -- the slow path: a real tracker

    def _to_tracker(self, run: _Run) -> None:
        """Replay the run so far into a tracker (which records the trouble), then keep feeding it."""
        tracker = _tracker(run.run_id, run.mode or "poll")
        run.tracker = tracker
        records, run.records = run.records, []
        for rec in records:
            self._feed_tracker(run, rec)

    def _feed_tracker(self, run: _Run, rec: Record) -> None:
        tracker = run.tracker
        assert tracker is not None
        if rec.call is None and run.mode is None:
            run.mode = rec.mode or "poll"
            tracker.mode = run.mode
        _feed(tracker, rec)
        run.locations.append(rec.location)

    # -- ending a run

    def _verdict(self, run: _Run) -> Verdict:
        if run.tracker is not None:
            verdict = Verdict.from_tracker(run.tracker, locations=run.locations, strict=self.strict)
            if not self.fields:
                verdict = dataclasses.replace(verdict, warnings=())
            return verdict
        final = run.state
        return Verdict(
            run_id=run.run_id,
            mode=run.mode or "poll",
            result=RunResult.LEGAL if final in _TERMINAL else RunResult.UNFINISHED,
            final=final,
            observations=run.observations,
            offenses=(),
            inferred=tuple(run.inferred),
            lenient=tuple(run.lenient),
            warnings=tuple(run.warnings),
            steps=tuple(run.steps),
            strict=self.strict,
        )

    def _close(self, run: _Run) -> Verdict | None:
        del self.open[run.run_id]
        index = len(run.tracker.history) if run.tracker is not None else run.index
        self.closed[run.run_id] = _Closed(self._verdict(run), index)
        if len(self.closed) > self.linger:
            oldest = next(iter(self.closed))
            return self.closed.pop(oldest).verdict
        return None

    def _late(self, ended: _Closed, rec: Record) -> None:
        """A record of a run that already ended: a repeat, a late call, or an illegal jump."""
        verdict = ended.verdict
        index = ended.index
        ended.index += 1
        final = verdict.final
        loc = rec.location
        if rec.call is not None:
            note = (index, loc, f"{rec.call.value} recorded after the run ended ({final})")
            ended.verdict = dataclasses.replace(verdict, warnings=(*verdict.warnings, note))
            return
        warnings = verdict.warnings
        if rec.status is not None and rec.fields is not None and self.fields:
            warnings = (*warnings, *((index, loc, m) for m in check_fields(rec.status, rec.fields)))
        if rec.status is final:
            ended.verdict = dataclasses.replace(verdict, observations=verdict.observations + 1, warnings=warnings)
            return
        if rec.status is None:
            offense = Offense(OffenseKind.UNKNOWN_STATUS, index, loc, final, None, _raw_text(rec.raw), ())
            result = RunResult.ILLEGAL if verdict.result is RunResult.ILLEGAL else RunResult.UNKNOWN_STATUS
            steps = verdict.steps
            warnings = verdict.warnings
        else:
            offense = Offense(OffenseKind.ILLEGAL, index, loc, final, rec.status, str(rec.status), ())
            result = RunResult.ILLEGAL
            steps = (*verdict.steps, _step(final, rec.status, StepKind.ILLEGAL, False, index))
        ended.verdict = dataclasses.replace(
            verdict,
            result=result,
            observations=verdict.observations + 1,
            offenses=(*verdict.offenses, offense),
            steps=steps,
            warnings=warnings,
        )

    def finish(self) -> Iterator[Verdict]:
        """The verdicts still held: ended runs first, then the runs left open (unfinished)."""
        for ended in self.closed.values():
            yield ended.verdict
        self.closed.clear()
        for run in self.open.values():
            yield self._verdict(run)
        self.open.clear()


def _raw_text(raw: object) -> str:
    """The observed value as text, as :meth:`Verdict.from_tracker` writes it."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, dict):
        for key in ("status", "event"):
            if key in raw:
                return str(raw[key])
    return repr(raw)


def validate_many(
    records: Iterable[Record],
    *,
    mode: ValidationMode = "auto",
    strict: bool = False,
    linger: int = DEFAULT_LINGER,
    check_fields: bool = True,
) -> Iterator[Verdict]:
    """Judge interleaved records, grouped by run id; yield one verdict per run.

    Order within a run is the order of ``records``. Verdicts come as runs end (a little later:
    see ``linger`` in the module docstring), then those of runs still open at the end of the
    input (unfinished). ``mode="auto"`` decides per run: stream mode when its first status
    record is a stream event, poll mode otherwise. ``check_fields=False`` skips the
    field-invariant warnings. Lazy and pure: it reads nothing but ``records``.
    """
    _check_mode(mode)
    if not isinstance(linger, int) or linger < 0:
        raise ValueError(f"linger must be a non-negative int, got {linger!r}")
    validator = _Validator(mode, strict, linger, check_fields)
    feed = validator.feed
    for rec in records:
        verdict = feed(rec)
        if verdict is not None:
            yield verdict
    yield from validator.finish()


def _sorted_by_run(records: Iterable[Record]) -> Iterator[Record]:
    groups: dict[str, list[Record]] = {}
    for rec in records:
        groups.setdefault(rec.run_id, []).append(rec)
    for group in groups.values():
        group.sort(key=lambda r: r.timestamp if r.timestamp is not None else float("-inf"))
        yield from group


def validate_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    mode: ValidationMode = "auto",
    strict: bool = False,
    sort_by: str | None = None,
    on_error: Callable[[InputError], object] | None = None,
    input_format: InputFormat = "auto",
    linger: int = DEFAULT_LINGER,
    check_fields: bool = True,
    on_record: Callable[[], object] | None = None,
) -> Iterator[Verdict]:
    """Read the files (``"-"`` is standard input) as one stream of records and judge every run.

    Runs are joined by id across files (a create stream in one file, the submit stream in
    another). Each unusable line becomes an :class:`InputError` passed to ``on_error``, and
    processing continues; without ``on_error`` the first one is raised. With ``sort_by``,
    each run's records are ordered by that field (numbers or ISO 8601 text) before judging;
    this holds the whole input in memory. ``on_record`` is called once per record read (for
    progress display).
    """
    _check_mode(mode)

    def records() -> Iterator[Record]:
        for item in read_paths(paths, input_format=input_format, sort_by=sort_by):
            if type(item) is Record:
                if on_record is not None:
                    on_record()
                yield item
            elif isinstance(item, InputError):
                if on_error is None:
                    raise item
                on_error(item)

    stream: Iterable[Record] = records()
    if sort_by is not None:
        stream = _sorted_by_run(stream)
    return validate_many(stream, mode=mode, strict=strict, linger=linger, check_fields=check_fields)


# ----------------------------------------------------------------------------- the summary


@dataclasses.dataclass
class Summary:
    """Counts over many verdicts (and input errors): what ``runfsm validate`` prints first."""

    runs: int = 0
    legal: int = 0
    illegal: int = 0
    unknown_status: int = 0
    unfinished: int = 0
    observations: int = 0
    inferred_jumps: int = 0
    """Poll jumps explained by unobserved states."""
    lenient_edges: int = 0
    """Lenient edges used (directly observed or on an inferred path)."""
    unrecorded_calls: int = 0
    """Jumps explained only by a client call the log does not contain."""
    warnings: int = 0
    """Field-invariant warnings and notes."""
    input_errors: int = 0
    strict: bool = False

    def add(self, verdict: Verdict) -> None:
        """Count one run."""
        self.runs += 1
        result = verdict.result
        if result is RunResult.LEGAL:
            self.legal += 1
        elif result is RunResult.ILLEGAL:
            self.illegal += 1
        elif result is RunResult.UNKNOWN_STATUS:
            self.unknown_status += 1
        else:
            self.unfinished += 1
        self.observations += verdict.observations
        self.inferred_jumps += len(verdict.inferred)
        self.lenient_edges += len(verdict.lenient)
        self.warnings += len(verdict.warnings)
        if verdict.offenses:
            self.unrecorded_calls += sum(1 for o in verdict.offenses if o.kind is OffenseKind.UNRECORDED_CALL)

    def add_error(self, error: InputError) -> None:
        """Count one unusable input line."""
        del error
        self.input_errors += 1

    def is_failure(self, verdict: Verdict) -> bool:
        """True for a run that fails the check: illegal, unknown status, or unfinished when strict."""
        result = verdict.result
        return result in (RunResult.ILLEGAL, RunResult.UNKNOWN_STATUS) or (
            self.strict and result is RunResult.UNFINISHED
        )

    @property
    def exit_code(self) -> int:
        """2 if some input was unusable (input errors, unknown statuses); 1 if some run failed; else 0."""
        if self.input_errors or self.unknown_status:
            return 2
        if self.illegal or (self.strict and self.unfinished):
            return 1
        return 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {
            "runs": self.runs,
            "legal": self.legal,
            "illegal": self.illegal,
            "unknown_status": self.unknown_status,
            "unfinished": self.unfinished,
            "observations": self.observations,
            "inferred_jumps": self.inferred_jumps,
            "lenient_edges": self.lenient_edges,
            "unrecorded_calls": self.unrecorded_calls,
            "warnings": self.warnings,
            "input_errors": self.input_errors,
            "strict": self.strict,
        }
