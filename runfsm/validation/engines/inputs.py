"""What the engines share before reading: the inputs a path stands for, and the defaults of their options."""

from __future__ import annotations

import glob
import os
import re
from typing import TYPE_CHECKING, Any, Final

from runfsm.validation.formats.base import Record

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from runfsm.lifecycle import Lifecycle
    from runfsm.validation.formats.base import Item

__all__ = ["DEFAULT_MEMORY_LIMIT", "MAX_THREADS", "cell_items", "check_memory_limit", "expand_paths", "utf8_text"]

DEFAULT_MEMORY_LIMIT: Final = "1GB"
"""The duckdb engine's memory limit unless told otherwise; beyond it, DuckDB spills to its temporary directory."""

MAX_THREADS: Final = 1024
"""The most threads the duckdb engine asks DuckDB for (``--jobs`` takes as many)."""
_GLOB_CHARS: Final = frozenset("*?[")
_MEMORY: Final = re.compile(r"\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[KMGT]i?B|[KMGT]|%)\s*", re.IGNORECASE)
_POWERS: Final = {"K": 1, "M": 2, "G": 3, "T": 4}


def check_memory_limit(text: str) -> str:
    """A memory limit for DuckDB as given (``1GB``, ``500MiB``, ``2.5 GB``, ``80%`` of the memory); ValueError if none.

    Units: KB, MB, GB, TB (powers of 1000) and KiB, MiB, GiB, TiB (powers of 1024), the ``B``
    optional after K, M, G, T; or a percentage of the machine's memory. At least 1MB: DuckDB
    cannot even start with less. (DuckDB itself reads some other text as no limit at all,
    ``none`` or a negative size, or as a few bytes: neither is a limit to run with.)
    """
    found = _MEMORY.fullmatch(text)
    if found is not None:
        number, unit = float(found["number"]), found["unit"].upper()
        if unit == "%":
            if 0 < number <= 100:
                return text.strip()
        elif number * (1024 if "I" in unit else 1000) ** _POWERS[unit[0]] >= 1_000_000:
            return text.strip()
    raise ValueError(
        f"memory limit {text!r} is not a memory size to run with; give a number with a unit (KB, MB, GB, TB "
        "or KiB, MiB, GiB, TiB), at least 1MB, or a percentage of the memory up to 100%: e.g. 1GB, 512MiB, 50%"
    )


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files to read: a directory stands for the files under it, a glob for its matches (both sorted)."""
    files: list[str] = []
    for entry in paths:
        name = os.fspath(entry)
        if os.path.isdir(name):
            for folder, dirs, names in os.walk(name):
                dirs.sort()
                files.extend(os.path.join(folder, n) for n in sorted(names) if not n.startswith("."))
        elif _GLOB_CHARS & set(name) and not os.path.exists(name):
            matches = sorted(glob.glob(name, recursive=True))
            files.extend(m for m in matches if os.path.isfile(m))
            if not matches:
                files.append(name)  # the reader reports it: no such file
        else:
            files.append(name)
    return files


def cell_items(
    source: str, row: int | None, run_id: str | None, cell: str | None, lifecycle: Lifecycle[Any] | None = None
) -> Iterator[Item]:
    """A ``run_id, status`` row an engine did not settle, read by the CSV reader's rules (Parquet, DataFrames).

    ``lifecycle`` reads the status (the Assistants run's by default).

    An empty run id or status is an input error; a client call, a status, or an unknown status
    (a record the tracker reports) is a record located at ``source:row``.
    """
    from runfsm.exceptions import InputError, NotARunStatus  # noqa: PLC0415
    from runfsm.validation.formats.base import CALLS, status_of  # noqa: PLC0415

    rid = (run_id or "").strip()
    text = (cell or "").strip()
    if not rid:
        yield InputError("empty run_id: expected the run id", source=source, line=row)
        return
    if text in CALLS:
        yield Record(rid, None, text, source=source, line=row, mode=None, call=CALLS[text])
        return
    if not text:
        yield InputError("empty status: expected a status (wire value, name or ordinal)", source=source, line=row)
        return
    try:
        status = status_of(text, lifecycle)
    except NotARunStatus as err:
        yield InputError(str(err), source=source, line=row)
        return
    yield Record(rid, status, text, source=source, line=row)


def utf8_text(texts: Iterable[str]) -> bool:
    r"""True when every text is UTF-8 text: no lone surrogate, which a JSON escape (``"\ud800"``) gives Python.

    DuckDB and Spark hold UTF-8 text only (Spark turns a lone surrogate into U+FFFD, so two such
    run ids would be one): an engine that meets a run id that is not gives the python engine's answer.
    """
    try:
        "".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
