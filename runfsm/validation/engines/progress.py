"""How far an engine has read its inputs: bytes done of the bytes there are, told as the reading goes.

The ``duckdb`` engine reads each input in one query; DuckDB tracks how far a running query is
(``query_progress``, which another thread may ask while the query runs), so :class:`ReadProgress`
asks it a few times a second and tells ``on_progress(done, total)``: the bytes of the inputs read
before, plus that share of the input being read (DuckDB's count moves a read buffer at a time,
so a small input goes from nothing to all at once). An input the python reader reads counts when
it is read, as do all of them when the engine gives the python engine's answer. The numbers are
file sizes (a compressed input counts its compressed bytes). ``done`` never goes back, and each
value is told once: when an input is read again (a second pass tolerating bad lines, or the
validation done again when its lines are odd), it stays where it was until the new pass is further.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import duckdb

__all__ = ["POLL_SECONDS", "ReadProgress", "input_size"]

POLL_SECONDS: Final = 0.2
"""How often a running query is asked how far it is."""


def input_size(name: str) -> int:
    """The bytes an input has (0 when it cannot be told: a pipe, a missing file; its reader reports it)."""
    try:
        return os.path.getsize(name) if os.path.isfile(name) else 0
    except OSError:
        return 0


class ReadProgress:
    """The progress of reading the inputs, told to ``on_progress(done, total)`` (bytes); ``done`` never goes back.

    One instance may follow several engines in turn (:meth:`attach` each one's connection): an
    engine that reads the inputs again starts where the last one was.
    """

    def __init__(self, on_progress: Callable[[int, int], object]) -> None:
        self.on_progress = on_progress
        self.con: duckdb.DuckDBPyConnection | None = None
        self.sizes: list[int] = []
        self.finished: set[int] = set()
        """The inputs the engine read (of :attr:`sizes`)."""
        self.done = 0
        """Bytes of the inputs read (the most told so far)."""
        self._lock = threading.Lock()
        self._told = False

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Follow the queries of this connection from now on."""
        # DuckDB tracks a query's progress only when its progress bar is on; it draws nothing so
        con.execute("SET enable_progress_bar = true")
        con.execute("SET enable_progress_bar_print = false")
        con.execute("SET progress_bar_time = 0")
        self.con = con

    @property
    def total(self) -> int:
        """The bytes of the inputs to read."""
        return sum(self.sizes)

    def plan(self, names: list[str]) -> None:
        """The inputs an engine is to read (their sizes make the total); none of them read yet."""
        self.sizes = [input_size(name) for name in names]
        self.finished = set()
        self._tell(self.done)

    @property
    def _finished_bytes(self) -> int:
        return sum(self.sizes[k] for k in self.finished)

    @contextmanager
    def reading(self, *indices: int) -> Iterator[None]:
        """While DuckDB's queries read these inputs: a thread asks how far they are every :data:`POLL_SECONDS`."""
        before, size, con = self._finished_bytes, sum(self.sizes[k] for k in indices), self.con
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(POLL_SECONDS):
                percent = con.query_progress() if con is not None else -1.0
                if percent > 0:  # -1: no query running now (between two of them)
                    self._tell(before + int(size * min(percent, 100.0) / 100))

        poller = threading.Thread(target=poll, name="runfsm-read-progress", daemon=True)
        poller.start()
        try:
            yield
        finally:
            stop.set()
            poller.join()

    def read(self, index: int) -> None:
        """Input ``index`` is read (by DuckDB, or by the python reader)."""
        self.finished.add(index)
        self._tell(self._finished_bytes)

    def _tell(self, done: int) -> None:
        """Tell ``done`` if it is further than told before (the first time, whatever it is)."""
        with self._lock:
            if self._told and done <= self.done:
                return
            self._told = True
            self.done = done
            self.on_progress(done, self.total)
