"""The story of a counterexample: what each object really did on the server, the faults injected, the client's requests.

Compact by design: one line per run, background response or batch (its statuses with virtual
timestamps), one per fault,
and the requests with runs of alike requests folded into one line (``t+1s..t+9s retrieve_run
run_000002 -> 200 in_progress x9``), the middle elided when there are many.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from runfsm.status import RunStatus
from runfsm.testing.fake.clock import stamp

if TYPE_CHECKING:
    from collections.abc import Sequence

    from runfsm.testing.fake.background import Background
    from runfsm.testing.fake.clock import VirtualClock
    from runfsm.testing.fake.faults import Fault
    from runfsm.testing.fake.wire import RecordedRequest
    from runfsm.tracker import RunTracker
    from runfsm.vocabulary import LifecycleState

__all__ = ["tell"]


class Told(Protocol):
    """What the story reads of a fake (:class:`~runfsm.testing.fake.api.FakeAssistants` has it all)."""

    clock: VirtualClock
    requests: list[RecordedRequest]
    trackers: dict[str, RunTracker]
    faults_seen: list[tuple[float, str, str | None, str]]
    returned_at: float | None
    returned_statuses: dict[str, LifecycleState]
    background: Background

    def run_ids(self) -> list[str]: ...
    def round_sizes(self, run_id: str) -> Sequence[int]: ...
    def pending_faults(self) -> list[Fault]: ...


_HEAD_GROUPS = 25
_TAIL_GROUPS = 15


def tell(fake: Told) -> str:
    """The story of everything ``fake`` saw, timestamps relative to its clock's start."""
    start = fake.clock.start
    lines = [f"what happened (virtual time, t+0s = {start:.0f}):"]
    background = fake.background
    told = [(f"run {run_id}", run_id, _history(fake, run_id, start)) for run_id in fake.run_ids()]
    told += [
        (
            f"{obj.lifecycle.key} {object_id}",
            object_id,
            " > ".join(f"{s.wire} {stamp(at, start)}" for s, at in background.timeline(object_id)),
        )
        for object_id, obj in background.objects.items()
    ]
    for name, object_id, history in told:
        lines.append(f"  {name}: {history}")
        returned = fake.returned_statuses.get(object_id)
        if returned is not None and fake.returned_at is not None:
            lines.append(f"    (the client returned or stopped at {stamp(fake.returned_at, start)}: {returned.wire})")
    if not told:
        lines.append("  no run was created")
    if fake.faults_seen:
        lines.append("  faults injected:")
        lines.extend(
            f"    {stamp(at, start)} {what} ({route}{'' if run_id is None else ' ' + run_id})"
            for at, route, run_id, what in fake.faults_seen
        )
    pending = fake.pending_faults()
    if pending:
        lines.append("  faults never used: " + "; ".join(f.describe() for f in pending))
    lines.append(f"  the client's requests ({len(fake.requests)}):")
    groups = _groups(fake.requests)
    if len(groups) > _HEAD_GROUPS + _TAIL_GROUPS:
        hidden = groups[_HEAD_GROUPS:-_TAIL_GROUPS]
        count = sum(len(g) for g in hidden)
        shown = [*groups[:_HEAD_GROUPS], None, *groups[-_TAIL_GROUPS:]]
    else:
        shown, count = list(groups), 0
    for group in shown:
        if group is None:
            lines.append(f"    ... {count} requests in {len(groups) - _HEAD_GROUPS - _TAIL_GROUPS} lines elided ...")
        else:
            lines.append("    " + _group_line(group, start))
    return "\n".join(lines)


def _history(fake: Told, run_id: str, start: float) -> str:
    tracker = fake.trackers[run_id]
    sizes = list(fake.round_sizes(run_id))
    parts = []
    for observation in tracker.history:
        status = observation.state
        if status is RunStatus.Created:
            continue
        text = f"{status.wire} {stamp(observation.time or start, start)}"
        if status is RunStatus.RequiresAction and sizes:
            n = sizes.pop(0)
            text += f" ({n} tool call{'s' if n != 1 else ''})"
        parts.append(text)
    return " > ".join(parts)


def _key(r: RecordedRequest) -> tuple[object, ...]:
    return (r.route, r.run_id, r.status_code, r.fault, r.run_status, r.stream)


def _groups(requests: list[RecordedRequest]) -> list[list[RecordedRequest]]:
    groups: list[list[RecordedRequest]] = []
    for r in requests:
        if groups and _key(groups[-1][-1]) == _key(r):
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


def _group_line(group: list[RecordedRequest], start: float) -> str:
    first, last = group[0], group[-1]
    when = stamp(first.at, start) if len(group) == 1 else f"{stamp(first.at, start)}..{stamp(last.at, start)}"
    about = f" {first.run_id}" if first.run_id else ""
    answer = "dropped" if first.status_code == 0 else str(first.status_code)
    if first.run_status:
        answer += f" {first.run_status}"
    if first.fault:
        answer += f" [fault: {first.fault}]"
    if first.stream:
        answer += " (stream)"
    times = f" x{len(group)}" if len(group) > 1 else ""
    return f"{when} {first.route}{about} -> {answer}{times}"
