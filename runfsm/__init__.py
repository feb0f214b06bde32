"""runfsm: the OpenAI Assistants run lifecycle as one explicit state machine.

``import runfsm`` is cheap: it never imports openai, hypothesis, graphviz or a web server.
The testing kit (``runfsm.strategies``, ``runfsm.fake``, ...) and the diagram renderers are
imported explicitly by those who need them.
"""

from runfsm.exceptions import (
    CallbackError,
    IllegalTransition,
    InputError,
    LifecycleError,
    MissingClientCall,
    NotARunStatus,
    RunfsmError,
    UnknownStatus,
    WrongRun,
)
from runfsm.invariants import check_fields
from runfsm.lifecycle import RUN_EDGES, RUN_LIFECYCLE, Edge, EdgeKind, Lifecycle, Route, Trigger
from runfsm.status import LifecycleState, RunSnapshot, RunStatus, StateKind, parse_status, read_run
from runfsm.tracker import Observation, Outcome, RunTracker, StateEntered
from runfsm.verdict import Location, Offense, OffenseKind, RunResult, Step, StepKind, Verdict

__version__ = "0.1.0"

__all__ = [
    "RUN_EDGES",
    "RUN_LIFECYCLE",
    "CallbackError",
    "Edge",
    "EdgeKind",
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
    "Route",
    "RunResult",
    "RunSnapshot",
    "RunStatus",
    "RunTracker",
    "RunfsmError",
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
    "read_run",
    "__version__",
]
