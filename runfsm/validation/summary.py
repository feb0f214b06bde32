"""The summary of a validation: counts of runs by result, of what was inferred, of input errors, and of lines.

Every input line ends in exactly one bucket of its input's :class:`LineCounts`: part of a judged
record, skipped by a documented rule (a blank line, a comment, an event or object not about a
run's status), or reported as an input error. ``lines == in_records + skipped + errors`` holds
for every input, whatever the format, the options and the number of workers.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from runfsm.verdict import OffenseKind, RunResult

if TYPE_CHECKING:
    from collections.abc import Mapping

    from runfsm.exceptions import InputError
    from runfsm.verdict import Verdict

__all__ = ["LineCounts", "Summary"]


@dataclasses.dataclass
class LineCounts:
    r"""Where the lines of one input went: ``lines == in_records + skipped + errors``.

    ``lines`` counts the lines read (a line ends at ``\n``, ``\r\n`` or a lone ``\r``).
    ``in_records`` counts the lines that are part of a judged record (an SSE event's lines, a CSV
    row's lines), ``skipped`` the lines skipped by a documented rule (blank lines, SSE comments,
    run-step, message, thread, ``error`` and ``done`` events or objects), ``errors`` the lines
    reported as an input error (with FILE:LINE; a line can carry several errors, counted once here).
    Several workers reading one input each count a share; their counts add up (:meth:`merge`).
    """

    source: str
    lines: int = 0
    in_records: int = 0
    skipped: int = 0
    errors: int = 0

    @property
    def balanced(self) -> bool:
        """True when every line read is in exactly one bucket."""
        return self.lines == self.in_records + self.skipped + self.errors

    def merge(self, other: LineCounts) -> None:
        """Add another worker's share of the same input."""
        self.lines += other.lines
        self.in_records += other.in_records
        self.skipped += other.skipped
        self.errors += other.errors

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {
            "source": self.source,
            "lines": self.lines,
            "in_records": self.in_records,
            "skipped": self.skipped,
            "errors": self.errors,
        }


@dataclasses.dataclass
class Summary:
    """Counts over many verdicts (and input errors): what ``runfsm validate`` prints first."""

    runs: int = 0
    legal: int = 0
    illegal: int = 0
    unknown_status: int = 0
    joined: int = 0
    """Stream captures that began mid-run (legal from there on; failures only when strict)."""
    unfinished: int = 0
    observations: int = 0
    inferred_jumps: int = 0
    """Poll jumps explained by unobserved states."""
    lenient_edges: int = 0
    """Lenient edges used (directly observed or on an inferred path)."""
    unrecorded_calls: int = 0
    """Jumps explained only by a client call the log does not contain."""
    warnings: int = 0
    """Field-invariant warnings (a run object whose fields contradict its status)."""
    call_notes: int = 0
    """Client-call notes: a call recorded after the run ended, or while the run could not take it."""
    input_errors: int = 0
    """Input error messages (an unusable line, an unreadable file); a line may carry several."""
    strict: bool = False
    sources: list[LineCounts] = dataclasses.field(default_factory=list)
    """The line counts of each input, in the order read."""

    def add(self, verdict: Verdict) -> None:
        """Count one run."""
        self.runs += 1
        result = verdict.result
        if result is RunResult.LEGAL:
            self.legal += 1
        elif result is RunResult.ILLEGAL:
            self.illegal += 1
        elif result is RunResult.UNKNOWN_STATUS:
            self.unknown_status += 1
        elif result is RunResult.JOINED:
            self.joined += 1
        else:
            self.unfinished += 1
        self.observations += verdict.observations
        self.inferred_jumps += len(verdict.inferred)
        self.lenient_edges += len(verdict.lenient)
        self.warnings += len(verdict.warnings)
        self.call_notes += len(verdict.notes)
        if verdict.offenses:
            self.unrecorded_calls += sum(1 for o in verdict.offenses if o.kind is OffenseKind.UNRECORDED_CALL)

    def add_quiet(
        self, *, ended: bool, observations: int, inferred_jumps: int, lenient_edges: int, runs: int = 1
    ) -> None:
        """Count ``runs`` runs with nothing to report, without their verdicts.

        Each is legal when ``ended`` (a terminal status was observed), else unfinished, and
        has the given counts. Bulk validation counts most runs this way (see
        :func:`~runfsm.validation.summarize_paths`).
        """
        self.runs += runs
        if ended:
            self.legal += runs
        else:
            self.unfinished += runs
        self.observations += runs * observations
        self.inferred_jumps += runs * inferred_jumps
        self.lenient_edges += runs * lenient_edges

    def add_tally(self, tally: Mapping[tuple[bool, int, int, int], int]) -> None:
        """Count quiet runs by what the summary needs of them: ``{(ended, observations, inferred, lenient): runs}``.

        This is the ledger's tally (:data:`runfsm.validation.ledger.Tally`) and a shape's.
        """
        for (ended, observations, inferred, lenient), runs in tally.items():
            self.add_quiet(
                ended=ended, observations=observations, inferred_jumps=inferred, lenient_edges=lenient, runs=runs
            )

    def merge(self, other: Summary) -> None:
        """Add another summary's counts (from another worker) to this one."""
        for name in ("runs", "legal", "illegal", "unknown_status", "joined", "unfinished", "observations"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("inferred_jumps", "lenient_edges", "unrecorded_calls", "warnings", "call_notes", "input_errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if not self.sources:
            self.sources = [LineCounts(c.source) for c in other.sources]
        if len(other.sources) != len(self.sources):
            raise ValueError(f"cannot merge the line counts of {len(other.sources)} inputs into {len(self.sources)}")
        for mine, theirs in zip(self.sources, other.sources, strict=True):
            mine.merge(theirs)

    def add_source(self, counts: LineCounts) -> None:
        """Count the lines of one more input."""
        self.sources.append(counts)

    @property
    def balanced(self) -> bool:
        """True when the lines of every input are accounted for (see :class:`LineCounts`)."""
        return all(c.balanced for c in self.sources)

    def add_error(self, error: InputError) -> None:
        """Count one unusable input line."""
        del error
        self.input_errors += 1

    def is_failure(self, verdict: Verdict) -> bool:
        """True for a run that fails the check: illegal, unknown status, or joined mid-run or unfinished when strict."""
        result = verdict.result
        return result in (RunResult.ILLEGAL, RunResult.UNKNOWN_STATUS) or (
            self.strict and result in (RunResult.JOINED, RunResult.UNFINISHED)
        )

    def is_worth_reporting(self, verdict: Verdict) -> bool:
        """True for a run a report lists: failing, or with an offense (an unrecorded call), warnings or notes."""
        return bool(verdict.offenses or verdict.warnings or verdict.notes) or self.is_failure(verdict)

    @property
    def exit_code(self) -> int:
        """2 if some input was unusable (input errors, unknown statuses); 1 if some run failed; else 0."""
        if self.input_errors or self.unknown_status:
            return 2
        if self.illegal or (self.strict and (self.unfinished or self.joined)):
            return 1
        return 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {
            "runs": self.runs,
            "legal": self.legal,
            "illegal": self.illegal,
            "unknown_status": self.unknown_status,
            "joined": self.joined,
            "unfinished": self.unfinished,
            "observations": self.observations,
            "inferred_jumps": self.inferred_jumps,
            "lenient_edges": self.lenient_edges,
            "unrecorded_calls": self.unrecorded_calls,
            "field_warnings": self.warnings,
            "call_notes": self.call_notes,
            "input_errors": self.input_errors,
            "strict": self.strict,
            "sources": [c.to_dict() for c in self.sources],
        }
