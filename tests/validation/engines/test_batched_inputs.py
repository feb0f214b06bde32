"""Many small JSON Lines inputs: the duckdb engine reads them in one query, each at its own FILE:LINE.

Planning a query costs the duckdb engine about 15 ms, so a directory of small logs read one
query per file spent most of its time planning. Small inputs are read in one batch; those whose
rows are not their lines (a blank line, a lone carriage return, NaN, bytes that are no UTF-8)
are read on their own, as before. Whichever way, the answers are the python engine's.
"""

from __future__ import annotations

import gzip
import itertools
import json
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb")

from runfsm.testing.simulate import simulated_log
from runfsm.validation import summarize_paths
from runfsm.validation.engines import duckdb as duckdb_engine
from runfsm.validation.engines.batched import BATCH_FILE_BYTES
from runfsm.validation.engines.duckdb import DuckDBEngine

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from runfsm.validation.summary import Summary

_ODD = [
    "",  # a blank line: that input is read on its own
    "not json",
    '{"id": "run_odd", "status": "bogus"}',
    '{"id": "run_a", "status": "queued"}\r{"id": "run_a", "status": "expired"}',  # a lone CR
    '{"id": "run_nan", "status": "queued", "temperature": NaN}',
    '{"object": "list", "data": [{"id": "run_pg", "status": "queued"}]}',
    '{"run_id": "run_b", "call": "cancel"}',
]


def _outcome(fn: Callable[..., Summary], paths: list[Path], **options: Any) -> tuple[Any, ...]:
    verdicts: list[str] = []
    errors: list[str] = []
    summary = fn(
        paths, on_verdict=lambda v: verdicts.append(repr(v)), on_error=lambda e: errors.append(str(e)), **options
    )
    return summary.to_dict(), sorted(verdicts), errors


def _write(path: Path, lines: list[str]) -> Path:
    data = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(0, 400), min_size=1, max_size=6),
    odd=st.lists(st.tuples(st.integers(0, 400), st.sampled_from(_ODD)), max_size=4),
    gz=st.lists(st.booleans(), min_size=7, max_size=7),
    mode=st.sampled_from(["auto", "poll", "stream"]),
    check_fields=st.booleans(),
)
def test_a_log_cut_into_small_files_gives_the_python_engines_answers(
    tmp_path_factory: pytest.TempPathFactory,
    *,
    seed: int,
    cuts: list[int],
    odd: list[tuple[int, str]],
    gz: list[bool],
    mode: str,
    check_fields: bool,
) -> None:
    """A simulated log cut into files (some compressed, some empty, some with odd lines): both engines agree.

    Runs cross the cuts, so a record's place across files matters as much as within one.
    """
    lines = simulated_log("jsonl", seed, runs=12, illegal=0.3).splitlines()
    for at, line in sorted(odd, reverse=True):
        lines.insert(min(at, len(lines)), line)
    bounds = sorted({0, *(min(c, len(lines)) for c in cuts), len(lines)})
    folder = tmp_path_factory.mktemp("cut")
    paths = [
        _write(folder / f"part{k:02}.jsonl{'.gz' if gz[k] else ''}", lines[a:b])
        for k, (a, b) in enumerate(itertools.pairwise(bounds))
    ]
    options = {"mode": mode, "check_fields": check_fields}
    assert _outcome(duckdb_engine.summarize_paths, paths, **options) == _outcome(summarize_paths, paths, **options)


def test_small_inputs_are_read_in_one_query_and_the_others_alone(tmp_path: Path) -> None:
    """Clean small inputs share one staged part; one with a blank line, a large one and a CSV one do not."""
    run = [json.dumps({"id": f"run_{k}", "status": s}) for k in range(3) for s in ("queued", "completed")]
    clean = [_write(tmp_path / f"clean{k}.jsonl", run) for k in range(3)]
    zipped = _write(tmp_path / "zipped.jsonl.gz", run)
    bad = _write(tmp_path / "bad.jsonl", [*run[:2], "oops", *run[2:]])  # residue: still in the batch
    blank = _write(tmp_path / "blank.jsonl", [*run[:2], "", *run[2:]])
    big = _write(tmp_path / "big.jsonl", run * (BATCH_FILE_BYTES // len("".join(run)) + 1))
    csv = tmp_path / "calls.csv"
    csv.write_text("run_id,status\nrun_c,queued\n")
    engine = DuckDBEngine()
    try:
        engine.read([*clean, zipped, bad, blank, big, csv])
        parts = [entry.part for entry in engine.inputs]
    finally:
        engine.close()
    batch = parts[0]
    assert parts[:5] == [batch] * 5
    assert len({batch, parts[5], parts[6]}) == 3  # the blank-lined input and the large one: a query each
    assert parts[7] == -1  # the CSV input: the python reader's
    outcome = _outcome(duckdb_engine.summarize_paths, [*clean, zipped, bad, blank, big, csv])
    assert outcome == _outcome(summarize_paths, [*clean, zipped, bad, blank, big, csv])
    assert len(outcome[2]) == 1
    assert outcome[2][0].startswith(f"{bad}:3: malformed JSON")


def test_a_batch_duckdb_cannot_read_is_read_input_by_input(tmp_path: Path) -> None:
    """A compressed input cut short makes DuckDB's reader refuse the whole batch: each input is then read alone.

    The whole one in a query of its own, the cut one by the python reader, which says where it ends.
    """
    run = [json.dumps({"id": f"run_{k}", "status": s}) for k in range(500) for s in ("queued", "completed")]
    good = _write(tmp_path / "good.jsonl", run[:10])
    whole = gzip.compress("".join(line + "\n" for line in run).encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    engine = DuckDBEngine()
    try:
        engine.read([good, cut])
        parts = [entry.part for entry in engine.inputs]
    finally:
        engine.close()
    assert parts[0] >= 0
    assert parts[1] == -1
    outcome = _outcome(duckdb_engine.summarize_paths, [good, cut])
    assert outcome == _outcome(summarize_paths, [good, cut])
    assert "compressed data cut short" in outcome[2][0]
