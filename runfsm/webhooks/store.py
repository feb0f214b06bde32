"""The receiver's durable state: one SQLite file (WAL), shared by every receiver process on the host.

Tables
------
``events``
    Every delivery, keyed by ``webhook-id`` (the idempotency key): a second delivery of the
    same id only counts (``deliveries``). A row is written, and committed, *before* the
    receiver answers 2xx; ``processed_at IS NULL`` marks it queued. Processing judges it
    (``verdict``: applied, repeated, late, illegal, or ignored for types runfsm does not follow)
    and names the tracker history entry it made (``obs_index``). Polls and tracked creates go
    through the same table, keyed ``poll:...`` / ``track:...``.
``objects``
    One row per response or batch: its tracker (``RunTracker.to_json``), state, the newest time
    applied on its own timeline, the deadline of its terminal event and when reconcile polls it next.
``entered``
    One row per state entered (object, history entry, state): the callbacks' outbox. Written in
    the transaction that moved the tracker; a callback is claimed, run, then marked fired.

Every change is one ``BEGIN IMMEDIATE`` transaction, so processes on one host take turns;
``synchronous=FULL`` (the default) makes a commit survive a power cut, not only a crash of the process.
Nothing here knows a lifecycle: states are stored by name, the receiver judges.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import os

__all__ = ["EnteredRow", "ObjectRow", "PendingRow", "Processed", "WebhookStore"]

SCHEMA_VERSION = "1"
_TABLES = ("runfsm_meta", "events", "objects", "entered")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runfsm_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    key TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    event_id TEXT,
    type TEXT,
    object_id TEXT NOT NULL,
    lifecycle TEXT,
    state TEXT,
    at REAL NOT NULL,
    received_at REAL NOT NULL,
    last_received_at REAL NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1,
    body TEXT,
    processed_at REAL,
    verdict TEXT,
    obs_index INTEGER
);
CREATE INDEX IF NOT EXISTS events_pending ON events (object_id) WHERE processed_at IS NULL;
CREATE INDEX IF NOT EXISTS events_object ON events (object_id);
CREATE TABLE IF NOT EXISTS objects (
    object_id TEXT PRIMARY KEY,
    lifecycle TEXT NOT NULL,
    state TEXT NOT NULL,
    terminal INTEGER NOT NULL,
    timeline_at REAL,
    tracker TEXT NOT NULL,
    first_seen REAL NOT NULL,
    updated_at REAL NOT NULL,
    deadline REAL,
    due_at REAL,
    polls INTEGER NOT NULL DEFAULT 0,
    fields TEXT
);
CREATE INDEX IF NOT EXISTS objects_due ON objects (due_at) WHERE terminal = 0;
CREATE TABLE IF NOT EXISTS entered (
    object_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    state TEXT NOT NULL,
    lifecycle TEXT NOT NULL,
    previous TEXT NOT NULL,
    inferred INTEGER NOT NULL,
    key TEXT NOT NULL,
    at REAL NOT NULL,
    claimed_by TEXT,
    claimed_at REAL,
    fired_at REAL,
    error TEXT,
    PRIMARY KEY (object_id, idx, state)
);
CREATE INDEX IF NOT EXISTS entered_unfired ON entered (claimed_at) WHERE fired_at IS NULL;
"""


@dataclass(frozen=True, slots=True)
class PendingRow:
    """A queued sample of one object, as stored."""

    key: str
    lifecycle: str
    state: str
    at: float


@dataclass(slots=True)
class ObjectRow:
    """An object's stored row (``tracker`` None for an object heard of for the first time)."""

    object_id: str
    lifecycle: str
    tracker: str | None = None
    timeline_at: float | None = None
    deadline: float | None = None
    due_at: float | None = None
    polls: int = 0


@dataclass(slots=True)
class Processed:
    """What processing made of one object's pending samples (returned by the receiver's judge)."""

    tracker: str
    state: str
    terminal: bool
    timeline_at: float | None
    deadline: float | None
    due_at: float | None
    verdicts: list[tuple[str, str, int | None]] = field(default_factory=list)
    """``(key, verdict, history index)`` per sample."""
    entered: list[tuple[int, str, str, bool, str, float]] = field(default_factory=list)
    """``(history index, state, previous, inferred, key, at)`` per state entered."""


@dataclass(frozen=True, slots=True)
class EnteredRow:
    """A state entered whose callbacks are due."""

    object_id: str
    index: int
    state: str
    lifecycle: str
    previous: str
    inferred: bool
    key: str
    at: float


_ACCEPT = (
    "INSERT INTO events (key, source, event_id, type, object_id, lifecycle, state, at, received_at,"
    " last_received_at, body, processed_at, verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (key) DO UPDATE SET deliveries = deliveries + 1, last_received_at = excluded.received_at"
    " RETURNING deliveries"
)


@dataclass(slots=True)
class _Accept:
    """One sample waiting for its group's commit."""

    row: tuple[object, ...]
    done: bool = False
    new: bool = False
    error: BaseException | None = None

    def outcome(self) -> bool:
        if self.error is not None:
            raise self.error
        return self.new


Judge = Callable[[ObjectRow, Sequence[PendingRow]], Processed]


class WebhookStore:
    """The SQLite file behind a receiver. Thread-safe (a connection per thread); several processes may share it.

    ``timeout`` is how long a writer waits for another process's transaction before
    :class:`sqlite3.OperationalError` (``database is locked``), which the receiver answers with 503.
    ``synchronous`` is SQLite's: ``"FULL"`` (the default) makes every commit survive a power cut;
    ``"NORMAL"`` skips the flush per commit and still survives a crash of the process (SQLite's WAL
    guarantee), for a several times higher event rate on slow disks (``tests/benchmarks/bench_webhooks.py``).
    ``read_only`` opens the file as it is (SQLite's ``mode=ro``), for what only reads (``runfsm webhooks
    state`` and ``log``): nothing is created or written, a missing file is :class:`sqlite3.OperationalError`,
    and a database without the store's tables is a ValueError saying so.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 5.0,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        read_only: bool = False,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
        self.path = Path(path)
        self.timeout = timeout
        self.synchronous = synchronous
        self.read_only = read_only
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._group = threading.Condition()
        self._queue: list[_Accept] = []
        self._committing = False
        try:
            found = self._schema(self._conn()) if read_only else self._create()
            if found != SCHEMA_VERSION:
                raise ValueError(f"{self.path}: webhook store schema {found!r}, this runfsm reads {SCHEMA_VERSION!r}")
        except BaseException:
            self.close()
            raise

    def _create(self) -> object:
        """Create the tables the file lacks; the schema version it holds.

        ValueError for a database of something else (tables, none of the store's): it is not
        written to, as a store needs a file of its own.
        """
        self._refuse_foreign()
        with self._write() as db:  # one transaction: processes opening the file at once take turns
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT OR IGNORE INTO runfsm_meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            return self._schema(db)

    def _refuse_foreign(self) -> None:
        """ValueError for a file that is a database of something else, looked at read-only (nothing set or written)."""
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return
        probe = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", timeout=self.timeout, uri=True)
        try:
            tables = sorted(name for (name,) in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        finally:
            probe.close()
        if tables and not set(_TABLES) & set(tables):
            shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
            raise ValueError(
                f"{self.path} is a SQLite database of something else (tables: {shown}); "
                "a runfsm webhook store needs a file of its own"
            )

    def _schema(self, db: sqlite3.Connection) -> object:
        """The schema version the file holds; ValueError if it is not a webhook store (it lacks its tables)."""
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [name for name in _TABLES if name not in tables]
        if len(missing) == len(_TABLES):
            raise ValueError(
                f"{self.path} is not a runfsm webhook store (it has none of its tables: {', '.join(_TABLES)})"
            )
        if missing:
            raise ValueError(f"{self.path} is not a whole runfsm webhook store (it lacks {', '.join(missing)})")
        found = db.execute("SELECT value FROM runfsm_meta WHERE key = 'schema'").fetchone()
        return found[0] if found is not None else None

    def __repr__(self) -> str:
        return f"<WebhookStore {str(self.path)!r}>"

    # -- connections

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self.read_only:  # mode=ro: SQLite neither creates the file nor writes to it
                where = f"{self.path.resolve().as_uri()}?mode=ro"
                conn = sqlite3.connect(
                    where, timeout=self.timeout, isolation_level=None, check_same_thread=False, uri=True
                )
            else:
                conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={self.synchronous}")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this store opened (idempotent)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> WebhookStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- receiving

    def accept(
        self,
        key: str,
        *,
        source: str,
        object_id: str,
        at: float,
        received_at: float,
        lifecycle: str | None,
        state: str | None,
        event_id: str | None = None,
        type: str | None = None,
        body: str | None = None,
    ) -> bool:
        """Queue one sample durably; True if it is new, False for a repeated ``key`` (only counted).

        Returns once the sample is committed. Samples of a type no lifecycle follows (``lifecycle``
        None) are stored already judged ``ignored``. Threads accepting at the same time share one
        commit (group commit): the first to find no commit running writes everyone's rows queued
        so far in one transaction, so a slow flush is paid once per group, not once per event.
        """
        ignored = lifecycle is None
        row = (
            key,
            source,
            event_id,
            type,
            object_id,
            lifecycle,
            state,
            at,
            received_at,
            received_at,
            body,
            received_at if ignored else None,
            "ignored" if ignored else None,
        )
        item = _Accept(row)
        with self._group:
            self._queue.append(item)
            while not item.done and self._committing:
                self._group.wait()
            if item.done:
                return item.outcome()
            batch, self._queue = self._queue, []
            self._committing = True
        try:
            with self._write() as db:
                for queued in batch:
                    found = db.execute(_ACCEPT, queued.row).fetchone()
                    queued.new = bool(found[0] == 1)
        except BaseException as err:
            for queued in batch:
                queued.error = err
            raise
        finally:
            with self._group:
                for queued in batch:
                    queued.done = True
                self._committing = False
                self._group.notify_all()
        return item.outcome()

    def register(self, row: ObjectRow, tracker: str, state: str, *, now: float) -> bool:
        """Create an object's row (a tracked create); False if the object is already known."""
        with self._write() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO objects (object_id, lifecycle, state, terminal, timeline_at, tracker,"
                " first_seen, updated_at, deadline, due_at) VALUES (?, ?, ?, 0, NULL, ?, ?, ?, ?, ?)",
                (row.object_id, row.lifecycle, state, tracker, now, now, row.deadline, row.due_at),
            )
            return cur.rowcount == 1

    # -- processing

    def pending_count(self) -> int:
        """Samples queued and not yet judged."""
        return int(self._conn().execute("SELECT count(*) FROM events WHERE processed_at IS NULL").fetchone()[0])

    def process(self, judge: Judge, *, now: float, limit: int = 200) -> int:
        """Judge up to ``limit`` queued samples, object by object, in one transaction; return how many.

        ``judge`` gets the object's row and its queued samples and returns the new row, the
        verdicts and the states entered; everything is written before the commit.
        """
        with self._write() as db:
            rows = db.execute(
                "SELECT key, object_id, lifecycle, state, at FROM events WHERE processed_at IS NULL"
                " ORDER BY object_id, at LIMIT ?",
                (limit,),
            ).fetchall()
            by_object: dict[str, list[PendingRow]] = {}
            for key, object_id, lifecycle, state, at in rows:
                by_object.setdefault(object_id, []).append(PendingRow(key, lifecycle, state, at))
            for object_id, samples in by_object.items():
                found = db.execute(
                    "SELECT lifecycle, tracker, timeline_at, deadline, due_at, polls FROM objects WHERE object_id = ?",
                    (object_id,),
                ).fetchone()
                if found is None:
                    current = ObjectRow(object_id, samples[0].lifecycle)
                else:
                    current = ObjectRow(object_id, found[0], found[1], found[2], found[3], found[4], found[5])
                done = judge(current, samples)
                db.execute(
                    "INSERT INTO objects (object_id, lifecycle, state, terminal, timeline_at, tracker, first_seen,"
                    " updated_at, deadline, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (object_id) DO UPDATE SET state = excluded.state, terminal = excluded.terminal,"
                    " timeline_at = excluded.timeline_at, tracker = excluded.tracker,"
                    " updated_at = excluded.updated_at, deadline = excluded.deadline, due_at = excluded.due_at",
                    (
                        object_id,
                        current.lifecycle,
                        done.state,
                        int(done.terminal),
                        done.timeline_at,
                        done.tracker,
                        now,
                        now,
                        done.deadline,
                        done.due_at,
                    ),
                )
                db.executemany(
                    "UPDATE events SET processed_at = ?, verdict = ?, obs_index = ? WHERE key = ?",
                    [(now, verdict, index, key) for key, verdict, index in done.verdicts],
                )
                db.executemany(
                    "INSERT OR IGNORE INTO entered (object_id, idx, state, lifecycle, previous, inferred, key, at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (object_id, idx, state, current.lifecycle, previous, int(inferred), key, at)
                        for idx, state, previous, inferred, key, at in done.entered
                    ],
                )
            return len(rows)

    # -- callbacks

    def claim_entered(self, owner: str, *, now: float, lease: float, limit: int = 200) -> list[EnteredRow]:
        """Claim states entered whose callbacks have not fired.

        Those unclaimed, claimed by ``owner`` itself (a round cut short by a locked store), or
        claimed by another owner more than ``lease`` seconds ago (a process that died).
        """
        with self._write() as db:
            rows = db.execute(
                "SELECT object_id, idx, state, lifecycle, previous, inferred, key, at FROM entered"
                " WHERE fired_at IS NULL AND (claimed_at IS NULL OR claimed_by = ? OR claimed_at < ?)"
                " ORDER BY at, object_id, idx, rowid LIMIT ?",
                (owner, now - lease, limit),
            ).fetchall()
            db.executemany(
                "UPDATE entered SET claimed_by = ?, claimed_at = ? WHERE object_id = ? AND idx = ? AND state = ?",
                [(owner, now, r[0], r[1], r[2]) for r in rows],
            )
        return [EnteredRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7]) for r in rows]

    def mark_fired(self, rows: Sequence[tuple[EnteredRow, str | None]], *, now: float) -> None:
        """Record that the callbacks of ``rows`` ran, each with what one of them raised (or None), in one commit."""
        with self._write() as db:
            db.executemany(
                "UPDATE entered SET fired_at = ?, error = ? WHERE object_id = ? AND idx = ? AND state = ?",
                [(now, error, row.object_id, row.index, row.state) for row, error in rows],
            )

    # -- reconcile

    def overdue(self, now: float, *, limit: int = 100) -> list[ObjectRow]:
        """Objects not ended whose next poll is due by ``now``, the most overdue first."""
        rows = (
            self._conn()
            .execute(
                "SELECT object_id, lifecycle, tracker, timeline_at, deadline, due_at, polls FROM objects"
                " WHERE terminal = 0 AND due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?",
                (now, limit),
            )
            .fetchall()
        )
        return [ObjectRow(*r) for r in rows]

    def next_due(self) -> float | None:
        """The earliest due time of an object not ended (None if none is due ever)."""
        row = self._conn().execute("SELECT min(due_at) FROM objects WHERE terminal = 0").fetchone()
        return float(row[0]) if row[0] is not None else None

    def polled(self, object_id: str, *, due_at: float | None, fields: str | None) -> None:
        """Count one reconcile poll of ``object_id``; set its next due time and the object it returned."""
        with self._write() as db:
            db.execute(
                "UPDATE objects SET polls = polls + 1, due_at = ?, fields = coalesce(?, fields) WHERE object_id = ?",
                (due_at, fields, object_id),
            )

    def set_fields(self, object_id: str, fields: str) -> None:
        """Keep the retrieved object (JSON) of ``object_id``."""
        with self._write() as db:
            db.execute("UPDATE objects SET fields = ? WHERE object_id = ?", (fields, object_id))

    # -- reading

    def object(self, object_id: str) -> dict[str, Any] | None:
        """What the store knows of one object (JSON-ready), its events and entered states included."""
        conn = self._conn()
        row = conn.execute(
            "SELECT object_id, lifecycle, state, terminal, timeline_at, first_seen, updated_at, deadline, due_at,"
            " polls, fields, tracker FROM objects WHERE object_id = ?",
            (object_id,),
        ).fetchone()
        events = conn.execute(
            "SELECT key, source, event_id, type, lifecycle, state, at, received_at, last_received_at, deliveries,"
            " processed_at, verdict, obs_index FROM events WHERE object_id = ? ORDER BY at, received_at, key",
            (object_id,),
        ).fetchall()
        if row is None and not events:
            return None
        entered = conn.execute(
            "SELECT idx, state, previous, inferred, key, at, fired_at, error FROM entered WHERE object_id = ?"
            " ORDER BY idx, rowid",
            (object_id,),
        ).fetchall()
        out: dict[str, Any] = {"id": object_id}
        if row is not None:
            out.update(
                lifecycle=row[1],
                state=row[2],
                terminal=bool(row[3]),
                timeline_at=row[4],
                first_seen=row[5],
                updated_at=row[6],
                deadline=row[7],
                due_at=row[8],
                polls=row[9],
                fields=json.loads(row[10]) if row[10] is not None else None,
                tracker=json.loads(row[11]),
            )
        event_keys = (
            "key",
            "source",
            "event_id",
            "type",
            "lifecycle",
            "state",
            "at",
            "received_at",
            "last_received_at",
            "deliveries",
            "processed_at",
            "verdict",
            "obs_index",
        )
        out["events"] = [dict(zip(event_keys, e, strict=True)) for e in events]
        entered_keys = ("index", "state", "previous", "inferred", "key", "at", "fired_at", "error")
        out["entered"] = [dict(zip(entered_keys, e, strict=True)) for e in entered]
        for e in out["entered"]:
            e["inferred"] = bool(e["inferred"])
        return out

    def summary(self) -> dict[str, Any]:
        """Counts for the whole store (JSON-ready): objects by lifecycle and state, events by verdict."""
        conn = self._conn()
        states: dict[str, dict[str, int]] = {}
        for lifecycle, state, n in conn.execute(
            "SELECT lifecycle, state, count(*) FROM objects GROUP BY lifecycle, state ORDER BY lifecycle, state"
        ):
            states.setdefault(lifecycle, {})[state] = n
        verdicts = {
            (v if v is not None else "queued"): n
            for v, n in conn.execute("SELECT verdict, count(*) FROM events GROUP BY verdict ORDER BY verdict")
        }
        deliveries = conn.execute("SELECT coalesce(sum(deliveries), 0), count(*) FROM events").fetchone()
        unfired = conn.execute("SELECT count(*) FROM entered WHERE fired_at IS NULL").fetchone()[0]
        errors = conn.execute("SELECT count(*) FROM entered WHERE error IS NOT NULL").fetchone()[0]
        return {
            "store": str(self.path),
            "objects": states,
            "events": verdicts,
            "deliveries": deliveries[0],
            "distinct_events": deliveries[1],
            "callbacks_pending": unfired,
            "callback_errors": errors,
        }

    def bodies(self, *, lifecycle: str | None = None) -> Iterator[str]:
        """The body of every webhook event received, once each, in the order they first arrived.

        ``lifecycle`` (a lifecycle's name) keeps only the events about its objects.
        """
        rows = self._conn().execute(
            "SELECT body FROM events WHERE source = 'webhook' AND body IS NOT NULL"
            " AND (? IS NULL OR lifecycle = ?) ORDER BY received_at, rowid",
            (lifecycle, lifecycle),
        )
        for (body,) in rows:
            yield body

    def object_ids(self) -> list[str]:
        """Every object id, sorted."""
        return [r[0] for r in self._conn().execute("SELECT object_id FROM objects ORDER BY object_id")]
