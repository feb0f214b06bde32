"""runfsm: the OpenAI Assistants run lifecycle as one explicit state machine.

``import runfsm`` is cheap: it never imports openai, hypothesis, graphviz or a web server.
Imported explicitly by those who need them: the diagrams (``runfsm.diagram``,
``runfsm.overlay``, ``runfsm.report``), the run watcher and scheduler (``runfsm.watcher``,
``runfsm.scheduler``, ``runfsm.backoff``; they bring asyncio), and the testing kit
(``runfsm.strategies``, ``runfsm.stateful``, ``runfsm.fake``).
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
    RequestsFailed,
    RunfsmError,
    ScriptError,
    ToolOutputsRejected,
    UnexpectedRunStatus,
    UnknownStatus,
    WatchError,
    WatchTimeout,
    WrongRun,
)
from runfsm.invariants import check_fields
from runfsm.lifecycle import RUN_EDGES, RUN_LIFECYCLE, Edge, EdgeKind, Lifecycle, Route, Trigger
from runfsm.status import LifecycleState, RunSnapshot, RunStatus, StateKind, parse_status, read_run
from runfsm.tracker import Observation, Outcome, RunTracker, StateEntered
from runfsm.validation import Summary, summarize_paths, validate, validate_many, validate_paths
from runfsm.verdict import Location, Offense, OffenseKind, RunResult, Step, StepKind, Verdict

__version__ = "0.1.0"

__all__ = [
    "RUN_EDGES",
    "RUN_LIFECYCLE",
    "ApiError",
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
    "RequestsFailed",
    "Route",
    "RunResult",
    "RunSnapshot",
    "RunStatus",
    "RunTracker",
    "RunfsmError",
    "ScriptError",
    "StateEntered",
    "StateKind",
    "Step",
    "StepKind",
    "Summary",
    "ToolOutputsRejected",
    "Trigger",
    "UnexpectedRunStatus",
    "UnknownStatus",
    "Verdict",
    "WatchError",
    "WatchTimeout",
    "WrongRun",
    "check_fields",
    "parse_status",
    "read_run",
    "summarize_paths",
    "validate",
    "validate_many",
    "validate_paths",
    "__version__",
]
