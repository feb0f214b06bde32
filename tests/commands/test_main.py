"""The ``runfsm`` command line: ``main(argv) -> int``, meaningful exit codes, ``python -m runfsm``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from runfsm import RUN_EDGES, RUN_LIFECYCLE
from runfsm.commands.main import EXIT_OK, EXIT_USAGE, main


def test_lifecycle_json_is_the_declaration(capsys: pytest.CaptureFixture[str]) -> None:
    """``runfsm lifecycle --format json`` prints exactly the declaration's JSON export."""
    assert main(["lifecycle", "--format", "json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == RUN_LIFECYCLE.to_dict()


def test_lifecycle_markdown_lists_every_edge(capsys: pytest.CaptureFixture[str]) -> None:
    """The markdown table has one row per edge, with its kind and trigger."""
    assert main(["lifecycle"]) == EXIT_OK
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| from")]
    assert len(rows) == len(RUN_EDGES)
    assert "| requires_action | queued | documented | submit_tool_outputs |" in out


def test_no_command_and_bad_usage_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """No subcommand, an unknown one, or a bad option is a usage error (exit 2) with help on stderr."""
    assert main([]) == EXIT_USAGE
    assert "COMMAND" in capsys.readouterr().err
    assert main(["no-such-command"]) == EXIT_USAGE
    assert main(["lifecycle", "--format", "yaml"]) == EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err


def test_version_and_help_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--version and --help succeed."""
    assert main(["--version"]) == EXIT_OK
    assert "runfsm 0.1.0" in capsys.readouterr().out
    assert main(["--help"]) == EXIT_OK


def test_python_dash_m_runfsm_runs_the_cli() -> None:
    """``python -m runfsm`` is the same command line, exit code included."""
    done = subprocess.run([sys.executable, "-m", "runfsm", "lifecycle"], capture_output=True, text=True, check=False)
    assert done.returncode == EXIT_OK
    assert "| queued | in_progress | documented | server |" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "runfsm"], capture_output=True, text=True, check=False)
    assert bad.returncode == EXIT_USAGE
