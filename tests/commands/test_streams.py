r"""Output on standard streams that cannot show every character: escapes, never a traceback.

Under ``PYTHONIOENCODING=ascii`` or ``LC_ALL=C`` (``PYTHONUTF8=0``) standard output is ASCII; a
run id or a file name with an ``é`` is then written as ``\xe9`` in the text report, while the
JSON formats stay valid JSON (``\u00e9``) with the same values. The command line tests run the
real ``runfsm`` program in a child process, with the environment a shell would give it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from runfsm.commands.exits import EXIT_FAILURES, EXIT_OK, EXIT_USAGE
from runfsm.commands.streams import encodes_everything, escape_unencodable, json_for
from runfsm.testing.fake.webhooks import TEST_SECRET, signed_event
from runfsm.webhooks import Receiver

if TYPE_CHECKING:
    from pathlib import Path

RUN = '{"id": "r\u00e9", "object": "thread.run", "status": "queued"}\n'
"""One unfinished run whose id is not ASCII (a failure with --strict, so the text report lists it)."""
ASCII = {"PYTHONIOENCODING": "ascii"}
C_LOCALE = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


def _runfsm(tmp_path: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[bytes]:
    """``python -m runfsm ARGV`` in ``tmp_path``, with ``env`` added to this environment; output as bytes."""
    environment = {key: value for key, value in os.environ.items() if key not in ("LANG", "LC_ALL", "LC_CTYPE")}
    return subprocess.run(
        [sys.executable, "-m", "runfsm", *argv],
        cwd=tmp_path,
        env={**environment, **env},
        capture_output=True,
        timeout=120,
        check=False,
    )


def _ascii(data: bytes) -> str:
    """``data`` decoded as ASCII: raises if a byte is not."""
    return data.decode("ascii")


@pytest.mark.parametrize("env", [ASCII, C_LOCALE], ids=["PYTHONIOENCODING=ascii", "LC_ALL=C"])
def test_text_report_shows_what_ascii_cannot_as_an_escape(tmp_path: Path, env: dict[str, str]) -> None:
    r"""The failing run ``ré`` is listed as ``r\xe9``: the report is written whole and the verdict stands."""
    (tmp_path / "a.jsonl").write_text(RUN, encoding="utf-8")
    done = _runfsm(tmp_path, env, "validate", "--strict", "a.jsonl")
    assert done.returncode == EXIT_FAILURES, done.stderr
    assert b"Traceback" not in done.stderr
    assert "FAIL r\\xe9 (poll mode): unfinished" in _ascii(done.stdout)


@pytest.mark.parametrize("output_format", ["json", "jsonl"])
def test_json_reports_stay_valid_json_with_the_same_values(tmp_path: Path, output_format: str) -> None:
    r"""``--format json`` and ``jsonl`` are ASCII whatever the input: ``é`` is JSON's ``\u00e9``, read back as ``é``."""
    (tmp_path / "a.jsonl").write_text(RUN, encoding="utf-8")
    done = _runfsm(tmp_path, ASCII, "validate", "--strict", "--format", output_format, "a.jsonl")
    assert done.returncode == EXIT_FAILURES, done.stderr
    assert b"Traceback" not in done.stderr
    out = _ascii(done.stdout)
    assert "r\\u00e9" in out
    runs = json.loads(out)["runs"] if output_format == "json" else [json.loads(line) for line in out.splitlines()]
    assert [run["run_id"] for run in runs] == ["r\u00e9"]


def test_missing_file_with_a_non_ascii_name_in_the_c_locale(tmp_path: Path) -> None:
    r"""A missing ``é.jsonl`` under ``LC_ALL=C``: its input error names it in escapes, exit 2.

    The C locale reads the name's UTF-8 bytes as undecodable (``\udcc3\udca9``); shown as escapes,
    they are the bytes of the name.
    """
    done = _runfsm(tmp_path, C_LOCALE, "validate", "\u00e9.jsonl")
    assert done.returncode == EXIT_USAGE, done.stderr
    assert b"Traceback" not in done.stderr
    assert "\\udcc3\\udca9.jsonl: cannot read: No such file or directory" in _ascii(done.stdout)


def test_standard_error_escapes_too(tmp_path: Path) -> None:
    r"""``--format jsonl`` lists input errors on standard error: in escapes there too, the summary valid JSON."""
    done = _runfsm(tmp_path, ASCII, "validate", "--format", "jsonl", "\u00e9.jsonl")
    assert done.returncode == EXIT_USAGE
    err = _ascii(done.stderr)
    assert "Traceback" not in err
    error, summary = err.splitlines()
    assert error == "\\xe9.jsonl: cannot read: No such file or directory"
    assert json.loads(summary)["summary"]["input_errors"] == 1


def test_webhook_log_stays_valid_json(tmp_path: Path) -> None:
    """``webhooks log`` on an ASCII standard output: each body in JSON's escapes, the same event read back."""
    with Receiver(tmp_path / "hooks.sqlite", secret=TEST_SECRET) as receiver:
        receiver.handle(*signed_event("msg_1", "batch.completed", "batch_\u00e9", 200))
        receiver.drain()
    done = _runfsm(tmp_path, ASCII, "webhooks", "log", "--store", "hooks.sqlite")
    assert done.returncode == EXIT_OK, done.stderr
    [line] = _ascii(done.stdout).splitlines()
    assert json.loads(line)["data"] == {"id": "batch_\u00e9"}


def test_escape_unencodable_reconfigures_only_streams_that_need_it() -> None:
    r"""An ASCII stream writes ``é`` as ``\xe9`` afterwards; a UTF-8 one and a ``StringIO`` are left as they were."""
    written = io.BytesIO()
    narrow = io.TextIOWrapper(written, encoding="ascii")
    wide = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    held = io.StringIO()
    assert not encodes_everything(narrow)
    assert encodes_everything(wide)
    assert encodes_everything(held)
    escape_unencodable(narrow, wide, held, None)
    assert (narrow.errors, wide.errors) == ("backslashreplace", "strict")
    narrow.write("r\u00e9")
    narrow.flush()
    assert written.getvalue() == b"r\\xe9"


def test_json_for_keeps_the_value() -> None:
    """A JSON text for an ASCII stream: non-ASCII characters (an emoji as a surrogate pair) in escapes, same value."""
    text = json.dumps({"id": "r\u00e9 \U0001f600"}, ensure_ascii=False)
    narrow = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    escaped = json_for(narrow, text)
    assert escaped.isascii()
    assert json.loads(escaped) == json.loads(text)
    assert json_for(io.StringIO(), text) == text
