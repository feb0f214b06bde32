"""How long an ended run lingers, checked by the engines that group runs themselves (DuckDB, Spark).

The python engine keeps an ended run for ``linger`` *slots* of input after the record that
ended it (see :class:`~runfsm.validation.formats.base.ReadPosition`): a slot is a line of the
inputs, taken in order, or one record of a line of several (a ``runs.list`` page, a compact
run). A record of the run in that window is one of its late records; a record past it starts a
new history. An engine that groups each run's records and replays the complex ones through the
ledger (:func:`~runfsm.validation.engines.judging.judge_groups`, keeping every run to the end)
gives the python engine's verdicts when no run has a record past ``linger`` slots after its
*first* terminal record: then no run is let go of before its last record in either.
:func:`within_linger` checks that, from positions the engines already have: ``at = pos * sub +
index`` with ``pos = file index << shift | line`` and ``index`` the item's index on its line.
When it says False the engine hands the input to the python engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

__all__ = ["within_linger"]


def within_linger(
    first_ends: npt.ArrayLike,
    lasts: npt.ArrayLike,
    extras: npt.ArrayLike,
    lines: Sequence[int],
    linger: int,
    *,
    shift: int,
    sub: int,
) -> bool:
    """True when every run's last record is at most ``linger`` slots after its first terminal record.

    ``first_ends`` and ``lasts`` (one pair per run with records after its first terminal one)
    and ``extras`` are positions ``at`` as above; ``extras`` holds the records that are not the
    first record of their line (each is a slot of its own; holding a few more is safe: the
    bound only grows). ``lines`` is each input's line count, in input order. The slots between
    two records are at most the lines between them (of all inputs) plus the extras from the
    first one's line up to the second one: the bound checked here.
    """
    import numpy  # noqa: PLC0415  (the duckdb and spark extras)

    firsts = numpy.asarray(first_ends, dtype=numpy.int64)
    last = numpy.asarray(lasts, dtype=numpy.int64)
    if not len(firsts):
        return True
    offsets = numpy.concatenate([[0], numpy.cumsum(numpy.asarray(lines, dtype=numpy.int64))])
    mask = (1 << shift) - 1

    def line_of(at: npt.NDArray[numpy.int64]) -> npt.NDArray[numpy.int64]:
        pos = at // sub
        return offsets[numpy.minimum(pos >> shift, len(offsets) - 1)] + (pos & mask)  # type: ignore[no-any-return]

    extra = numpy.sort(numpy.asarray(extras, dtype=numpy.int64))
    line_start = (firsts // sub) * sub
    extras_between = numpy.searchsorted(extra, last, "right") - numpy.searchsorted(extra, line_start, "left")
    slots = line_of(last) - line_of(firsts) + extras_between
    return bool((slots <= linger).all())
