"""runfsm simulate: deterministic corpora in every input format, readable by runfsm validate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from runfsm.commands.main import main
from runfsm.exceptions import InputError
from runfsm.testing.simulate import CORPUS_FORMATS
from runfsm.validation import Summary, validate_paths
from runfsm.validation.records import read_records

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize("fmt", CORPUS_FORMATS)
def test_every_format_validates_with_the_requested_fractions(tmp_path: Path, fmt: str) -> None:
    """Each format reads without input errors; illegal and unfinished fractions show up in the verdicts."""
    path = tmp_path / f"corpus.{fmt}"
    argv = ["simulate", "--runs", "300", "--format", fmt, "--illegal", "0.2", "--unfinished", "0.2", "-o", str(path)]
    assert main(argv) == 0
    errors: list[InputError] = []
    summary = Summary()
    for verdict in validate_paths([path], on_error=errors.append):
        summary.add(verdict)
    assert errors == []
    assert summary.runs == 300
    assert 30 <= summary.illegal <= 90
    assert 20 <= summary.unfinished <= 90
    assert summary.legal >= 150


def test_same_seed_same_file(tmp_path: Path) -> None:
    """The corpus is a function of its options and seed."""
    paths = [tmp_path / f"{n}.jsonl" for n in range(3)]
    for path, seed in zip(paths, (7, 7, 8), strict=True):
        assert main(["simulate", "--runs", "50", "--seed", str(seed), "-o", str(path)]) == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_events_option_sets_the_line_count(tmp_path: Path) -> None:
    """--events N writes runs until the file has N lines (whole records only)."""
    path = tmp_path / "n.jsonl"
    assert main(["simulate", "--events", "1000", "-o", str(path)]) == 0
    lines = path.read_text().splitlines()
    assert 990 <= len(lines) <= 1000
    assert all(not isinstance(r, InputError) for r in read_records(path))


def test_stdout_and_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    """Without -o the corpus goes to stdout; a fraction outside [0, 1] is a usage error."""
    assert main(["simulate", "--runs", "2", "--format", "compact"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["simulate", "--illegal", "2"]) == 2
    assert "fraction" in capsys.readouterr().err
