"""The duckdb engine reads every lifecycle preset's logs as the python engine does.

The same property as for the Assistants run, on logs of each preset drawn by
:func:`runfsm.testing.logs.log_lines`: objects polled and streamed (with their ``object`` type,
fields that keep or break the preset's invariants, stream and snapshot events, thin webhook
payloads), client calls, unknown statuses, bad and blank lines, objects of another preset and
late records. Both engines must give the same summary (line counts included), the same verdict
for every reported run and the same input errors. Then Parquet rows per preset.
"""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb")

from runfsm.lifecycles import PRESETS
from runfsm.testing.logs import log_lines
from runfsm.testing.strategies import poll_histories
from runfsm.validation import summarize_paths
from runfsm.validation.engines import duckdb as duckdb_engine
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from runfsm.lifecycle import Lifecycle
    from runfsm.validation.summary import Summary
    from runfsm.verdict import Verdict

ALL = pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=list(PRESETS))
_SETTINGS = settings(
    max_examples=25, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], deadline=None
)

Outcome = tuple[dict[str, Any], list[tuple[str, str]], list[str]]


def _outcome(fn: Callable[..., Summary], paths: list[Path], **options: Any) -> Outcome:
    verdicts: list[Verdict] = []
    errors: list[str] = []
    summary = fn(paths, on_verdict=verdicts.append, on_error=lambda e: errors.append(str(e)), **options)
    return summary.to_dict(), sorted((v.run_id or "", repr(v)) for v in verdicts), errors


def _write(path: Path, lines: list[str]) -> Path:
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@ALL
@_SETTINGS
@given(
    data=st.data(),
    parts=st.integers(1, 2),
    suffix=st.sampled_from(["", ".gz"]),
    named=st.booleans(),
    options=st.fixed_dictionaries(
        {
            "mode": st.sampled_from(["auto", "poll", "stream"]),
            "strict": st.booleans(),
            "check_fields": st.booleans(),
            "linger": st.sampled_from([0, 1, 3, 10_000]),
            "every_verdict": st.booleans(),
        }
    ),
)
def test_duckdb_gives_the_python_engines_answers_for_every_preset(
    tmp_path_factory: pytest.TempPathFactory,
    lifecycle: Lifecycle[Any],
    *,
    data: st.DataObject,
    parts: int,
    suffix: str,
    named: bool,
    options: dict[str, Any],
) -> None:
    """Logs of each preset, in one or two files (plain or gzip): the same summary, verdicts and errors.

    The lifecycle is named or detected (``auto``) by both engines alike.
    """
    folder = tmp_path_factory.mktemp(lifecycle.key)
    paths = [_write(folder / f"part{k}.jsonl{suffix}", data.draw(log_lines(lifecycle))) for k in range(parts)]
    options["lifecycle"] = lifecycle if named else "auto"
    python = _outcome(summarize_paths, paths, **options)
    duckdb = _outcome(duckdb_engine.summarize_paths, paths, **options)
    assert duckdb == python


def _as_parquet(rows: list[tuple[str, str]], path: Path) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE t (run_id VARCHAR, status VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
    con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    con.close()


def _judged(paths: list[Path], engine: Callable[..., Summary], lifecycle: Lifecycle[Any], header: int) -> Any:
    """The summary (without line counts), each run's verdict and the errors, with rows counted after ``header`` lines.

    Each verdict is kept as its run, result, final state, counts, and its offenses, notes and
    errors as (kind or message, row): a CSV row is located one line further (after its header).
    """
    verdicts: list[Verdict] = []
    errors: list[tuple[str, int | None]] = []

    def row(line: int | None) -> int | None:
        return None if line is None else line - header

    def error(e: Any) -> None:
        errors.append((e.detail, row(e.line)))

    summary = engine(paths, lifecycle=lifecycle, on_verdict=verdicts.append, on_error=error, every_verdict=True)
    runs = sorted(
        (
            v.run_id or "",
            v.result.value,
            v.final.label,
            v.observations,
            len(v.inferred),
            len(v.lenient),
            [(o.kind.value, o.index, row(o.location.line) if o.location else None) for o in v.offenses],
            [(i, m) for i, _location, m in v.notes],
        )
        for v in verdicts
    )
    return {k: v for k, v in summary.to_dict().items() if k != "sources"}, runs, errors


@ALL
@_SETTINGS
@given(data=st.data(), odd=st.lists(st.sampled_from(["", "warp", "retry"]), max_size=3))
def test_parquet_rows_of_every_preset(
    tmp_path_factory: pytest.TempPathFactory, lifecycle: Lifecycle[Any], data: st.DataObject, odd: list[str]
) -> None:
    """``run_id, status`` rows of a preset (statuses, client calls, unknown and empty cells) in Parquet, as in CSV."""
    rows: list[tuple[str, str]] = []
    for n in range(data.draw(st.integers(1, 4), label="objects")):
        for entry in data.draw(poll_histories(lifecycle=lifecycle, max_length=6)):
            cell = entry.value if isinstance(entry, Trigger) else entry.wire or entry.name
            rows.append((f"{lifecycle.key}_{n}", cell))
    for cell in odd:
        rows.insert(data.draw(st.integers(0, len(rows))), (f"{lifecycle.key}_0", cell))
    folder = tmp_path_factory.mktemp(lifecycle.key)
    csv = folder / "rows.csv"
    csv.write_text("run_id,status\n" + "".join(f"{r},{s}\n" for r, s in rows), encoding="utf-8")
    parquet = folder / "rows.parquet"
    _as_parquet(rows, parquet)
    python = _judged([csv], summarize_paths, lifecycle, header=1)
    assert _judged([parquet], duckdb_engine.summarize_paths, lifecycle, header=0) == python
