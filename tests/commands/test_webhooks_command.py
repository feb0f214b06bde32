"""``runfsm webhooks state``, ``log`` and ``serve``: JSON of what a store knows, errors in one line, exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx2
import pytest

from runfsm.commands.main import main
from runfsm.testing.fake.webhooks import TEST_SECRET, signed_event
from runfsm.webhooks import Receiver, WebhookStore

if TYPE_CHECKING:
    from pathlib import Path


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
    """``serve`` refuses to start when the variable it names is unset or holds no secret, or a callback is not found."""
    monkeypatch.delenv("RUNFSM_NO_SUCH_SECRET", raising=False)
    store = str(tmp_path / "hooks.sqlite")
    assert main(["webhooks", "serve", "--secret-env", "RUNFSM_NO_SUCH_SECRET", "--store", store]) == 2
    assert "$RUNFSM_NO_SUCH_SECRET is not set" in capsys.readouterr().err
    monkeypatch.setenv("HOOK_SECRET", "whsec_")
    assert main(["webhooks", "serve", "--secret-env", "HOOK_SECRET", "--store", store, "--port", "0"]) == 2
    assert _error_line(capsys.readouterr().err).startswith(
        "runfsm webhooks serve: error: $HOOK_SECRET: the webhook secret is not base64"
    )
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


def test_log_writes_a_body_sent_over_several_lines_on_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sender that pretty-prints its JSON (CRLF or LF): one line of the log each, the same JSON."""
    from runfsm.testing.fake.webhooks import sign

    path = tmp_path / "hooks.sqlite"
    event = {"id": "evt_1", "object": "event", "type": "batch.completed", "created_at": 200, "data": {"id": "b_1"}}
    bodies = [json.dumps(event, indent=2), json.dumps({**event, "id": "evt_2"}, indent=1).replace("\n", "\r\n")]
    with Receiver(path, secret=TEST_SECRET) as receiver:
        for k, body in enumerate(bodies):
            data = body.encode()
            assert receiver.handle(sign(TEST_SECRET, f"msg_{k}", time.time(), data), data).status < 300
        receiver.drain()
    assert main(["webhooks", "log", "--store", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == [event, {**event, "id": "evt_2"}]


def _error_line(err: str) -> str:
    """The one error line on stderr (argparse's usage lines above it aside), never a traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line and not line.startswith(("usage:", " "))]
    assert len(lines) == 1, err
    return lines[0]


_INTERVAL = "is not an interval: give seconds more than 0 and at most 86400 (one day)"
_BUDGET = "is not a budget: give 2 to 1000000 requests a minute"


@pytest.mark.parametrize(
    ("argument", "said"),
    [
        ("--port=-1", "-1 is not a port number (0 to 65535; 0 picks a free one)"),
        ("--port=99999", "99999 is not a port number (0 to 65535; 0 picks a free one)"),
        ("--port=8e19", "'8e19' is not a port number (an integer from 0 to 65535)"),
        ("--path=nosl", "'nosl' is not a URL path: it must start with '/' (such as /hooks)"),
        ("--path=", "'' is not a URL path: it must start with '/' (such as /hooks)"),
        *(
            (f"--reconcile={seconds}", f"{seconds} {_INTERVAL}")
            for seconds in ("0", "-1", "nan", "inf", "1e308", "86401")
        ),
        ("--reconcile=soon", "'soon' is not a number of seconds"),
        *((f"--budget={budget}", f"{budget} {_BUDGET}") for budget in ("0", "1", "-1", "1000001")),
    ],
)
def test_serve_checks_its_options_before_doing_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argument: str, said: str
) -> None:
    """Options out of range are usage errors (exit 2) said when the options are parsed; no store is created.

    A port outside 0..65535, a path not starting with '/', a reconcile interval that is not a finite
    number of seconds in (0, one day], a budget under 2 or over a million requests a minute.
    """
    monkeypatch.setenv("HOOK_SECRET", TEST_SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    store = tmp_path / "hooks.sqlite"
    argv = ["webhooks", "serve", "--secret-env", "HOOK_SECRET", "--store", str(store), "--reconcile", "1", argument]
    assert main(argv) == 2
    option = argument.partition("=")[0]
    assert _error_line(capsys.readouterr().err) == f"runfsm webhooks serve: error: argument {option}: {said}"
    assert not store.exists()


CALLBACK_MODULES = {
    "raising": ('raise RuntimeError("no config")', "RuntimeError: no config"),
    "broken": ("def f(:\n", "SyntaxError: invalid syntax"),
    "exiting": ("import sys\nsys.exit(4)\n", "SystemExit: 4"),
}


@pytest.mark.parametrize("spec", ["raising", "broken", "exiting", "..", ".sibling", "runfsm_no_such_module"])
def test_serve_says_why_a_callback_module_cannot_be_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, spec: str
) -> None:
    """A callback module that cannot be imported is said in one line: the module and what it raised (exit 2).

    ``--on-change MODULE:FUNCTION`` whose module raises on import, has a syntax error, exits, is a
    relative name or is not there: the exception's type and message are in the line.
    """
    module = f"runfsm_test_callbacks_{spec}" if spec in CALLBACK_MODULES else spec
    if spec in CALLBACK_MODULES:
        (tmp_path / f"{module}.py").write_text(CALLBACK_MODULES[spec][0])
        monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("HOOK_SECRET", TEST_SECRET)
    store = str(tmp_path / "hooks.sqlite")
    argv = ["webhooks", "serve", "--secret-env", "HOOK_SECRET", "--store", store, "--on-change", f"{module}:record"]
    assert main(argv) == 2
    line = _error_line(capsys.readouterr().err)
    assert line.startswith(f"runfsm webhooks serve: error: --on-change '{module}:record': cannot import '{module}': ")
    expected = {
        **{name: said for name, (_, said) in CALLBACK_MODULES.items()},
        "..": "TypeError: the 'package' argument is required to perform a relative import for '..'",
        ".sibling": "TypeError: the 'package' argument is required",
        "runfsm_no_such_module": "ModuleNotFoundError: No module named 'runfsm_no_such_module'",
    }[spec]
    assert expected in line


def test_serve_reconcile_without_an_api_key_says_which_variable_to_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--reconcile`` polls with an openai client from the environment: without $OPENAI_API_KEY, one line says so.

    (The address is not one to listen on, so that nothing is served even if a key were found elsewhere.)
    """
    pytest.importorskip("openai")
    for name in ("OPENAI_API_KEY", "OPENAI_ADMIN_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOOK_SECRET", TEST_SECRET)
    store = str(tmp_path / "hooks.sqlite")
    argv = ["webhooks", "serve", "--secret-env", "HOOK_SECRET", "--store", store, "--reconcile", "5"]
    assert main([*argv, "--host", "999.1.1.1"]) == 2
    assert _error_line(capsys.readouterr().err) == (
        "runfsm webhooks serve: error: --reconcile polls the OpenAI API and needs its key: $OPENAI_API_KEY is not set"
        " (export OPENAI_API_KEY=sk-...; OPENAI_BASE_URL for another endpoint)"
    )


def test_serve_that_cannot_listen_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A port another socket listens on, or a host that is no address: exit 2, one line naming HOST:PORT and why.

    Nothing claims to be receiving: the socket is bound before that is said.
    """
    monkeypatch.setenv("HOOK_SECRET", TEST_SECRET)
    store = str(tmp_path / "hooks.sqlite")
    argv = ["webhooks", "serve", "--secret-env", "HOOK_SECRET", "--store", store]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main([*argv, "--port", str(port)]) == 2
        err = capsys.readouterr().err
    assert err == f"runfsm webhooks serve: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert main([*argv, "--host", "999.1.1.1", "--port", "8000"]) == 2
    assert capsys.readouterr().err.startswith("runfsm webhooks serve: error: cannot listen on 999.1.1.1:8000: ")


def test_serve_says_where_it_receives_once_bound_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """``serve`` says where it receives once its socket is bound, and stops on Ctrl-C with exit 0.

    ``--port 0`` binds a free port, which the one line names; a signed event posted there is answered
    200 and stored; SIGINT stops it with exit 0 and nothing more on stderr.
    """
    store = tmp_path / "hooks.sqlite"
    command = [sys.executable, "-m", "runfsm", "webhooks", "serve", "--secret-env", "HOOK_SECRET"]
    command += ["--store", str(store), "--port", "0", "--path", "/hooks"]
    env = {**os.environ, "HOOK_SECRET": TEST_SECRET}
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        try:
            line = process.stderr.readline()
            found = re.fullmatch(r"runfsm webhooks: receiving on (http://127\.0\.0\.1:(\d+)/hooks) into (.*)\n", line)
            assert found is not None, line
            assert int(found[2]) != 0
            assert found[3] == str(store)
            headers, body = signed_event("msg_1", "response.completed", "resp_1", 100)
            assert httpx2.post(found[1], content=body, headers=headers).status_code == 200
            process.send_signal(signal.SIGINT)
            assert process.wait(15) == 0
            assert process.stderr.read() == ""
        finally:
            if process.poll() is None:
                process.kill()
    with WebhookStore(store, read_only=True) as stored:
        assert stored.summary()["distinct_events"] == 1


@pytest.mark.parametrize("kind", ["users", "empty"])
def test_state_and_log_refuse_a_database_that_is_not_a_store_and_change_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """``state`` and ``log`` only read: a database that is not a runfsm store is said to be one, and left alone.

    Another program's database (a ``users`` table) or an empty file: exit 2, as for any store that
    cannot be read, and no table is created in it (its bytes are unchanged).
    """
    path = tmp_path / "app.db"
    if kind == "users":
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE users (name TEXT)")
        db.commit()
        db.close()
    else:
        path.touch()
    before = path.read_bytes()
    for action in ("state", "log"):
        assert main(["webhooks", action, "--store", str(path)]) == 2
        assert _error_line(capsys.readouterr().err) == (
            f"runfsm webhooks {action}: error: {path} is not a runfsm webhook store"
            " (it has none of its tables: runfsm_meta, events, objects, entered)"
        )
    assert path.read_bytes() == before


def test_state_does_not_create_a_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A store file that is not there is said to be missing (exit 2) and is not created."""
    path = tmp_path / "nope.sqlite"
    for action in ("state", "log"):
        assert main(["webhooks", action, "--store", str(path)]) == 2
        assert _error_line(capsys.readouterr().err) == f"runfsm webhooks {action}: error: no store at {path}"
    assert not path.exists()


def test_state_of_another_schema_names_the_store_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A store of another schema version: exit 2, the file named once, then both versions."""
    path = _store(tmp_path)
    db = sqlite3.connect(path)
    db.execute("UPDATE runfsm_meta SET value = '2' WHERE key = 'schema'")
    db.commit()
    db.close()
    assert main(["webhooks", "state", "--store", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"runfsm webhooks state: error: {path}: webhook store schema '2', this runfsm reads '1'\n"
    )


def test_state_of_an_id_that_is_not_utf8_is_a_usage_error_about_the_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r"""An ID of bytes that are not UTF-8 (the shell's ``$'\xff'``) is a usage error about the id, not the store."""
    path = _store(tmp_path)
    assert main(["webhooks", "state", "--store", str(path), os.fsdecode(b"\xff")]) == 2
    line = _error_line(capsys.readouterr().err)
    assert line == "runfsm webhooks state: error: argument id: b'\\xff' is not UTF-8 text, as object ids are"


def test_log_of_an_unknown_lifecycle_names_the_option_not_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``log --lifecycle`` of no preset: exit 2, the message about ``--lifecycle``, the presets listed."""
    path = _store(tmp_path)
    assert main(["webhooks", "log", "--store", str(path), "--lifecycle", "nope"]) == 2
    assert _error_line(capsys.readouterr().err) == (
        "runfsm webhooks log: error: --lifecycle: no lifecycle preset 'nope'; the presets are run, response, batch"
    )
