"""The ledger of bulk validation: open runs, recently ended runs, and what each comes to.

:class:`Ledger` is the engine behind :func:`~runfsm.validation.validate_many` and
:func:`~runfsm.validation.summarize_paths`. A run keeps only its history shape (its statuses and
client calls as small codes, and where each came from, see :mod:`runfsm.validation.shapes`); when a
terminal status arrives the shape is judged (once per distinct shape), and field warnings are
checked as records arrive. Only a run that goes wrong (an illegal jump, an unknown status, an
unrecorded client call) is replayed into a :class:`~runfsm.tracker.RunTracker` and judged by
:meth:`Verdict.from_tracker`. Both paths give equal verdicts (a tested property).

Memory follows the runs open at once, not the input size: no run object is kept, and an ended
run *lingers* for ``linger`` slots of input after the record that ended it, then is let go of
(meanwhile a run that ended with nothing to report keeps nothing of its own: it lingers as its
judged shape, shared by every run of that shape). A slot is a line of the inputs, or one record
of a line of several (see :class:`~runfsm.validation.formats.base.ReadPosition`); for records
given as such (:func:`~runfsm.validation.validate_many`, or each run's records in time order
with ``--sort-by``) a slot is one record. A late record of a run (one arriving after its
terminal status) at most ``linger`` slots after the run's end is attached to it: a repeat of
the terminal status is a re-observation, anything else an illegal jump out of the terminal
status. A record arriving later than that starts a new history under the same id (in stream
mode that history is itself illegal, since a stream cannot begin mid-run). Whether a record is
attached depends only on its slot and its run's end slot, which every ``--jobs`` worker and
every engine computes alike: they all attach exactly what one process attaches.

With ``tally=True`` the ledger does not build a verdict for a run with nothing to report (legal,
or unfinished when not strict, with no warning): it counts it in :attr:`Ledger.tally`, by what
the summary needs of it. That is what makes ``runfsm validate`` fast on large logs.
"""

from __future__ import annotations

import dataclasses
import sys
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, cast

from runfsm.exceptions import InputError
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.status import StatusAliases, checked_aliases, tool_call_ids
from runfsm.tracker import RunTracker
from runfsm.validation.records import Item, Record, as_record
from runfsm.validation.shapes import (
    CANCEL_CODE,
    CODE_CALL,
    SHAPES_MAX,
    SUBMIT_CODE,
    Shape,
    call_code,
    judge_shape,
    shared_step,
    tables_for,
)
from runfsm.verdict import Location, Offense, OffenseKind, RunResult, Verdict, raw_text
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from runfsm.lifecycle import Lifecycle
    from runfsm.tracker import Mode
    from runfsm.vocabulary import LifecycleState

__all__ = ["Clock", "Ledger", "RecordCount", "Tally", "ValidationMode", "reference_tracker", "shape_verdict"]

ValidationMode = Literal["auto", "stream", "poll"]

Tally = tuple[bool, int, int, int]
"""What the summary needs of a quiet run: (ended, observations, inferred jumps, lenient edges)."""


class Clock(Protocol):
    """Where the record just read stands: its slot (see :class:`~runfsm.validation.formats.base.ReadPosition`)."""

    def mark(self, line: int) -> int:
        """The slot of the record just read, at ``line`` of its input."""
        ...


class RecordCount:
    """The clock of records given as such: the slot of a record is its index among the items read."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def mark(self, line: int) -> int:
        """The index of the item just read (``line`` does not matter)."""
        return self.count

    def counted(self, items: Iterable[Item]) -> Iterator[Item]:
        """The items, each counted as it is read."""
        for item in items:
            self.count += 1
            yield item


def reference_tracker(
    run_id: str | None,
    mode: Mode,
    aliases: StatusAliases | None = None,
    *,
    lifecycle: Lifecycle[Any] | None = None,
) -> RunTracker[Any]:
    """The tracker that judges a run the fast path cannot: records everything, assumes unrecorded calls."""
    return RunTracker(
        run_id,
        mode=mode,
        on_illegal="record",
        on_missing_call="assume",
        keep_raw=True,
        clock=None,
        aliases=aliases,
        lifecycle=lifecycle if lifecycle is not None else RUN_LIFECYCLE,
    )


def shape_verdict(
    run_id: str | None,
    shape: Shape,
    warnings: list[tuple[int, Location | None, str]],
    *,
    strict: bool,
    notes: Sequence[tuple[int, Location | None, str]] = (),
) -> Verdict:
    """The verdict of a run judged by its shape alone: the shape's, with its id, field warnings and call notes."""
    final = shape.final
    return Verdict(
        run_id=run_id,
        mode=shape.mode,
        result=RunResult.LEGAL if shape.ended else RunResult.UNFINISHED,
        final=final,
        observations=shape.observations,
        offenses=(),
        inferred=shape.inferred,
        lenient=shape.lenient,
        warnings=tuple(warnings),
        steps=shape.steps,
        strict=strict,
        notes=tuple(notes),
    )


_UNJUDGED: Final = object()
"""Not in the shape cache (``None`` there means "needs the tracker")."""

_NO_LINE: Final = -1
"""How an unknown line (``None``) is stored in a run's lines."""

_NO_RUN: Final = sys.maxsize
"""The oldest end slot when no ended run lingers."""

DEFAULT_LINGER: Final = 50_000
"""How long an ended run waits for late records: slots of input after the record that ended it.

A slot is a line of the inputs (one per record on a line of several, such as a ``runs.list``
page), or one record for records given as such (see :mod:`runfsm.validation.ledger`). A record
of the run at most this many slots later is judged with it; a later one starts a new history.
50,000 lines is about the last 5,000 to 15,000 runs of a log of ten to three records a run; at
most 50,000 ended runs are kept (a log of one line a run), each as little as a shared shape."""


class _Run:
    """One open run: its history shape and where each entry came from (fast path), or its tracker (slow path)."""

    __slots__ = (
        "answered",
        "codes",
        "final",
        "lines",
        "locations",
        "mode",
        "paused",
        "run_id",
        "shape",
        "source",
        "sources",
        "tracker",
        "warnings",
    )

    def __init__(self, run_id: str, mode: Mode | None, source: str) -> None:
        self.run_id = run_id
        self.mode: Mode | None = mode
        self.codes = bytearray()
        """The history shape so far (see :mod:`runfsm.validation.shapes`)."""
        self.lines: list[int] = []
        """The line of each code (``_NO_LINE`` for None): a run keeps no record objects, only these."""
        self.source = source
        """The input its records come from..."""
        self.sources: list[str] | None = None
        """... or, once they come from several, the input of each code."""
        self.warnings: list[tuple[int, Location | None, str]] | None = None
        self.shape: Shape | None = None
        self.tracker: RunTracker[Any] | None = None
        self.locations: list[Location | None] | None = None
        """Slow path: the location of each tracker history entry."""
        self.paused: list[tuple[int, frozenset[str]]] | None = None
        """The tool-call ids of each requires_action record that carried them, by code index."""
        self.answered: frozenset[str] | None = None
        """The ids of the last requires_action before the last submit (the round that submit answered)."""
        self.final: LifecycleState | None = None
        """Once ended: its terminal status (late records only repeat it or add client calls)."""

    def note_submit(self) -> None:
        """A submit was recorded: it answers the round last seen paused."""
        paused = self.paused
        self.answered = paused[-1][1] if paused else None

    def note_paused(self, fields: object) -> bool:
        """A requires_action record (its code about to be appended): False, or True when it is stale.

        Stale: it asks for the same tool calls as the round the last submit answered, which only
        the tracker tells from a new round (it goes to the slow path); see ``RunTracker``.
        """
        ids = tool_call_ids(fields) if fields is not None else None
        if ids is None:
            if self.paused is not None:
                self.paused.append((len(self.codes), frozenset()))
            return False
        if ids == self.answered:
            return True
        if self.paused is None:
            self.paused = []
        self.paused.append((len(self.codes), ids))
        return False

    def note_source(self, index: int, source: str) -> None:
        """Record that code ``index`` (about to be appended) came from ``source``."""
        sources = self.sources
        if sources is None:
            if source == self.source:
                return
            sources = self.sources = [self.source] * index
        sources.append(source)

    def add(self, code: int, source: str, line: int | None) -> int:
        """Append one code with its location; return its index."""
        index = len(self.codes)
        if self.sources is not None or source is not self.source:
            self.note_source(index, source)
        self.codes.append(code)
        self.lines.append(_NO_LINE if line is None else line)
        return index

    def location(self, index: int) -> Location:
        """Where code ``index`` came from."""
        source = self.source if self.sources is None else self.sources[index]
        line = self.lines[index]
        return Location(source, None if line == _NO_LINE else line)


class _Closed:
    """A run that ended: its verdict, kept a while to catch late records.

    What late records add is gathered in lists and put into the verdict once, when it leaves
    (:meth:`final_verdict`): each late record costs the same, however many came before it.
    """

    __slots__ = ("index", "notes", "offenses", "repeats", "result", "steps", "verdict", "warnings")

    def __init__(self, verdict: Verdict, index: int) -> None:
        self.verdict = verdict
        self.index = index
        self.repeats = 0
        """Late observations (repeats of the terminal status and jumps out of it), not yet counted in the verdict."""
        self.result = verdict.result
        self.offenses: list[Offense] = []
        self.steps: list[Any] = []
        self.warnings: list[tuple[int, Location | None, str]] = []
        self.notes: list[tuple[int, Location | None, str]] = []

    def final_verdict(self) -> Verdict:
        verdict = self.verdict
        changed = self.repeats or self.offenses or self.warnings or self.notes or self.steps
        if changed or self.result is not verdict.result:
            return dataclasses.replace(
                verdict,
                result=self.result,
                observations=verdict.observations + self.repeats,
                offenses=(*verdict.offenses, *self.offenses),
                steps=(*verdict.steps, *self.steps),
                warnings=(*verdict.warnings, *self.warnings),
                notes=(*verdict.notes, *self.notes),
            )
        return verdict


class Ledger:
    """The state of bulk validation: open runs, recently ended runs, remembered shapes, options."""

    def __init__(
        self,
        mode: ValidationMode,
        strict: bool,
        linger: int,
        fields: bool,
        *,
        tally: bool = False,
        aliases: StatusAliases | None = None,
        lifecycle: Lifecycle[Any] | None = None,
        position: Clock | None = None,
    ) -> None:
        self.aliases = checked_aliases(aliases, lifecycle) if aliases else None
        """Misspelled statuses read as the status meant: a record with one goes to the tracker, which maps it."""
        self.position: Clock = position if position is not None else RecordCount()
        """The slot of the record just read: the reader's (a ``ReadPosition``); without one,
        :meth:`consume` counts the items it reads (a :class:`RecordCount`)."""
        self.ended_at: dict[str, int] = {}
        """The end slot of each lingering run (in :attr:`closed`)."""
        self.oldest_end = _NO_RUN
        """The end slot of the oldest lingering run (``_NO_RUN`` when none lingers)."""
        self.released: list[Verdict] = []
        """Verdicts of runs let go of, not yet handed out by :meth:`consume`."""
        self.lifecycle: Lifecycle[Any] = lifecycle if lifecycle is not None else RUN_LIFECYCLE
        """Whose histories are judged (the Assistants run by default)."""
        self.tables = tables_for(self.lifecycle)
        self._check: Callable[[Any, Mapping[str, Any]], tuple[str, ...]] = self.lifecycle.field_checks.check
        self.mode = mode
        self.strict = strict
        self.linger = linger
        self.fields = fields
        self.tally: dict[Tally, int] | None = {} if tally else None
        """With ``tally``: quiet runs counted by what the summary needs of them, instead of verdicts."""
        self.open: dict[str, _Run] = {}
        self.closed: OrderedDict[str, _Run | _Closed | Shape] = OrderedDict()
        """Ended runs, oldest first: a clean fast-path run as its shared shape (nothing of its own
        is kept), a fast-path run with warnings or notes, or the verdict of a tracker run."""
        self.shapes: dict[str, dict[bytes, Shape | None]] = {"poll": {}, "stream": {}}
        """Judged shapes by mode (``None``: needs the tracker): the young generation of the cache."""
        self.older_shapes: dict[str, dict[bytes, Shape | None]] = {"poll": {}, "stream": {}}
        """The previous generation: a shape found there moves to the young one; the rest is dropped
        when the young one fills (``SHAPES_MAX // 2`` each), so frequent shapes stay cached."""

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
        if type(self.position) is RecordCount:
            items = self.position.counted(items)
        feed = self.feed
        released = self.released
        gone = self._gone
        open_runs = self.open
        get_open = open_runs.get
        terminal = self.tables.is_terminal
        paused = self.tables.is_paused
        fields_on = self.fields
        check = self._check
        clean = self.lifecycle.field_checks.clean_checks()  # a compact record's object is a dict: one call
        record_type = Record
        submit = Trigger.SUBMIT_TOOL_OUTPUTS
        warn = self._warn
        ended_run = self._ended
        closed = self.closed
        new_mode: Mode = "poll" if self.mode == "auto" else self.mode  # a run object is a poll
        dest: Any  # RunStatus, or the Trigger of a compact client call
        obj: Any  # the run object (a dict), or None for a compact client call
        for item in items:
            kind = type(item)
            if kind is tuple:  # a CompactRecord: a plain run object or a client call
                if on_record is not None:
                    on_record()
                run_id, dest, obj, line, source = item  # type: ignore[misc]  # a CompactRecord (no cast: a call per record)
                run = get_open(run_id)
                if obj is None:  # a client call (dest is its Trigger)
                    if run is not None and run.tracker is None:
                        codes = run.codes
                        if run.sources is not None or source is not run.source:
                            run.note_source(len(codes), source)
                        if dest is submit:
                            codes.append(SUBMIT_CODE)
                            run.note_submit()
                        else:
                            codes.append(CANCEL_CODE)
                        run.lines.append(line)
                        continue
                elif run is None:
                    ended = closed.get(run_id)
                    if ended is not None and gone(run_id, line):  # past its window: let go of
                        ended = None
                        yield from released
                        released.clear()
                    if ended is None:
                        run = open_runs[run_id] = _Run(run_id, new_mode, source)
                    elif type(ended) is Shape and ended.codes[-1] == dest:
                        ended = self._revive(run_id, ended)
                    if type(ended) is _Run and ended.codes[-1] == dest:
                        # the common late record: the poller saw the terminal status once more
                        index = ended.add(dest, source, line)
                        ended.shape = None
                        if fields_on:
                            for message in check(dest, obj):
                                warn(ended, index, Location(source, line), message)
                        del item, obj  # see below
                        continue
                if run is not None and run.tracker is None and run.mode is not None:
                    if paused[dest] and run.note_paused(obj):
                        self._to_tracker(run)  # a stale requires_action: the record goes to the tracker below
                    else:
                        codes = run.codes
                        index = len(codes)
                        if run.sources is not None or source is not run.source:
                            run.note_source(index, source)
                        codes.append(dest)
                        run.lines.append(line)
                        if fields_on and not clean[dest](obj):
                            for message in check(dest, obj):
                                warn(run, index, Location(source, line), message)
                        # let the run object go before the reader parses the next line, so that its
                        # memory is reused while still in the cache (as the reader does on its side)
                        del item, obj
                        if terminal[dest]:
                            ended_run(run)
                            if released:
                                yield from released
                                released.clear()
                        continue
                rec = as_record(item)  # type: ignore[arg-type]  # a CompactRecord
            elif kind is not record_type:
                if not isinstance(item, InputError):
                    raise TypeError(f"expected Record objects, got {type(item).__name__}")
                if on_error is None:
                    raise item
                on_error(item)
                continue
            else:
                rec = item  # type: ignore[assignment]  # a Record
                if on_record is not None:
                    on_record()
            assert isinstance(rec, Record)
            run = get_open(rec.run_id)
            status = rec.status
            if (
                run is not None
                and status is not None
                and run.tracker is None
                and run.mode is not None
                and not (paused[status] and self._stale(run, rec.fields))
            ):
                index = run.add(status, rec.source, rec.line)
                if fields_on and rec.fields is not None:
                    for message in check(status, rec.fields):
                        warn(run, index, rec.location, message)
                if terminal[status]:
                    ended_run(run)
                    if released:
                        yield from released
                        released.clear()
                continue
            feed(rec)
            if released:
                yield from released
                released.clear()
        yield from self.finish()

    # -- one record

    def feed(self, rec: Record) -> None:
        """Process one record (the verdicts of runs it lets go of are put in :attr:`released`)."""
        run_id = rec.run_id
        run = self.open.get(run_id)
        if run is None:
            ended = self.closed.get(run_id)
            if ended is not None and not self._gone(run_id, rec.line):
                self._late(ended, rec)
                return
            mode = rec.mode if self.mode == "auto" else self.mode
            run = self.open[run_id] = _Run(run_id, mode, rec.source)
        if run.tracker is not None:
            self._feed_tracker(run, rec)
            if self.tables.is_terminal[run.tracker.state]:
                self._close(run)
            return
        dest = rec.status
        index = len(run.codes)
        if dest is None:
            call = rec.call
            if call is None:  # an unknown status: the tracker reports it
                self._to_tracker(run)
                self._feed_tracker(run, rec)
                return
            run.add(call_code(call), rec.source, rec.line)
            if call is Trigger.SUBMIT_TOOL_OUTPUTS:
                run.note_submit()
            return
        if run.mode is None:
            run.mode = rec.mode or "poll"
        if self.tables.is_paused[dest] and self._stale(run, rec.fields):
            self._feed_tracker(run, rec)
            return
        run.add(dest, rec.source, rec.line)
        if self.fields and rec.fields is not None:
            for message in self._check(dest, rec.fields):
                self._warn(run, index, rec.location, message)
        if self.tables.is_terminal[dest]:
            self._ended(run)

    @staticmethod
    def _warn(run: _Run, index: int, location: Location, message: str) -> None:
        if run.warnings is None:
            run.warnings = []
        run.warnings.append((index, location, message))

    def _shape(self, run: _Run) -> Shape | None:
        """The run's judged shape, from the cache (two generations: recent shapes stay) or judged now."""
        mode = run.mode or "poll"
        key = bytes(run.codes)
        young = self.shapes[mode]
        found: object = young.get(key, _UNJUDGED)
        if found is not _UNJUDGED:
            return found  # type: ignore[return-value]  # a cached Shape or None (no cast: this runs once per run)
        found = self.older_shapes[mode].get(key, _UNJUDGED)
        shape = judge_shape(mode, run.codes, self.tables) if found is _UNJUDGED else cast("Shape | None", found)
        if len(young) >= SHAPES_MAX // 2:  # the older generation is dropped; shapes seen since stay
            self.older_shapes[mode] = young
            young = self.shapes[mode] = {}
        young[key] = shape
        return shape

    def _ended(self, run: _Run) -> None:
        """A terminal status arrived: close the run if its history really ended there."""
        shape = self._shape(run)
        if shape is None:
            self._to_tracker(run)
            assert run.tracker is not None
            if self.tables.is_terminal[run.tracker.state]:
                self._close(run)
            return
        run_id = run.run_id
        del self.open[run_id]
        now = self.ended_at[run_id] = self.position.mark(run.lines[-1])
        closed = self.closed
        if run.warnings is None and not shape.notes:
            closed[run_id] = shape  # a clean run lingers as its shape, shared: nothing of its own is kept
        else:
            run.shape = shape
            closed[run_id] = run  # its codes and locations: a late repeat only extends them
        if self.oldest_end == _NO_RUN:
            self.oldest_end = now
        elif self.oldest_end < now - self.linger:
            self._release(now)

    # -- the slow path: a real tracker

    def _stale(self, run: _Run, fields: object) -> bool:
        """True when a requires_action record is a stale view of the round just answered (it goes to the tracker)."""
        if not run.note_paused(fields):
            return False
        self._to_tracker(run)
        return True

    def _to_tracker(self, run: _Run) -> None:
        """Replay the run so far into a tracker (which records the trouble), then keep feeding it.

        The tracker sees statuses, not run objects: the field warnings are this class's
        (``run.warnings``, merged into the verdict), computed as each record arrives.
        """
        tracker = reference_tracker(run.run_id, run.mode or "poll", self.aliases, lifecycle=self.lifecycle)
        by_ordinal = self.tables.by_ordinal
        run.tracker = tracker
        run.locations = []
        calls = dict(run.paused or ())
        for index, code in enumerate(run.codes):
            if code >= SUBMIT_CODE:
                tracker.record_call(CODE_CALL[code])
            else:
                tracker.observe(by_ordinal[code], tool_calls=calls.get(index) or None)
            run.locations.append(run.location(index))
        run.codes, run.sources, run.lines = bytearray(), None, []

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
            ids = tool_call_ids(rec.fields) if rec.fields is not None and rec.status.is_paused else None
            tracker.observe(rec.status, tool_calls=ids)
            if self.fields and rec.fields is not None:
                for message in self._check(rec.status, rec.fields):
                    self._warn(run, index, rec.location, message)
        assert run.locations is not None
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
            verdict = Verdict.from_tracker(run.tracker, locations=run.locations or [], strict=self.strict)
            if run.warnings:
                merged = sorted([*verdict.warnings, *run.warnings], key=lambda w: w[0])
                verdict = dataclasses.replace(verdict, warnings=tuple(merged))
            return verdict
        shape = run.shape
        assert shape is not None
        notes = [(i, run.location(i), m) for i, m in shape.notes]
        return self._shape_verdict(run.run_id, shape, run.warnings or [], notes)

    def _shape_verdict(
        self,
        run_id: str,
        shape: Shape,
        warnings: list[tuple[int, Location | None, str]],
        notes: Sequence[tuple[int, Location | None, str]] = (),
    ) -> Verdict:
        return shape_verdict(run_id, shape, warnings, strict=self.strict, notes=notes)

    def _close(self, run: _Run) -> None:
        del self.open[run.run_id]
        end = run.locations[-1] if run.locations else None
        line = end.line if end is not None and end.line is not None else _NO_LINE
        now = self.ended_at[run.run_id] = self.position.mark(line)
        if run.tracker is not None:
            self.closed[run.run_id] = _Closed(self._verdict(run), len(run.tracker.history))
        else:
            self.closed[run.run_id] = run  # its codes: a late repeat only extends them
        if self.oldest_end == _NO_RUN:
            self.oldest_end = now
        elif self.oldest_end < now - self.linger:
            self._release(now)

    # -- lingering: how long an ended run waits for late records

    def _gone(self, run_id: str, line: int | None) -> bool:
        """A record of the ended run ``run_id``: True when it comes past the run's window (the run is let go of).

        The window is ``linger`` slots after the run's end: a record in it is a late record of
        the run; a record past it is let go of (with every run that ended before it), and the
        record starts a new history.
        """
        now = self.position.mark(_NO_LINE if line is None else line)
        if self.ended_at[run_id] >= now - self.linger:
            return False
        self._release(now)
        return True

    def _release(self, now: int) -> None:
        """Let go of the ended runs whose window closed before slot ``now`` (the oldest first)."""
        closed = self.closed
        ended_at = self.ended_at
        limit = now - self.linger
        while closed:
            run_id = next(iter(closed))
            end = ended_at[run_id]
            if end >= limit:
                self.oldest_end = end
                return
            del ended_at[run_id]
            verdict = self._let_go(run_id, closed.pop(run_id))
            if verdict is not None:
                self.released.append(verdict)
        self.oldest_end = _NO_RUN

    def _let_go(self, run_id: str, entry: _Run | _Closed | Shape) -> Verdict | None:
        """The verdict of a run leaving the ledger; None when it was only counted in the tally."""
        if type(entry) is Shape:  # not isinstance nor cast: this runs once per run
            if self.tally is not None:
                self.tally[entry.tally] = self.tally.get(entry.tally, 0) + 1
                return None
            return self._shape_verdict(run_id, entry, [])
        if isinstance(entry, _Closed):
            return entry.final_verdict()
        run: _Run = entry  # type: ignore[assignment]  # neither a Shape nor a _Closed
        tally = self.tally
        if tally is not None and run.tracker is None and run.warnings is None:
            shape_ = run.shape or self._shape(run)
            if shape_ is not None and not shape_.notes and (shape_.ended or not self.strict):
                tally[shape_.tally] = tally.get(shape_.tally, 0) + 1
                return None
        return self._verdict(run)

    def _revive(self, run_id: str, shape: Shape) -> _Run:
        """A late record for a run lingering as its shape: make it a run again, in the same place.

        The lines of its earlier records are forgotten (a clean run needs none in its verdict);
        the late records bring their own.
        """
        run = _Run(run_id, shape.mode, "")
        run.codes = bytearray(shape.codes)
        run.lines = [_NO_LINE] * len(shape.codes)
        run.shape = shape
        self.closed[run_id] = run
        return run

    def _late(self, entry: _Run | _Closed | Shape, rec: Record) -> None:
        """A record of a run that already ended: a repeat, a late call, or an illegal jump."""
        if isinstance(entry, Shape):
            entry = self._revive(rec.run_id, entry)
        if isinstance(entry, _Run):
            dest = rec.status
            codes = entry.codes
            final = entry.final
            if final is None:  # found once: late records only repeat it or add calls
                final = entry.final = self.tables.by_ordinal[next(c for c in reversed(codes) if c < SUBMIT_CODE)]
            if rec.call is not None or dest is final:
                index = entry.add(dest if dest is not None else call_code(rec.call), rec.source, rec.line)
                entry.shape = None
                if dest is not None and self.fields and rec.fields is not None:
                    for message in self._check(dest, rec.fields):
                        self._warn(entry, index, rec.location, message)
                return
            ended = _Closed(self._verdict(entry), len(codes))
            self.closed[rec.run_id] = ended
        else:
            ended = entry
        index = ended.index
        ended.index += 1
        final = ended.verdict.final
        if rec.status is final and (rec.fields is None or not self.fields or not self._check(final, rec.fields)):
            ended.repeats += 1  # a re-observation of the terminal status: counted when the verdict leaves
            return
        loc = rec.location
        if rec.call is not None:
            ended.notes.append((index, loc, f"{rec.call.value} recorded after the run ended ({final})"))
            return
        if rec.status is not None and rec.fields is not None and self.fields:
            ended.warnings.extend((index, loc, m) for m in self._check(rec.status, rec.fields))
        ended.repeats += 1
        if rec.status is final:
            return
        if rec.status is None:
            ended.offenses.append(Offense(OffenseKind.UNKNOWN_STATUS, index, loc, final, None, raw_text(rec.raw), ()))
            if ended.result is not RunResult.ILLEGAL:
                ended.result = RunResult.UNKNOWN_STATUS
        else:
            ended.offenses.append(Offense(OffenseKind.ILLEGAL, index, loc, final, rec.status, str(rec.status), ()))
            ended.result = RunResult.ILLEGAL
            ended.steps.append(shared_step(self.tables.illegal_steps, final, rec.status, False, index))

    def finish(self) -> Iterator[Verdict]:
        """The verdicts still held: ended runs first, then the runs left open (unfinished)."""
        for run_id, entry in (*self.closed.items(), *self.open.items()):
            verdict = self._let_go(run_id, entry)
            if verdict is not None:
                yield verdict
        self.closed.clear()
        self.open.clear()
        self.ended_at.clear()
        self.oldest_end = _NO_RUN
