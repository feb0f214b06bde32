"""The SQLite store: group commit under many threads, several processes on one file, reopening resumes, read-only."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from typing import TYPE_CHECKING

import pytest

from runfsm.webhooks import WebhookStore

if TYPE_CHECKING:
    from pathlib import Path


def _accept_all(store: WebhookStore, keys: list[str], results: list[bool]) -> None:
    for key in keys:
        results.append(
            store.accept(
                key, source="webhook", object_id=f"obj_{key}", at=1.0, received_at=2.0, lifecycle="l", state="S"
            )
        )


def test_threads_accepting_at_once_share_commits_and_each_key_is_new_once(tmp_path: Path) -> None:
    """Sixteen threads accept 50 keys each, every key by four threads.

    Every key is reported new exactly once, stored once, and its deliveries count all four calls.
    """
    store = WebhookStore(tmp_path / "hooks.sqlite")
    keys = [f"msg_{i}" for i in range(200)]
    results: list[list[bool]] = [[] for _ in range(16)]
    threads = [
        threading.Thread(target=_accept_all, args=(store, keys[(t % 4) * 50 : (t % 4 + 1) * 50], results[t]))
        for t in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(sum(r) for r in results) == 200
    with store:
        summary = store.summary()
        assert summary["distinct_events"] == 200
        assert summary["deliveries"] == 800


def _process(path: str, keys: list[str], out: multiprocessing.Queue[int]) -> None:
    results: list[bool] = []
    with WebhookStore(path, timeout=60.0) as store:
        _accept_all(store, keys, results)
    out.put(sum(results))


@pytest.mark.slow
def test_several_processes_share_one_file(tmp_path: Path) -> None:
    """Three processes accept the same 100 keys into one file (WAL): 100 rows, 300 deliveries, 100 new in all."""
    path = str(tmp_path / "hooks.sqlite")
    WebhookStore(path).close()
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[int] = context.Queue()
    keys = [f"msg_{i}" for i in range(100)]
    workers = [context.Process(target=_process, args=(path, keys, out)) for _ in range(3)]
    for w in workers:
        w.start()
    news = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    assert sum(news) == 100
    with WebhookStore(path) as store:
        assert store.summary()["distinct_events"] == 100
        assert store.summary()["deliveries"] == 300
        mode = store._conn().execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_a_store_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    """A file written by another schema version is not silently mixed with this one."""
    path = tmp_path / "hooks.sqlite"
    with WebhookStore(path) as store:
        store._conn().execute("UPDATE runfsm_meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(ValueError, match="schema '99'"):
        WebhookStore(path)


def test_synchronous_must_be_full_or_normal(tmp_path: Path) -> None:
    """Only SQLite's two settings that keep a committed event across a crash are accepted."""
    with pytest.raises(ValueError, match="FULL"):
        WebhookStore(tmp_path / "hooks.sqlite", synchronous="OFF")  # type: ignore[arg-type]


def _users_database(path: Path) -> Path:
    """A SQLite database of someone else's: one ``users`` table, one row."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (name TEXT)")
    db.execute("INSERT INTO users VALUES ('ada')")
    db.commit()
    db.close()
    return path


def test_read_only_reads_a_store_as_it_is_and_cannot_write_to_it(tmp_path: Path) -> None:
    """``read_only=True`` reads what a store holds, with SQLite's ``mode=ro``: the file's bytes stay as they were."""
    path = tmp_path / "hooks.sqlite"
    with WebhookStore(path) as store:
        _accept_all(store, ["msg_1"], [])
    before = path.read_bytes()
    with WebhookStore(path, read_only=True) as store:
        assert store.summary()["distinct_events"] == 1
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            _accept_all(store, ["msg_2"], [])
    assert path.read_bytes() == before


@pytest.mark.parametrize("kind", ["users", "empty"])
def test_read_only_refuses_a_database_that_is_not_a_store_and_leaves_it_alone(tmp_path: Path, kind: str) -> None:
    """Another program's SQLite database, or an empty file, is said not to be a webhook store.

    No table of the store is created in it: its bytes are unchanged.
    """
    path = tmp_path / "other.db"
    if kind == "users":
        _users_database(path)
    else:
        path.touch()
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"other\.db is not a runfsm webhook store \(it has none of its tables"):
        WebhookStore(path, read_only=True)
    assert path.read_bytes() == before


def test_a_store_is_not_made_in_another_programs_database(tmp_path: Path) -> None:
    """Opened to write (``serve``), a database with tables and none of the store's is refused, left as it was.

    An empty file, or a new one, becomes a store.
    """
    path = tmp_path / "other.db"
    _users_database(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"other\.db is a SQLite database of something else \(tables: users\)"):
        WebhookStore(path)
    assert path.read_bytes() == before
    empty = tmp_path / "empty.db"
    empty.touch()
    with WebhookStore(empty) as store:
        assert store.summary()["deliveries"] == 0


def test_read_only_refuses_a_store_missing_some_of_its_tables(tmp_path: Path) -> None:
    """A file with some of the store's tables and not the others is named as an incomplete store."""
    path = tmp_path / "hooks.sqlite"
    with WebhookStore(path) as store:
        store._conn().execute("DROP TABLE entered")
    with pytest.raises(ValueError, match=r"is not a whole runfsm webhook store \(it lacks entered\)"):
        WebhookStore(path, read_only=True)


def test_read_only_does_not_create_a_missing_file(tmp_path: Path) -> None:
    """A store opened read-only where there is no file is SQLite's error, and no file is created."""
    path = tmp_path / "nope.sqlite"
    with pytest.raises(sqlite3.OperationalError):
        WebhookStore(path, read_only=True)
    assert not path.exists()


def test_another_schema_version_names_the_file_once(tmp_path: Path) -> None:
    """The schema mismatch, read-only or not, says the file's name once, then both versions."""
    path = tmp_path / "hooks.sqlite"
    with WebhookStore(path) as store:
        store._conn().execute("UPDATE runfsm_meta SET value = '2' WHERE key = 'schema'")
    for read_only in (False, True):
        with pytest.raises(ValueError, match="schema") as refused:
            WebhookStore(path, read_only=read_only)
        assert str(refused.value) == f"{path}: webhook store schema '2', this runfsm reads '1'"
