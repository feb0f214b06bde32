"""Counting an input's lines as the python reader numbers them, and telling the carriage returns that end lines."""

from __future__ import annotations

import gzip
import io
import json
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytest.importorskip("numpy")

from runfsm.validation.engines.lines import SHORT_LINE, blank_lines, count_lines, ends_with_object, scan_lines

if TYPE_CHECKING:
    from pathlib import Path


def _not_json(data: bytes, longest: int) -> int:
    """Lines (split at newlines only, at most ``longest`` bytes) holding NaN or Infinity that Python's json refuses."""

    def refused(line: bytes) -> bool:
        try:
            json.loads(line, parse_constant=lambda name: 1 / 0)
        except (ValueError, ZeroDivisionError):
            return True
        return False

    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]] + [parts[-1]]
    return sum(
        1
        for line in lines
        if line and len(line) <= longest and (b"NaN" in line or b"Infinity" in line) and refused(line)
    )


def _long_lines(data: bytes, longest: int) -> int:
    """Lines (split at newlines only) longer than ``longest`` bytes with their newline."""
    parts = data.split(b"\n")
    lengths = [len(p) + 1 for p in parts[:-1]] + ([len(parts[-1])] if parts[-1] else [])
    return sum(1 for n in lengths if n > longest)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.lists(
        st.sampled_from(
            [b"{}", b"x", b"xyzxyz", b" ", b"\n", b"\r", b"\r\n", b"[NaN]", b'["NaN"]', b"-Infinity", b"N"]
        ),
        max_size=40,
    ).map(b"".join),
    chunk_size=st.integers(1, 9),
    compressed=st.booleans(),
    longest=st.sampled_from([3, 8, 10**6]),
)
@example(data=b"a\r", chunk_size=1, compressed=False, longest=10**6)  # a final lone CR
@example(data=b"a\r\nb\r\n", chunk_size=2, compressed=False, longest=10**6)  # a CRLF split between two reads
@example(data=b"a\rb", chunk_size=2, compressed=True, longest=10**6)  # a lone CR at the end of a read
@example(
    data=b"abcd\nab\nabcde", chunk_size=2, compressed=False, longest=3
)  # long lines across reads, the last one too
@example(data=b'{}\n[NaN]\n["NaN"]\n-Infinity', chunk_size=3, compressed=False, longest=10**6)  # not JSON, across reads
@example(data=b'{}\n[NaN]\n["NaN"]\n[Infinity]\n', chunk_size=1 << 20, compressed=False, longest=10**6)  # in one read
def test_lines_and_odd_ones_are_counted_across_reads(
    tmp_path: Path, data: bytes, chunk_size: int, compressed: bool, longest: int
) -> None:
    r"""Whatever the reads' size, the lines are counted, and the odd ones: a lone ``\r``, a long line, a ``NaN``.

    A lone ``\r`` ends a line for the python reader and not for DuckDB's; a line longer than
    the python reader reads (``longest`` bytes, its newline included) is reported by it and may be
    read by DuckDB's; DuckDB's reader reads ``NaN`` and ``Infinity`` as numbers, where Python's
    parsers refuse them (``"NaN"``, a string, is JSON): the duckdb engine goes by the python
    reader then. ``\r\n`` ends a line for both (a Windows-written log is DuckDB's).
    """
    path = tmp_path / ("log.jsonl.gz" if compressed else "log.jsonl")
    path.write_bytes(gzip.compress(data) if compressed else data)
    assert count_lines(str(path), chunk_size=chunk_size, longest=longest) == (
        data.count(b"\n") + (bool(data) and not data.endswith(b"\n")),
        sum(1 for i, byte in enumerate(data) if byte == 13 and data[i + 1 : i + 2] != b"\n")
        + _long_lines(data, longest)
        + _not_json(data, longest),
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.sampled_from([b"", b" ", b"{}", b"x" * 7, b"\r"]), max_size=12),
    ends_with_newline=st.booleans(),
    picks=st.sets(st.integers(1, 14), max_size=5),
    chunk_size=st.integers(1, 9),
    compressed=st.booleans(),
)
def test_the_wanted_lines_are_fetched_as_python_numbers_them(
    tmp_path: Path, *, lines: list[bytes], ends_with_newline: bool, picks: set[int], chunk_size: int, compressed: bool
) -> None:
    """The lines the engine hands to the python parser: each with its newline, at its number, whatever the reads."""
    data = b"\n".join(lines) + (b"\n" if ends_with_newline and lines else b"")
    path = tmp_path / ("log.jsonl.gz" if compressed else "log.jsonl")
    path.write_bytes(gzip.compress(data) if compressed else data)
    numbered = list(enumerate(io.BytesIO(data), 1))  # lines as Python's binary reader gives them
    wanted = {n for n in picks if n <= len(numbered)}
    scan = scan_lines(str(path), wanted, chunk_size=chunk_size)
    assert scan is not None
    assert scan.texts == [(n, chunk) for n, chunk in numbered if n in wanted]
    assert scan.lines == len(numbered)


@pytest.mark.parametrize(
    ("tail", "whole"),
    [
        (b'{"id": "r", "status": "queued"}\n', True),
        (b'{"id": "r", "status": "queued"}\n\n  \n', True),  # blank lines after it
        (b'{"id": "r", "stat', False),  # cut while written
        (b'["queued", "completed"]\n', False),  # a compact run: JSON, but no object
        (b"not json\n", False),
    ],
)
def test_a_log_cut_while_written_is_told_from_its_end(tmp_path: Path, tail: bytes, whole: bool) -> None:
    """Whether the last line is a JSON object, read from the end: the duckdb engine then reads tolerating errors."""
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"id": "r", "status": "in_progress"}\n' * 3 + tail)
    assert ends_with_object(str(path)) is whole


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(
        st.sampled_from(
            [b"", b" ", b"\t \r", b"\x0b\x0c", b"{}", b"x" * 9, b" " * (SHORT_LINE + 3), b"\xef\xbb\xbf", b"\r"]
        ),
        max_size=12,
    ),
    ends_with_newline=st.booleans(),
    chunk_size=st.integers(1, 80),
    compressed=st.booleans(),
)
def test_blank_lines_are_found_by_their_newlines(
    tmp_path: Path, *, lines: list[bytes], ends_with_newline: bool, chunk_size: int, compressed: bool
) -> None:
    """Each blank line found is one DuckDB and the python reader skip; the short ones are all found, whatever the reads.

    A long line of white space is missed (the engine then looks at every line): the count tells.
    """
    data = b"\n".join(lines) + (b"\n" if ends_with_newline and lines else b"")
    path = tmp_path / ("log.jsonl.gz" if compressed else "log.jsonl")
    path.write_bytes(gzip.compress(data) if compressed else data)
    found = blank_lines(str(path), chunk_size=chunk_size)
    every = scan_lines(str(path), None)
    assert every is not None
    assert found.lines == every.lines
    short = [n for n in every.blanks if len(lines[n - 1]) <= SHORT_LINE]
    assert found.blanks == short
