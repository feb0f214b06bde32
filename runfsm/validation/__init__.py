"""Validating observed run histories: one run, many interleaved runs, whole files.

:func:`validate` judges one run with a :class:`~runfsm.tracker.RunTracker` (the reference).
:func:`validate_many` and :func:`validate_paths` judge interleaved records grouped by run id and
yield a verdict per run; :func:`summarize_paths` judges files and returns the
:class:`~runfsm.validation.summary.Summary`, building verdicts only for the runs worth reporting. The bulk
functions run on a fast path, the :class:`~runfsm.validation.ledger.Ledger`, whose verdicts equal the
reference's (a tested property).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Final

from runfsm.exceptions import InputError, NotARunStatus
from runfsm.observation import check_not_one, history_list
from runfsm.validation.formats.base import ReadPosition
from runfsm.validation.ledger import DEFAULT_LINGER, Ledger, ValidationMode, reference_tracker
from runfsm.validation.records import (
    InputFormat,
    Item,
    Record,
    as_record,
    in_time_order,
    path_list,
    read_items,
    resolve_lifecycle,
)
from runfsm.validation.summary import LineCounts, Summary
from runfsm.verdict import Location, Verdict
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    import os
    from typing import Any

    from runfsm.lifecycle import Lifecycle
    from runfsm.status import StatusAliases
    from runfsm.tracker import Mode, RunTracker

__all__ = [
    "DEFAULT_LINGER",
    "LineCounts",
    "Summary",
    "ValidationMode",
    "check_options",
    "summarize_paths",
    "validate",
    "validate_many",
    "validate_paths",
]

_MODES: Final = ("auto", "stream", "poll")


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")


def _check_linger(linger: int) -> None:
    if not isinstance(linger, int) or isinstance(linger, bool) or linger < 0:
        raise ValueError(f"linger must be a non-negative int, got {linger!r}")


def check_options(*, mode: str, linger: int) -> None:
    """ValueError unless ``mode`` is auto, poll or stream and ``linger`` an int, 0 or more (all engines check)."""
    _check_mode(mode)
    _check_linger(linger)


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


def _feed(tracker: RunTracker[Any], item: object) -> bool:
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
    lifecycle: Lifecycle[Any] | str | None = None,
    aliases: StatusAliases | None = None,
) -> Verdict:
    """Judge one run's observed history.

    ``history`` holds, in order, what was observed: statuses in any spelling
    :func:`~runfsm.status.parse_status` accepts, run objects, stream events (dicts or openai
    objects), :class:`~runfsm.validation.records.Record` objects, and client calls (``Trigger.SUBMIT_TOOL_OUTPUTS``,
    ``Trigger.CANCEL`` or their strings ``"submit_tool_outputs"``, ``"cancel"``). Run-step and
    message events are skipped. ``mode="auto"`` chooses stream mode when the history contains a
    stream event, poll mode otherwise. ``strict`` makes an unrecorded client call a violation.
    ``locations`` (one per history item) locates offenses; Records carry their own.
    ``lifecycle`` is whose history it is: a :class:`~runfsm.lifecycle.Lifecycle` or a preset's
    key (``"response"``, ``"batch"``); the Assistants run by default.
    ``aliases`` (:func:`~runfsm.status.status_aliases`) reads misspelled statuses some clients
    wrote (``canceled``) as the status meant; without them such a status stays unknown.
    """
    _check_mode(mode)
    items = history_list(history)
    if locations is not None:
        check_not_one(locations, "locations")
    locs = list(locations) if locations is not None else None
    if locs is not None and len(locs) != len(items):
        raise ValueError(f"locations has {len(locs)} entries for a history of {len(items)}")
    chosen: Mode = mode if mode != "auto" else "stream" if any(_is_stream_item(i) for i in items) else "poll"
    if run_id is None:
        run_id = next((i.run_id for i in items if isinstance(i, Record)), None)
    tracker = reference_tracker(run_id, chosen, aliases, lifecycle=resolve_lifecycle(lifecycle))
    kept: list[Location | None] = []
    for position, item in enumerate(items):
        if _feed(tracker, item):
            if locs is not None:
                kept.append(locs[position])
            else:
                kept.append(item.location if isinstance(item, Record) else None)
    return Verdict.from_tracker(tracker, locations=kept, strict=strict)


def validate_many(
    records: Iterable[Record],
    *,
    mode: ValidationMode = "auto",
    strict: bool = False,
    linger: int = DEFAULT_LINGER,
    check_fields: bool = True,
    lifecycle: Lifecycle[Any] | str | None = None,
    aliases: StatusAliases | None = None,
) -> Iterator[Verdict]:
    """Judge interleaved records, grouped by run id; yield one verdict per run.

    Order within a run is the order of ``records``. Verdicts come as runs end (a little later:
    an ended run waits ``linger`` records for late records, see :mod:`runfsm.validation.ledger`),
    then those of runs still open at the end of the input (unfinished). ``mode="auto"``
    decides per run: stream mode when its first status record is a stream event, poll mode
    otherwise. ``check_fields=False`` skips the field-invariant warnings. ``lifecycle``: whose
    records (a Lifecycle or a preset's key; the Assistants run by default). Lazy and pure: it
    reads nothing but ``records``.
    """
    check_not_one(records, "records")
    _check_mode(mode)
    _check_linger(linger)
    ledger = Ledger(mode, strict, linger, check_fields, aliases=aliases, lifecycle=resolve_lifecycle(lifecycle))
    return ledger.consume(records)


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
        yield from in_time_order(group)


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
    lifecycle: Lifecycle[Any] | str | None = None,
    on_counts: Callable[[LineCounts], object] | None = None,
    aliases: StatusAliases | None = None,
) -> Iterator[Verdict]:
    """Read the files (``"-"`` is standard input) as one stream of records and judge every run.

    Runs are joined by id across files (a create stream in one file, the submit stream in
    another). Each unusable line becomes an :class:`InputError` passed to ``on_error``, and
    processing continues; without ``on_error`` the first one is raised. With ``sort_by``,
    each run's records are ordered by that field (finite numbers, or ISO 8601 text read as UTC
    when it has no offset) before judging; this holds the whole input in memory. A record
    without the field (a client call, say) keeps its place: it stays right after the record
    that preceded it in the input (records before any timestamped one stay first). ``on_record``
    is called once per record read (for progress display). ``partition=(k, n)`` judges only
    the runs worker ``k`` of ``n`` owns (:func:`~runfsm.validation.records.owns`): n processes,
    one partition each, judge every run once, and exactly as one process does.
    ``linger`` is how many slots of input an ended run waits for late records: lines of all the
    inputs, counting a line of several records (a ``runs.list`` page) once per record; with
    ``sort_by``, records of the run in time order (see :data:`DEFAULT_LINGER`).
    ``on_counts`` receives each input's :class:`~runfsm.validation.summary.LineCounts` once it is
    read: where every line went (in a record, skipped by a documented rule, or an input error).
    ``lifecycle``: whose records the files hold: a Lifecycle, a preset's key, or ``"auto"``
    (:func:`~runfsm.validation.records.detect_lifecycle`, the run when nothing says); the
    Assistants run by default.
    """
    _check_mode(mode)
    _check_linger(linger)
    paths = path_list(paths)
    lc = resolve_lifecycle(lifecycle, paths)
    position = ReadPosition() if sort_by is None else None  # sorted: each record is a slot
    items = read_items(
        paths,
        input_format=input_format,
        sort_by=sort_by,
        partition=partition,
        on_counts=on_counts,
        lifecycle=lc,
        position=position,
    )
    validator = Ledger(mode, strict, linger, check_fields, aliases=aliases, lifecycle=lc, position=position)
    if sort_by is None:
        return validator.consume(items, on_error, on_record)
    return validator.consume(_sorted_by_run(items, on_error, on_record))


def summarize_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    mode: ValidationMode = "auto",
    strict: bool = False,
    sort_by: str | None = None,
    on_error: Callable[[InputError], object] | None = None,
    on_verdict: Callable[[Verdict], object] | None = None,
    every_verdict: bool = False,
    input_format: InputFormat = "auto",
    linger: int = DEFAULT_LINGER,
    check_fields: bool = True,
    on_record: Callable[[], object] | None = None,
    partition: tuple[int, int] | None = None,
    lifecycle: Lifecycle[Any] | str | None = None,
    aliases: StatusAliases | None = None,
) -> Summary:
    """Judge every run of the files like :func:`validate_paths`, and return the :class:`Summary`.

    ``on_verdict`` receives the verdicts worth reporting, as runs are let go of: failing runs
    (see :meth:`Summary.is_failure`), runs with an offense (an unrecorded call is a warning
    unless ``strict``) and runs with field warnings. The other runs (legal, or unfinished
    when not ``strict``, with nothing to say) are only counted: no verdict is built for them,
    which is most of the work on a large log. ``every_verdict=True`` passes every verdict
    instead (as :func:`validate_paths` yields them). Input errors are counted in the summary,
    then passed to ``on_error`` if given (never raised), and the lines of each input are
    counted in :attr:`Summary.sources`. The other options are :func:`validate_paths`'s.

    >>> from runfsm.commands.validate import sample_paths
    >>> reported = []
    >>> summary = summarize_paths(sample_paths(), on_verdict=reported.append, on_error=lambda e: None)
    >>> summary.runs == summary.legal + summary.illegal + summary.unknown_status + summary.joined + summary.unfinished
    True
    >>> all(summary.is_worth_reporting(v) for v in reported), len(reported) < summary.runs
    (True, True)
    >>> all(c.lines == c.in_records + c.skipped + c.errors for c in summary.sources)
    True
    """
    _check_mode(mode)
    _check_linger(linger)
    summary = Summary(strict=strict)

    def counted(error: InputError) -> None:
        summary.add_error(error)
        if on_error is not None:
            on_error(error)

    paths = path_list(paths)
    lc = resolve_lifecycle(lifecycle, paths)
    # how long ended runs linger is counted in slots of the whole input, the same in every
    # worker; sorted, each run's records come together, and each record is a slot
    position = ReadPosition() if sort_by is None else None
    items = read_items(
        paths,
        input_format=input_format,
        sort_by=sort_by,
        partition=partition,
        on_counts=summary.add_source,
        lifecycle=lc,
        position=position,
    )
    ledger = Ledger(
        mode, strict, linger, check_fields, tally=not every_verdict, aliases=aliases, lifecycle=lc, position=position
    )
    if sort_by is None:
        verdicts = ledger.consume(items, counted, on_record)
    else:
        verdicts = ledger.consume(_sorted_by_run(items, counted, on_record))
    add, worth_reporting = summary.add, summary.is_worth_reporting
    for verdict in verdicts:
        add(verdict)
        if on_verdict is not None and (every_verdict or worth_reporting(verdict)):
            on_verdict(verdict)
    summary.add_tally(ledger.tally or {})
    return summary
