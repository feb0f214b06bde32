"""What every log reader shares: the record types, the per-input state, the line reader and small parsers."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol
from zlib import crc32

from runfsm.exceptions import InputError, NotARunStatus, UnknownStatus
from runfsm.fields import NestedCheck
from runfsm.lifecycle import PerLifecycle
from runfsm.lifecycles import RUN_LIFECYCLE, preset_for_object
from runfsm.status import RunStatus
from runfsm.validation.summary import LineCounts
from runfsm.verdict import Location
from runfsm.vocabulary import LifecycleState, Trigger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from runfsm.lifecycle import Lifecycle

__all__ = [
    "BOM",
    "CALLS",
    "FAST_STATUS",
    "MAX_LINE_BYTES",
    "CompactRecord",
    "Item",
    "Lines",
    "ObservedMode",
    "Record",
    "ReadPosition",
    "Source",
    "as_record",
    "event_record",
    "fast_status",
    "json_parser",
    "object_error",
    "lone_cr",
    "loads_fallback",
    "owns",
    "read_lines",
    "short",
    "status_of",
    "timestamp_of",
    "too_long",
    "UniversalLines",
]

MAX_LINE_BYTES: Final = 16 * 1024 * 1024
"""Longest line read (16 MiB); longer lines are reported and skipped."""

BOM: Final = b"\xef\xbb\xbf"
"""The UTF-8 byte-order mark: dropped where it opens an input (and, in JSON Lines, any line)."""

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


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (JSON has no NaN or Infinity)")


MAX_FALLBACK_DEPTH: Final = 500
"""The deepest nesting the standard parser is given: how deep it can go depends on the caller's
stack and recursion limit (a ``--jobs`` worker's, a test runner's), so deeper text is refused
whoever reads it (the fast parser reads 1,024 levels by itself)."""


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads_fallback(data: bytes | str) -> Any:
    r"""Parse what the fast parser refused: valid JSON it does not support, or say what is wrong.

    orjson refuses some valid JSON (lone surrogate escapes such as ``"\ud800"``, nesting over
    1,024 levels); the standard parser reads those, up to :data:`MAX_FALLBACK_DEPTH` levels
    (the same answer in every process). A byte-order mark opening the text is dropped. Raises
    ``ValueError`` with a precise message: not UTF-8, not JSON (with the position),
    ``NaN``/``Infinity`` (not JSON), or nested too deeply.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"not UTF-8 text (byte {err.start + 1} of the line)") from None
    else:
        text = data
    text = text.removeprefix("\ufeff").rstrip("\r\n")
    too_deep = ValueError(
        f"nested too deeply: the JSON parsers here read at most 1,024 levels ({MAX_FALLBACK_DEPTH:,} for JSON the "
        "fast parser refuses, such as a lone surrogate escape)"
    )
    if text.count("[") + text.count("{") > MAX_FALLBACK_DEPTH and _depth(text) > MAX_FALLBACK_DEPTH:
        raise too_deep
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise too_deep from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{err.msg}: column {err.colno} (char {err.pos})") from None


_INT64_MIN: Final = -(2**63)
_UINT64_END: Final = 2**64


def rounded(value: object) -> bool:
    """True for a float orjson may have made of a JSON integer beyond 64 bits.

    orjson reads integers from ``-2**63`` to ``2**64 - 1`` exactly, and larger ones as floats
    (a changed value). A float outside that range may be one (or a number written as such a
    float: reading its line again with the standard parser then changes nothing).
    """
    return type(value) is float and not _INT64_MIN <= value < _UINT64_END


ExactSpec = tuple[tuple[str, str | None], ...]
"""Per state: ``(field, None)`` for a field whose value an invariant compares or quotes, ``(field, key)`` for
the nested key a :class:`~runfsm.fields.NestedCheck` reads."""


def exact_fields(lifecycle: Lifecycle[Any]) -> tuple[ExactSpec, ...]:
    """Per state ordinal: the values a field invariant of that state uses (see :data:`ExactSpec`).

    Those are the fields it subtracts (``FieldRule.window``), the must-be-null fields whose value
    a warning quotes, and the key a nested check compares and quotes. An integer orjson rounded
    (see :func:`rounded`) in one of them changes a verdict or a message; anywhere else it changes
    nothing. Derived from the lifecycle's rules; the python readers and the engines share it.
    """
    return _EXACT(lifecycle)


def _exact_specs(lifecycle: Lifecycle[Any]) -> tuple[ExactSpec, ...]:
    rules = {int(state): rule for state, rule in lifecycle.field_checks.rules.items()}
    specs: list[ExactSpec] = []
    for member in sorted(lifecycle.states, key=int):
        rule = rules.get(int(member))
        spec: list[tuple[str, str | None]] = []
        if rule is not None:
            if rule.window is not None:
                spec += [(rule.window[0], None), (rule.window[1], None)]
            # required_action's message quotes no value (see FieldRule.messages)
            spec += [(name, None) for name in rule.must_be_null if name != "required_action"]
            if isinstance(rule.extra, NestedCheck):
                spec.append((rule.extra.field, rule.extra.key))
        specs.append(tuple(spec))
    return tuple(specs)


_EXACT: Final[PerLifecycle[tuple[ExactSpec, ...]]] = PerLifecycle(_exact_specs)


def _holds_rounded(value: object) -> bool:
    """True if ``value`` is, or holds at any depth, a float orjson may have made of a big integer."""
    if type(value) is float:
        return rounded(value)
    if type(value) is dict:
        return any(_holds_rounded(v) for v in value.values())
    if type(value) is list:
        return any(_holds_rounded(v) for v in value)
    return False


def inexact(fields: Mapping[str, Any], spec: ExactSpec) -> bool:
    """True when a value ``spec`` names (see :func:`exact_fields`) may be an integer orjson rounded."""
    for name, key in spec:
        value = fields.get(name)
        if value is None or type(value) is int or type(value) is str:
            continue
        if key is None:
            if _holds_rounded(value):
                return True
        elif type(value) is dict and _holds_rounded(value.get(key)):
            return True
    return False


def loads_fields(data: bytes | str, status: LifecycleState, specs: Sequence[ExactSpec]) -> Any:
    """A record's fields as the python reader reads them: the fast parser's, exact where ``status``'s checks need it."""
    _name, loads = json_parser()
    obj = loads(data)
    spec = specs[int(status)]
    if spec and isinstance(obj, dict) and inexact(obj, spec):
        return loads_fallback(data)
    return obj


def needs_exact(items: Iterable[Item], specs: Sequence[ExactSpec]) -> bool:
    """True when a line's items may depend on an integer orjson rounded: read it again, exactly.

    That is an input error or a record of an unknown status (their messages quote a value), or
    a record whose fields hold a rounded value one of its status's invariants uses (see
    :func:`exact_fields`). Other values change no result.
    """
    for item in items:
        if type(item) is not Record:
            return True
        fields, status = item.fields, item.status
        if status is None and item.call is None:
            return True
        if fields is not None and status is not None:
            spec = specs[status]
            if spec and inexact(fields, spec):
                return True
    return False


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
_FAST: Final[PerLifecycle[dict[str, Any]]] = PerLifecycle(
    lambda lc: FAST_STATUS if lc is RUN_LIFECYCLE else {m.wire: m for m in lc.states if m.wire is not None}
)


def fast_status(lifecycle: Lifecycle[Any]) -> dict[str, Any]:
    """A lifecycle's wire values and their states, for the readers' fast paths."""
    return _FAST(lifecycle)


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
    """Seconds from a finite number or ISO 8601 text; raises ValueError naming ``what`` otherwise.

    An ISO 8601 date-time without a UTC offset is read as UTC (not local time), so that the
    order does not depend on the machine's time zone. ``nan`` and infinities are refused.
    """
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                pass
            else:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                seconds = moment.timestamp()
    if seconds is not None and math.isfinite(seconds):
        return seconds
    raise ValueError(f"{what} is {short(value)}: expected a finite number of seconds or an ISO 8601 date-time")


def short(value: object, limit: int = 80) -> str:
    """The ``repr`` of a value, cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ReadPosition:
    """The read position of the record just read: its slot in the whole input, the same everywhere.

    The inputs are read as one sequence of *slots*: each line is one slot, except a line that
    holds several records (a ``runs.list`` page, a compact run), which is one slot per record.
    :meth:`mark` is the slot of the record just yielded: the slots of the earlier inputs, plus
    those of the earlier lines of its input, plus its line, plus its index among its line's
    records. Every ``--jobs`` worker reads every line (and parses every line of several
    records), so every worker finds the same slot for the same record, and so do the other
    engines (:mod:`runfsm.validation.engines.lingering`): how long an ended run lingers
    (``linger``, see :class:`~runfsm.validation.ledger.Ledger`) is counted in slots.
    """

    __slots__ = ("base", "sub")

    def __init__(self) -> None:
        self.base = 0
        """Slots before line 1 of the current input, plus the extra slots of its lines read so far."""
        self.sub = 0
        """The index of the record just yielded among its line's records (0 for a line of one)."""

    def mark(self, line: int) -> int:
        """The slot of the record just yielded, at ``line`` of the current input."""
        return self.base + line + self.sub

    def several(self, records: Iterable[Item], keep: Callable[[Item], bool]) -> Iterator[Item]:
        """The items of one line of several records, those ``keep`` says, each yielded at its slot."""
        index = 0
        for item in records:
            if type(item) is Record:
                if keep(item):
                    self.sub = index
                    yield item
                index += 1
            elif keep(item):
                yield item
        self.sub = 0
        self.base += index - 1


class Source:
    """Per-input reading state: its name, the sort field, the partition, and where its lines went.

    Every line a reader reads ends in one bucket of :attr:`counts` (see
    :class:`~runfsm.validation.summary.LineCounts`). With a partition (``--jobs``), each worker
    counts a share: the lines of a record are counted by the worker that owns its run (the first
    record's run, for a line of several), the other lines by worker 0, the *reporter*, which also
    counts the lines read; the shares add up to the counts of a single reader.
    """

    __slots__ = ("compact", "counts", "fast", "lifecycle", "name", "partition", "position", "reporter", "sort_by")

    def __init__(
        self,
        name: str,
        sort_by: str | None,
        partition: tuple[int, int] | None = None,
        compact: bool = False,
        lifecycle: Lifecycle[Any] | None = None,
        *,
        position: ReadPosition | None = None,
    ) -> None:
        self.lifecycle: Lifecycle[Any] = lifecycle if lifecycle is not None else RUN_LIFECYCLE
        """Whose records the input holds (the Assistants run by default)."""
        self.fast = fast_status(self.lifecycle)
        self.name = name
        self.position = position
        """With ``--jobs``: how far the inputs were read (see :class:`ReadPosition`), else None."""
        self.sort_by = sort_by
        self.partition = partition
        self.compact = compact
        self.counts = LineCounts(name)
        self.reporter = partition is None or partition[0] == 0
        """True for the worker that reports errors belonging to no run and counts lines read."""

    def error(self, message: str, line: int | None) -> InputError:
        """The error to yield for an unusable line (or, with ``line=None``, the whole input)."""
        return InputError(message, source=self.name, line=line)

    def took(self, lines: int, run_id: str) -> None:
        """``lines`` lines made a record of run ``run_id`` (counted by the worker owning that run)."""
        if owns(run_id, self.partition):
            self.counts.in_records += lines

    def skip(self, lines: int) -> None:
        """``lines`` lines were skipped by a documented rule."""
        if self.reporter:
            self.counts.skipped += lines

    def failed(self, lines: int) -> None:
        """``lines`` lines were reported as an input error."""
        if self.reporter:
            self.counts.errors += lines

    def settle(self, items: Sequence[Item], lines: int) -> None:
        """Count the ``lines`` lines that gave ``items``: errors if any, else a record if any, else skipped."""
        if any(type(i) is InputError for i in items):
            self.failed(lines)
        elif items:
            first = items[0]
            self.took(lines, first[0] if type(first) is tuple else first.run_id)  # type: ignore[union-attr]
        else:
            self.skip(lines)

    def sort_key(self, obj: Mapping[str, Any], data: object, line: int) -> float | None:
        """The ``sort_by`` value of a JSON record (top level, then its ``data``); None when it has none.

        Raises ValueError for a value that is not a finite number or ISO 8601 text.
        """
        field = self.sort_by
        if field is None:
            return None
        if field in obj:
            return timestamp_of(obj[field], f"field {field!r}")
        if isinstance(data, dict) and field in data:
            return timestamp_of(data[field], f"field {field!r}")
        return None  # kept in its place among the run's records (see validate_paths)


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


def read_lines(stream: Lines, src: Source, limit: int, expected: str) -> Iterator[tuple[int, str] | InputError]:
    r"""Numbered lines decoded as UTF-8 (line end kept), with over-long and undecodable lines reported.

    A line ends at ``\n``, ``\r\n`` or a lone ``\r``; a byte-order mark opening the input is
    dropped. ``expected`` names what a line should be, for the error of a line that is not
    UTF-8 text. Reported lines are counted as errors here; the reader counts the others.
    """
    lines = UniversalLines(stream)
    readline = lines.readline
    counts = src.counts
    number = 0
    while True:
        chunk = readline(limit + 1)
        if not chunk:
            return
        number += 1
        counts.lines = number
        if len(chunk) > limit and not chunk.endswith((b"\n", b"\r")):
            error = too_long(lines, src, number, limit, len(chunk))
            src.failed(1)
            yield error
            continue
        try:
            text = chunk.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            src.failed(1)
            yield src.error(f"not UTF-8 text: expected {expected}", number)
            continue
        yield number, text


def too_long(stream: Lines, src: Source, line: int, limit: int, size: int) -> InputError:
    """Skip the rest of an over-long line; report it."""
    while True:
        rest = stream.readline(1 << 20)
        size += len(rest)
        if not rest or rest.endswith((b"\n", b"\r")):
            break
    return src.error(f"line is longer than {limit} bytes (at least {size}); skipped", line)


def lone_cr(chunk: bytes) -> bool:
    r"""True if a line read up to ``\n`` holds a carriage return that is not part of its final ``\r\n``."""
    cr = chunk.find(b"\r")
    return cr != -1 and (cr != len(chunk) - 2 or not chunk.endswith(b"\n"))


class UniversalLines:
    r"""``readline`` over a binary input where a line ends at ``\n``, ``\r\n`` or a lone ``\r``.

    As Python's universal newlines and the SSE specification have it. Reads through the
    input's own ``readline`` (so memory stays within one line); ``first`` is text already read.
    """

    __slots__ = ("_buffer", "_pos", "_readline")

    def __init__(self, stream: Lines, first: bytes = b"") -> None:
        self._readline = stream.readline
        self._buffer = first
        self._pos = 0

    def readline(self, size: int = -1, /) -> bytes:
        """The next line with its line end (at most ``size`` bytes when positive); ``b""`` at the end."""
        buffer, pos = self._buffer, self._pos
        if pos == len(buffer):
            buffer = self._readline(size)
            if b"\r" not in buffer:
                self._buffer, self._pos = b"", 0
                return buffer  # the common case: nothing kept back
            pos = 0
        while True:
            end = _line_end(buffer, pos)
            if end == -2:  # a final \r: a \n may follow it
                more = self._readline(1)
                buffer += more
                end = len(buffer) if more in (b"", b"\n") else len(buffer) - 1
            elif end == -1:  # no line end yet
                if 0 < size <= len(buffer) - pos:
                    end = pos + size
                else:
                    more = self._readline(size - (len(buffer) - pos) if size > 0 else -1)
                    if more:
                        buffer = buffer[pos:] + more
                        pos = 0
                        continue
                    end = len(buffer)
            end = min(end, pos + size) if size > 0 else end
            self._buffer, self._pos = buffer, end
            return buffer[pos:end]


def _line_end(buffer: bytes, pos: int) -> int:
    r"""Where the line starting at ``pos`` ends (after its line end); -1: no line end; -2: a final ``\r``."""
    cr = buffer.find(b"\r", pos)
    if cr == -1:
        lf = buffer.find(b"\n", pos)
        return -1 if lf == -1 else lf + 1
    lf = buffer.find(b"\n", pos, cr)
    if lf != -1:
        return lf + 1
    if cr + 1 == len(buffer):
        return -2
    return cr + 2 if buffer[cr + 1] == 0x0A else cr + 1


def owns(run_id: str, partition: tuple[int, int] | None) -> bool:
    """True if worker ``partition[0]`` of ``partition[1]`` handles this run (all runs without partition)."""
    if partition is None or partition[1] == 1:
        return True
    return crc32(run_id.encode("utf-8", "surrogatepass")) % partition[1] == partition[0]
