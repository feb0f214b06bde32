"""The Assistants run lifecycle: its edge table, with the evidence for each edge.

States are the rows of :class:`~runfsm.status.RunStatus`; every view (the ``transitions``
machine, lookup tables, routes, diagrams, strategies) is derived from ``RUN_EDGES`` by
:class:`~runfsm.lifecycle.Lifecycle`.
"""

from __future__ import annotations

from runfsm.lifecycle import Edge, EdgeKind, Lifecycle
from runfsm.status import RunStatus
from runfsm.vocabulary import Trigger

__all__ = ["RUN_EDGES", "RUN_LIFECYCLE"]

# ----------------------------------------------------------------------------- the table

_D = EdgeKind.DOCUMENTED
_L = EdgeKind.LENIENT
_R = RunStatus

#: (source, destinations, kind, trigger, evidence). Sources in ../shared/LIFECYCLE.md.
_RUN_TABLE: tuple[tuple[RunStatus, tuple[RunStatus, ...], EdgeKind, Trigger, str], ...] = (
    (_R.Null, (_R.Created,), _D, Trigger.CREATE, "stream examples in the API spec; streams only [S1]"),
    (_R.Null, (_R.Queued,), _D, Trigger.CREATE, "create returns queued [S1, S2]"),
    (_R.Created, (_R.Queued,), _D, Trigger.CREATE, "thread.run.created is followed by thread.run.queued [S1]"),
    (_R.Queued, (_R.InProgress,), _D, Trigger.SERVER, "run lifecycle table [S2]"),
    (_R.Queued, (_R.Expired,), _L, Trigger.SERVER, "runs that take too long expire [S2]"),
    (_R.Queued, (_R.Failed,), _L, Trigger.SERVER, "first poll already failed [O-rmcp19]"),
    (_R.Queued, (_R.Cancelling,), _L, Trigger.CANCEL, "cancelling queued runs is common practice [O-933385]"),
    (
        _R.InProgress,
        (_R.RequiresAction, _R.Completed, _R.Failed, _R.Incomplete, _R.Expired),
        _D,
        Trigger.SERVER,
        "run lifecycle table [S2]; expired after hanging [O-5449]; incomplete [O-1306]",
    ),
    (_R.InProgress, (_R.Cancelling,), _D, Trigger.CANCEL, "cancel returns cancelling [S1]"),
    (_R.RequiresAction, (_R.Queued,), _D, Trigger.SUBMIT_TOOL_OUTPUTS, "all outputs in one request [S1, S2]"),
    (_R.RequiresAction, (_R.Expired,), _D, Trigger.SERVER, "outputs not submitted before expires_at [S2, O-71]"),
    (_R.RequiresAction, (_R.Cancelling,), _L, Trigger.CANCEL, "cancel while waiting for tools [O-as-code]"),
    (_R.RequiresAction, (_R.Failed,), _L, Trigger.SERVER, "plausible server error; no report"),
    (_R.Cancelling, (_R.Cancelled,), _D, Trigger.SERVER, "run lifecycle table [S2]"),
    (
        _R.Cancelling,
        (_R.Completed, _R.Failed, _R.Incomplete, _R.Expired),
        _L,
        Trigger.SERVER,
        "cancellation is attempted but not guaranteed [S2]",
    ),
)

RUN_EDGES: tuple[Edge[RunStatus], ...] = tuple(
    Edge(source, dest, kind, trigger, evidence)
    for source, dests, kind, trigger, evidence in _RUN_TABLE
    for dest in dests
)
"""Every legal direct edge of the Assistants run lifecycle."""


RUN_LIFECYCLE: Lifecycle[RunStatus] = Lifecycle("assistants-run", RunStatus, RUN_EDGES, initial=RunStatus.Null)
"""The Assistants run lifecycle."""
