"""The judge every engine hands its groups to: distinct shapes judged once, the rest by the ledger.

An engine reads records, groups them per run (in file order) and gives :func:`judge_groups`
three things through the :class:`Grouped` protocol: the distinct shapes of its *simple* runs
with how many runs have each, the run ids of the runs of some shapes, and the records of its
*complex* runs (any run with a record the engine did not read itself, a record after its
terminal status, or a shape the judge cannot settle) in input order, with the input errors.

Simple runs are judged by :func:`~runfsm.validation.shapes.judge_shape`, once per distinct
shape, and counted; complex runs are judged by a :class:`~runfsm.validation.ledger.Ledger`, the
python engine's own. So every verdict is decided by the same code whatever the engine.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from runfsm.validation.engines.sql import decode_shape
from runfsm.validation.formats.base import Record
from runfsm.validation.ledger import Ledger, shape_verdict
from runfsm.validation.records import in_time_order
from runfsm.validation.shapes import Shape, judge_shape, tables_for
from runfsm.validation.summary import Summary
from runfsm.verdict import Verdict

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterable, Iterator

    from runfsm.exceptions import InputError
    from runfsm.lifecycle import Lifecycle
    from runfsm.status import StatusAliases
    from runfsm.tracker import Mode
    from runfsm.validation.formats.base import Item
    from runfsm.validation.ledger import ValidationMode
    from runfsm.verdict import Location

__all__ = [
    "HELD_AT_MOST",
    "REPLAYED_AT_MOST",
    "Grouped",
    "HeldCallbacks",
    "Located",
    "ShapeKey",
    "Unsettled",
    "in_run_order",
    "judge_groups",
    "python_engine",
]

REPLAYED_AT_MOST = 2_000
"""Runs of unsettled shapes the ledger replays in input order (so they are reported in the python
engine's order); beyond, an engine that can locate them has each history judged once instead."""

HELD_AT_MOST = 10_000
"""Reports (verdicts, input errors) an engine holds until it is sure of its answer (see :class:`HeldCallbacks`)."""

ShapeKey = tuple[str, str]
"""A run's mode (``"poll"`` or ``"stream"``) and its shape as text (see
:func:`~runfsm.validation.engines.sql.decode_shape`)."""


class Grouped(Protocol):
    """What an engine gives the judge."""

    def shapes(self) -> Iterable[tuple[str, str, int]]:
        """(mode, shape, number of runs) of the simple runs, each distinct shape once."""
        ...

    def runs_with(self, keys: set[ShapeKey]) -> Iterable[tuple[str, str, str]]:
        """(run id, mode, shape) of the simple runs whose shape is one of ``keys``."""
        ...

    def complex_items(self, keys: set[ShapeKey]) -> Iterable[Item]:
        """Records of the complex runs and of the runs of shapes ``keys``, and input errors, in input order."""
        ...


@runtime_checkable
class Located(Protocol):
    """What an engine may give besides: the runs of some shapes with their records' positions.

    The judge then replays one run per *history* (an engine's key for a run's records as the
    ledger sees them, but for run ids and locations) and gives every run of it that verdict,
    relocated, instead of replaying each run.
    """

    def located_runs(self, keys: set[ShapeKey]) -> Iterable[tuple[str, Hashable, list[int]]]:
        """(run id, history, position of each of its records) of the simple runs of shapes ``keys``."""
        ...

    def records_of(self, history: Any) -> Iterable[Item]:
        """The records of a history, the ``k``-th at line ``k`` (of any source): what the ledger judges."""
        ...

    def location(self, position: int) -> Location:
        """Where the record at ``position`` is."""
        ...


def judge_groups(
    grouped: Grouped,
    *,
    lifecycle: Lifecycle[Any],
    linger: int | None = None,
    mode: ValidationMode,
    strict: bool,
    check_fields: bool,
    every_verdict: bool,
    on_verdict: Callable[[Verdict], object] | None,
    on_error: Callable[[InputError], object] | None,
    on_replayed: Callable[[Verdict], object] | None = None,
    aliases: StatusAliases | None = None,
) -> Summary:
    """Judge an engine's groups; return the summary, passing verdicts as ``summarize_paths`` does.

    ``lifecycle`` is whose records the groups hold: its tables judge the shapes, its ledger the rest.
    ``linger`` is the python engine's, for an engine whose complex runs come each whole, in
    time order (``--sort-by``): each record is a slot, as in the python engine. None when the
    engine checked that no record comes past its run's window
    (:func:`~runfsm.validation.engines.lingering.within_linger`): every run is kept to the end.
    ``on_replayed`` receives every verdict of the runs the ledger replays (the complex runs and
    those of the shapes the judge cannot settle), reported or not.
    """
    summary = Summary(strict=strict)
    tables = tables_for(lifecycle)
    worth_reporting = summary.is_worth_reporting
    judged: dict[ShapeKey, Shape] = {}
    unsettled: set[ShapeKey] = set()
    listed: set[ShapeKey] = set()
    unsettled_runs = 0
    for run_mode, text, runs in grouped.shapes():
        key = (run_mode, text)
        shape = judge_shape(_mode(run_mode), bytearray(decode_shape(text)), tables)
        if shape is None or shape.notes:
            unsettled_runs += runs
            unsettled.add(key)  # the ledger replays these runs: a tracker, or notes with their locations
            continue
        judged[key] = shape
        if every_verdict or (strict and not shape.ended):
            listed.add(key)
        else:
            summary.add_tally({shape.tally: runs})
    if listed:
        for run_id, run_mode, text in grouped.runs_with(listed):
            verdict = shape_verdict(run_id, judged[run_mode, text], [], strict=strict)
            summary.add(verdict)
            if on_verdict is not None and (every_verdict or worth_reporting(verdict)):
                on_verdict(verdict)

    def counted(error: InputError) -> None:
        summary.add_error(error)
        if on_error is not None:
            on_error(error)

    if isinstance(grouped, Located) and unsettled_runs > REPLAYED_AT_MOST:
        # the runs of shapes the judge cannot settle, judged by the ledger once per history: the
        # verdict of a run with that history is the same but for its id and its records' locations
        templates: dict[Hashable, Verdict] = {}
        for run_id, history, positions in grouped.located_runs(unsettled):
            template = templates.get(history)
            if template is None:
                alone = Ledger(mode, strict, sys.maxsize, check_fields, aliases=aliases, lifecycle=lifecycle)
                (template,) = alone.consume(grouped.records_of(history))  # its only run: one verdict
                templates[history] = template
            verdict = _relocated(template, run_id, positions, grouped.location)
            if on_replayed is not None:
                on_replayed(verdict)
            summary.add(verdict)
            if on_verdict is not None and (every_verdict or worth_reporting(verdict)):
                on_verdict(verdict)
        unsettled = set()

    # linger=None: the complex runs come in input order, and the engine checked that no record
    # comes past its run's window, so the python engine lets no run go before its last record
    # either: keep every run to the end. Else each run comes whole and each record is a slot
    tally = not every_verdict and on_replayed is None
    window = sys.maxsize if linger is None else linger
    ledger = Ledger(mode, strict, window, check_fields, tally=tally, aliases=aliases, lifecycle=lifecycle)
    for verdict in ledger.consume(grouped.complex_items(unsettled), counted):
        if on_replayed is not None:
            on_replayed(verdict)
        summary.add(verdict)
        if on_verdict is not None and (every_verdict or worth_reporting(verdict)):
            on_verdict(verdict)
    summary.add_tally(ledger.tally or {})
    return summary


def in_run_order(items: Iterable[Item]) -> Iterator[Item]:
    """Items in input order as the python engine judges them with ``--sort-by``: each run's records together.

    Input errors come as they are met; then each run's records (runs in order of first
    appearance), ordered by their timestamps as :func:`~runfsm.validation.records.in_time_order` orders them.
    """
    groups: dict[str, list[Record]] = {}
    for item in items:
        if type(item) is Record:
            groups.setdefault(item.run_id, []).append(item)
        else:
            yield item
    for group in groups.values():
        yield from in_time_order(group)


def python_engine(paths: list[str], **options: Any) -> Summary:
    """The python engine's answer: what an engine gives when it cannot be sure to judge an input as it does."""
    from runfsm.validation import summarize_paths  # noqa: PLC0415

    return summarize_paths(paths, **options)


def _mode(text: str) -> Mode:
    return "stream" if text == "stream" else "poll"


def _relocated(template: Verdict, run_id: str, positions: list[int], location: Callable[[int], Location]) -> Verdict:
    """A template verdict (its ``k``-th record at line ``k``) for ``run_id``, its ``k``-th at ``positions[k - 1]``.

    Built field by field (``dataclasses.replace`` costs twice as much, and this runs once per run).
    """

    def at(where: Location | None) -> Location | None:
        return where if where is None or where.line is None else location(positions[where.line - 1])

    t = template
    offenses = tuple(dataclasses.replace(o, location=at(o.location)) for o in t.offenses) if t.offenses else ()
    warnings = tuple((i, at(where), m) for i, where, m in t.warnings) if t.warnings else ()
    notes = tuple((i, at(where), m) for i, where, m in t.notes) if t.notes else ()
    return Verdict(
        run_id=run_id,
        mode=t.mode,
        result=t.result,
        final=t.final,
        observations=t.observations,
        offenses=offenses,
        inferred=t.inferred,
        lenient=t.lenient,
        warnings=warnings,
        steps=t.steps,
        notes=notes,
        strict=t.strict,
    )


class HeldCallbacks:
    """The judge's callbacks, held in order until the engine is sure of its answer, or passed on at once.

    At most ``limit`` calls are held (:data:`HELD_AT_MOST`: memory must not grow with the failing runs): the next one
    asks ``settle`` whether the engine is sure now. If it is, what was held is passed on and the
    rest goes straight through; if not, :class:`Unsettled` is raised (the engine mends what it
    was unsure of, or does its work again, and judges anew). Without ``settle`` nothing is held.
    """

    def __init__(
        self,
        on_verdict: Callable[[Verdict], object] | None,
        on_error: Callable[[InputError], object] | None,
        *,
        settle: Callable[[], bool] | None = None,
        limit: int | None = None,
    ) -> None:
        self.on_verdict, self.on_error, self.settle = on_verdict, on_error, settle
        self.limit = HELD_AT_MOST if limit is None else limit
        self.calls: list[tuple[Callable[[Any], object], Any]] = []

    def verdict(self, verdict: Verdict) -> None:
        """The judge's ``on_verdict``."""
        if self.on_verdict is not None:
            self._call(self.on_verdict, verdict)

    def error(self, error: InputError) -> None:
        """The judge's ``on_error``."""
        if self.on_error is not None:
            self._call(self.on_error, error)

    def _call(self, callback: Callable[[Any], object], value: Any) -> None:
        if self.settle is not None and len(self.calls) >= self.limit:
            if not self.settle():
                raise Unsettled
            self.release()
        if self.settle is None:
            callback(value)
        else:
            self.calls.append((callback, value))

    def release(self) -> None:
        """Pass on what was held, in the order the judge gave it; from now on, pass each call on at once."""
        calls, self.calls, self.settle = self.calls, [], None
        for callback, value in calls:
            callback(value)


class Unsettled(Exception):
    """Raised by :class:`HeldCallbacks` when the engine, asked whether it is sure of its answer, is not."""
