"""Simulated corpora: the runs simulate_runs walks and the formats write_corpus writes them in."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm.testing.simulate import CORPUS_FORMATS, simulate_runs, write_corpus
from runfsm.validation import summarize_paths

_STREAM = ("events", "sse")


@settings(max_examples=25, deadline=None)
@given(fmt=st.sampled_from(CORPUS_FORMATS), seed=st.integers(0, 2**16), runs=st.integers(1, 12))
def test_a_corpus_simulated_without_illegal_runs_validates_without_one(
    tmp_path_factory: pytest.TempPathFactory, fmt: str, seed: int, runs: int
) -> None:
    """Whatever the format, runs simulated legal are judged legal: the corpus says what was simulated."""
    mode = "stream" if fmt in _STREAM else "poll"
    text = io.StringIO()
    written = write_corpus(text, simulate_runs(runs, seed=seed, mode=mode, fmt=fmt), fmt=fmt, seed=seed)  # type: ignore[arg-type]
    path = tmp_path_factory.mktemp("corpus") / f"runs.{'csv' if fmt == 'csv' else 'sse' if fmt == 'sse' else 'jsonl'}"
    path.write_text(text.getvalue())
    summary = summarize_paths([str(path)])
    assert summary.runs == runs
    assert summary.illegal == 0
    assert summary.input_errors == 0
    assert written == text.getvalue().count("\n")


@pytest.mark.parametrize("fmt", _STREAM)
def test_poll_mode_runs_in_a_stream_format_are_refused(fmt: str) -> None:
    """A stream capture shows every status; poll-mode runs skip some, so written as one a quarter read as illegal."""
    out = io.StringIO()
    with pytest.raises(ValueError, match=rf"simulated in poll mode; the {fmt} format is a stream capture"):
        write_corpus(out, simulate_runs(3, mode="poll"), fmt=fmt)  # type: ignore[arg-type]
    assert out.getvalue() == ""


def test_stream_mode_runs_may_be_written_as_polls() -> None:
    """The other way round is sound: polling that saw every status."""
    for fmt in ("jsonl", "compact", "csv"):
        assert write_corpus(io.StringIO(), simulate_runs(3, mode="stream"), fmt=fmt) > 0


@pytest.mark.parametrize(("runs", "mode"), [(-5, "poll"), (2.5, "poll"), (True, "poll"), (3, "sometimes")])
def test_bad_arguments_are_refused_at_the_first_run(runs: object, mode: str) -> None:
    """runs=-5 ran forever (only -1 means endless); a bad mode was found only inside the first run."""
    with pytest.raises(ValueError, match=r"runs must be a count|mode must be"):
        next(simulate_runs(runs, mode=mode))  # type: ignore[arg-type]


def test_minus_one_is_endless() -> None:
    """-1 still means runs without end, each its own."""
    endless = simulate_runs(-1, seed=4)
    assert len({next(endless).run_id for _ in range(500)}) == 500
