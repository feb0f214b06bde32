"""Engines: who reads and groups the records before runfsm's one judge decides (issue 12).

``python``
    :func:`runfsm.validation.summarize_paths`, the streaming ledger: no extra dependency, and
    the only engine for standard input, pipes and SSE.
``duckdb``
    :mod:`runfsm.validation.engines.duckdb` (the ``[duckdb]`` extra): DuckDB reads JSON Lines
    (plain, ``.gz``, ``.zst``) and Parquet, groups the records per run and hands the distinct
    shapes to the judge (how it reads: :mod:`~runfsm.validation.engines.staging`). The default
    when installed for inputs large enough to gain by it, and for Parquet (see :func:`choose_engine`).
``spark``
    :mod:`runfsm.validation.engines.spark` (the ``[spark]`` extra): the same on a Spark
    DataFrame, for logs that outgrow one machine (its groups:
    :mod:`~runfsm.validation.engines.spark_groups`).

Every engine ends in :func:`~runfsm.validation.engines.judging.judge_groups` or the ledger
itself, so verdicts are decided by the same code (and property-tested equal).
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING, Any, Final, Literal

from runfsm.validation.engines.inputs import DEFAULT_MEMORY_LIMIT, check_memory_limit, expand_paths

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pyarrow

    from runfsm.validation.summary import Summary
    from runfsm.verdict import Verdict

__all__ = [
    "AUTO_BASE_BYTES",
    "AUTO_FILE_BYTES",
    "COMPRESSED_WEIGHT",
    "DEFAULT_MEMORY_LIMIT",
    "ENGINES",
    "EngineName",
    "check_memory_limit",
    "choose_engine",
    "engine_available",
    "expand_paths",
    "summarize_with",
    "verdict_table",
]

EngineName = Literal["auto", "python", "duckdb", "spark"]
ENGINES: Final[tuple[str, ...]] = ("auto", "python", "duckdb", "spark")
_EXTRAS: Final = {"duckdb": ("duckdb",), "spark": ("pyspark",)}


def engine_available(name: str) -> bool:
    """True when the packages the engine needs are installed (always for ``python``)."""
    return all(importlib.util.find_spec(module) is not None for module in _EXTRAS.get(name, ()))


AUTO_BASE_BYTES: Final = 40_000_000
"""What the duckdb engine costs before it reads (starting DuckDB), in bytes the python engine reads meanwhile."""
AUTO_FILE_BYTES: Final = 8_000_000
"""What the duckdb engine costs per input file (planning its query), in bytes the python engine reads meanwhile."""
COMPRESSED_WEIGHT: Final = 5
"""A ``.gz`` or ``.zst`` input counts its bytes this many times (JSON Lines shrink five times or more)."""


def choose_engine(name: str, paths: Sequence[str]) -> str:
    """The engine ``--engine NAME`` means for these inputs.

    ``auto`` is duckdb, when installed, for inputs large enough to gain by it, and for any
    Parquet input (only DuckDB reads Parquet); else python. Large enough: their bytes (a
    compressed input's counted :data:`COMPRESSED_WEIGHT` times) are at least
    :data:`AUTO_BASE_BYTES` plus :data:`AUTO_FILE_BYTES` per file. Measured on a 2-core machine
    (``runfsm validate --quiet``), the duckdb engine took 2.04 times the python engine's time on
    one 10 MB file, 0.83 on one of 60 MB, 0.95 on 45 files of 2 MB (read in one query, see
    :mod:`~runfsm.validation.engines.batched`) and 0.66 on 8 of 25 MB. Standard input and pipes
    are the python engine's.

    Every engine reads every lifecycle and gives the same answers. Raises ``ValueError`` (with
    what to do) for an unknown engine, a missing extra, or standard input given to an engine
    other than ``python``.
    """
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}")
    streams = [p for p in paths if p == "-" or (os.path.exists(p) and not os.path.isfile(p) and not os.path.isdir(p))]
    if name == "auto":
        worth = not streams and paths and engine_available("duckdb") and _worth_duckdb(paths)
        return "duckdb" if worth else "python"
    if name != "python" and streams:
        raise ValueError(f"the {name} engine reads files, not standard input or pipes; use --engine python")
    if not engine_available(name):
        raise ValueError(f"the {name} engine needs the [{name}] extra: python -m pip install 'runfsm[{name}]'")
    return name


def _worth_duckdb(paths: Sequence[str]) -> bool:
    """True when the inputs hold a Parquet file or are large enough for the duckdb engine (:func:`choose_engine`)."""
    from runfsm.validation.records import PARQUET_MAGIC  # noqa: PLC0415

    files = expand_paths(paths)
    weight = 0
    for name in files:
        try:
            with open(name, "rb") as f:
                if f.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC:
                    return True
                size = os.fstat(f.fileno()).st_size
        except OSError:
            continue  # the reader reports it
        weight += size * (COMPRESSED_WEIGHT if name.endswith((".gz", ".zst")) else 1)
    return weight >= AUTO_BASE_BYTES + AUTO_FILE_BYTES * len(files)


def summarize_with(engine: str, paths: Sequence[str | os.PathLike[str]], **options: Any) -> Summary:
    """:func:`runfsm.validation.summarize_paths` by the named engine (``python``, ``duckdb`` or ``spark``).

    ``options`` are ``summarize_paths``'s (``lifecycle`` included: every engine reads every
    lifecycle preset), plus the engine's own: ``memory_limit``,
    ``temp_directory``, ``threads``, ``on_progress`` (duckdb), ``master`` (spark). Options an engine does not
    have are refused with ``TypeError``. ``engine`` may be ``auto`` (see :func:`choose_engine`).
    """
    from runfsm.validation.records import path_list  # noqa: PLC0415

    names = [os.fspath(p) for p in path_list(paths)]
    if engine == "auto":
        engine = choose_engine(engine, names)
    if engine == "python":
        from runfsm.validation import summarize_paths  # noqa: PLC0415

        return summarize_paths(names, **options)
    if engine == "duckdb":
        from runfsm.validation.engines.duckdb import summarize_paths as duckdb_summarize  # noqa: PLC0415

        return duckdb_summarize(names, **options)
    if engine == "spark":
        from runfsm.validation.engines.spark import summarize_paths as spark_summarize  # noqa: PLC0415

        return spark_summarize(names, **options)
    raise ValueError(f"unknown engine {engine!r}: expected one of auto, python, duckdb, spark")


def verdict_table(
    paths: Sequence[str | os.PathLike[str]], *, engine: str = "python", **options: Any
) -> tuple[pyarrow.Table, Summary]:
    """Judge ``paths`` with ``engine`` (``python``, ``duckdb``, ``spark``); every run as a row, and the summary.

    ``options`` are :func:`runfsm.validation.summarize_paths`'s and the engine's; an ``on_verdict``
    among them is called with each verdict too (``every_verdict`` is always on: a row per run).
    """
    if options.get("every_verdict", True) is not True:
        raise TypeError("verdict_table has a row for every run: every_verdict cannot be turned off")
    options.pop("every_verdict", None)
    also: Callable[[Verdict], object] | None = options.pop("on_verdict", None)
    import pyarrow  # noqa: PLC0415  (the duckdb and spark extras)

    from runfsm.validation.engines.results import ARROW_TYPES, VERDICT_COLUMNS, verdict_row  # noqa: PLC0415

    verdicts: list[Verdict] = []

    def keep(verdict: Verdict) -> None:
        verdicts.append(verdict)
        if also is not None:
            also(verdict)

    summary = summarize_with(engine, paths, on_verdict=keep, every_verdict=True, **options)
    names = [column.split()[0] for column in VERDICT_COLUMNS.split(", ")]
    types = [getattr(pyarrow, ARROW_TYPES[column.split()[1]])() for column in VERDICT_COLUMNS.split(", ")]
    rows = [verdict_row(v, summary) for v in verdicts]
    columns = [pyarrow.array([r[k] for r in rows], type=t) for k, t in enumerate(types)]
    return pyarrow.Table.from_arrays(columns, names=names), summary
