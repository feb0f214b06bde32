"""An input's lines as the python reader numbers them: what the duckdb engine checks its rows against.

DuckDB's JSON reader skips blank lines, so its rows are the input's lines only when none is
blank. :func:`count_lines` counts the lines (and tells those DuckDB's reader reads otherwise: a
lone carriage return ends a line for the python reader only, and a line too long for it DuckDB's
may read), :func:`scan_lines` finds the blank ones or fetches some lines' bytes (the residue the
python parser reads), and :func:`sniff` tells an input's format from its first line. Positions
of the items the python reader gives come from :func:`in_reading_order`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from runfsm.validation.compressed import READ_ERRORS, open_decompressed
from runfsm.validation.formats.base import MAX_LINE_BYTES, json_parser, loads_fallback
from runfsm.validation.records import PARQUET_MAGIC, detect_format

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import numpy
    import numpy.typing as npt

    from runfsm.validation.formats.base import Item

__all__ = [
    "SHORT_LINE",
    "LineScan",
    "blank_lines",
    "count_lines",
    "ends_blank",
    "ends_with_object",
    "in_reading_order",
    "line_of",
    "scan_lines",
    "sniff",
]


def in_reading_order(base: int, items: Iterable[Item]) -> Iterator[tuple[int, Item]]:
    """Positions for the items of an input the python reader read: by line, and never before the item read before.

    The same as the line for every reader that yields in line order; a webhook log's records come
    ordered by each object's timeline, and keep that order.
    """
    last = base
    for item in items:
        last = max(last, base + (line_of(item) or 0))
        yield last, item


def sniff(name: str) -> str | None:
    """``"jsonl"``, ``"parquet"``, another format name, or None (the python reader reports it)."""
    try:
        with open(name, "rb") as raw:
            if raw.read(4) == PARQUET_MAGIC:
                return "parquet"
        with open_decompressed(name) as stream:
            for _ in range(1000):
                line = stream.readline(MAX_LINE_BYTES + 1)
                if not line:
                    return None
                if line.strip():
                    return detect_format(line)
    except (*READ_ERRORS, ValueError):
        return None
    return None


def count_lines(name: str, *, chunk_size: int = 1 << 24, longest: int = MAX_LINE_BYTES) -> tuple[int, int]:
    r"""Lines in the input as Python's reader numbers them (a last line without newline counts), and its *odd* lines.

    An odd line is one DuckDB's reader does not read as the python reader does: nonzero second
    value, the two do not number or read the lines alike. That is a carriage return that is not
    part of a ``\r\n`` (a *lone* one: it ends a line for the python reader, never for DuckDB's),
    a line of more than ``longest`` bytes, its newline included (the python reader reports it,
    DuckDB's may read it), and a line holding ``NaN`` or ``Infinity`` that the python reader
    refuses (they are not JSON; DuckDB's reader reads them as numbers; see :class:`_NotJSON`). A
    ``\r\n`` ends a line for both (a Windows-written log is read by DuckDB). The input is read
    ``chunk_size`` bytes at a time (memory stays flat however large).
    """
    import numpy  # noqa: PLC0415  (the duckdb extra)

    count = odd = 0
    final = 10  # the last byte read
    start = 0  # where the line not ended yet starts, in the input
    offset = 0  # of the read, in the input
    not_json = _NotJSON(longest)
    for data, view in _reads(name, chunk_size):
        size = len(view)
        not_json.feed(data, view)
        if chunk_size <= longest:
            # a line within one read is shorter than that: only one ending at a read's first newline may be long
            count += int(numpy.count_nonzero(view == 10))
            first = data.find(b"\n", 0, size)  # memchr, as rfind
            if first >= 0:
                odd += offset + first + 1 - start > longest
                start = offset + data.rfind(b"\n", 0, size) + 1
        else:
            ends = numpy.flatnonzero(view == 10)
            count += len(ends)
            if len(ends):
                # each line's length with its newline: from the byte after the newline before it
                odd += int(numpy.count_nonzero(numpy.diff(ends, prepend=start - offset - 1) > longest))
                start = offset + int(ends[-1]) + 1
        if final == 13 and view[0] != 10:  # the last byte before was a lone carriage return
            odd += 1
        if data.find(b"\r", 0, len(view)) >= 0:  # memchr: most inputs have none
            # each carriage return but a last one (its newline may open the next read), by its next byte
            after = numpy.flatnonzero(view[:-1] == 13) + 1
            odd += int(numpy.count_nonzero(view[after] != 10))
        final = int(view[-1])
        offset += size
    odd += offset - start > longest  # the last line, without its newline
    return count + (final != 10), odd + (final == 13) + not_json.finish()


_CONSTANTS: Final = (b"NaN", b"Infinity")
"""What DuckDB's JSON reader reads as numbers and Python's parsers refuse (not JSON); ``-Infinity`` too."""


class _NotJSON:
    """The lines of an input, read by read, that hold ``NaN`` or ``Infinity`` and that the python reader refuses.

    Python's ``json.dumps`` writes a float's NaN as ``NaN`` (not JSON), so a log a Python program
    wrote may hold one: DuckDB's reader reads it as a number where the python reader reports the
    line. A line holding either word is parsed as the python reader parses it (the word may be
    text in a string); each line it refuses counts. A line longer than ``longest`` bytes is not
    looked at (it is odd already).
    """

    def __init__(self, longest: int) -> None:
        self.longest = longest
        self.refused = 0
        self.carry: bytearray | None = bytearray()
        """The bytes of the line not ended yet (None: longer than ``longest``)."""

    def feed(self, data: bytes | bytearray, view: npt.NDArray[numpy.uint8]) -> None:
        """Look at the lines that end in the next read (``view``, of ``data``); keep the one it leaves open."""
        size = len(view)
        first = data.find(b"\n", 0, size)
        if first >= 0:
            self._carry(data, 0, first + 1)
            if self.carry is not None:
                self._check(bytes(self.carry))
            last = data.rfind(b"\n", 0, size)
            self._within(data, view, first + 1, last + 1)
            self.carry = bytearray()
            first = last
        self._carry(data, first + 1, size)

    def finish(self) -> int:
        """The lines refused, the last one (without its newline) included."""
        if self.carry:
            self._check(bytes(self.carry))
        return self.refused

    def _carry(self, data: bytes | bytearray, start: int, end: int) -> None:
        if self.carry is not None:
            if len(self.carry) + end - start > self.longest:
                self.carry = None
            else:
                self.carry += data[start:end]

    def _within(self, data: bytes | bytearray, view: npt.NDArray[numpy.uint8], start: int, end: int) -> None:
        """Check the lines of ``data[start:end]`` (whole lines, each with its newline) that hold either word.

        Found by numpy, which lets the GIL go: the count runs beside the judge, whose Python it
        would slow down otherwise (``bytes.find`` holds the GIL, and is slow on text with capitals).
        """
        import numpy  # noqa: PLC0415  (the duckdb extra)

        lines: dict[int, int] = {}  # where each such line starts: where it ends
        for word in _CONSTANTS:
            begin = data.find(word[:1], start, end)  # memchr: most logs have few capitals, some none
            if begin < 0:
                continue
            segment = view[begin:end]
            at = numpy.flatnonzero(segment[: max(len(segment) - len(word) + 1, 0)] == word[0])
            for k in range(1, len(word)):
                if not len(at):
                    break
                at = at[segment[at + k] == word[k]]
            for found in (at + begin).tolist():
                first = max(data.rfind(b"\n", start, found) + 1, start)
                lines[first] = data.find(b"\n", found, end) + 1
        for first, after in sorted(lines.items()):
            self._check(bytes(data[first:after]))

    def _check(self, line: bytes) -> None:
        if len(line) <= self.longest and any(word in line for word in _CONSTANTS) and _refused(line):
            self.refused += 1


def _refused(line: bytes) -> bool:
    """True when the python reader cannot parse the line (neither the fast parser nor the standard one)."""
    _name, loads = json_parser()
    try:
        loads(line)
    except ValueError:
        try:
            loads_fallback(line)
        except ValueError:
            return True
    return False


def _reads(name: str, chunk_size: int) -> Iterator[tuple[bytes | bytearray, npt.NDArray[numpy.uint8]]]:
    """An input's bytes (decompressed), ``chunk_size`` at a time, each read with a numpy view of it.

    A plain file is read into one buffer: a read's bytes are good until the next one (``data``
    may be longer than the read; its view is not). Memory stays flat however large the input.
    """
    import numpy  # noqa: PLC0415  (the duckdb extra)

    if name.endswith((".gz", ".zst")):
        with open_decompressed(name) as stream:
            while chunk := stream.read(chunk_size):
                yield chunk, numpy.frombuffer(chunk, dtype=numpy.uint8)
        return
    buffer = bytearray(chunk_size)
    view = numpy.frombuffer(buffer, dtype=numpy.uint8)
    with open(name, "rb", buffering=0) as f:
        while size := f.readinto(buffer):
            yield buffer, view[:size]


def _tail(name: str) -> tuple[int, bytes]:
    """The size of a plain file and its last megabyte (what is read of it to tell how it ends)."""
    with open(name, "rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - _TAIL))
        return size, f.read()


_TAIL: Final = 1 << 20


def ends_blank(name: str, lines: int) -> bool:
    """True when the last ``lines`` lines of a plain file are blank (as the python reader counts lines).

    Read from the end of the file, so it costs nothing however large the file; False for a
    compressed input (it would have to be read whole) or when the lines are not all in the last
    megabyte.
    """
    if name.endswith((".gz", ".zst")):
        return False
    _size, tail = _tail(name)
    parts = tail.split(b"\n")
    if tail.endswith(b"\n"):
        parts.pop()  # after the last newline: no line
    # one part more than the lines: the one before them is whole, so the lines are whole too
    return len(parts) > lines and all(not part.strip() for part in parts[len(parts) - lines :])


def ends_with_object(name: str) -> bool:
    """False when the last line of a plain file is certainly no JSON object (a log cut while it was written).

    Read from the end of the file (the last megabyte); True when that cannot tell (a compressed
    input, a last line longer than that). Only a guess of which way to read an input first.
    """
    if name.endswith((".gz", ".zst")):
        return True
    try:
        size, tail = _tail(name)
    except OSError:
        return True
    tail = tail.rstrip()
    cut = tail.rfind(b"\n")
    if cut < 0 and size > _TAIL:
        return True  # the last line began before: not read
    _name, loads = json_parser()
    try:
        return type(loads(tail[cut + 1 :])) is dict
    except ValueError:
        return False


@dataclass
class LineScan:
    """What one pass over an input's lines found: their number, the blank ones, the wanted ones' bytes."""

    lines: int = 0
    blanks: list[int] = field(default_factory=list)
    texts: list[tuple[int, bytes]] = field(default_factory=list)


def scan_lines(name: str, wanted: set[int] | None, *, chunk_size: int = 1 << 24) -> LineScan | None:
    """Count lines and find the blank ones (``wanted=None``), or fetch the wanted lines' bytes.

    None when a wanted line is longer than the python reader reads (it reports such lines itself).
    The wanted lines of a plain file are found by their newlines (``chunk_size`` bytes at a time),
    and only they are read.
    """
    if wanted is not None and not name.endswith((".gz", ".zst")):
        return _fetch_lines(name, sorted(wanted), chunk_size)
    scan = LineScan()
    with open_decompressed(name) as stream:
        for number, chunk in enumerate(stream, 1):
            scan.lines = number
            if wanted is None:
                if not chunk.strip():
                    scan.blanks.append(number)
            elif number in wanted:
                if len(chunk) > MAX_LINE_BYTES:
                    return None
                scan.texts.append((number, chunk))
    return scan


def _fetch_lines(name: str, wanted: list[int], chunk_size: int) -> LineScan | None:
    """The wanted lines of a plain file (sorted numbers), each with its newline if it has one."""
    import numpy  # noqa: PLC0415  (the duckdb extra)

    spans: list[tuple[int, int, int]] = []  # (line, first byte, byte after its newline or the end)
    # where the wanted lines not yet ended start (the first line at the first byte)
    starts = {1: 0} if wanted[:1] == [1] else {}
    scan = LineScan()
    ended = 0  # lines ended by a newline so far
    offset = 0  # of the read, in the file
    final = 10  # the last byte read
    k = 0  # the next wanted line
    for _data, view in _reads(name, chunk_size):
        newline = view == 10
        newlines = int(numpy.count_nonzero(newline))
        # the lines whose newline is in this read: ended + 1 .. ended + newlines
        if k < len(wanted) and wanted[k] - 1 <= ended + newlines:
            at = numpy.flatnonzero(newline) + offset
            while k < len(wanted) and wanted[k] - 1 <= ended + newlines:
                line = wanted[k]
                start = starts.pop(line, None)
                if start is None:  # its previous line ends in this read
                    start = int(at[line - 2 - ended]) + 1
                if line <= ended + newlines:  # it ends here too
                    spans.append((line, start, int(at[line - 1 - ended]) + 1))
                    k += 1
                else:  # it ends in a later read (or is the last, without newline)
                    starts[line] = start
                    break
        ended += newlines
        offset += len(view)
        final = int(view[-1])
    last = ended + (final != 10)
    for line, start in starts.items():
        if line <= last:  # the last line, without its newline
            spans.append((line, start, offset))
    scan.lines = last
    with open(name, "rb") as f:
        for line, start, end in sorted(spans):
            if end - start > MAX_LINE_BYTES:
                return None
            f.seek(start)
            scan.texts.append((line, f.read(end - start)))
    return scan


def blank_lines(name: str, *, chunk_size: int = 1 << 24) -> LineScan:
    """The lines of an input and its blank ones, found by their newlines: the short lines only.

    A line of at most :data:`SHORT_LINE` bytes is looked at; a longer one is taken for a line with
    something on it. So each blank line found is blank, but a long line of white space is missed:
    the caller checks the number found (:func:`scan_lines` looks at every line).
    """
    import numpy  # noqa: PLC0415  (the duckdb extra)

    scan = LineScan()
    number = 0  # lines ended so far
    start = 0  # the first byte of the line not ended yet, in the input
    carry: bytes | None = b""  # its bytes in the reads before (None: more than SHORT_LINE of them)
    offset = 0  # of the read, in the input
    for data, view in _reads(name, chunk_size):
        size = len(view)
        ends = numpy.flatnonzero(view == 10)
        if len(ends):
            starts = numpy.concatenate([[0], ends[:-1] + 1])  # in the read (the first line may start before)
            lengths = ends - starts
            lengths[0] += offset - start
            for k in numpy.flatnonzero(lengths <= SHORT_LINE).tolist():
                text = bytes(data[int(starts[k]) : int(ends[k])])
                if _blank(text if k else (carry or b"") + text):
                    scan.blanks.append(number + k + 1)
            number += len(ends)
            start = offset + int(ends[-1]) + 1
            carry = b""
        if carry is not None:
            opened = data[max(start - offset, 0) : size]
            carry = carry + bytes(opened) if len(carry) + len(opened) <= SHORT_LINE else None
        offset += size
    scan.lines = number + (offset > start)  # a last line without its newline counts
    if offset > start and carry is not None and _blank(carry):
        scan.blanks.append(scan.lines)
    return scan


SHORT_LINE: Final = 64
"""The longest line :func:`blank_lines` looks at (a blank line is almost always empty)."""


def _blank(text: bytes) -> bool:
    """True for a line of white space only: DuckDB's reader skips it, the python reader skips it as blank.

    (A byte-order mark before the white space makes a line the python reader skips but DuckDB's
    reads, as a row it cannot parse: not blank here.)
    """
    return not text.strip()


def line_of(item: Item) -> int | None:
    """The line an item was read from (None for an item of no line)."""
    if type(item) is tuple:
        return item[3]
    return item.line  # type: ignore[union-attr]  # a Record or an InputError
