"""``runfsm webhooks state`` and ``serve``: JSON of what a store knows, clear errors, exit codes that mean something."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from runfsm.commands.main import main
from runfsm.testing.fake.webhooks import TEST_SECRET, signed_event
from runfsm.webhooks import Receiver

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def _store(tmp_path: Path) -> Path:
    path = tmp_path / "hooks.sqlite"
    with Receiver(path, secret=TEST_SECRET) as receiver:
        receiver.track({"id": "batch_1", "object": "batch", "status": "validating", "created_at": 100})
        receiver.handle(*signed_event("msg_1", "batch.completed", "batch_1", 200))
        receiver.handle(*signed_event("msg_1", "batch.completed", "batch_1", 200))
        receiver.drain()
    return path


def test_state_prints_the_stores_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without an id: objects by lifecycle and state, events by verdict, deliveries, callbacks pending."""
    path = _store(tmp_path)
    assert main(["webhooks", "state", "--store", str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["events"] == {"applied": 2}
    assert data["deliveries"] == 3
    assert list(data["objects"].values()) == [{"Completed": 1}]


def test_state_of_one_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With an id: the object's state, its tracker, and each event with its verdict and deliveries."""
    path = _store(tmp_path)
    assert main(["webhooks", "state", "--store", str(path), "batch_1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["state"] == "Completed"
    assert [(e["key"], e["deliveries"]) for e in data["events"]] == [
        ("track:batch_1:validating:100.000", 1),
        ("msg_1", 2),
    ]
    assert [e["state"] for e in data["entered"]] == ["Validating", "InProgress", "Finalizing", "Completed"]


def test_state_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown id exits 1; a missing store or a file that is not SQLite exits 2 with a message."""
    path = _store(tmp_path)
    assert main(["webhooks", "state", "--store", str(path), "batch_404"]) == 1
    assert "'batch_404' is not in" in capsys.readouterr().err
    assert main(["webhooks", "state", "--store", str(tmp_path / "nope.sqlite")]) == 2
    assert "no store at" in capsys.readouterr().err
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database, " * 100)
    assert main(["webhooks", "state", "--store", str(junk)]) == 2
    assert "error" in capsys.readouterr().err


def test_serve_needs_its_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve`` refuses to start when the environment variable it names is unset, or a callback is not found."""
    monkeypatch.delenv("RUNFSM_NO_SUCH_SECRET", raising=False)
    store = str(tmp_path / "hooks.sqlite")
    assert main(["webhooks", "serve", "--secret-env", "RUNFSM_NO_SUCH_SECRET", "--store", store]) == 2
    assert "$RUNFSM_NO_SUCH_SECRET is not set" in capsys.readouterr().err
    monkeypatch.setenv("HOOK_SECRET", TEST_SECRET)
    argv = ["webhooks", "serve", "--secret-env", "HOOK_SECRET", "--store", store, "--on-change", "json:nope"]
    assert main(argv) == 2
    assert "json has no function 'nope'" in capsys.readouterr().err


def test_log_prints_each_event_body_once_in_arrival_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``log``: one JSON body per line, the repeated delivery once, polls and tracked creates left out."""
    path = _store(tmp_path)
    assert main(["webhooks", "log", "--store", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["batch.completed"]
    assert json.loads(lines[0])["data"] == {"id": "batch_1"}
