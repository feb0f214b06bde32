"""What the engines share before reading: the inputs a path stands for, and the defaults of their options."""

from __future__ import annotations

import glob
import os
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["DEFAULT_MEMORY_LIMIT", "expand_paths"]

DEFAULT_MEMORY_LIMIT: Final = "1GB"
"""The duckdb engine's memory limit unless told otherwise; beyond it, DuckDB spills to its temporary directory."""

_GLOB_CHARS: Final = frozenset("*?[")


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
