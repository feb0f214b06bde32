"""runfsm: the OpenAI Assistants run lifecycle (and its successors') as one explicit state machine.

This is the core: statuses, the lifecycle declarations, the tracker, verdicts and the
exceptions. Each use is a wing of its own, imported explicitly:

- ``runfsm.validation``: validate observed histories (``validate``, ``validate_paths``, ...);
- ``runfsm.drawing``: state diagrams, overlays of observed histories, the HTML report;
- ``runfsm.testing``: hypothesis strategies, the stateful machine, the fake API, the pytest plugin;
- ``runfsm.following``: follow live runs with few requests (watcher, scheduler, polling policies).

``import runfsm`` is cheap: it never imports openai, hypothesis, graphviz, transitions or a web server.
"""

from runfsm.exceptions import (
    ApiError,
    CallbackError,
    DiagramError,
    GraphvizMissing,
    IllegalTransition,
    InputError,
    LifecycleError,
    MissingClientCall,
    NotARunStatus,
    RunfsmError,
    SavedTrackerError,
    ScriptError,
    UnknownStatus,
    WrongRun,
)
from runfsm.invariants import check_fields
from runfsm.lifecycle import Edge, EdgeKind, Lifecycle, Route, Source
from runfsm.lifecycles import (
    BATCH_LIFECYCLE,
    PRESETS,
    RESPONSE_LIFECYCLE,
    RUN_EDGES,
    RUN_LIFECYCLE,
    BatchStatus,
    ResponseStatus,
    preset,
    preset_for_object,
    preset_for_webhook,
)
from runfsm.observation import Observation, Outcome
from runfsm.status import RunSnapshot, RunStatus, parse_status, read_run
from runfsm.tracker import RunTracker, StateEntered
from runfsm.verdict import Location, Offense, OffenseKind, RunResult, Step, StepKind, Verdict
from runfsm.vocabulary import LifecycleState, StateKind, Trigger

__version__ = "0.1.0"

__all__ = [
    "BATCH_LIFECYCLE",
    "PRESETS",
    "RESPONSE_LIFECYCLE",
    "RUN_EDGES",
    "RUN_LIFECYCLE",
    "ApiError",
    "BatchStatus",
    "CallbackError",
    "DiagramError",
    "Edge",
    "EdgeKind",
    "GraphvizMissing",
    "IllegalTransition",
    "InputError",
    "Lifecycle",
    "LifecycleError",
    "LifecycleState",
    "Location",
    "MissingClientCall",
    "NotARunStatus",
    "Observation",
    "Offense",
    "OffenseKind",
    "Outcome",
    "ResponseStatus",
    "Route",
    "RunResult",
    "RunSnapshot",
    "RunStatus",
    "RunTracker",
    "RunfsmError",
    "SavedTrackerError",
    "ScriptError",
    "Source",
    "StateEntered",
    "StateKind",
    "Step",
    "StepKind",
    "Trigger",
    "UnknownStatus",
    "Verdict",
    "WrongRun",
    "check_fields",
    "parse_status",
    "preset",
    "preset_for_object",
    "preset_for_webhook",
    "read_run",
    "__version__",
]
