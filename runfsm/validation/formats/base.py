"""What every log reader shares: the record types, the per-input state, the line reader and small parsers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol
from zlib import crc32

from runfsm.exceptions import InputError, NotARunStatus, UnknownStatus
from runfsm.lifecycles import RUN_LIFECYCLE, preset_for_object
from runfsm.status import RunStatus
from runfsm.verdict import Location
from runfsm.vocabulary import LifecycleState, Trigger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from runfsm.lifecycle import Lifecycle

__all__ = [
    "CALLS",
    "FAST_STATUS",
    "MAX_ERRORS_PER_SOURCE",
    "MAX_LINE_BYTES",
    "CompactRecord",
    "GiveUp",
    "Item",
    "Lines",
    "ObservedMode",
    "Record",
    "Source",
    "as_record",
    "event_record",
    "fast_status",
    "json_parser",
    "object_error",
    "owns",
    "read_lines",
    "short",
    "status_of",
    "timestamp_of",
    "too_long",
]

MAX_LINE_BYTES: Final = 16 * 1024 * 1024
"""Longest line read (16 MiB); longer lines are reported and skipped."""

MAX_ERRORS_PER_SOURCE: Final = 100

ObservedMode = Literal["stream", "poll"]

CompactRecord = tuple[str, LifecycleState | Trigger, dict[str, Any] | None, int, str]
"""A plain run object as ``(run_id, status, run object, line, source)``, or a client call as
``(run_id, call, None, line, source)``: see :func:`~runfsm.validation.records.read_items`."""


def json_parser() -> tuple[str, Callable[[bytes | str], Any]]:
    """The JSON parser the readers use: ``("orjson", orjson.loads)`` if installed, else the stdlib's."""
    try:
        import orjson  # noqa: PLC0415  (optional: the `cli` extra)
    except ImportError:  # pragma: no cover - orjson is in the dev install
        import json  # noqa: PLC0415

        return "json", json.loads
    return "orjson", orjson.loads


class Record:
    """One observation of one run, located in its input.

    Either a status observation (``status`` set, or ``None`` with ``raw`` holding an unknown
    status) or a client call (``call`` set). ``raw`` is what a :class:`~runfsm.tracker.RunTracker`
    is fed: the run object or stream event as parsed, or the status as written.
    """

    __slots__ = ("call", "fields", "line", "mode", "raw", "run_id", "source", "status", "timestamp")

    def __init__(
        self,
        run_id: str,
        status: LifecycleState | None,
        raw: object,
        *,
        source: str = "<input>",
        line: int | None = None,
        mode: ObservedMode | None = "poll",
        fields: Mapping[str, Any] | None = None,
        call: Trigger | None = None,
        timestamp: float | None = None,
    ) -> None:
        self.run_id = run_id
        self.status = status
        """The parsed status; ``None`` for client calls and unknown statuses."""
        self.raw = raw
        self.source = source
        self.line = line
        self.mode: ObservedMode | None = mode
        """What the format implies: ``"stream"`` for stream events, ``"poll"`` otherwise, ``None`` for calls."""
        self.fields = fields
        """The run object, for the field-invariant checks (``None`` for compact forms)."""
        self.call = call
        self.timestamp = timestamp
        """The ``--sort-by`` field (or the CSV ``timestamp`` column) as seconds, when known."""

    @property
    def location(self) -> Location:
        """Where the record came from."""
        return Location(self.source, self.line)

    @property
    def is_call(self) -> bool:
        """True for a client-call record."""
        return self.call is not None

    def __repr__(self) -> str:
        what = self.call.value if self.call is not None else (self.status.label if self.status else repr(self.raw))
        return f"<Record {self.run_id} {what} at {self.location}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking value type: equality only


Item = Record | InputError | CompactRecord
"""What the readers yield."""


def as_record(item: CompactRecord) -> Record:
    """The :class:`Record` a compact record stands for."""
    run_id, what, obj, line, source = item
    if isinstance(what, Trigger):
        return Record(run_id, None, what.value, source=source, line=line, mode=None, call=what)
    return Record(run_id, what, obj, source=source, line=line, fields=obj)


# ----------------------------------------------------------------------------- small parsers

CALLS: Final[dict[str, Trigger]] = {t.value: t for t in Trigger if t.is_client_call}
FAST_STATUS: Final[dict[str, RunStatus]] = {m.wire: m for m in RunStatus if m.wire is not None}
"""The run's wire values (the common case of the readers' fast paths)."""
_FAST: dict[int, dict[str, Any]] = {id(RUN_LIFECYCLE): FAST_STATUS}


def fast_status(lifecycle: Lifecycle[Any]) -> dict[str, Any]:
    """A lifecycle's wire values and their states, for the readers' fast paths."""
    found = _FAST.get(id(lifecycle))
    if found is None:
        found = _FAST[id(lifecycle)] = {m.wire: m for m in lifecycle.states if m.wire is not None}
    return found


def status_of(value: object, lifecycle: Lifecycle[Any] | None = None) -> Any:
    """The status (of the run lifecycle unless told), or None when unknown. Raises NotARunStatus for other events."""
    lc = lifecycle if lifecycle is not None else RUN_LIFECYCLE
    if isinstance(value, str):
        fast = fast_status(lc).get(value)
        if fast is not None:
            return fast
    try:
        return lc.parse(value)
    except UnknownStatus:
        return None


def object_error(kind: object, lifecycle: Lifecycle[Any]) -> str:
    """The message for an object of another type than the lifecycle's, naming the preset that reads it."""
    message = f"'object' is {short(kind)}: expected {lifecycle.object_type!r}"
    other = preset_for_object(kind) if isinstance(kind, str) else None
    if other is not None and other is not lifecycle:
        message += f" (a {other.title.lower()}: validate it with --lifecycle {other.key})"
    return message


def timestamp_of(value: object, what: str) -> float:
    """Seconds from a number or ISO 8601 text; raises ValueError naming ``what`` otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(value.strip()).timestamp()
        except ValueError:
            pass
    raise ValueError(f"{what} is {value!r}: expected a number of seconds or an ISO 8601 date-time")


def short(value: object, limit: int = 80) -> str:
    """The ``repr`` of a value, cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class GiveUp(Exception):
    """Too many unusable lines in one input: stop reading it."""


class Source:
    """Per-input reading state: its name, the sort field, the partition, and an error budget."""

    __slots__ = ("compact", "errors", "fast", "lifecycle", "name", "partition", "sort_by")

    def __init__(
        self,
        name: str,
        sort_by: str | None,
        partition: tuple[int, int] | None = None,
        compact: bool = False,
        lifecycle: Lifecycle[Any] | None = None,
    ) -> None:
        self.lifecycle: Lifecycle[Any] = lifecycle if lifecycle is not None else RUN_LIFECYCLE
        """Whose records the input holds (the Assistants run by default)."""
        self.fast = fast_status(self.lifecycle)
        self.name = name
        self.sort_by = sort_by
        self.partition = partition
        self.compact = compact
        self.errors = 0

    def error(self, message: str, line: int | None) -> InputError:
        """The error to yield for one unusable line; raises ``GiveUp`` once the budget is spent."""
        self.errors += 1
        if self.errors > MAX_ERRORS_PER_SOURCE:
            raise GiveUp
        return InputError(message, source=self.name, line=line)

    def sort_key(self, obj: Mapping[str, Any], data: object, line: int) -> float | None:
        """The ``sort_by`` value of a JSON record (top level, then its ``data``); raises ValueError."""
        field = self.sort_by
        if field is None:
            return None
        if field in obj:
            return timestamp_of(obj[field], f"field {field!r}")
        if isinstance(data, dict) and field in data:
            return timestamp_of(data[field], f"field {field!r}")
        raise ValueError(f"--sort-by {field}: the record has no {field!r} field")


# ----------------------------------------------------------------------------- lines and events


def event_record(
    obj: dict[str, Any], src: Source, line: int, *, name_key: str = "event", data_key: str = "data"
) -> Record | InputError | None:
    """The record of one stream event (or webhook payload); ``None`` for events not about a status.

    ``{"event": name, "data": {...}}`` as SSE logs write them; ``name_key="type"`` reads the
    Responses stream's ``{"type": name, "response": {...}}`` (``data_key="response"``) and
    webhook payloads ``{"type": name, "data": {"id": ...}}`` (polls, not streams: thin, no fields).
    """
    lc = src.lifecycle
    event = obj[name_key]
    data = obj.get(data_key)
    if not isinstance(event, str):
        return src.error(f"{name_key!r} is {short(event)}: expected a stream event name", line)
    webhook = obj.get("object") == "event"
    status: Any
    try:
        if event in lc.parser.snapshot_events and isinstance(data, dict) and isinstance(data.get("status"), str):
            status = status_of(data["status"], lc)
        else:
            status = status_of(event, lc)
    except NotARunStatus:
        return None  # run steps, messages, output deltas, error, done: not about the status
    payload_key = lc.parser.payload_key
    if data_key == "data" and payload_key is not None and isinstance(data, dict) and payload_key in data:
        data = data[payload_key]  # an SSE log of the Responses stream: the event's object is inside
    noun = (lc.object_type or "object").rsplit(".", 1)[-1]  # run, response, batch
    if not isinstance(data, dict):
        return src.error(f"event {event!r}: {data_key!r} is {short(data)}: expected the {noun} object", line)
    run_id = data.get("id")
    if not isinstance(run_id, str) or not run_id:
        return src.error(f"event {event!r}: the {noun} object in {data_key!r} has no string 'id' (the {noun} id)", line)
    try:
        stamp = src.sort_key(obj, data, line)
    except ValueError as err:
        return src.error(str(err), line)
    mode: ObservedMode = "poll" if webhook else "stream"
    fields = None if webhook else data
    return Record(run_id, status, obj, source=src.name, line=line, mode=mode, fields=fields, timestamp=stamp)


class Lines(Protocol):
    """What the readers need of an input: ``readline`` with a size limit."""

    def readline(self, size: int = -1, /) -> bytes:
        """One line of at most ``size`` bytes, with its newline; ``b""`` at the end."""
        ...


def read_lines(
    stream: Lines, src: Source, limit: int, expected: str, *, bom: bool = False
) -> Iterator[tuple[int, str] | InputError]:
    """Numbered lines decoded as UTF-8 (newline kept), with over-long and undecodable lines reported.

    ``expected`` names what a line should be, for the error of a line that is not UTF-8 text;
    with ``bom``, a byte-order mark opening the first line is dropped.
    """
    readline = stream.readline
    number = 0
    while True:
        chunk = readline(limit + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            yield too_long(stream, src, number, limit, len(chunk))
            continue
        try:
            text = chunk.decode("utf-8-sig" if bom and number == 1 else "utf-8")
        except UnicodeDecodeError:
            yield src.error(f"not UTF-8 text: expected {expected}", number)
            continue
        yield number, text


def too_long(stream: Lines, src: Source, line: int, limit: int, size: int) -> InputError:
    """Skip the rest of an over-long line; report it."""
    while True:
        rest = stream.readline(1 << 20)
        size += len(rest)
        if not rest or rest.endswith(b"\n"):
            break
    return src.error(f"line is longer than {limit} bytes (at least {size}); skipped", line)


def owns(run_id: str, partition: tuple[int, int] | None) -> bool:
    """True if worker ``partition[0]`` of ``partition[1]`` handles this run (all runs without partition)."""
    if partition is None or partition[1] == 1:
        return True
    return crc32(run_id.encode("utf-8", "surrogatepass")) % partition[1] == partition[0]
