"""Compressed logs (``.gz``, ``.zst``) read as the plain file reads; a cut or damaged one says where it broke.

What was read before the break is judged, and the break is one input error naming the file and
the last line read: never a traceback, never a silent end (a log copied while it was written).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runfsm.commands.validate import sample_paths
from runfsm.validation import summarize_paths
from runfsm.validation.compressed import open_decompressed

if TYPE_CHECKING:
    from collections.abc import Callable

zstandard = pytest.importorskip("zstandard")

SAMPLE = Path(next(p for p in sample_paths() if p.endswith("runs.jsonl")))
"""The bundled sample of run objects (from the installed package: the tests also run against the wheel)."""


def _zst(data: bytes) -> bytes:
    return bytes(zstandard.ZstdCompressor().compress(data))


def _zst_frames(data: bytes) -> bytes:
    """``data`` in several frames (as ``zstd`` writes appended or concatenated files)."""
    step = max(1, len(data) // 3)
    return b"".join(_zst(data[k : k + step]) for k in range(0, len(data), step)) if data else _zst(b"")


COMPRESSORS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "gzip": (".gz", gzip.compress),
    "zstd": (".zst", _zst),
    "zstd frames": (".zst", _zst_frames),
}


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    lines=st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"")), max_size=40),
    how=st.sampled_from(sorted(COMPRESSORS)),
)
def test_a_compressed_file_reads_as_its_bytes(tmp_path: Path, lines: list[bytes], how: str) -> None:
    """Whole or line by line, every frame: the bytes that were compressed."""
    suffix, compress = COMPRESSORS[how]
    data = b"\n".join(lines)
    path = tmp_path / f"log{suffix}"
    path.write_bytes(compress(data))
    with open_decompressed(str(path)) as stream:
        assert stream.read() == data
    with open_decompressed(str(path)) as stream:
        assert b"".join(stream) == data


@pytest.mark.parametrize("how", sorted(COMPRESSORS))
def test_a_compressed_log_is_judged_as_the_plain_log(tmp_path: Path, how: str) -> None:
    """The same summary and line counts as the file it was made of."""
    suffix, compress = COMPRESSORS[how]
    path = tmp_path / f"runs.jsonl{suffix}"
    path.write_bytes(compress(SAMPLE.read_bytes()))
    plain, packed = summarize_paths([SAMPLE]).to_dict(), summarize_paths([path]).to_dict()
    assert packed["sources"][0]["in_records"] == plain["sources"][0]["in_records"] > 0
    assert {**packed, "sources": None} == {**plain, "sources": None}


def _cut_log(tmp_path: Path, suffix: str, compress: Callable[[bytes], bytes]) -> tuple[Path, int]:
    """A log of many lines, compressed and cut in half; the number of its lines."""
    lines = [b'{"id": "run_%d", "status": "queued"}' % k for k in range(20_000)]
    packed = compress(b"\n".join(lines) + b"\n")
    path = tmp_path / f"cut.jsonl{suffix}"
    path.write_bytes(packed[: len(packed) // 2])
    return path, len(lines)


@pytest.mark.parametrize("how", ["gzip", "zstd"])
def test_a_log_cut_while_compressed_is_judged_up_to_the_cut(tmp_path: Path, how: str) -> None:
    """The lines before the cut are judged; one error says the data was cut short, after which line."""
    path, total = _cut_log(tmp_path, *COMPRESSORS[how])
    errors: list[str] = []
    summary = summarize_paths([path, SAMPLE], on_error=lambda e: errors.append(str(e)))
    (cut, sample) = summary.sources
    assert 0 < cut.lines < total
    assert cut.in_records == cut.lines
    assert sample.in_records > 0  # the next input is read
    assert errors == [
        f"{path}: read error after line {cut.lines:,}: compressed data cut short ("
        + errors[0].split(" cut short (", 1)[1]
    ]
    assert errors[0].endswith("): a file still being written, or copied in part?")
    assert summary.input_errors == 1


@pytest.mark.parametrize(
    ("how", "at", "says"),
    [
        ("gzip", 30, "read error: compressed data is damaged (Error -3 while decompressing data: "),
        ("zstd", 0, "read error: not Zstandard data, or damaged: "),
    ],
)
def test_damaged_compressed_data_is_one_input_error(tmp_path: Path, how: str, at: int, says: str) -> None:
    """A byte flipped where the decompressor sees it (a deflate block's codes, a frame's magic number).

    The file is reported once, naming it, and the other inputs are judged. (A byte flipped in
    the data itself decompresses to other bytes: its lines are reported one by one as the
    reader finds them, or, for gzip, the checksum at the end fails.)
    """
    suffix, compress = COMPRESSORS[how]
    packed = bytearray(compress(SAMPLE.read_bytes()))
    packed[at] ^= 0xFF
    path = tmp_path / f"bad.jsonl{suffix}"
    path.write_bytes(bytes(packed))
    errors: list[str] = []
    summary = summarize_paths([path, SAMPLE], on_error=lambda e: errors.append(str(e)))
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}: {says}")
    assert summary.sources[1].in_records > 0
