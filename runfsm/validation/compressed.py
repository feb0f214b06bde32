"""Compressed logs: a file's bytes decompressed (``.gz``, ``.zst``), and the errors reading them may raise.

A log cut while it was written (or damaged) is still read up to where it breaks: what was read
is judged, and the break is an error the readers report (:data:`READ_ERRORS`), never a
traceback and never a silent end. Python's ``gzip`` tells a cut stream by ``EOFError`` and bad
data by ``zlib.error`` or ``gzip.BadGzipFile``; a ``.zst`` stream is read frame by frame
(:class:`ZstdReader`), and one that ends inside a frame raises ``EOFError`` too.
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import IO, TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["READ_ERRORS", "ZstdReader", "open_decompressed", "read_error"]

READ_ERRORS: Final = (OSError, EOFError, zlib.error)
"""What reading an input's bytes may raise: the file (``OSError``), or its compressed data, cut short or bad."""


def read_error(err: BaseException) -> str:
    """What went wrong reading an input, in words (``OSError.strerror`` when it has one)."""
    if isinstance(err, EOFError):
        why = err or "it ended inside a block"
        return f"compressed data cut short ({why}): a file still being written, or copied in part?"
    if isinstance(err, zlib.error):
        return f"compressed data is damaged ({err})"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def open_decompressed(name: str) -> IO[bytes]:
    """A file's bytes, decompressed when its name ends in ``.gz`` (gzip) or ``.zst`` (Zstandard).

    Reading ``.zst`` needs the ``zstandard`` package (in the ``duckdb`` extra); without it the
    file cannot be read (an ``OSError`` the readers report).
    """
    if name.endswith(".gz"):
        return gzip.open(name, "rb")  # type: ignore[return-value]  # a GzipFile reads bytes
    if name.endswith(".zst"):
        return io.BufferedReader(ZstdReader(name), buffer_size=_CHUNK)
    return open(name, "rb")


_CHUNK: Final = 1 << 20
_COMPRESSED_CHUNK: Final = 1 << 16
"""Compressed bytes decompressed at a time: a log's text may be a hundred times as large (memory stays small)."""


class ZstdReader(io.RawIOBase):
    """A ``.zst`` file's decompressed bytes, every frame in turn (``zstandard``'s own reader has no ``readline``).

    ``EOFError`` when the file ends inside a frame (its data cut short), ``OSError`` when it is no
    Zstandard data (the readers report both).
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        try:
            import zstandard  # noqa: PLC0415  (optional: the duckdb extra)
        except ImportError:
            raise OSError(f"reading {name} needs the zstandard package: python -m pip install zstandard") from None
        self._error: type[Exception] = zstandard.ZstdError
        self._file = open(name, "rb")  # noqa: SIM115  (closed with this reader)
        self._context = zstandard.ZstdDecompressor()
        self._frame: Any = self._context.decompressobj()
        self._in_frame = False
        """True when some of the current frame was read, and not its end."""
        self._out = memoryview(b"")

    def readable(self) -> bool:
        """True: it is read, never written."""
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Decompressed bytes into ``buffer``; 0 at the end of the last frame."""
        while not self._out:
            data = self._file.read(_COMPRESSED_CHUNK)
            if not data:
                if self._in_frame:
                    raise EOFError("the file ended inside a Zstandard frame")
                return 0
            self._out = memoryview(self._decompressed(data))
        target = memoryview(buffer).cast("B")
        size = min(len(target), len(self._out))
        target[:size] = self._out[:size]
        self._out = self._out[size:]
        return size

    def _decompressed(self, data: bytes) -> bytes:
        """The bytes ``data`` completes, across frames (a frame's end leaves the next one's start unused)."""
        parts: list[bytes] = []
        while data:
            try:
                parts.append(self._frame.decompress(data))
            except self._error as err:
                raise OSError(f"not Zstandard data, or damaged: {err}") from None
            self._in_frame = not self._frame.eof
            if not self._frame.eof:
                break
            data = self._frame.unused_data
            self._frame = self._context.decompressobj()
        return b"".join(parts)

    def close(self) -> None:
        """Close the file too."""
        self._file.close()
        super().close()
