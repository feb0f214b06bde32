"""Observed run records: read logs of any supported format, detected from each input's first line.

The formats and their readers are described in :mod:`runfsm.validation.formats`; this module opens each
input, detects its format, runs its reader and splits the runs between workers.

Readers never raise on bad input: they yield an :class:`~runfsm.exceptions.InputError` naming the
source, the line and what was expected, and go on with the next line.
"""

from __future__ import annotations

import errno
import itertools
import os
import stat
import sys
from typing import IO, TYPE_CHECKING, Any, Final, Literal, cast

from runfsm.exceptions import InputError
from runfsm.lifecycles import PRESETS, RUN_LIFECYCLE, preset, preset_for_object, preset_for_webhook
from runfsm.validation.compressed import READ_ERRORS, open_decompressed, read_error
from runfsm.validation.formats.base import (
    BOM,
    MAX_LINE_BYTES,
    CompactRecord,
    Item,
    ReadPosition,
    Record,
    Source,
    UniversalLines,
    as_record,
    json_parser,
    owns,
    short,
)
from runfsm.validation.formats.csvrows import read_csv
from runfsm.validation.formats.jsonl import read_jsonl
from runfsm.validation.formats.sse import read_sse
from runfsm.validation.formats.webhooks import is_webhook_event, read_webhooks

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from runfsm.lifecycle import Lifecycle
    from runfsm.validation.formats.base import Lines
    from runfsm.validation.summary import LineCounts

__all__ = [
    "FORMATS",
    "MAX_LINE_BYTES",
    "PARQUET_MAGIC",
    "CompactRecord",
    "InputFormat",
    "Item",
    "Record",
    "as_record",
    "detect_format",
    "detect_lifecycle",
    "path_list",
    "resolve_lifecycle",
    "in_time_order",
    "json_parser",
    "owns",
    "read_items",
    "read_paths",
    "read_records",
]

InputFormat = Literal["auto", "jsonl", "sse", "csv", "webhooks"]
FORMATS: Final[tuple[str, ...]] = ("auto", "jsonl", "sse", "csv", "webhooks")
_STDIN_NAME: Final = "<stdin>"


def detect_format(first_line: bytes) -> Literal["jsonl", "sse", "csv", "webhooks"] | None:
    """The format a file's first non-blank line announces, or None when it is none of them.

    A JSON object with ``"object": "event"`` and a ``type`` opens a webhook log
    (:mod:`~runfsm.validation.formats.webhooks`); any other JSON, JSON Lines.
    """
    text = first_line.removeprefix(BOM).strip()
    if text.startswith(b"{") and b'"event"' in text:
        try:
            head = json_parser()[1](text)
        except ValueError:
            head = None
        if is_webhook_event(head):
            return "webhooks"
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


_READERS: Final = {"jsonl": read_jsonl, "sse": read_sse, "csv": read_csv, "webhooks": read_webhooks}


def _open(source: str | os.PathLike[str] | IO[bytes]) -> tuple[str, IO[bytes], bool]:
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        if name == "-":
            if sys.stdin is None:  # the process was started with standard input closed (``<&-``)
                raise OSError(errno.EBADF, "standard input is closed")
            return _STDIN_NAME, sys.stdin.buffer, False
        if os.path.isdir(name):
            raise IsADirectoryError(21, "is a directory, expected a file", name)
        return name, open_decompressed(name), True
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
    lifecycle: Lifecycle[Any] | None = None,
    on_counts: Callable[[LineCounts], object] | None = None,
) -> Iterator[Record | InputError]:
    """Records of one input, in file order, with an :class:`InputError` in place of each unusable line.

    ``source`` is a path, ``"-"`` (standard input) or a binary file object. The format is
    detected from the first non-blank line unless ``input_format`` names it. With ``sort_by``,
    each record's ``timestamp`` is read from that field (a finite number, or ISO 8601 text, UTC
    when it has no offset); a record without it has ``timestamp=None``. ``name`` overrides the
    source name used in locations.
    ``partition=(k, n)`` keeps only the runs worker ``k`` of ``n`` handles (see :func:`owns`),
    and only worker 0 reports errors that belong to no run. ``on_counts`` receives the
    input's :class:`~runfsm.validation.summary.LineCounts` once it is read. Never raises for
    bad input; raises ``ValueError`` for bad arguments (at once). ``lifecycle`` says whose
    records the input holds (the Assistants run's by default).
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
        lifecycle=lifecycle,
        on_counts=on_counts,
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
    lifecycle: Lifecycle[Any] | None = None,
    on_counts: Callable[[LineCounts], object] | None = None,
    position: ReadPosition | None = None,
) -> Iterator[Item]:
    """The items of one input: open it, detect its format, run its reader (the one generator between them)."""
    try:
        opened_name, stream, owned = _open(source)
    except OSError as err:
        where = name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<input>")
        if partition is None or partition[0] == 0:
            yield InputError(f"cannot read: {err.strerror or err}", source=where)
        if on_counts is not None:
            on_counts(Source(where, sort_by, partition).counts)
        return
    src = Source(name or opened_name, sort_by, partition, compact, lifecycle, position=position)
    first = src.reporter
    try:
        if partition is not None and partition[1] > 1 and not _is_regular(stream):
            # each worker would read a part of a pipe or device: refuse rather than lose runs
            if first:
                yield src.error(
                    "not a regular file (a pipe, a device or standard input can be read only once): "
                    "it cannot be shared between workers; read it in one process (--jobs 1)",
                    None,
                )
            return
        items = _reader(stream, src, input_format, max_line_bytes)
        if first:
            yield from items
        else:  # errors about the whole input: worker 0 reports them
            yield from (i for i in items if type(i) is not InputError or i.line is not None)
    except READ_ERRORS as err:  # the lines read before are judged; where it broke is said
        if first:
            after = f" after line {src.counts.lines:,}" if src.counts.lines else ""
            yield InputError(f"read error{after}: {read_error(err)}", source=src.name)
    finally:
        if owned:
            stream.close()
        counts = src.counts
        if position is not None:
            position.base += counts.lines
        if not first:
            counts.lines = 0  # worker 0 counts the lines read
        if on_counts is not None:
            on_counts(counts)


def _is_regular(stream: IO[bytes]) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # io.BytesIO and the like: not shareable either
        return False


def _reader(stream: IO[bytes], src: Source, input_format: InputFormat, limit: int) -> Iterator[Item]:
    """The reader of the input's format (detected from its first non-blank line unless given)."""
    kind: str | None = input_format if input_format != "auto" else None
    stream_: Lines = stream
    if kind is None:
        # find the first non-blank line without consuming it: read ahead, then seek back (files)
        # or chain the lines read to the rest (pipes)
        try:
            start: int | None = stream.tell() if stream.seekable() else None
        except (OSError, ValueError):
            start = None
        lines: list[bytes] = []
        head = b""
        ahead = UniversalLines(stream)
        while True:
            chunk = ahead.readline(limit + 1)
            if not chunk:
                break
            lines.append(chunk)
            if chunk.strip() and chunk.removeprefix(BOM).strip():
                head = chunk
                break
        if not head:
            src.counts.lines = len(lines)
            src.skip(len(lines))
            error = src.error(
                "empty file: expected JSON Lines, SSE text (event:/data: lines) or CSV with a header", None
            )
            return iter((error,))
        kind = detect_format(head)
        if kind is None:
            if len(lines) == 1 and head.startswith(PARQUET_MAGIC):
                return _unknown_format(ahead, src, _PARQUET, 1)
            why = "binary data" if b"\x00" in head or not _is_utf8(head) else f"{short(head.strip())}"
            problem = (
                f"{why}: not a known format; expected JSON Lines (run objects, stream events, compact runs), "
                "SSE text (event:/data: lines) or CSV with a 'run_id,status' header"
            )
            return _unknown_format(ahead, src, problem, len(lines))
        if start is not None:
            stream.seek(start)
        else:
            stream_ = _Chain(lines, ahead)
    items: Iterator[Item] = _READERS[kind](stream_, src, limit)
    if kind != "jsonl" and src.partition is not None and src.partition[1] > 1:
        items = _partitioned(items, src.partition)
    return items


PARQUET_MAGIC: Final = b"PAR1"
"""The first bytes of a Parquet file."""
_PARQUET: Final = (
    "a Parquet file: the duckdb engine reads Parquet (pip install 'runfsm[duckdb]', then --engine duckdb or auto); "
    "the python and spark engines read text logs"
)


def _unknown_format(rest: Lines, src: Source, problem: str, head_line: int) -> Iterator[Item]:
    """The error (``problem``) of an input in no known format; its lines are counted (blank ones skipped)."""
    src.skip(head_line - 1)
    after = 0
    while rest.readline(1 << 20):
        after += 1  # pieces of an over-long line are counted as lines here: no record is read anyway
    src.counts.lines = head_line + after
    src.failed(1 + after)
    if not src.reporter:
        return
    tail = f"; its {after:,} other lines are not read" if after else ""
    yield src.error(problem + tail, head_line)


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


class _Chain:
    """A ``readline`` over lines already read, then the rest of the stream (pipes: no seeking back)."""

    __slots__ = ("_lines", "_stream")

    def __init__(self, lines: list[bytes], stream: Lines) -> None:
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
    lifecycle: Lifecycle[Any] | None = None,
) -> Iterator[Record | InputError]:
    """:func:`read_records` of each path in turn (``"-"`` is standard input)."""
    items = read_items(
        paths,
        input_format=input_format,
        sort_by=sort_by,
        max_line_bytes=max_line_bytes,
        partition=partition,
        compact=False,
        lifecycle=lifecycle,
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
    lifecycle: Lifecycle[Any] | None = None,
    on_counts: Callable[[LineCounts], object] | None = None,
    position: ReadPosition | None = None,
) -> Iterator[Item]:
    """Like :func:`read_paths`, but a plain run object comes as a :data:`CompactRecord` tuple.

    Building a :class:`Record` costs more than the tuple; bulk validation builds one
    (:func:`as_record`) only for a run that needs it. ``on_counts`` receives each input's
    :class:`~runfsm.validation.summary.LineCounts` once it is read. ``position`` follows each
    record's slot in the whole input, the same in every worker of a partition (see
    :class:`~runfsm.validation.formats.base.ReadPosition`).
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
            lifecycle=lifecycle,
            on_counts=on_counts,
            position=position,
        )
        for path in paths
    )


# ----------------------------------------------------------------------------- which lifecycle

_DETECT_LINES: Final = 64
"""How many lines of an input :func:`detect_lifecycle` reads at most."""


def _lifecycle_of_event(name: object) -> Lifecycle[Any] | None:
    if not isinstance(name, str):
        return None
    hook = preset_for_webhook(name)
    if hook is not None:
        return hook[0]
    for lifecycle in PRESETS.values():
        if name in lifecycle.events or (lifecycle.object_type and name.startswith(lifecycle.object_type + ".")):
            return lifecycle
    return None


def _lifecycle_of_json(obj: object) -> Lifecycle[Any] | None:
    if isinstance(obj, list):
        return None
    if not isinstance(obj, dict):
        return None
    if obj.get("event") is not None:  # JSON null reads as absent, as the readers read it
        return _lifecycle_of_event(obj["event"])
    kind = obj.get("object")
    if kind == "list" and isinstance(obj.get("data"), list) and obj["data"]:
        return _lifecycle_of_json(obj["data"][0])
    if kind == "event" or ("type" in obj and kind is None):
        return _lifecycle_of_event(obj.get("type"))
    return preset_for_object(kind) if isinstance(kind, str) else None


def _first_lines(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[str, bytes]]:
    """Up to 64 lines of each regular file in turn (``.gz``/``.zst`` decompressed), stripped, with the file's name.

    Never standard input or a pipe, which cannot be read twice; a file that cannot be read is
    skipped (the reader reports it).
    """
    for path in paths:
        name = os.fspath(path)
        if name == "-" or not os.path.isfile(name):
            continue
        try:
            with open_decompressed(name) as stream:
                for _ in range(_DETECT_LINES):
                    line = stream.readline(MAX_LINE_BYTES)
                    if not line:
                        break
                    yield name, line.strip().lstrip(b"\xef\xbb\xbf")
        except READ_ERRORS:
            continue


def detect_lifecycle(paths: Iterable[str | os.PathLike[str]]) -> Lifecycle[Any] | None:
    """The preset the inputs' first records name, or None: auto-detection for ``--lifecycle auto``.

    Reads up to 64 lines of each file in turn (never standard input, which cannot be read
    twice) and returns the preset of the first record that names one: an ``object`` field
    (``thread.run``, ``response``, ``batch``), a stream event name or a webhook type. CSV and
    compact records name none.
    """
    _name, loads = json_parser()
    for _path, text in _first_lines(paths):
        found: Lifecycle[Any] | None = None
        if text.startswith(b"event:"):
            found = _lifecycle_of_event(text[6:].strip().decode("utf-8", "replace"))
        elif text.startswith((b"{", b"[")):
            try:
                found = _lifecycle_of_json(loads(text))
            except ValueError:
                continue
        if found is not None:
            return found
    return None


def sort_field_missing(paths: Iterable[str | os.PathLike[str]], field: str) -> tuple[int, list[str]] | None:
    """Whether the first lines of the JSON inputs lack ``field``: (JSON objects read, their files), or None.

    Reads what :func:`detect_lifecycle` reads (64 lines a file; SSE ``data:`` lines too) and stops
    at the first object holding the field (None). An object holds it when it is a key of the
    object or of an object or list element inside it, at most two levels down: everywhere the
    readers look for ``--sort-by`` (the top level, an event's ``data`` or ``response``, a list
    page's runs) and a little more, so an answer other than None means no record of the sample
    can have had it.

    >>> _holds_key({"object": "list", "data": [{"id": "run_1", "ts": 3}]}, "ts")
    True
    """
    _name, loads = json_parser()
    objects = 0
    files: dict[str, None] = {}  # in order, each once
    for path, line in _first_lines(paths):
        text = line[5:].strip() if line.startswith(b"data:") else line
        if not text.startswith(b"{"):
            continue
        try:
            obj = loads(text)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        if _holds_key(obj, field):
            return None
        objects += 1
        files[path] = None
    return objects, list(files)


def _holds_key(value: object, field: str, depth: int = 2) -> bool:
    if isinstance(value, list):
        return any(_holds_key(item, field, depth) for item in value[:_DETECT_LINES])
    if not isinstance(value, dict) or depth == 0:
        return False
    return field in value or any(_holds_key(item, field, depth - 1) for item in value.values())


def path_list(paths: Iterable[str | os.PathLike[str]]) -> list[str | os.PathLike[str]]:
    """The inputs as a list; ``TypeError`` for one path given alone (a string would be read letter by letter).

    >>> path_list("runs.jsonl")
    Traceback (most recent call last):
      ...
    TypeError: paths is one path ('runs.jsonl'): give a list of paths, such as ['runs.jsonl']
    """
    if isinstance(paths, (str, bytes, os.PathLike)):
        shown = os.fsdecode(paths)
        raise TypeError(f"paths is one path ({shown!r}): give a list of paths, such as [{shown!r}]")
    return list(paths)


def resolve_lifecycle(
    lifecycle: Lifecycle[Any] | str | None, paths: Iterable[str | os.PathLike[str]] = ()
) -> Lifecycle[Any]:
    """A lifecycle from what a caller gave: a Lifecycle, a preset's key, ``"auto"`` (detected), or None (run)."""
    if lifecycle is None:
        return RUN_LIFECYCLE
    if lifecycle == "auto":
        return detect_lifecycle(paths) or RUN_LIFECYCLE
    if isinstance(lifecycle, str):
        return preset(lifecycle)
    return lifecycle


def in_time_order(group: list[Record]) -> list[Record]:
    """One run's records by timestamp (``--sort-by``); a record without one stays right after the record before it.

    Records before the first timestamp keep the front; ties keep file order (a stable sort).
    """
    keys: list[float] = []
    last = float("-inf")
    for rec in group:
        if rec.timestamp is not None:
            last = rec.timestamp
        keys.append(last)
    order = sorted(range(len(group)), key=keys.__getitem__)
    return [group[i] for i in order]
