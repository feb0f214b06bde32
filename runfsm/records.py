"""Observed run records: one type, and a reader per log format with auto-detection.

Formats (detected from the first non-blank line of each input)
--------------------------------------------------------------
``jsonl``
    JSON Lines. Each line is one of:

    - a run object as ``runs.retrieve`` returns it: ``{"object": "thread.run", "id": ..., "status": ...}``
      (poll mode); a ``runs.list`` page ``{"object": "list", "data": [run, ...]}`` gives one record per run;
    - a recorded stream event ``{"event": "thread.run.in_progress", "data": {run object}}`` (stream mode;
      run-step, message, thread, ``error`` and ``done`` events are skipped);
    - a compact run: a JSON array of statuses ``["queued", "in_progress", "completed"]`` (the run id is
      ``FILE:LINE``) or ``{"run_id": "run_1", "statuses": [...]}`` (poll mode);
    - a client call: ``{"run_id": "run_1", "call": "submit_tool_outputs"}`` or ``"cancel"``.
``sse``
    Raw server-sent events as captured from the wire: ``event:`` / ``data:`` lines, a blank line
    between events (stream mode). Non-run events are skipped as above.
``csv``
    A header naming at least ``run_id`` and ``status`` (any order; ``timestamp`` and other columns
    allowed), then one row per observation (poll mode).

Statuses may be wire strings, member names, the eleven ordinals or stream event names. Inside a
compact list or a CSV ``status`` cell, ``"submit_tool_outputs"`` and ``"cancel"`` record client calls.

Readers never raise on bad input: they yield an :class:`~runfsm.exceptions.InputError` naming the
source, the line and what was expected, and go on with the next line.
"""

from __future__ import annotations

import csv
import itertools
import os
import sys
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, Final, Literal, Protocol, cast
from zlib import crc32

from runfsm.exceptions import InputError, NotARunStatus, UnknownStatus
from runfsm.lifecycle import Trigger
from runfsm.status import RunStatus, parse_status
from runfsm.verdict import Location

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

__all__ = [
    "FORMATS",
    "MAX_LINE_BYTES",
    "InputFormat",
    "Record",
    "detect_format",
    "CompactRecord",
    "as_record",
    "json_parser",
    "owns",
    "read_items",
    "read_paths",
    "read_records",
]

InputFormat = Literal["auto", "jsonl", "sse", "csv"]
FORMATS: Final[tuple[str, ...]] = ("auto", "jsonl", "sse", "csv")

MAX_LINE_BYTES: Final = 16 * 1024 * 1024
"""Longest line read (16 MiB); longer lines are reported and skipped."""

_MAX_ERRORS_PER_SOURCE: Final = 100
_STDIN_NAME: Final = "<stdin>"

ObservedMode = Literal["stream", "poll"]

CompactRecord = tuple[str, RunStatus, dict[str, Any], int, str]
"""A plain run object as ``(run_id, status, run object, line, source)``: see :func:`read_items`."""


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
        status: RunStatus | None,
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
        what = self.call.value if self.call is not None else (self.status.name if self.status else repr(self.raw))
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
    run_id, status, obj, line, source = item
    return Record(run_id, status, obj, source=source, line=line, fields=obj)


# ----------------------------------------------------------------------------- small parsers

_CALLS: Final[dict[str, Trigger]] = {t.value: t for t in Trigger if t.is_client_call}
_FAST_STATUS: Final[dict[str, RunStatus]] = {m.wire: m for m in RunStatus if m.wire is not None}
_EXPECTED_LINE = (
    "expected a run object ({'object': 'thread.run', 'id': ..., 'status': ...}), a stream event "
    "({'event': ..., 'data': {...}}), a compact run ([statuses] or {'run_id': ..., 'statuses': [...]}) "
    "or a client call ({'run_id': ..., 'call': 'submit_tool_outputs' | 'cancel'})"
)


def _status_of(value: object) -> RunStatus | None:
    """The status, or None when unknown. Raises NotARunStatus for step/message events."""
    if isinstance(value, str):
        fast = _FAST_STATUS.get(value)
        if fast is not None:
            return fast
    try:
        return parse_status(value)
    except UnknownStatus:
        return None


def _timestamp(value: object, what: str) -> float:
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


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _GiveUp(Exception):
    """Too many unusable lines in one input: stop reading it."""


class _Source:
    """Per-input reading state: its name, the sort field, the partition, and an error budget."""

    __slots__ = ("compact", "errors", "name", "partition", "sort_by")

    def __init__(
        self, name: str, sort_by: str | None, partition: tuple[int, int] | None = None, compact: bool = False
    ) -> None:
        self.name = name
        self.sort_by = sort_by
        self.partition = partition
        self.compact = compact
        self.errors = 0

    def error(self, message: str, line: int | None) -> InputError:
        """The error to yield for one unusable line; raises ``_GiveUp`` once the budget is spent."""
        self.errors += 1
        if self.errors > _MAX_ERRORS_PER_SOURCE:
            raise _GiveUp
        return InputError(message, source=self.name, line=line)

    def sort_key(self, obj: Mapping[str, Any], data: object, line: int) -> float | None:
        """The ``sort_by`` value of a JSON record (top level, then its ``data``); raises ValueError."""
        field = self.sort_by
        if field is None:
            return None
        if field in obj:
            return _timestamp(obj[field], f"field {field!r}")
        if isinstance(data, dict) and field in data:
            return _timestamp(data[field], f"field {field!r}")
        raise ValueError(f"--sort-by {field}: the record has no {field!r} field")


# ----------------------------------------------------------------------------- JSON Lines


def _compact(
    items: object, run_id: str, src: _Source, line: int, timestamp: float | None
) -> Iterator[Record | InputError]:
    if not isinstance(items, list):
        yield src.error(f"'statuses' must be a list of statuses, got {_short(items)}", line)
        return
    for position, item in enumerate(items, 1):
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            yield src.error(
                f"entry {position} of the statuses is {_short(item)}: expected a status string or ordinal "
                "(0-10), or a client call ('submit_tool_outputs', 'cancel')",
                line,
            )
            continue
        if isinstance(item, str) and item in _CALLS:
            yield Record(run_id, None, item, source=src.name, line=line, mode=None, call=_CALLS[item])
            continue
        try:
            status = _status_of(item)
        except NotARunStatus as err:
            yield src.error(f"entry {position} of the statuses: {err}", line)
            continue
        yield Record(run_id, status, item, source=src.name, line=line, timestamp=timestamp)


def _event_record(obj: dict[str, Any], src: _Source, line: int) -> Record | InputError | None:
    event = obj["event"]
    data = obj.get("data")
    if not isinstance(event, str):
        return src.error(f"'event' is {_short(event)}: expected a stream event name such as 'thread.run.queued'", line)
    try:
        status = _status_of(event)
    except NotARunStatus:
        return None  # run steps, messages, thread, error, done: not about the run's status
    if not isinstance(data, dict):
        return src.error(f"event {event!r}: 'data' is {_short(data)}: expected the run object", line)
    run_id = data.get("id")
    if not isinstance(run_id, str) or not run_id:
        return src.error(f"event {event!r}: the run object in 'data' has no string 'id' (the run id)", line)
    try:
        stamp = src.sort_key(obj, data, line)
    except ValueError as err:
        return src.error(str(err), line)
    return Record(run_id, status, obj, source=src.name, line=line, mode="stream", fields=data, timestamp=stamp)


def _json_records(obj: object, src: _Source, line: int) -> Iterator[Record | InputError]:
    """Records from one parsed JSON line that is not a plain run object (the fast path handles those)."""
    if isinstance(obj, list):
        yield from _compact(obj, f"{src.name}:{line}", src, line, None)
        return
    if not isinstance(obj, dict):
        yield src.error(f"got {_short(obj)}; {_EXPECTED_LINE}", line)
        return
    if "event" in obj:
        rec = _event_record(obj, src, line)
        if rec is not None:
            yield rec
        return
    kind = obj.get("object")
    if kind == "list" and isinstance(obj.get("data"), list):
        for item in obj["data"]:
            yield from _run_object(item, src, line)
        return
    if kind is not None and kind != "thread.run":
        if isinstance(kind, str) and kind.startswith(("thread.run.step", "thread.message", "thread")):
            return  # other objects of the Assistants API: not about a run's status
        yield src.error(f"'object' is {_short(kind)}: expected 'thread.run'", line)
        return
    if "status" in obj or kind == "thread.run":
        yield from _run_object(obj, src, line)
        return
    if "run_id" in obj:
        run_id = obj["run_id"]
        if not isinstance(run_id, str) or not run_id:
            yield src.error(f"'run_id' is {_short(run_id)}: expected a non-empty string", line)
            return
        try:
            stamp = src.sort_key(obj, None, line)
        except ValueError as err:
            yield src.error(str(err), line)
            return
        if "statuses" in obj:
            yield from _compact(obj["statuses"], run_id, src, line, stamp)
            return
        if "call" in obj:
            call = obj["call"]
            if not isinstance(call, str) or call not in _CALLS:
                yield src.error(f"'call' is {_short(call)}: expected 'submit_tool_outputs' or 'cancel'", line)
                return
            yield Record(run_id, None, call, source=src.name, line=line, mode=None, call=_CALLS[call], timestamp=stamp)
            return
        yield src.error("a record with 'run_id' needs 'statuses' (a list) or 'call'", line)
        return
    yield src.error(_EXPECTED_LINE, line)


def _run_object(obj: object, src: _Source, line: int) -> Iterator[Record | InputError]:
    if not isinstance(obj, dict):
        yield src.error(f"a runs.list page entry is {_short(obj)}: expected a run object", line)
        return
    run_id = obj.get("id")
    if not isinstance(run_id, str) or not run_id:
        what = "has no 'id'" if run_id is None else f"has 'id' {_short(run_id)}"
        yield src.error(f"run object {what}: expected the run id as a non-empty string", line)
        return
    if "status" not in obj:
        yield src.error(f"run {run_id} has no 'status' field", line)
        return
    raw = obj["status"]
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        yield src.error(f"run {run_id}: 'status' is {_short(raw)}: expected a status string", line)
        return
    try:
        status = _status_of(raw)
        stamp = src.sort_key(obj, None, line)
    except (NotARunStatus, ValueError) as err:
        yield src.error(f"run {run_id}: {err}", line)
        return
    yield Record(run_id, status, obj, source=src.name, line=line, fields=obj, timestamp=stamp)


def _read_lines(stream: _Lines, src: _Source, limit: int) -> Iterator[tuple[int, bytes] | InputError]:
    """Numbered lines, with over-long lines reported (and skipped to their end)."""
    readline = stream.readline
    number = 0
    while True:
        chunk = readline(limit + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            yield _too_long(stream, src, number, limit, len(chunk))
            continue
        yield number, chunk


def _read_jsonl(stream: _Lines, src: _Source, limit: int) -> Iterator[Item]:
    _name, loads = json_parser()
    name = src.name
    fast = _FAST_STATUS
    plain = src.sort_by is None  # no sort field to read: a run object can take the fast path
    readline = stream.readline
    size = limit + 1
    line = 0
    part, parts = src.partition or (0, 1)
    partition = src.partition
    shared = parts > 1  # other workers read this input too
    compact = src.compact
    while True:
        chunk = readline(size)
        if not chunk:
            return
        line += 1
        if len(chunk) == size and not chunk.endswith(b"\n"):
            error = _too_long(stream, src, line, limit, len(chunk))
            if part == 0:
                yield error
            continue
        owner = not shared
        if shared and chunk.startswith(_ID_PREFIX):
            # a run object whose id comes first (as the API writes them): other workers' runs stay unparsed
            end = chunk.find(b'"', 7)
            if end > 7:
                run_key = chunk[7:end]
                if b"\\" not in run_key:
                    if crc32(run_key) % parts != part:
                        continue
                    owner = True
        try:
            obj = loads(chunk)
        except ValueError as err:
            if not chunk.strip() or not (owner or part == 0):
                continue
            if not chunk.endswith(b"\n"):
                yield src.error(f"truncated last line (no newline at the end, and not complete JSON: {err})", line)
            else:
                yield src.error(f"malformed JSON ({err}); {_EXPECTED_LINE}", line)
            continue
        # the fast path: a run object with a wire status and a string id
        if plain and type(obj) is dict:
            text = obj.get("status")
            run_id = obj.get("id")
            if type(text) is str and type(run_id) is str and run_id:
                status = fast.get(text)
                if status is not None and obj.get("object", "thread.run") == "thread.run":
                    if owner or owns(run_id, partition):
                        if compact:
                            yield (run_id, status, obj, line, name)
                        else:
                            yield Record(run_id, status, obj, source=name, line=line, fields=obj)
                    continue
        if owner:
            yield from _json_records(obj, src, line)
            continue
        for item in _json_records(obj, src, line):
            if type(item) is Record:
                if owns(item.run_id, partition):
                    yield item
            elif part == 0:
                yield item


_ID_PREFIX: Final = b'{"id":"'


def owns(run_id: str, partition: tuple[int, int] | None) -> bool:
    """True if worker ``partition[0]`` of ``partition[1]`` handles this run (all runs without partition)."""
    if partition is None or partition[1] == 1:
        return True
    return crc32(run_id.encode("utf-8", "surrogatepass")) % partition[1] == partition[0]


def _too_long(stream: _Lines, src: _Source, line: int, limit: int, size: int) -> InputError:
    """Skip the rest of an over-long line; report it."""
    while True:
        rest = stream.readline(1 << 20)
        size += len(rest)
        if not rest or rest.endswith(b"\n"):
            break
    return src.error(f"line is longer than {limit} bytes (at least {size}); skipped", line)


# ----------------------------------------------------------------------------- SSE


def _read_sse(stream: _Lines, src: _Source, limit: int) -> Iterator[Item]:
    _name, loads = json_parser()
    event: str | None = None
    data: list[str] = []
    start: int | None = None

    def dispatch(line: int) -> Iterator[Record | InputError]:
        if event is None:
            yield src.error("an SSE event without an 'event:' line: expected 'event: thread.run.<status>'", line)
            return
        text = "\n".join(data)
        if event == "done" or text == "[DONE]":
            return
        try:
            payload = loads(text)
        except ValueError as err:
            try:
                _status_of(event)
            except NotARunStatus:
                return  # a non-run event whose payload we do not need
            yield src.error(f"event {event!r}: malformed JSON in its data ({err})", line)
            return
        rec = _event_record({"event": event, "data": payload}, src, line)
        if rec is not None:
            yield rec

    for item in _read_lines(stream, src, limit):
        if type(item) is not tuple:
            yield item  # type: ignore[misc]  # an InputError from the line reader
            continue
        number, chunk = item
        try:
            text = chunk.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield src.error("not UTF-8 text: expected SSE lines ('event: ...', 'data: ...')", number)
            continue
        if not text:
            if start is not None:
                yield from dispatch(start)
            event, data, start = None, [], None
            continue
        if text.startswith(":"):
            continue  # a comment
        field, sep, value = text.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if start is None:
            start = number
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        elif field in ("id", "retry"):
            pass
        else:
            yield src.error(f"{_short(text)} is not an SSE line: expected 'event: ...' or 'data: ...'", number)
    if start is not None:
        if event is not None and not data:
            yield src.error(f"truncated last event {event!r}: no 'data:' line", start)
        else:
            yield from dispatch(start)


# ----------------------------------------------------------------------------- CSV


def _read_csv(stream: _Lines, src: _Source, limit: int) -> Iterator[Item]:
    header: list[str] | None = None
    columns: dict[str, int] = {}
    for item in _read_lines(stream, src, limit):
        if type(item) is not tuple:
            yield item  # type: ignore[misc]  # an InputError from the line reader
            continue
        number, chunk = item
        try:
            text = chunk.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            yield src.error("not UTF-8 text: expected a CSV row", number)
            continue
        if not text.strip():
            continue
        try:
            row = next(csv.reader([text]))
        except csv.Error as err:
            yield src.error(f"malformed CSV row ({err})", number)
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            if "run_id" not in header or "status" not in header:
                yield src.error(
                    f"CSV without a header: the first line is {_short(text.strip())}; expected a header naming "
                    "the columns, at least 'run_id,status' (optionally ',timestamp')",
                    number,
                )
                return
            columns = {name: i for i, name in enumerate(header)}
            if src.sort_by is not None and src.sort_by.lower() not in columns:
                yield src.error(f"--sort-by {src.sort_by}: the CSV header has no such column", number)
                return
            continue
        if len(row) != len(header):
            yield src.error(f"{len(row)} cells, expected {len(header)} ({','.join(header)})", number)
            continue
        run_id = row[columns["run_id"]].strip()
        if not run_id:
            yield src.error("empty run_id: expected the run id", number)
            continue
        cell = row[columns["status"]].strip()
        stamp: float | None = None
        stamp_column = src.sort_by.lower() if src.sort_by is not None else "timestamp"
        if stamp_column in columns and row[columns[stamp_column]].strip():
            try:
                stamp = _timestamp(row[columns[stamp_column]].strip(), f"column {stamp_column!r}")
            except ValueError as err:
                yield src.error(str(err), number)
                continue
        elif src.sort_by is not None:
            yield src.error(f"--sort-by {src.sort_by}: empty cell", number)
            continue
        if cell in _CALLS:
            yield Record(
                run_id, None, cell, source=src.name, line=number, mode=None, call=_CALLS[cell], timestamp=stamp
            )
            continue
        if not cell:
            yield src.error("empty status: expected a status (wire value, name or ordinal)", number)
            continue
        try:
            status = _status_of(cell)
        except NotARunStatus as err:
            yield src.error(str(err), number)
            continue
        yield Record(run_id, status, cell, source=src.name, line=number, timestamp=stamp)


# ----------------------------------------------------------------------------- detection and entry points


def detect_format(first_line: bytes) -> Literal["jsonl", "sse", "csv"] | None:
    """The format a file's first non-blank line announces, or None when it is none of them."""
    text = first_line.lstrip(b"\xef\xbb\xbf").strip()
    if text.startswith((b"{", b"[")):
        return "jsonl"
    if text.startswith((b"event:", b"data:", b":", b"id:", b"retry:")):
        return "sse"
    if b"\x00" in text:
        return None
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "csv" if b"," in text else None


_READERS: Final = {"jsonl": _read_jsonl, "sse": _read_sse, "csv": _read_csv}


def _open(source: str | os.PathLike[str] | IO[bytes]) -> tuple[str, IO[bytes], bool]:
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        if name == "-":
            return _STDIN_NAME, sys.stdin.buffer, False
        if os.path.isdir(name):
            raise IsADirectoryError(21, "is a directory, expected a file", name)
        return name, open(name, "rb"), True
    label = getattr(source, "name", None)
    return (label if isinstance(label, str) else "<input>"), source, False


def read_records(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    input_format: InputFormat = "auto",
    sort_by: str | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    name: str | None = None,
    partition: tuple[int, int] | None = None,
) -> Iterator[Record | InputError]:
    """Records of one input, in file order, with an :class:`InputError` in place of each unusable line.

    ``source`` is a path, ``"-"`` (standard input) or a binary file object. The format is
    detected from the first non-blank line unless ``input_format`` names it. With ``sort_by``,
    each record's ``timestamp`` is read from that field (a number or ISO 8601 text); records
    without it are reported. ``name`` overrides the source name used in locations.
    ``partition=(k, n)`` keeps only the runs worker ``k`` of ``n`` handles (see :func:`owns`),
    and only worker 0 reports errors that belong to no run. Never raises for bad input;
    raises ``ValueError`` for bad arguments (at once).
    """
    _check_options(input_format, max_line_bytes, partition)
    items = _read_source(
        source,
        input_format=input_format,
        sort_by=sort_by,
        max_line_bytes=max_line_bytes,
        name=name,
        partition=partition,
        compact=False,
    )
    return cast("Iterator[Record | InputError]", items)


def _check_options(input_format: str, max_line_bytes: int, partition: tuple[int, int] | None) -> None:
    if input_format not in FORMATS:
        raise ValueError(f"input_format must be one of {FORMATS}, got {input_format!r}")
    if max_line_bytes < 1:
        raise ValueError(f"max_line_bytes must be positive, got {max_line_bytes!r}")
    if partition is not None and not (0 <= partition[0] < partition[1]):
        raise ValueError(f"partition must be (k, n) with 0 <= k < n, got {partition!r}")


def _read_source(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    input_format: InputFormat,
    sort_by: str | None,
    max_line_bytes: int,
    name: str | None,
    partition: tuple[int, int] | None,
    compact: bool,
) -> Iterator[Item]:
    """The items of one input: open it, detect its format, run its reader (the one generator between them)."""
    try:
        opened_name, stream, owned = _open(source)
    except OSError as err:
        where = name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<input>")
        if partition is None or partition[0] == 0:
            yield InputError(f"cannot read: {err.strerror or err}", source=where)
        return
    src = _Source(name or opened_name, sort_by, partition, compact)
    first = partition is None or partition[0] == 0
    try:
        items = _reader(stream, src, input_format, max_line_bytes)
        if first:
            yield from items
        else:  # errors about the whole input: worker 0 reports them
            yield from (i for i in items if type(i) is not InputError or i.line is not None)
    except _GiveUp:
        if first:
            message = f"more than {_MAX_ERRORS_PER_SOURCE} unusable lines; giving up on the rest of this input"
            yield InputError(message, source=src.name)
    except OSError as err:
        yield InputError(f"read error: {err.strerror or err}", source=src.name)
    finally:
        if owned:
            stream.close()


def _reader(stream: IO[bytes], src: _Source, input_format: InputFormat, limit: int) -> Iterator[Item]:
    """The reader of the input's format (detected from its first non-blank line unless given)."""
    kind: str | None = input_format if input_format != "auto" else None
    stream_: _Lines = stream
    if kind is None:
        # find the first non-blank line without consuming it: read ahead, then seek back (files)
        # or chain the lines read to the rest (pipes)
        try:
            start: int | None = stream.tell() if stream.seekable() else None
        except (OSError, ValueError):
            start = None
        lines: list[bytes] = []
        head = b""
        while True:
            chunk = stream.readline(limit + 1)
            if not chunk:
                break
            lines.append(chunk)
            if chunk.strip():
                head = chunk
                break
        if not head:
            error = src.error(
                "empty file: expected JSON Lines, SSE text (event:/data: lines) or CSV with a header", None
            )
            return iter((error,))
        kind = detect_format(head)
        if kind is None:
            why = "binary data" if b"\x00" in head or not _is_utf8(head) else f"{_short(head.strip())}"
            error = src.error(
                f"{why}: not a known format; expected JSON Lines (run objects, stream events, compact runs), "
                "SSE text (event:/data: lines) or CSV with a 'run_id,status' header",
                len(lines),
            )
            return iter((error,))
        if start is not None:
            stream.seek(start)
        else:
            stream_ = _Chain(lines, stream)
    items: Iterator[Item] = _READERS[kind](stream_, src, limit)
    if kind != "jsonl" and src.partition is not None and src.partition[1] > 1:
        items = _partitioned(items, src.partition)
    return items


def _partitioned(items: Iterator[Item], partition: tuple[int, int]) -> Iterator[Item]:
    for item in items:
        if type(item) is Record:
            if owns(item.run_id, partition):
                yield item
        elif partition[0] == 0:
            yield item


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Lines(Protocol):
    """What the readers need of an input: ``readline`` with a size limit."""

    def readline(self, size: int = -1, /) -> bytes: ...


class _Chain:
    """A ``readline`` over lines already read, then the rest of the stream."""

    __slots__ = ("_lines", "_stream")

    def __init__(self, lines: list[bytes], stream: _Lines) -> None:
        self._lines = lines
        self._stream = stream

    def readline(self, size: int = -1, /) -> bytes:
        if self._lines:
            return self._lines.pop(0)
        return self._stream.readline(size)


def read_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    input_format: InputFormat = "auto",
    sort_by: str | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    partition: tuple[int, int] | None = None,
) -> Iterator[Record | InputError]:
    """:func:`read_records` of each path in turn (``"-"`` is standard input)."""
    items = read_items(
        paths,
        input_format=input_format,
        sort_by=sort_by,
        max_line_bytes=max_line_bytes,
        partition=partition,
        compact=False,
    )
    return cast("Iterator[Record | InputError]", items)


def read_items(
    paths: Iterable[str | os.PathLike[str]],
    *,
    input_format: InputFormat = "auto",
    sort_by: str | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    partition: tuple[int, int] | None = None,
    compact: bool = True,
) -> Iterator[Item]:
    """Like :func:`read_paths`, but a plain run object comes as a :data:`CompactRecord` tuple.

    Building a :class:`Record` costs more than the tuple; bulk validation builds one
    (:func:`as_record`) only for a run that needs it.
    """
    _check_options(input_format, max_line_bytes, partition)
    return itertools.chain.from_iterable(
        _read_source(
            path,
            input_format=input_format,
            sort_by=sort_by,
            max_line_bytes=max_line_bytes,
            name=None,
            partition=partition,
            compact=compact,
        )
        for path in paths
    )
