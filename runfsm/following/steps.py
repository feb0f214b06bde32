"""What the decision core and its shells exchange: the :class:`Step` asked of a shell, the :class:`WatchResult`.

:class:`~runfsm.following.core.FollowCore` answers every reply with a step; the watchers and the
scheduler carry steps out and hand back what the API said. :func:`follow_tracker` is the tracker
every shell follows an object with.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypeVar

from runfsm.status import RunStatus
from runfsm.tracker import RunTracker
from runfsm.vocabulary import LifecycleState, Trigger

if TYPE_CHECKING:
    from collections.abc import Callable

    from runfsm.following.client import ToolOutput
    from runfsm.lifecycle import Lifecycle
    from runfsm.tracker import Mode, OnIllegal

__all__ = ["DONE", "Step", "StepKind", "WatchResult", "created_state", "follow_tracker"]

S = TypeVar("S", bound=LifecycleState, default=RunStatus)
"""The state enum of the followed lifecycle (run statuses unless told otherwise)."""


class StepKind(enum.Enum):
    """What the I/O shell does next."""

    RETRIEVE = "retrieve"
    HANDLE = "handle"
    """Call the user's tool handler with ``Step.run``, then give its outputs to :meth:`FollowCore.handled`."""
    SUBMIT = "submit"
    CANCEL = "cancel"
    LOCATE = "locate"
    """The create stream broke before naming the run: find the thread's newest run (:meth:`FollowCore.on_located`)."""
    CREATE = "create"
    """Open the create stream again: it failed before naming the run, and the thread has no run made since."""
    RESUME = "resume"
    """Open the object's stream again after the last event seen (:attr:`FollowCore.sequence`)."""
    STEPS = "list_run_steps"
    """List the run's steps (:meth:`FollowCore.on_steps`): was a submit whose answer was lost applied?"""
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Step:
    """One instruction to the shell: sleep ``wait`` seconds, then do ``kind``."""

    kind: StepKind
    wait: float = 0.0
    run: Any = None
    outputs: tuple[ToolOutput, ...] = ()


DONE = Step(StepKind.DONE)
"""The step that ends a watch."""


@dataclass(slots=True)
class WatchResult(Generic[S]):
    """How a watch ended: the tracker (history, callbacks fired), the last object, and what it cost."""

    tracker: RunTracker[S]
    run: Any = None
    """The last object the API returned (an openai ``Run``, ``Response`` or ``Batch``), None if none was seen."""
    retrieves: int = 0
    """Status retrieves sent (failed ones included)."""
    submits: int = 0
    cancels: int = 0
    streams: int = 0
    """SSE streams opened (create, submit and resumed streams)."""
    step_listings: int = 0
    """Run-step listings (after a submit whose answer was lost; one per page fetched is not counted apart)."""
    failures: int = 0
    """Requests that failed (429, 5xx, timeouts, dropped connections, rejections)."""
    rejection: str | None = None
    """The API's message when it refused tool outputs (``Runs in status "expired" ...``)."""
    fell_back: bool = False
    """True if a stream broke and the watch went on by polling."""
    notes: list[str] = field(default_factory=list)
    """Short notes on what happened besides the statuses (retries, fallbacks), in order."""

    @property
    def status(self) -> S:
        """The object's last accepted status."""
        return self.tracker.state

    @property
    def requests(self) -> int:
        """All requests sent."""
        return self.retrieves + self.submits + self.cancels + self.streams + self.step_listings


def follow_tracker(
    run_id: str | None,
    *,
    mode: Mode,
    on_illegal: OnIllegal,
    clock: Callable[[], float],
    lifecycle: Lifecycle[S] | None = None,
) -> RunTracker[S]:
    """The tracker a watcher or scheduler creates for an object it follows (a run unless ``lifecycle`` says).

    Another client may cancel or answer the object, so a polled jump that only such a call explains
    is accepted and marked (``on_missing_call="assume"``) rather than rejected.
    """
    return RunTracker(
        run_id, mode=mode, on_illegal=on_illegal, on_missing_call="assume", clock=clock, lifecycle=lifecycle
    )


def created_state(lifecycle: Lifecycle[S]) -> S:
    """The active state the lifecycle's create call leads to (``queued``, ``validating``): assumed before any reply."""
    for edge in lifecycle.edges:
        if edge.source is lifecycle.initial and edge.trigger is Trigger.CREATE and edge.dest.is_active:
            return edge.dest
    return lifecycle.initial
