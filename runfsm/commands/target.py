"""An output file (``-o``, ``--report``) claimed before the work starts and written whole at the end.

A command that spends minutes validating a log must not find out only then that its report
cannot be written. :func:`claim` therefore creates a temporary file next to the target at once
(so a missing folder, a read-only disk or a denied permission fails before any input is read),
and :meth:`Target.write` fills it and renames it onto the target, so a reader never sees half a
file and a failed command leaves the previous file in place. Targets that are not regular files
(``/dev/null``, a FIFO) are opened directly.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from typing import IO, TYPE_CHECKING

from runfsm.printable import printable

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Target", "TargetError", "claim"]


class TargetError(Exception):
    """The output file cannot be written; the message names it and says why."""


class Target:
    """A claimed output file: fill it (:meth:`write`, or :meth:`text` then :meth:`commit`), or :meth:`abandon` it."""

    def __init__(self, path: str, handle: IO[bytes], temporary: str | None) -> None:
        self.path = path
        self._handle = handle
        self._temporary = temporary

    def _error(self, err: OSError) -> TargetError:
        self.abandon()
        return TargetError(f"cannot write {self.path}: {err.strerror or err}")

    def write(self, data: bytes, *, command: str, what: str) -> None:
        """Write ``data`` as the whole file and :meth:`commit` it."""
        try:
            self._handle.write(data)
        except OSError as err:
            raise self._error(err) from err
        self.commit(command=command, what=what)

    @contextlib.contextmanager
    def text(self) -> Iterator[IO[str]]:
        """The file as UTF-8 text with no newline translation, to stream into; write errors name the file.

        A failed write (a full disk) abandons the file, closing it under the text stream, which
        is then left alone: detaching it would flush it, into a closed file.
        """
        wrapper = io.TextIOWrapper(self._handle, encoding="utf-8", newline="")
        try:
            yield wrapper
            wrapper.flush()
        except OSError as err:
            raise self._error(err) from err
        finally:
            if not self._handle.closed:
                with contextlib.suppress(OSError):  # stopped by something else: the caller abandons the file
                    wrapper.detach()

    def commit(self, *, command: str, what: str) -> None:
        """Close the file, move it onto the target, and say on standard error which file was written."""
        try:
            size = self._handle.tell() if self._temporary is not None else None  # a device has no size
            self._handle.close()
            if self._temporary is not None:
                os.replace(self._temporary, self.path)
                self._temporary = None
        except OSError as err:
            raise self._error(err) from err
        amount = f", {size:,} bytes" if size is not None else ""
        print(f"runfsm {command}: wrote {printable(self.path)} ({what}{amount})", file=sys.stderr)

    def abandon(self) -> None:
        """Give the file up unless committed: close it and remove the temporary copy (the target stays as it was)."""
        with contextlib.suppress(OSError):
            self._handle.close()
        if self._temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._temporary)
            self._temporary = None


def claim(path: str) -> Target:
    """Claim ``path`` for writing now; raises :class:`TargetError` if it cannot be written."""
    try:
        if os.path.isdir(path):
            raise TargetError(f"cannot write {path}: it is a directory")
        if os.path.exists(path) and not os.path.isfile(path):  # a device or a FIFO: no rename onto it
            return Target(path, open(path, "wb"), None)
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.exists(path) and not os.access(path, os.W_OK):
            raise TargetError(f"cannot write {path}: Permission denied")
        fd, temporary = tempfile.mkstemp(prefix=".runfsm-", suffix=".part", dir=folder)
    except OSError as err:
        raise TargetError(f"cannot write {path}: {err.strerror or err}") from err
    with contextlib.suppress(OSError):  # the new file gets the permissions a plain open() would give
        umask = os.umask(0)
        os.umask(umask)
        mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o666 & ~umask
        os.chmod(temporary, mode)
    return Target(path, os.fdopen(fd, "wb"), temporary)
