"""Results as data: one row per run, the same columns from every engine (an Arrow table, a Spark DataFrame).

:func:`runfsm.validation.engines.verdict_table` judges inputs with any engine and returns a ``pyarrow.Table`` of
:data:`VERDICT_COLUMNS`; the spark engine's :func:`~runfsm.validation.engines.spark.validate_dataframe`
returns the same columns as a Spark DataFrame. Join them with your own tables, or write them out
(``runfsm validate --format jsonl`` writes each run's full verdict as a JSON line).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from runfsm.verdict import OffenseKind

if TYPE_CHECKING:
    from runfsm.validation.summary import Summary
    from runfsm.verdict import Verdict

__all__ = ["ARROW_TYPES", "VERDICT_COLUMNS", "verdict_row"]

VERDICT_COLUMNS: Final = (
    "run_id STRING, mode STRING, result STRING, final STRING, observations INT, inferred_jumps INT, "
    "lenient_edges INT, warnings INT, unrecorded_calls INT, failed BOOLEAN, first_offense_kind STRING, "
    "first_offense_index INT, first_offense_location STRING, first_offense_message STRING"
)
"""The schema of the verdicts DataFrame: one row per run."""

ARROW_TYPES: Final = {"STRING": "string", "INT": "int64", "BOOLEAN": "bool_"}


def verdict_row(verdict: Verdict, summary: Summary) -> tuple[Any, ...]:
    """A verdict as a row of :data:`VERDICT_COLUMNS` (``summary`` tells whether it fails)."""
    first = verdict.first_offense
    return (
        verdict.run_id,
        verdict.mode,
        verdict.result.value,
        verdict.final.wire or verdict.final.name,
        verdict.observations,
        len(verdict.inferred),
        len(verdict.lenient),
        len(verdict.warnings),
        sum(1 for o in verdict.offenses if o.kind is OffenseKind.UNRECORDED_CALL),
        summary.is_failure(verdict),
        first.kind.value if first is not None else None,
        first.index if first is not None else None,
        str(first.location) if first is not None and first.location is not None else None,
        first.message if first is not None else None,
    )
