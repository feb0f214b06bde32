"""A bounded fuzz of ``runfsm validate`` over mutated logs of every format: no traceback, honest exit codes.

The logs are simulated, then mutated (``mutated_logs`` in tests/conftest.py: truncated lines,
BOMs, NULs, garbage, duplicate keys, shuffled lines, CR line ends, JSON the fast parser refuses).
Every option combination must give an exit code that means what the README says (0 every run
legal; 1 some run illegal, or with ``--strict`` unfinished or joined mid-run; 2 some input unusable), a JSON
document that agrees with it, every input line accounted for, and ``--jobs 2`` must print what
``--jobs 1`` prints.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm.commands.main import main

if TYPE_CHECKING:
    from collections.abc import Callable

_FLAGS = st.fixed_dictionaries(
    {
        "--mode": st.sampled_from([None, "stream", "poll"]),
        "--strict": st.booleans(),
        "--sort-by": st.sampled_from([None, "created_at", "timestamp"]),
        "--no-field-checks": st.booleans(),
        "--show-warnings": st.booleans(),
        "--engine": st.sampled_from(["python", "duckdb"]),
    }
)


def _argv(flags: dict[str, Any]) -> list[str]:
    argv: list[str] = []
    for name, value in flags.items():
        if value is True:
            argv.append(name)
        elif isinstance(value, str):
            argv += [name, value]
    return argv


def _run(*argv: str) -> tuple[int, str, str]:
    """``main(["validate", *argv])``: the exit code, stdout, stderr; any exception escapes (a failure)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", *argv])
    assert isinstance(code, int)
    assert "Traceback" not in err.getvalue()
    return code, out.getvalue(), err.getvalue()


def _expected_exit(summary: dict[str, Any]) -> int:
    if summary["input_errors"] or summary["unknown_status"]:
        return 2
    if summary["illegal"] or (summary["strict"] and (summary["unfinished"] or summary["joined"])):
        return 1
    return 0


@pytest.mark.slow
@settings(max_examples=40)
@given(st.data(), _FLAGS)
def test_the_command_survives_mutated_logs(
    mutated_logs: Callable[[st.DataObject], tuple[str, bytes]],
    write_logs: Callable[[str, list[tuple[str, bytes]]], list[str]],
    data: st.DataObject,
    flags: dict[str, Any],
) -> None:
    """No traceback; the exit code follows the summary; every line is accounted for; the text report agrees."""
    logs = [mutated_logs(data) for _ in range(data.draw(st.integers(1, 2), label="files"))]
    with tempfile.TemporaryDirectory() as folder:
        paths = write_logs(folder, logs)
        argv = _argv(flags)
        code, out, _err = _run("--format", "json", *argv, *paths)
        doc = json.loads(out)
        summary = doc["summary"]
        assert code == doc["exit_code"] == _expected_exit(summary)
        assert [c["source"] for c in summary["sources"]] == paths
        for counts, (_fmt, raw) in zip(summary["sources"], logs, strict=True):
            assert (
                counts["lines"] == len(raw.splitlines()) == counts["in_records"] + counts["skipped"] + counts["errors"]
            )
        assert len(doc["input_errors"]) + doc["input_errors_not_listed"] == summary["input_errors"]
        text_code, text, _ = _run(*argv, *paths)
        assert text_code == code
        assert f"{'input errors':<20}{summary['input_errors']:>10,}" in text
        quiet_code, quiet, _ = _run("--quiet", "--only-failures", *argv, *paths)
        assert (quiet_code, quiet) == (code, "")


@settings(max_examples=10)
@given(st.data(), st.booleans(), st.sampled_from([None, "created_at"]))
def test_jobs_prints_what_one_process_prints(
    mutated_logs: Callable[[st.DataObject], tuple[str, bytes]],
    write_logs: Callable[[str, list[tuple[str, bytes]]], list[str]],
    data: st.DataObject,
    strict: bool,
    sort_by: str | None,
) -> None:
    """``--jobs 3`` (real worker processes) gives the summary, the runs and the input errors of ``--jobs 1``."""
    logs = [mutated_logs(data) for _ in range(2)]
    with tempfile.TemporaryDirectory() as folder:
        paths = write_logs(folder, logs)
        options = ["--engine", "python", "--format", "json", *(["--strict"] if strict else [])]
        options += ["--sort-by", sort_by] if sort_by else []
        one = _run(*options, *paths)
        three = _run("--jobs", "3", *options, *paths)
    assert one[0] == three[0]
    doc_one, doc_three = json.loads(one[1]), json.loads(three[1])
    assert doc_three["summary"] == doc_one["summary"]
    assert sorted(map(repr, doc_three["runs"])) == sorted(map(repr, doc_one["runs"]))
    assert sorted(map(repr, doc_three["input_errors"])) == sorted(map(repr, doc_one["input_errors"]))
