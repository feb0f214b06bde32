"""The Assistants run lifecycle: its edge table, with the evidence for each edge.

States are the rows of :class:`~runfsm.status.RunStatus`; every view (the ``transitions``
machine, lookup tables, routes, diagrams, strategies) is derived from ``RUN_EDGES`` by
:class:`~runfsm.lifecycle.Lifecycle`.
"""

from __future__ import annotations

from runfsm.invariants import RUN_CHECKS
from runfsm.lifecycle import Edge, EdgeKind, Lifecycle, Source, edges_from_table
from runfsm.status import RUN_PARSER, RunStatus
from runfsm.vocabulary import Trigger

__all__ = ["RUN_EDGES", "RUN_LIFECYCLE", "RUN_SOURCES"]

RUN_SOURCES: tuple[Source, ...] = (
    Source(
        "S1",
        "OpenAI OpenAPI specification: RunObject, run stream events, cancelRun, submitToolOutputs",
        "https://github.com/openai/openai-openapi/blob/master/openapi.yaml",
    ),
    Source(
        "S2",
        "OpenAI Assistants deep dive: the run lifecycle table",
        "https://platform.openai.com/docs/assistants/deep-dive#run-lifecycle",
    ),
    Source(
        "O-rmcp19",
        "Azure-Samples/remote-mcp-functions-python#19: the first poll already shows failed",
        "https://github.com/Azure-Samples/remote-mcp-functions-python/issues/19",
    ),
    Source(
        "O-933385",
        "OpenAI community: cancelling queued runs",
        "https://community.openai.com/t/933385",
    ),
    Source(
        "O-5449",
        "microsoft/semantic-kernel#5449: a run that hangs in progress, then expires",
        "https://github.com/microsoft/semantic-kernel/issues/5449",
    ),
    Source(
        "O-1306",
        "openai/openai-node#1306: runs that end incomplete",
        "https://github.com/openai/openai-node/issues/1306",
    ),
    Source(
        "O-71",
        "VRSEN/agency-swarm#71: tool outputs not submitted before expires_at",
        "https://github.com/VRSEN/agency-swarm/issues/71",
    ),
    Source(
        "O-as-code",
        "VRSEN/agency-swarm threads/thread.py: cancels a run that waits for tool outputs",
        "https://github.com/VRSEN/agency-swarm/blob/main/agency_swarm/threads/thread.py",
    ),
)
"""The sources the run table cites, by key: rendered under the table by ``runfsm lifecycle`` and in the README."""

# ----------------------------------------------------------------------------- the table

_D = EdgeKind.DOCUMENTED
_L = EdgeKind.LENIENT
_R = RunStatus

#: (source, destinations, kind, trigger, evidence); the keys in brackets are RUN_SOURCES.
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

RUN_EDGES: tuple[Edge[RunStatus], ...] = edges_from_table(_RUN_TABLE)
"""Every legal direct edge of the Assistants run lifecycle."""


RUN_LIFECYCLE: Lifecycle[RunStatus] = Lifecycle(
    "assistants-run",
    RunStatus,
    RUN_EDGES,
    initial=RunStatus.Null,
    key="run",
    object_type="thread.run",
    title="Assistants run",
    sources=RUN_SOURCES,
    parser=RUN_PARSER,
    field_checks=RUN_CHECKS,
)
"""The Assistants run lifecycle."""
