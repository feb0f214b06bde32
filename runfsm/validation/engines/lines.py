"""An input's lines as the python reader numbers them: what the duckdb engine checks its rows against.

DuckDB's JSON reader skips blank lines, so its rows are the input's lines only when none is
blank. :func:`count_lines` counts the lines (and tells a lone carriage return, which ends a line
for the python reader only), :func:`scan_lines` finds the blank ones or fetches some lines' bytes
(the residue the python parser reads), and :func:`sniff` tells an input's format from its first
line. Positions of the items the python reader gives come from :func:`in_reading_order`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runfsm.validation.formats.base import MAX_LINE_BYTES
from runfsm.validation.records import detect_format, open_decompressed

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from runfsm.validation.formats.base import Item

__all__ = ["LineScan", "count_lines", "ends_blank", "in_reading_order", "line_of", "scan_lines", "sniff"]


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
            if raw.read(4) == b"PAR1":
                return "parquet"
        with open_decompressed(name) as stream:
            for _ in range(1000):
                line = stream.readline(MAX_LINE_BYTES + 1)
                if not line:
                    return None
                if line.strip():
                    return detect_format(line)
    except (OSError, EOFError, ValueError, ImportError):
        return None
    return None


def count_lines(name: str, *, chunk_size: int = 1 << 24) -> tuple[int, int]:
    r"""Lines in the input as Python's reader numbers them (a last line without newline counts), and its lone CRs.

    A carriage return that is not part of a ``\r\n`` (a *lone* one) ends a line for the python
    reader, never for DuckDB's: nonzero second value, the two do not number the lines alike. A
    ``\r\n`` ends a line for both (a Windows-written log is read by DuckDB). The input is read
    ``chunk_size`` bytes at a time (memory stays flat however large it is).
    """
    if name.endswith((".gz", ".zst")):
        with open_decompressed(name) as stream:
            count, lone, last = 0, 0, b"\n"
            while chunk := stream.read(chunk_size):
                count += chunk.count(b"\n")
                if b"\r" in chunk or last.endswith(b"\r"):
                    lone += _lone_returns(chunk, len(chunk), last.endswith(b"\r"))
                last = chunk
            return count + (not last.endswith(b"\n")), lone + last.endswith(b"\r")
    import numpy  # noqa: PLC0415  (the duckdb extra)

    buffer = bytearray(chunk_size)
    view = numpy.frombuffer(buffer, dtype=numpy.uint8)
    count = lone = 0
    final = 10
    with open(name, "rb", buffering=0) as f:
        while size := f.readinto(buffer):
            count += int(numpy.count_nonzero(view[:size] == 10))
            if final == 13 or buffer.find(b"\r", 0, size) >= 0:  # memchr: most inputs have none
                lone += _lone_returns(buffer, size, final == 13)
            final = buffer[size - 1]
    return count + (final != 10), lone + (final == 13)


def _lone_returns(data: bytes | bytearray, size: int, after_return: bool) -> int:
    r"""The carriage returns of ``data[:size]`` not followed by ``\n``, a final one aside (its ``\n`` may come next).

    ``after_return``: the data before ended with a ``\r``, lone unless this opens with ``\n``.
    """
    lone = data.count(b"\r", 0, size) - data.count(b"\r\n", 0, size) - data.endswith(b"\r", 0, size)
    return lone + (after_return and not data.startswith(b"\n", 0, size))


def ends_blank(name: str, lines: int) -> bool:
    """True when the last ``lines`` lines of a plain file are blank (as the python reader counts lines).

    Read from the end of the file, so it costs nothing however large the file; False for a
    compressed input (it would have to be read whole) or when the lines are not all in the last
    megabyte.
    """
    if name.endswith((".gz", ".zst")):
        return False
    with open(name, "rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - (1 << 20)))
        tail = f.read()
    parts = tail.split(b"\n")
    if tail.endswith(b"\n"):
        parts.pop()  # after the last newline: no line
    # one part more than the lines: the one before them is whole, so the lines are whole too
    return len(parts) > lines and all(not part.strip() for part in parts[len(parts) - lines :])


@dataclass
class LineScan:
    """What one pass over an input's lines found: their number, the blank ones, the wanted ones' bytes."""

    lines: int = 0
    blanks: list[int] = field(default_factory=list)
    texts: list[tuple[int, bytes]] = field(default_factory=list)


def scan_lines(name: str, wanted: set[int] | None) -> LineScan | None:
    """Count lines and find the blank ones (``wanted=None``), or fetch the wanted lines' bytes.

    None when a wanted line is longer than the python reader reads (it reports such lines itself).
    """
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


def line_of(item: Item) -> int | None:
    """The line an item was read from (None for an item of no line)."""
    if type(item) is tuple:
        return item[3]
    return item.line  # type: ignore[union-attr]  # a Record or an InputError
