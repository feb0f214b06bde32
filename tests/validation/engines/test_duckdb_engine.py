"""The duckdb engine gives the python engine's answers: summary, reported verdicts, input errors.

Properties over generated corpora (every format the engine reads, with late records, client
calls, unknown statuses, bad and blank lines, compressed files), then the cases around them:
runs joined across files, directories and globs, Parquet, the fallbacks to the python reader.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb")

from runfsm.validation import DEFAULT_LINGER, summarize_paths
from runfsm.validation.engines import duckdb as duckdb_engine
from runfsm.validation.engines import expand_paths, judging, summarize_with
from runfsm.verdict import Location, Verdict

if TYPE_CHECKING:
    from collections.abc import Callable

    from runfsm.validation.summary import Summary

_SLOW = settings(
    max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], deadline=None
)


def _corpus(fmt: str, seed: int, *, runs: int, illegal: float) -> str:
    from runfsm.testing.simulate import simulated_log

    return simulated_log(fmt, seed, runs=runs, illegal=illegal)  # type: ignore[arg-type]  # a corpus format


_ODD_LINES = [
    "",
    "   ",
    "not json at all",
    '{"id": "run_odd", "status": "bogus_status"}',
    '{"id": "run_odd", "status": "in_progress", "started_at": null}',
    '{"id": 7, "status": "queued"}',
    '["queued", "in_progress", "completed"]',
    '{"run_id": "run_cmp", "statuses": ["queued", "cancel", "cancelled"]}',
    '{"run_id": "run_odd", "call": "submit_tool_outputs"}',
    '{"run_id": "run_odd", "call": "retry"}',
    '{"event": "thread.run.step.created", "data": {"id": "step_1"}}',
    '{"event": "thread.run.completed", "data": {"id": "run_odd", "status": "completed"}}',
    '{"object": "list", "data": [{"id": "run_pg", "status": "queued"}, {"id": "run_pg", "status": "expired"}]}',
    '{"id": "run_odd", "status": "requires_action", "required_action": {"type": "odd"}}',
    '{"id": "run_odd", "status": "failed", "failed_at": 3, "last_error": {"code": "x"}}',
    '{"id": "run_odd", "object": "thread.message", "status": "queued"}',
    '{"id": "run_odd", "status": "InProgress", "started_at": 1}',
    '{"id": "run_q", "status": "queued", "created_at": 1, "expires_at": 5}',
    '{"id": "run_big", "status": "queued", "created_at": 18446744073709551621, "expires_at": 18446744073709551721}',
    '{"id": "run_big", "status": 1180591620717411303424}',
    '{"id": "run_cr", "status": "queued"}\r{"id": "run_cr", "status": "expired"}',  # a lone CR ends a line in Python
    '{"run_id": "run_odd", "call": "cancel", "status": null}',  # JSON null: no such key
    '{"run_id": "run_odd", "call": "submit_tool_outputs", "statuses": null, "object": null, "type": null}',
    '{"id": "run_odd", "status": "completed", "completed_at": 9, "event": null, "type": null}',
    '{"event": "thread.run.created", "id": "run_odd", "status": "queued"}',  # a stream event without its data
    '{"id": "run_nan", "status": "queued", "temperature": NaN}',  # Python's json.dumps writes a NaN so: not JSON
    '{"id": "run_nan", "status": "completed", "completed_at": Infinity}',
    '{"id": "run_nan", "status": "in_progress", "started_at": 1, "instructions": "NaN or -Infinity"}',  # text: JSON
]


def _spoiled(text: str, rng: Any, rate: float) -> str:
    """The corpus with odd lines slipped in (bad, blank, unknown statuses, calls...) and a late tail."""
    out: list[str] = []
    lines = text.splitlines()
    for line in lines:
        out.append(line)
        if rng.random() < rate:
            out.append(rng.choice(_ODD_LINES))
    late = lines[: len(lines) // 3] if rng.random() < 0.5 else []
    return "\n".join([*out, *late]) + ("\n" if rng.random() < 0.8 else "")


def _write(path: Path, text: str) -> Path:
    data = text.encode("utf-8")
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    elif path.name.endswith(".zst"):
        import zstandard

        path.write_bytes(zstandard.ZstdCompressor().compress(data))
    else:
        path.write_bytes(data)
    return path


Outcome = tuple[dict[str, Any], list[tuple[str, str]], list[str]]


def _outcome(fn: Callable[..., Summary], paths: list[Path], **options: Any) -> Outcome:
    verdicts: list[Verdict] = []
    errors: list[str] = []
    summary = fn(paths, on_verdict=verdicts.append, on_error=lambda e: errors.append(str(e)), **options)
    return summary.to_dict(), sorted((v.run_id or "", repr(v)) for v in verdicts), errors


def _both(paths: list[Path], *, templates: bool = True, **options: Any) -> tuple[Outcome, Outcome]:
    """Both engines' outcomes; with ``templates``, the duckdb engine judges every unsettled history once.

    Beyond :data:`~runfsm.validation.engines.judging.REPLAYED_AT_MOST` runs to replay it judges
    each history once and relocates the verdict; small corpora would never take that path.
    """
    python = _outcome(summarize_paths, paths, **options)
    kept = judging.REPLAYED_AT_MOST
    judging.REPLAYED_AT_MOST = -1 if templates else kept
    try:
        return python, _outcome(duckdb_engine.summarize_paths, paths, **options)
    finally:
        judging.REPLAYED_AT_MOST = kept


@_SLOW
@given(
    seed=st.integers(0, 2**32 - 1),
    fmts=st.lists(st.sampled_from(["jsonl", "events", "compact", "csv", "sse"]), min_size=1, max_size=3),
    rate=st.sampled_from([0.0, 0.05, 0.3]),
    suffix=st.sampled_from(["", ".gz", ".zst"]),
    options=st.fixed_dictionaries(
        {
            "mode": st.sampled_from(["auto", "poll", "stream"]),
            "strict": st.booleans(),
            "check_fields": st.booleans(),
            "linger": st.sampled_from([0, 1, 3, 10_000]),
            "every_verdict": st.booleans(),
        }
    ),
    rng=st.randoms(use_true_random=False),
    templates=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_duckdb_gives_the_python_engines_answers(
    tmp_path_factory: pytest.TempPathFactory,
    *,
    seed: int,
    fmts: list[str],
    rate: float,
    suffix: str,
    options: dict[str, Any],
    rng: Any,
    templates: bool,
    newline: str,
) -> None:
    r"""On generated corpora of every format (spoiled with odd lines and late records), both engines agree.

    Lines end with ``newline`` (``\r\n``: written on Windows), and an odd line may hold a lone
    carriage return, which ends a line for the python reader only.

    JSON Lines files are read by DuckDB, the others by the python reader inside the duckdb
    engine; their runs are joined by id across the files. Small ``linger`` values make late
    records start new histories, which the duckdb engine must notice. The runs it cannot judge by
    shape are replayed in input order, or (``templates``) judged once per history and relocated.
    """
    folder = tmp_path_factory.mktemp("corpus")
    paths = []
    for k, fmt in enumerate(fmts):
        text = _corpus(fmt, seed + k, runs=10, illegal=0.3)
        if fmt in ("jsonl", "events", "compact"):
            text = _spoiled(text, rng, rate).replace("\n", newline)
        paths.append(_write(folder / f"part{k}.{fmt}{suffix if fmt != 'sse' else ''}", text))
    python, duckdb = _both(paths, templates=templates, **options)
    assert duckdb == python


@_SLOW
@given(
    seed=st.integers(0, 2**32 - 1),
    rng=st.randoms(use_true_random=False),
    sort_by=st.sampled_from(["ts", "odd"]),
    linger=st.sampled_from([0, 2, 10_000]),
)
def test_sort_by_gives_the_python_engines_answers(
    tmp_path_factory: pytest.TempPathFactory, seed: int, rng: Any, sort_by: str, linger: int
) -> None:
    """``--sort-by``: numbers are read by DuckDB, ISO 8601 text and missing fields by the python reader."""
    text = _corpus("jsonl", seed, runs=8, illegal=0.2)
    lines = []
    for line in text.splitlines():
        obj = json.loads(line)
        iso = f"2024-05-01T10:00:0{rng.randint(0, 9)}"
        stamp = rng.choice([rng.randint(0, 50), rng.random() * 50, iso, None])
        if stamp is not None:
            obj["ts"] = stamp
        lines.append(json.dumps(obj))
    path = _write(tmp_path_factory.mktemp("sorted") / "runs.jsonl", "\n".join(lines) + "\n")
    python, duckdb = _both([path], sort_by=sort_by, linger=linger)
    assert duckdb == python


@_SLOW
@given(
    seed=st.integers(0, 2**32 - 1),
    blanks=st.lists(st.tuples(st.floats(0, 1), st.sampled_from(["", "   ", "\t"])), max_size=4),
    files=st.integers(1, 2),
    every_verdict=st.booleans(),
    templates=st.booleans(),
    held=st.sampled_from([0, 3, judging.HELD_AT_MOST]),
)
@example(seed=1, blanks=[(1.0, ""), (1.0, "   ")], files=1, every_verdict=False, templates=True, held=3)  # at the end
@example(seed=1, blanks=[(1.0, "")], files=2, every_verdict=False, templates=True, held=3)  # at the end of each file
@example(seed=2, blanks=[(k / 40, "") for k in range(40)], files=1, every_verdict=True, templates=True, held=3)  # many
def test_blank_lines_alone_give_the_python_engines_answers(
    tmp_path_factory: pytest.TempPathFactory,
    *,
    seed: int,
    blanks: list[tuple[float, str]],
    files: int,
    every_verdict: bool,
    templates: bool,
    held: int,
) -> None:
    """Blank lines and nothing else odd: DuckDB skips them, so its rows are not the lines.

    The engine takes the rows for the lines and counts the lines while it judges (holding what it
    reports, ``held`` of them at most: then it waits for the count); when the count finds a blank
    line it does it all again, counting first, unless the blank lines end the last input (no row
    comes after them). Either way every verdict comes once, at its FILE:LINE, and the blank lines
    are counted as skipped.
    """
    folder = tmp_path_factory.mktemp("blank")
    paths = []
    for k in range(files):
        lines = _corpus("jsonl", seed + k, runs=12, illegal=0.4).splitlines()
        for where, blank in blanks:
            lines.insert(int(where * len(lines)), blank)
        paths.append(_write(folder / f"part{k}.jsonl", "\n".join(lines) + "\n"))
    kept = judging.HELD_AT_MOST
    judging.HELD_AT_MOST = held
    try:
        python, duckdb = _both(paths, templates=templates, every_verdict=every_verdict)
    finally:
        judging.HELD_AT_MOST = kept
    assert duckdb == python


def test_a_blank_line_is_numbered_without_reading_the_input_again(tmp_path: Path) -> None:
    """A blank line in the middle, and the rows were taken for the lines: they are numbered again.

    DuckDB does not read the input again: the staged rows get their lines, and the runs are
    grouped and judged again, every verdict at its FILE:LINE.
    """
    lines = _corpus("jsonl", 3, runs=30, illegal=0.5).splitlines()
    text = "\n".join([*lines[:7], "", *lines[7:20], "  ", "", *lines[20:]]) + "\n"
    path = _write(tmp_path / "runs.jsonl", text)
    expected = _outcome(summarize_paths, [path])
    engine = duckdb_engine.DuckDBEngine(defer_counts=True)
    try:
        engine.read([path])
        assert engine.group()
        assert not engine.counts_confirmed()  # the rows are not the lines
        assert engine.renumber()
        assert engine.group()
        numbered = [
            engine.location(pos).line for (pos,) in engine.con.execute("SELECT pos FROM rows ORDER BY pos").fetchall()
        ]
        assert numbered == [n for n, line in enumerate(text.splitlines(), 1) if line.strip()]  # each row at its line
        verdicts: list[Verdict] = []
        errors: list[str] = []
        options: dict[str, Any] = {"mode": "auto", "strict": False, "check_fields": True, "every_verdict": False}
        summary = judging.judge_groups(
            engine,
            lifecycle=engine.lifecycle,
            on_verdict=verdicts.append,
            on_error=lambda e: errors.append(str(e)),
            **options,
        )
        assert engine.counts_confirmed()
        summary.sources = engine.counts
    finally:
        engine.close()
    assert (summary.to_dict(), sorted((v.run_id or "", repr(v)) for v in verdicts), errors) == expected
    assert expected[0]["sources"][0]["skipped"] == 3


def _as_parquet(csv_path: Path, parquet_path: Path) -> None:
    import duckdb

    con = duckdb.connect()
    rows = f"SELECT * FROM read_csv('{csv_path}', all_varchar=true, header=true)"
    con.execute(f"COPY ({rows}) TO '{parquet_path}' (FORMAT parquet)")
    con.close()


def _relocated(verdict: Verdict, source: str) -> Verdict:
    """A verdict read from CSV, as from the same rows in Parquet: rows count from 1 after the header."""

    def moved(location: Location | None) -> Location | None:
        if location is None or location.line is None:
            return location
        return Location(source, location.line - 1)

    return dataclasses.replace(
        verdict,
        offenses=tuple(dataclasses.replace(o, location=moved(o.location)) for o in verdict.offenses),
        warnings=tuple((i, moved(loc), m) for i, loc, m in verdict.warnings),
        notes=tuple((i, moved(loc), m) for i, loc, m in verdict.notes),
    )


@_SLOW
@given(seed=st.integers(0, 2**32 - 1), strict=st.booleans())
def test_parquet_rows_are_judged_as_the_same_csv_rows(
    tmp_path_factory: pytest.TempPathFactory, seed: int, strict: bool
) -> None:
    """A Parquet file of ``run_id, status`` rows gives the verdicts of the CSV with those rows, located by row."""
    folder = tmp_path_factory.mktemp("parquet")
    text = _corpus("csv", seed, runs=10, illegal=0.3)
    text = text.replace(",in_progress", ",warp_speed", 1) if seed % 2 else text  # an unknown status
    csv_path = _write(folder / "runs.csv", text)
    parquet_path = folder / "runs.parquet"
    _as_parquet(csv_path, parquet_path)
    expected: list[Verdict] = []
    summary = summarize_paths([csv_path], strict=strict, on_verdict=expected.append, every_verdict=True)
    got: list[Verdict] = []
    summary_parquet = duckdb_engine.summarize_paths(
        [parquet_path], strict=strict, on_verdict=got.append, every_verdict=True
    )
    (rows,), (lines,) = summary_parquet.sources, summary.sources
    assert (rows.lines, rows.in_records) == (lines.lines - 1, lines.in_records)  # a Parquet row is a line; no header
    assert rows.balanced
    summary_parquet.sources = summary.sources = []
    assert summary_parquet == summary
    key = repr
    assert sorted(map(key, got)) == sorted(key(_relocated(v, str(parquet_path))) for v in expected)


def test_the_bench_corpus_shape_runs_agree_on_a_larger_simulated_log(tmp_path: Path) -> None:
    """Thousands of runs, 50 interleaved (as the benchmark writes them): the same summary and reports."""
    from runfsm.testing.simulate import simulate_runs, write_corpus

    path = tmp_path / "runs.jsonl"
    with path.open("w") as out:
        runs = simulate_runs(-1, seed=3, illegal=0.02, unfinished=0.02, fmt="jsonl")
        write_corpus(out, runs, fmt="jsonl", seed=3, max_lines=20_000)
    python, duckdb = _both([path])
    assert duckdb == python
    assert python[0]["runs"] > 3000


def test_a_late_record_waits_as_long_as_in_the_python_engine_by_default(
    late_record_log: Path, validate_json: Callable[..., tuple[int, dict[str, Any]]]
) -> None:
    """Given no ``linger``, the engine keeps an ended run ``DEFAULT_LINGER`` slots, as the python engine does.

    ``run_late``'s last record comes 20,101 lines after its ``completed`` (``late_record_log``):
    past the 10,000 slots this engine once defaulted to, which let the run go (``run_late`` legal,
    the late record a second history, unfinished: a run more, no illegal run, exit status 0).
    Within the default it is judged with the run: ``run_late`` illegal, ``completed`` to
    ``in_progress`` on the last line, exit status 1. From the library and from
    ``runfsm validate --engine duckdb`` alike, every verdict is the python engine's.
    """
    python = _outcome(functools.partial(summarize_with, "python"), [late_record_log], every_verdict=True)
    duckdb = _outcome(functools.partial(summarize_with, "duckdb"), [late_record_log], every_verdict=True)
    assert duckdb == python
    last_line = python[0]["sources"][0]["lines"]
    assert 10_000 < last_line - 2 <= DEFAULT_LINGER
    assert (python[0]["runs"], python[0]["illegal"], python[0]["unfinished"]) == (6_701, 1, 0)

    code, report = validate_json("--engine", "python", str(late_record_log))
    assert validate_json("--engine", "duckdb", str(late_record_log)) == (code, report)
    late = next(run for run in report["runs"] if run["run_id"] == "run_late")
    offense = late["first_offense"]
    assert (code, late["result"], late["observations"]) == (1, "illegal", 3)
    assert (offense["from"], offense["to"], offense["location"]) == (
        "completed",
        "in_progress",
        f"{late_record_log}:{last_line}",
    )


def test_runs_are_joined_across_files_directories_and_globs(tmp_path: Path) -> None:
    """A run created in one file and finished in another is one run; a directory or a glob stands for its files."""
    (tmp_path / "logs").mkdir()
    _write(tmp_path / "logs" / "a.jsonl", '{"id": "run_1", "status": "queued"}\n')
    _write(tmp_path / "logs" / "b.jsonl.gz", '{"id": "run_1", "status": "in_progress", "started_at": 1}\n')
    _write(tmp_path / "logs" / "c.csv", "run_id,status\nrun_1,completed\n")
    files = expand_paths([tmp_path / "logs"])
    assert [Path(f).name for f in files] == ["a.jsonl", "b.jsonl.gz", "c.csv"]
    assert expand_paths([str(tmp_path / "logs" / "*.jsonl*")]) == files[:2]
    summary = duckdb_engine.summarize_paths([tmp_path / "logs"], on_error=lambda e: None)
    assert (summary.runs, summary.legal, summary.input_errors) == (1, 1, 0)
    assert summary == summarize_paths(files)


def _read_by_duckdb(path: Path) -> bool:
    """True when DuckDB reads the input (False: the python reader, inside the duckdb engine)."""
    engine = duckdb_engine.DuckDBEngine()
    try:
        engine.read([path])
        return engine.inputs[0].rows
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("newline", "read_by_duckdb"),
    [("\n", True), ("\r\n", True), ("\r", False)],
    ids=["unix", "windows", "lone-carriage-returns"],
)
def test_a_windows_written_log_is_read_by_duckdb(tmp_path: Path, newline: str, read_by_duckdb: bool) -> None:
    r"""Lines ending ``\r\n`` are DuckDB's to read; a lone ``\r`` ends a line for the python reader only.

    So a log with lone carriage returns goes to the python reader, whose lines those are. Either
    way the answers are the python engine's, at the same FILE:LINE.
    """
    lines = _corpus("jsonl", 11, runs=20, illegal=0.5).splitlines()
    path = _write(tmp_path / "runs.jsonl", newline.join(lines) + newline)
    assert _read_by_duckdb(path) is read_by_duckdb
    python, duckdb = _both([path])
    assert duckdb == python
    assert python[0]["illegal"] > 0


@pytest.mark.parametrize(
    ("value", "read_by_duckdb"),
    [(1.0, True), ("NaN, Infinity", True), (float("nan"), False), (float("inf"), False), (float("-inf"), False)],
    ids=["number", "text", "nan", "infinity", "minus-infinity"],
)
def test_nan_and_infinity_are_reported_as_the_python_engine_reports_them(
    tmp_path: Path, value: object, read_by_duckdb: bool
) -> None:
    """Python's ``json.dumps`` writes a float's NaN or infinity as ``NaN``/``Infinity``, which are not JSON.

    DuckDB's reader would read them as numbers; the python reader reports the line. So a log
    holding one goes to the python reader, and the answers are the python engine's (the same
    words as text in a string are JSON, and the log stays DuckDB's).
    """
    lines = _corpus("jsonl", 13, runs=20, illegal=0.3).splitlines()
    record = {"id": "run_nan", "object": "thread.run", "status": "queued", "temperature": value}
    lines.insert(len(lines) // 2, json.dumps(record))
    path = _write(tmp_path / "runs.jsonl", "\n".join(lines) + "\n")
    assert _read_by_duckdb(path) is read_by_duckdb
    python, duckdb = _both([path])
    assert duckdb == python
    bad = [] if read_by_duckdb else [f"{path}:{len(lines) // 2 + 1}: malformed JSON"]
    assert [error.split(" (")[0] for error in python[2]] == bad


@pytest.mark.parametrize(
    ("tail", "errors"),
    [
        ('{"id": "run_cut", "status": "in_pro', 1),
        ("not json\n", 1),
        ('["queued", "cancelled"]\n', 0),
        ('{"id": "run_cut", "status": "queued"}\n', 0),
    ],
    ids=["cut-while-written", "bad-last-line", "compact-last-line", "whole"],
)
def test_a_log_cut_while_written_is_judged_as_the_python_engine_does(tmp_path: Path, tail: str, errors: int) -> None:
    """A last line that is no JSON object: the engine reads tolerating errors at once, and reports it at its line."""
    path = _write(tmp_path / "runs.jsonl", _corpus("jsonl", 12, runs=20, illegal=0.4) + tail)
    python, duckdb = _both([path])
    assert duckdb == python
    assert python[0]["input_errors"] == errors


def test_unreadable_inputs_are_reported_like_the_python_engine(tmp_path: Path) -> None:
    """A missing file, an empty file, binary data and a non-UTF-8 line: the python reader's errors, FILE:LINE."""
    _write(tmp_path / "empty.jsonl", "")
    (tmp_path / "binary.jsonl").write_bytes(b"\x00\x01\x02\n")
    (tmp_path / "latin1.jsonl").write_bytes(b'{"id": "run_1", "status": "queued"}\n{"id": "caf\xe9"}\n')
    paths = [tmp_path / "missing.jsonl", tmp_path / "empty.jsonl", tmp_path / "binary.jsonl", tmp_path / "latin1.jsonl"]
    python, duckdb = _both(paths)
    assert duckdb == python
    assert len(python[2]) == 4


def _broken(data: bytes, how: str) -> bytes:
    """``data`` compressed, then cut in half, its gzip checksum spoiled, or a deflate block damaged."""
    import zstandard

    packed = bytearray(zstandard.ZstdCompressor().compress(data) if how.endswith("zst") else gzip.compress(data))
    if how.startswith("cut"):
        return bytes(packed[: len(packed) // 2])
    packed[-6 if how == "checksum gz" else 30] ^= 0xFF
    return bytes(packed)


@pytest.mark.parametrize("how", ["cut gz", "cut zst", "checksum gz", "damaged gz"])
def test_a_cut_or_damaged_compressed_log_gives_the_python_engines_answer(tmp_path: Path, how: str) -> None:
    """DuckDB may read such a file further than Python's gzip, or not at all: the python reader's answer is given.

    The lines before the break are judged, one error names the file and the last line read,
    and the other inputs are judged (a failed checksum no longer stops the whole validation).
    """
    text = _corpus("jsonl", 3, runs=300, illegal=0.1)
    broken = tmp_path / f"broken.jsonl.{how.split()[1]}"
    broken.write_bytes(_broken(text.encode(), how))
    other = _write(tmp_path / "other.jsonl.gz", _corpus("jsonl", 4, runs=20, illegal=0.1))
    python, duckdb = _both([broken, other])
    assert duckdb == python
    summary, _verdicts, errors = python
    assert [e for e in errors if ": read error" in e] == [errors[-1]]
    assert errors[-1].startswith(f"{broken}: read error")
    assert summary["sources"][1]["in_records"] > 0


def test_run_ids_with_lone_surrogates_are_judged_as_python_judges_them(tmp_path: Path, surrogate_ids: str) -> None:
    r"""``"\ud800"`` in a run id: DuckDB's reader refuses the line, Python reads it (DuckDB holds UTF-8 only).

    Such runs, two of them distinct, a compact run joining one of them, and a surrogate pair
    (one character, which both read): the python engine's answer, whole.
    """
    path = tmp_path / "ids.jsonl"
    path.write_text(surrogate_ids)
    python, duckdb = _both([path])
    assert duckdb == python
    assert python[0]["runs"] == 5


def test_file_names_duckdb_would_read_as_patterns_are_read_as_names(tmp_path: Path) -> None:
    """``runs[1].jsonl`` is itself, not ``runs1.jsonl``; ``x?.parquet`` is not ``xy.parquet`` too.

    DuckDB reads such names as globs: the engine opens them through links of its own (under
    its temporary directory, removed afterwards). Plain, compressed and Parquet inputs.
    """
    import duckdb

    inputs = tmp_path / "in"
    inputs.mkdir()
    _write(inputs / "runs[1].jsonl", '{"id": "run_a", "status": "queued"}\n')
    _write(inputs / "runs1.jsonl", '{"id": "run_b", "status": "queued"}\n')
    _write(inputs / "more*.jsonl.gz", '{"id": "run_c", "status": "queued"}\n')
    _write(inputs / "more1.jsonl.gz", '{"id": "run_d", "status": "queued"}\n')
    con = duckdb.connect()
    for name, run in (("x?.parquet", "run_e"), ("xy.parquet", "run_f")):
        rows = f"SELECT * FROM (VALUES ('{run}', 'queued'), ('{run}', 'completed')) AS t(run_id, status)"
        con.execute(f"COPY ({rows}) TO '{inputs / name}' (FORMAT parquet)")
    spill = tmp_path / "spill"
    spill.mkdir()
    verdicts: list[Verdict] = []
    summary = duckdb_engine.summarize_paths(
        [inputs], on_verdict=verdicts.append, every_verdict=True, temp_directory=str(spill)
    )
    assert sorted(v.run_id or "" for v in verdicts) == ["run_a", "run_b", "run_c", "run_d", "run_e", "run_f"]
    assert [(Path(c.source).name, c.in_records) for c in summary.sources] == [
        ("more*.jsonl.gz", 1),
        ("more1.jsonl.gz", 1),
        ("runs1.jsonl", 1),
        ("runs[1].jsonl", 1),
        ("x?.parquet", 2),
        ("xy.parquet", 2),
    ]
    assert list(spill.iterdir()) == []


def test_a_line_longer_than_the_python_reader_reads_is_reported_by_both(tmp_path: Path) -> None:
    """Past MAX_LINE_BYTES the python reader reports the line (and skips it); DuckDB's would read it: it does not."""
    from runfsm.validation.formats.base import MAX_LINE_BYTES

    path = tmp_path / "long.jsonl"
    long_run = {"id": "run_long", "status": "queued", "metadata": {"note": "x" * MAX_LINE_BYTES}}
    line = json.dumps(long_run) + "\n"
    path.write_text(line + '{"id": "run_1", "status": "queued"}\n')
    python, duckdb = _both([path])
    assert duckdb == python
    assert python[2] == [f"{path}:1: line is longer than {MAX_LINE_BYTES} bytes (at least {len(line)}); skipped"]


def test_one_path_given_alone_is_a_type_error(tmp_path: Path) -> None:
    """A string is one path, not a list of them: read letter by letter, ``"/"`` would be the whole disk."""
    from runfsm.validation import validate_paths

    path = str(_write(tmp_path / "runs.jsonl", '{"id": "run_1", "status": "queued"}\n'))
    said = rf"paths is one path \('{path}'\): give a list of paths, such as \['{path}'\]"
    for call in (
        lambda: summarize_paths(path),
        lambda: list(validate_paths(path)),
        lambda: duckdb_engine.summarize_paths(path),
        lambda: summarize_with("duckdb", path),
        lambda: summarize_with("auto", Path(path)),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError, match=said):
            call()


def test_auto_picks_the_engine_as_the_command_does(tmp_path: Path) -> None:
    """``summarize_with("auto", ...)``: duckdb for files (when installed), the same answer as the python engine."""
    path = _write(tmp_path / "runs.jsonl", _corpus("jsonl", 8, runs=40, illegal=0.2))
    assert summarize_with("auto", [path]).to_dict() == summarize_with("python", [path]).to_dict()


@pytest.mark.parametrize(
    ("option", "said"), [({"mode": "bogus"}, "mode must be one of"), ({"linger": 2.5}, "linger must be")]
)
def test_the_engines_check_the_options_as_the_python_engine_does(
    tmp_path: Path, option: dict[str, Any], said: str
) -> None:
    """The same ValueError from every engine (the duckdb engine raised a KeyError deep in the ledger for a bad mode)."""
    path = _write(tmp_path / "runs.jsonl", '{"id": "run_1", "status": "queued"}\n')
    for engine in ("python", "duckdb"):
        with pytest.raises(ValueError, match=said):
            summarize_with(engine, [path], **option)


@pytest.mark.parametrize("threads", [0, -1, 1025, 1.5, "2", True])
def test_threads_is_a_number_of_threads(tmp_path: Path, threads: object) -> None:
    """From 1 to MAX_THREADS: DuckDB refuses 0, hangs on a billion, and ``int()`` would read 1.5 or "2"."""
    path = _write(tmp_path / "runs.jsonl", '{"id": "run_1", "status": "queued"}\n')
    with pytest.raises(ValueError, match=rf"threads must be an integer from 1 to 1,024, got {threads!r}"):
        duckdb_engine.summarize_paths([path], threads=threads)  # type: ignore[arg-type]


def test_a_named_pipe_is_read_once_by_the_python_reader(tmp_path: Path) -> None:
    """A FIFO is no file DuckDB can read twice (sniffing it would eat its start): the python reader reads it."""
    import os
    import threading

    text = _corpus("jsonl", 6, runs=30, illegal=0.2)
    fifo = tmp_path / "runs.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("w") as out:
            out.write(text)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    got = _outcome(duckdb_engine.summarize_paths, [fifo])
    writer.join(timeout=10)
    expected = _outcome(summarize_paths, [_write(tmp_path / "runs.jsonl", text)])
    assert got[0]["runs"] == expected[0]["runs"] > 0
    assert {**got[0], "sources": None} == {**expected[0], "sources": None}


def test_a_parquet_file_without_the_columns_is_an_input_error(tmp_path: Path) -> None:
    """Parquet needs ``run_id`` (or ``id``) and ``status``: otherwise the file is reported, not guessed at."""
    import duckdb

    path = tmp_path / "other.parquet"
    duckdb.connect().execute(f"COPY (SELECT 1 AS x) TO '{path}' (FORMAT parquet)")
    errors: list[str] = []
    summary = duckdb_engine.summarize_paths([path], on_error=lambda e: errors.append(str(e)))
    assert summary.input_errors == 1
    assert errors == [f"{path}: a Parquet input needs a 'run_id' (or 'id') and a 'status' column; it has x"]


def test_a_damaged_parquet_file_is_an_input_error_and_the_rest_is_read(tmp_path: Path) -> None:
    """A Parquet file cut short (or only its magic bytes): reported as DuckDB says it, the other inputs judged."""
    import duckdb

    good = tmp_path / "good.parquet"
    rows = "SELECT * FROM (VALUES ('run_1', 'queued'), ('run_1', 'completed')) AS t(run_id, status)"
    duckdb.connect().execute(f"COPY ({rows}) TO '{good}' (FORMAT parquet)")
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[:100])
    magic = tmp_path / "magic.parquet"
    magic.write_bytes(b"PAR1 and nothing else")
    errors: list[str] = []
    summary = duckdb_engine.summarize_paths([cut, good, magic], on_error=lambda e: errors.append(str(e)))
    assert (summary.runs, summary.legal, summary.input_errors) == (1, 1, 2)
    assert [e.split(": Invalid Input Error: ")[0] for e in errors] == [
        f"{cut}: cannot read as Parquet",
        f"{magic}: cannot read as Parquet",
    ]
    assert [(c.source, c.lines, c.in_records) for c in summary.sources] == [
        (str(cut), 0, 0),
        (str(good), 2, 2),
        (str(magic), 0, 0),
    ]


def test_the_python_engine_says_who_reads_parquet(tmp_path: Path) -> None:
    """The python engine reads text logs: a Parquet file is one input error saying which engine reads it."""
    import duckdb

    path = tmp_path / "runs.parquet"
    duckdb.connect().execute(f"COPY (SELECT 'run_1' AS run_id, 'queued' AS status) TO '{path}' (FORMAT parquet)")
    errors: list[str] = []
    summary = summarize_paths([path], on_error=lambda e: errors.append(str(e)))
    assert (summary.runs, summary.input_errors) == (0, 1)
    reads = "the duckdb engine reads Parquet (pip install 'runfsm[duckdb]', then --engine duckdb or auto)"
    assert errors[0].startswith(f"{path}:1: a Parquet file: {reads}; the python and spark engines read text logs")


def test_the_engine_spills_within_its_memory_limit(tmp_path: Path) -> None:
    """A small memory limit and a temporary directory of our own: the answers do not change."""
    path = _write(tmp_path / "runs.jsonl", _corpus("jsonl", 5, runs=200, illegal=0.1))
    spill = tmp_path / "spill"
    expected = _outcome(summarize_paths, [path])
    got = _outcome(duckdb_engine.summarize_paths, [path], memory_limit="64MB", temp_directory=str(spill), threads=1)
    assert got == expected


def test_verdicts_as_an_arrow_table_are_the_same_from_both_engines(tmp_path: Path) -> None:
    """verdict_table: one row per run, the same rows whichever engine judged, counts matching the summary."""
    from runfsm.validation.engines import verdict_table

    path = _write(tmp_path / "runs.jsonl", _corpus("jsonl", 9, runs=60, illegal=0.3))
    tables = {engine: verdict_table([str(path)], engine=engine) for engine in ("python", "duckdb")}
    (python, summary), (duckdb, _) = tables["python"], tables["duckdb"]
    assert python.num_rows == duckdb.num_rows == summary.runs

    def rows(table: Any) -> list[tuple[Any, ...]]:
        return sorted(tuple(str(v) for v in row.values()) for row in table.to_pylist())

    assert rows(duckdb) == rows(python)
    assert python.column("result").to_pylist().count("illegal") == summary.illegal

    # an on_verdict of your own sees every verdict the table holds (it was a TypeError: given twice)
    seen: list[str] = []
    table, _ = verdict_table([str(path)], engine="duckdb", on_verdict=lambda v: seen.append(str(v.run_id)))
    assert sorted(seen) == sorted(table.column("run_id").to_pylist())
    with pytest.raises(TypeError, match="every_verdict cannot be turned off"):
        verdict_table([str(path)], every_verdict=False)


def test_a_stale_view_of_an_answered_round_is_judged_as_the_python_engine_does(tmp_path: Path) -> None:
    """``requires_action`` seen again after a submit, asking for the same tool call: a repeat, not a new round.

    Only the tool-call ids tell the two apart, so the duckdb engine keeps them for the ledger: it
    must not read the second ``requires_action`` as a round trip through ``in_progress``.
    """
    action = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": [{"id": "call_a"}]}}
    records = [
        {"id": "run_1", "status": "queued", "created_at": 1, "expires_at": 601},
        {"id": "run_1", "status": "in_progress", "started_at": 2},
        {"id": "run_1", "status": "requires_action", "required_action": action},
        {"run_id": "run_1", "call": "submit_tool_outputs"},
        {"id": "run_1", "status": "requires_action", "required_action": action},
        {"id": "run_1", "status": "completed", "completed_at": 5},
        {"id": "run_2", "status": "requires_action", "required_action": action},  # the same ids, another run
        {"run_id": "run_2", "call": "submit_tool_outputs"},
        {"id": "run_2", "status": "requires_action", "required_action": {**action, "submit_tool_outputs": {}}},
        {"id": "run_2", "status": "completed", "completed_at": 5},
    ]
    path = _write(tmp_path / "runs.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    python, duckdb = _both([path], every_verdict=True)
    assert duckdb == python
    verdicts: list[Verdict] = []
    duckdb_engine.summarize_paths([path], on_verdict=verdicts.append, every_verdict=True)
    (run_1,) = (v for v in verdicts if v.run_id == "run_1")
    assert [index for index, _states in run_1.inferred] == [5]  # only the completion: the repeat is no round


_ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.integers(0, 700),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "x", "600", "submit_tool_outputs", "submit_tool_approval", "max_tokens"]),
    st.lists(st.integers(0, 3), max_size=2),
)
_TIMES = st.one_of(st.integers(0, 1300), _ODD_VALUES)
"""``expires_at - created_at`` is checked when both are ints: mostly ints, some 600 apart."""
_NESTED = st.one_of(
    _ODD_VALUES,
    st.dictionaries(st.sampled_from(["type", "reason", "code"]), _ODD_VALUES, max_size=2),
)


@_SLOW
@given(
    records=st.lists(
        st.tuples(
            st.sampled_from(["queued", "in_progress", "requires_action", "completed", "failed", "incomplete"]),
            st.fixed_dictionaries(
                {"created_at": _TIMES, "expires_at": _TIMES},
                optional=dict.fromkeys(("started_at", "completed_at", "failed_at"), _ODD_VALUES),
            ),
            st.dictionaries(st.sampled_from(["required_action", "last_error", "incomplete_details"]), _NESTED),
        ),
        min_size=1,
        max_size=12,
    )
)
# a big integer a warning quotes: orjson rounds it, so both engines must read that record exactly
@example(records=[("completed", {"created_at": 0, "expires_at": -(2**63) - 833}, {})])
@example(records=[("requires_action", {"created_at": 0, "expires_at": 0}, {"required_action": {"type": 2**70}})])
@example(records=[("completed", {"created_at": 0, "expires_at": None}, {"last_error": {"code": 2**70}})])
def test_field_values_of_every_type_give_the_python_engines_warnings(
    tmp_path_factory: pytest.TempPathFactory, records: list[tuple[str, dict[str, Any], dict[str, Any]]]
) -> None:
    """The SQL that clears a record's fields never clears one Python would warn about (ints, bools, floats, text...).

    Big integers, bools (ints to Python), floats, numeric text and objects with odd keys, on
    every status with a rule: the duckdb engine must report exactly the python engine's warnings.
    """
    lines = [
        json.dumps({"id": f"run_{k % 3}", "status": status, **times, **nested})
        for k, (status, times, nested) in enumerate(records)
    ]
    path = _write(tmp_path_factory.mktemp("fields") / "runs.jsonl", "\n".join(lines) + "\n")
    python, duckdb = _both([path], every_verdict=True)
    assert duckdb == python
