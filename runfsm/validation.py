"""Validating observed run histories: one run, many interleaved runs, whole files; and their summary.

:func:`validate` judges one run with a :class:`~runfsm.tracker.RunTracker` (the reference).
:func:`validate_many` judges interleaved records grouped by run id, on a fast path: a run
keeps only its history shape (its statuses and client calls as small codes, and where each came
from); when a terminal status arrives the shape is judged with tables precomputed from
``RUN_LIFECYCLE.lookup`` and ``route`` (and remembered: most runs share a few shapes), and field
warnings are checked as records arrive. Only a run that goes wrong (an illegal jump, an unknown
status, an unrecorded client call) is replayed into a tracker and judged by
:meth:`Verdict.from_tracker`. Both paths give equal verdicts (a tested property).

Memory follows the runs open at once, not the input size: no run object is kept, and a run is
let go of once it ended and ``linger`` more runs ended after it. Until then a late record of that
run (one arriving after its terminal status) is still attached to it: a repeat of the terminal
status is a re-observation, anything else an illegal jump out of the terminal status. A record
arriving later than that starts a new history under the same id (in stream mode that history
is itself illegal, since a stream cannot begin mid-run).
"""

from __future__ import annotations

import dataclasses
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from runfsm.exceptions import InputError, NotARunStatus
from runfsm.invariants import check_fields
from runfsm.lifecycle import DOCUMENTED, LENIENT, RUN_LIFECYCLE, SAME, Edge, Route, Trigger
from runfsm.records import CompactRecord, InputFormat, Item, Record, as_record, read_items
from runfsm.status import RunStatus
from runfsm.tracker import RunTracker
from runfsm.verdict import Location, Offense, OffenseKind, RunResult, Step, StepKind, Verdict, raw_text

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


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")


def _check_linger(linger: int) -> None:
    if not isinstance(linger, int) or isinstance(linger, bool) or linger < 0:
        raise ValueError(f"linger must be a non-negative int, got {linger!r}")


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
#
# Everything the per-record path needs is precomputed from RUN_LIFECYCLE into tuples indexed
# by ordinal (RunStatus is an IntEnum), so that no enum is hashed per record.

_STATES = RUN_LIFECYCLE.states
_BY_ORDINAL: tuple[RunStatus, ...] = tuple(sorted(RunStatus, key=int))
_SIZE = len(_BY_ORDINAL)
assert all(int(s) == i for i, s in enumerate(_BY_ORDINAL)), "the tables below index states by ordinal"
_IS_TERMINAL: tuple[bool, ...] = tuple(any(int(t) == i for t in _TERMINAL) for i in range(_SIZE))
_EDGE_TABLE: tuple[tuple[Edge[RunStatus] | None, ...], ...] = tuple(
    tuple(RUN_LIFECYCLE.edge(a, b) if a in _STATES and b in _STATES else None for b in _BY_ORDINAL) for a in _BY_ORDINAL
)
_CALL_BITS: dict[Trigger, int] = {Trigger.SUBMIT_TOOL_OUTPUTS: 1, Trigger.CANCEL: 2}
_CALLS_OF_MASK: tuple[frozenset[Trigger], ...] = tuple(
    frozenset(t for t, bit in _CALL_BITS.items() if mask & bit) for mask in range(4)
)
_BITS_OF_EDGE: tuple[tuple[int, ...], ...] = tuple(
    tuple(_CALL_BITS.get(e.trigger, 0) if e is not None else 0 for e in row) for row in _EDGE_TABLE
)


class _Path:
    """A poll route, precomputed: what a jump along it adds to a verdict."""

    __slots__ = ("bits", "inferred", "lenient", "pairs")

    def __init__(self, route: Route[RunStatus]) -> None:
        self.inferred = route.inferred
        self.lenient = route.lenient
        self.bits = sum(_CALL_BITS[c] for c in route.calls)
        """The recorded calls the route uses up."""
        self.pairs = tuple((e.source, e.dest, e.is_lenient) for e in route.edges)


def _route_row(mask: int, a: RunStatus) -> tuple[_Path | None, ...]:
    routes = (RUN_LIFECYCLE.route(a, b, calls=_CALLS_OF_MASK[mask]) for b in _BY_ORDINAL)
    return tuple(None if route is None else _Path(route) for route in routes)


_ROUTES: tuple[tuple[tuple[_Path | None, ...], ...], ...] = tuple(
    tuple(_route_row(mask, a) for a in _BY_ORDINAL) for mask in range(4)
)
"""``_ROUTES[pending calls mask][source][dest]``: ``RUN_LIFECYCLE.route``, precomputed."""

_StepCache = list[list[list[list[Step]]]]


def _step_cache() -> _StepCache:
    return [[[[], []] for _ in range(_SIZE)] for _ in range(_SIZE)]


_STEP_CACHES: dict[StepKind, _StepCache] = {kind: _step_cache() for kind in StepKind}
_START = _STEP_CACHES[StepKind.START]
_OBSERVED = _STEP_CACHES[StepKind.OBSERVED]
_INFERRED = _STEP_CACHES[StepKind.INFERRED]
_ILLEGAL_STEPS = _STEP_CACHES[StepKind.ILLEGAL]


_STEPS_CACHED: Final = 1024


def _step(table: _StepCache, source: RunStatus, dest: RunStatus, lenient: bool, index: int) -> Step:
    """Steps are small immutable values: share them instead of building one per record."""
    cache = table[source][dest][lenient]
    if index < len(cache):
        return cache[index]
    kind = next(k for k, t in _STEP_CACHES.items() if t is table)
    if index >= _STEPS_CACHED:
        return Step(source, dest, kind, lenient, index)
    while len(cache) <= index:  # fill the gap: a later run asks for the indices in between
        cache.append(Step(source, dest, kind, lenient, len(cache)))
    return cache[index]


_SUBMIT_CODE, _CANCEL_CODE = 16, 17
"""How client calls appear in a run's code list (statuses appear as themselves, ordinals 0-10)."""
_CODE_BITS: dict[int, int] = {
    _SUBMIT_CODE: _CALL_BITS[Trigger.SUBMIT_TOOL_OUTPUTS],
    _CANCEL_CODE: _CALL_BITS[Trigger.CANCEL],
}
_CODE_CALL: dict[int, Trigger] = {_SUBMIT_CODE: Trigger.SUBMIT_TOOL_OUTPUTS, _CANCEL_CODE: Trigger.CANCEL}
_SHAPES_MAX = 1024


class _Shape:
    """What a run's history shape (mode and sequence of statuses and calls) makes of it, without locations.

    Runs with the same shape get the same verdict apart from the run id, the locations and
    the field warnings, so shapes are judged once and remembered (up to ``_SHAPES_MAX`` of them).
    """

    __slots__ = ("final", "inferred", "lenient", "notes", "observations", "steps")

    def __init__(
        self,
        *,
        final: RunStatus,
        observations: int,
        inferred: list[tuple[int, tuple[RunStatus, ...]]],
        lenient: list[Edge[RunStatus]],
        steps: list[Step],
        notes: list[tuple[int, str]],
    ) -> None:
        self.final = final
        self.observations = observations
        self.inferred = tuple(inferred)
        self.lenient = tuple(lenient)
        self.steps = tuple(steps)
        self.notes = tuple(notes)
        """Warnings about recorded calls: (index, message)."""


def _judge_shape(mode: Mode, codes: bytearray) -> _Shape | None:
    """Replay a history shape on the lookup table and the routes; None if it needs the tracker.

    The same decisions as ``RunTracker`` in record/assume mode, for histories with no
    illegal jump, unknown status or unrecorded call (property-tested against it).
    """
    state = _INITIAL
    pending = 0
    poll = mode == "poll"
    observations = 0
    steps: list[Step] = []
    notes: list[tuple[int, str]] = []
    inferred: list[tuple[int, tuple[RunStatus, ...]]] = []
    lenient_edges: list[Edge[RunStatus]] = []
    for index, code in enumerate(codes):
        if code >= _SUBMIT_CODE:
            if _IS_TERMINAL[state]:
                notes.append((index, f"{_CODE_CALL[code].value} recorded after the run ended ({state})"))
            elif code == _SUBMIT_CODE and state is not RunStatus.RequiresAction:
                notes.append((index, f"submit_tool_outputs recorded while the run was last seen {state}"))
            pending |= _CODE_BITS[code]
            continue
        dest = _BY_ORDINAL[code]
        kind = _LOOKUP[state][dest]
        path: _Path | None = None
        if kind == SAME:
            if pending and poll:
                found = _ROUTES[pending][state][dest]
                if found is not None and found.bits:
                    path = found
        elif state is _INITIAL and poll:
            steps.append(_step(_START, state, dest, False, index))
            state = dest
        elif kind in (DOCUMENTED, LENIENT):
            lenient = kind == LENIENT
            if lenient:
                edge = _EDGE_TABLE[state][dest]
                assert edge is not None
                lenient_edges.append(edge)
            pending &= ~_BITS_OF_EDGE[state][dest]
            steps.append(_step(_OBSERVED, state, dest, lenient, index))
            state = dest
        elif poll:
            path = _ROUTES[pending][state][dest]
            if path is None:
                return None
        else:
            return None
        if path is not None:
            inferred.append((index, path.inferred))
            lenient_edges.extend(path.lenient)
            pending &= ~path.bits
            for a, b, lenient in path.pairs:
                steps.append(_step(_INFERRED, a, b, lenient, index))
            state = dest
        observations += 1
    return _Shape(
        final=state, observations=observations, inferred=inferred, lenient=lenient_edges, steps=steps, notes=notes
    )


_NO_LINE: Final = -1
"""How an unknown line (``None``) is stored in a run's line array."""


def _location(source: str, line: int) -> Location:
    return Location(source, None if line == _NO_LINE else line)


class _Run:
    """One open run: its history shape and records (fast path), or its tracker (slow path)."""

    __slots__ = ("codes", "lines", "locations", "mode", "run_id", "shape", "sources", "tracker", "warnings")

    def __init__(self, run_id: str, mode: Mode | None) -> None:
        self.run_id = run_id
        self.mode: Mode | None = mode
        self.codes = bytearray()
        self.sources: list[str] = []
        self.lines = array("q")
        """Line numbers (``_NO_LINE`` for None) as machine ints: an open run costs a few bytes per record."""
        """Where each code came from: a run keeps no record objects (nor the run objects they hold)."""
        self.warnings: list[tuple[int, Location | None, str]] | None = None
        self.shape: _Shape | None = None
        self.tracker: RunTracker | None = None
        self.locations: list[Location | None] = []
        """Slow path: the location of each tracker history entry."""


class _Closed:
    """A run that ended: its verdict, kept a while to catch late records."""

    __slots__ = ("index", "repeats", "verdict")

    def __init__(self, verdict: Verdict, index: int) -> None:
        self.verdict = verdict
        self.index = index
        self.repeats = 0
        """Late repeats of the terminal status, not yet counted in the verdict."""

    def final_verdict(self) -> Verdict:
        if self.repeats:
            return dataclasses.replace(self.verdict, observations=self.verdict.observations + self.repeats)
        return self.verdict


class _Validator:
    """The state of :func:`validate_many`: open runs, recently ended runs, remembered shapes, options."""

    def __init__(self, mode: ValidationMode, strict: bool, linger: int, fields: bool) -> None:
        self.mode = mode
        self.strict = strict
        self.linger = linger
        self.fields = fields
        self.open: dict[str, _Run] = {}
        self.closed: OrderedDict[str, _Run | _Closed] = OrderedDict()
        """Ended runs, oldest first: fast-path runs (judged when let go of) or verdicts."""
        self.shapes: dict[tuple[str, bytes], _Shape | None] = {}

    # -- many records

    def consume(
        self,
        items: Iterable[Item],
        on_error: Callable[[InputError], object] | None = None,
        on_record: Callable[[], object] | None = None,
    ) -> Iterator[Verdict]:
        """Judge every record; yield verdicts as runs are let go of, then the rest.

        The loop inlines the common record (a known status of an open fast-path run) and
        hands everything else to :meth:`feed`.
        """
        feed = self.feed
        get_open = self.open.get
        terminal = _IS_TERMINAL
        fields_on = self.fields
        check = check_fields
        record_type = Record
        warn = self._warn
        closed = self.closed
        new_mode: Mode = "poll" if self.mode == "auto" else self.mode  # a run object is a poll
        for item in items:
            kind = type(item)
            rec = item
            if kind is tuple:  # a CompactRecord: a plain run object
                if on_record is not None:
                    on_record()
                run_id, dest, obj, line, source = cast("CompactRecord", item)
                run = get_open(run_id)
                if run is None:
                    ended = closed.get(run_id)
                    if ended is None:
                        run = self.open[run_id] = _Run(run_id, new_mode)
                    elif type(ended) is _Run and ended.codes and ended.codes[-1] == dest:
                        # the common late record: the poller saw the terminal status once more
                        index = len(ended.codes)
                        ended.codes.append(dest)
                        ended.sources.append(source)
                        ended.lines.append(line)
                        ended.shape = None
                        if fields_on:
                            for message in check(dest, obj):
                                warn(ended, index, Location(source, line), message)
                        continue
                if run is not None and run.tracker is None and run.mode is not None:
                    codes = run.codes
                    index = len(codes)
                    codes.append(dest)
                    run.sources.append(source)
                    run.lines.append(line)
                    if fields_on:
                        for message in check(dest, obj):
                            warn(run, index, Location(source, line), message)
                    if terminal[dest]:
                        verdict = self._ended(run)
                        if verdict is not None:
                            yield verdict
                    continue
                rec = as_record(item)  # type: ignore[arg-type]  # a CompactRecord
            elif kind is not record_type:
                if not isinstance(rec, InputError):
                    raise TypeError(f"expected Record objects, got {type(rec).__name__}")
                if on_error is None:
                    raise rec
                on_error(rec)
                continue
            elif on_record is not None:
                on_record()
            assert isinstance(rec, Record)
            run = get_open(rec.run_id)
            status = rec.status
            if run is not None and status is not None and run.tracker is None and run.mode is not None:
                codes = run.codes
                index = len(codes)
                codes.append(status)
                run.sources.append(rec.source)
                run.lines.append(_NO_LINE if rec.line is None else rec.line)
                if fields_on and rec.fields is not None:
                    for message in check(status, rec.fields):
                        warn(run, index, rec.location, message)
                if terminal[status]:
                    verdict = self._ended(run)
                    if verdict is not None:
                        yield verdict
                continue
            verdict = feed(rec)
            if verdict is not None:
                yield verdict
        yield from self.finish()

    # -- one record

    def feed(self, rec: Record) -> Verdict | None:
        """Process one record; return the verdict of a run let go of to make room, if any."""
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
            return self._close(run) if _IS_TERMINAL[run.tracker.state] else None
        dest = rec.status
        index = len(run.codes)
        if dest is None:
            call = rec.call
            if call is None:  # an unknown status: the tracker reports it
                self._to_tracker(run)
                self._feed_tracker(run, rec)
                return None
            run.codes.append(_call_code(call))
            run.sources.append(rec.source)
            run.lines.append(_NO_LINE if rec.line is None else rec.line)
            return None
        if run.mode is None:
            run.mode = rec.mode or "poll"
        run.codes.append(dest)
        run.sources.append(rec.source)
        run.lines.append(_NO_LINE if rec.line is None else rec.line)
        if self.fields and rec.fields is not None:
            for message in check_fields(dest, rec.fields):
                self._warn(run, index, rec.location, message)
        return self._ended(run) if _IS_TERMINAL[dest] else None

    @staticmethod
    def _warn(run: _Run, index: int, location: Location, message: str) -> None:
        if run.warnings is None:
            run.warnings = []
        run.warnings.append((index, location, message))

    def _shape(self, run: _Run) -> _Shape | None:
        mode = run.mode or "poll"
        key = (mode, bytes(run.codes))
        shapes = self.shapes
        if key in shapes:
            return shapes[key]
        shape = _judge_shape(mode, run.codes)
        if len(shapes) < _SHAPES_MAX:
            shapes[key] = shape
        return shape

    def _ended(self, run: _Run) -> Verdict | None:
        """A terminal status arrived: close the run if its history really ended there."""
        shape = self._shape(run)
        if shape is None:
            self._to_tracker(run)
            assert run.tracker is not None
            return self._close(run) if _IS_TERMINAL[run.tracker.state] else None
        if not _IS_TERMINAL[shape.final]:  # pragma: no cover - a fast-path shape accepts every terminal status
            return None
        run.shape = shape
        return self._close(run)

    # -- the slow path: a real tracker

    def _to_tracker(self, run: _Run) -> None:
        """Replay the run so far into a tracker (which records the trouble), then keep feeding it.

        The tracker sees statuses, not run objects: the field warnings are this class's
        (``run.warnings``, merged into the verdict), computed as each record arrives.
        """
        tracker = _tracker(run.run_id, run.mode or "poll")
        run.tracker = tracker
        for code, source, line in zip(run.codes, run.sources, run.lines, strict=True):
            if code >= _SUBMIT_CODE:
                tracker.record_call(_CODE_CALL[code])
            else:
                tracker.observe(_BY_ORDINAL[code])
            run.locations.append(Location(source, None if line == _NO_LINE else line))
        run.codes, run.sources, run.lines = bytearray(), [], array("q")

    def _feed_tracker(self, run: _Run, rec: Record) -> None:
        tracker = run.tracker
        assert tracker is not None
        if rec.call is None and run.mode is None:
            run.mode = rec.mode or "poll"
            tracker.mode = run.mode
        index = len(tracker.history)
        if rec.call is not None:
            tracker.record_call(rec.call)
        elif rec.status is None:
            tracker.observe(rec.raw)  # an unknown status: the tracker records it as such
        else:
            tracker.observe(rec.status)
            if self.fields and rec.fields is not None:
                for message in check_fields(rec.status, rec.fields):
                    self._warn(run, index, rec.location, message)
        run.locations.append(rec.location)

    # -- ending a run

    def _verdict(self, run: _Run) -> Verdict:
        if run.tracker is None and run.shape is None:
            shape = self._shape(run)
            if shape is None:
                self._to_tracker(run)
            else:
                run.shape = shape
        if run.tracker is not None:
            verdict = Verdict.from_tracker(run.tracker, locations=run.locations, strict=self.strict)
            if run.warnings:
                merged = sorted([*verdict.warnings, *run.warnings], key=lambda w: w[0])
                verdict = dataclasses.replace(verdict, warnings=tuple(merged))
            return verdict
        shape = run.shape
        assert shape is not None
        warnings: list[tuple[int, Location | None, str]] = run.warnings or []
        if shape.notes:
            notes = [(i, _location(run.sources[i], run.lines[i]), m) for i, m in shape.notes]
            warnings = sorted([*warnings, *notes], key=lambda w: w[0])
        final = shape.final
        return Verdict(
            run_id=run.run_id,
            mode=run.mode or "poll",
            result=RunResult.LEGAL if _IS_TERMINAL[final] else RunResult.UNFINISHED,
            final=final,
            observations=shape.observations,
            offenses=(),
            inferred=shape.inferred,
            lenient=shape.lenient,
            warnings=tuple(warnings),
            steps=shape.steps,
            strict=self.strict,
        )

    def _close(self, run: _Run) -> Verdict | None:
        del self.open[run.run_id]
        if run.tracker is not None:
            self.closed[run.run_id] = _Closed(self._verdict(run), len(run.tracker.history))
        else:
            self.closed[run.run_id] = run  # its codes: a late repeat only extends them
        if len(self.closed) > self.linger:
            return self._let_go(self.closed.popitem(last=False)[1])
        return None

    def _let_go(self, entry: _Run | _Closed) -> Verdict:
        return entry.final_verdict() if isinstance(entry, _Closed) else self._verdict(entry)

    def _late(self, entry: _Run | _Closed, rec: Record) -> None:
        """A record of a run that already ended: a repeat, a late call, or an illegal jump."""
        if isinstance(entry, _Run):
            dest = rec.status
            codes = entry.codes
            final = _BY_ORDINAL[next(c for c in reversed(codes) if c < _SUBMIT_CODE)]
            if rec.call is not None or dest is final:
                index = len(codes)
                codes.append(dest if dest is not None else _call_code(rec.call))
                entry.shape = None
                entry.sources.append(rec.source)
                entry.lines.append(_NO_LINE if rec.line is None else rec.line)
                if dest is not None and self.fields and rec.fields is not None:
                    for message in check_fields(dest, rec.fields):
                        self._warn(entry, index, rec.location, message)
                return
            ended = _Closed(self._verdict(entry), len(codes))
            self.closed[rec.run_id] = ended
        else:
            ended = entry
        verdict = ended.verdict
        index = ended.index
        ended.index += 1
        final = verdict.final
        if rec.status is final and (rec.fields is None or not self.fields or not check_fields(final, rec.fields)):
            ended.repeats += 1  # a re-observation of the terminal status: counted when the verdict leaves
            return
        verdict = ended.verdict = ended.final_verdict()
        ended.repeats = 0
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
            offense = Offense(OffenseKind.UNKNOWN_STATUS, index, loc, final, None, raw_text(rec.raw), ())
            result = RunResult.ILLEGAL if verdict.result is RunResult.ILLEGAL else RunResult.UNKNOWN_STATUS
            steps = verdict.steps
            warnings = verdict.warnings
        else:
            offense = Offense(OffenseKind.ILLEGAL, index, loc, final, rec.status, str(rec.status), ())
            result = RunResult.ILLEGAL
            steps = (*verdict.steps, _step(_ILLEGAL_STEPS, final, rec.status, False, index))
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
            yield self._let_go(ended)
        self.closed.clear()
        for run in self.open.values():
            yield self._verdict(run)
        self.open.clear()


def _call_code(call: Trigger | None) -> int:
    return _SUBMIT_CODE if call is Trigger.SUBMIT_TOOL_OUTPUTS else _CANCEL_CODE


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
    _check_linger(linger)
    return _Validator(mode, strict, linger, check_fields).consume(records)


def _sorted_by_run(
    items: Iterable[Item],
    on_error: Callable[[InputError], object] | None,
    on_record: Callable[[], object] | None,
) -> Iterator[Record]:
    groups: dict[str, list[Record]] = {}
    for item in items:
        if isinstance(item, InputError):
            if on_error is None:
                raise item
            on_error(item)
            continue
        if on_record is not None:
            on_record()
        rec = item if isinstance(item, Record) else as_record(item)
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
    partition: tuple[int, int] | None = None,
) -> Iterator[Verdict]:
    """Read the files (``"-"`` is standard input) as one stream of records and judge every run.

    Runs are joined by id across files (a create stream in one file, the submit stream in
    another). Each unusable line becomes an :class:`InputError` passed to ``on_error``, and
    processing continues; without ``on_error`` the first one is raised. With ``sort_by``,
    each run's records are ordered by that field (numbers or ISO 8601 text) before judging;
    this holds the whole input in memory. ``on_record`` is called once per record read (for
    progress display). ``partition=(k, n)`` judges only the runs worker ``k`` of ``n`` owns
    (:func:`~runfsm.records.owns`): n processes, one partition each, judge every run once.
    """
    _check_mode(mode)
    _check_linger(linger)
    items = read_items(paths, input_format=input_format, sort_by=sort_by, partition=partition)
    validator = _Validator(mode, strict, linger, check_fields)
    if sort_by is None:
        return validator.consume(items, on_error, on_record)
    return validator.consume(_sorted_by_run(items, on_error, on_record))


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

    def merge(self, other: Summary) -> None:
        """Add another summary's counts (from another worker) to this one."""
        for name in ("runs", "legal", "illegal", "unknown_status", "unfinished", "observations"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("inferred_jumps", "lenient_edges", "unrecorded_calls", "warnings", "input_errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

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
