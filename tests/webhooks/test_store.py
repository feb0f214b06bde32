"""The SQLite store: group commit under many threads, several processes on one file, reopening resumes."""

from __future__ import annotations

import multiprocessing
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
