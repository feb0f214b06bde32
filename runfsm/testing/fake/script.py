"""Scripted run histories: the statuses a fake run goes through, and how long it stays in each."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from runfsm.exceptions import IllegalTransition, ScriptError, UnknownStatus
from runfsm.invariants import EXPIRY_WINDOW_S
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.status import RunStatus, parse_status
from runfsm.tracker import RunTracker

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["STUCK", "RunScript", "ScriptLike", "Step", "StepLike"]

STUCK = math.inf
"""A step duration meaning "the server never moves the run on by itself" (it can still expire)."""

StepLike: TypeAlias = "RunStatus | str | int | tuple[RunStatus | str | int, float]"
ScriptLike: TypeAlias = "RunScript | Iterable[StepLike]"


@dataclass(frozen=True, slots=True)
class Step:
    """One scripted status and the virtual seconds the run stays in it before the server moves on."""

    status: RunStatus
    seconds: float


class RunScript:
    """The history one fake run plays, checked against the lifecycle when built.

    ``history`` lists statuses (wire strings, ``RunStatus`` members, anything
    :func:`~runfsm.status.parse_status` takes), each optionally paired with the seconds the
    run stays there: ``["queued", ("in_progress", 3), "requires_action", "queued",
    "in_progress", "completed"]``. Leading ``Null`` / ``Created`` entries are dropped (the
    fake adds ``thread.run.created`` to streams itself), so stream histories drawn from
    :mod:`runfsm.testing.strategies` can be played as they are. The rest must be a legal stream
    history starting at ``queued``.

    How the fake plays it:

    - server edges happen when the step's time is up (``STUCK`` = never);
    - ``requires_action -> queued`` waits for the client's ``submit_tool_outputs``;
      a scripted ``-> cancelling`` waits for the client's ``cancel``;
    - a submit or cancel the script did not plan for is still honoured: a submit continues
      with ``queued, in_progress, completed``; a cancel goes to ``cancelling`` and, after
      ``cancel_seconds``, to ``cancel_outcome`` (``cancelled``; any status the lifecycle
      allows after ``cancelling`` gives a cancel race);
    - a run expires exactly when the API would: at ``expires_at`` (``created_at +
      expires_in``, 600 s unless given), whatever the step durations: a scripted ``expired``
      happens then, and a paused run waits for its tool outputs until then;
    - a script ending before a terminal status leaves the run there (until it expires).

    Tool calls: round ``k`` (the ``k``-th ``requires_action``, from 1) asks for
    ``tool_rounds[k - 1]`` when given (build them with :func:`~runfsm.testing.fake.objects.tool_calls`),
    else for ``tool_calls``, else for one ``get_weather`` call. Call ids are made unique per run
    and round (``call_<run>_<round>_<n>``) unless the calls carry their own ``id``.
    """

    __slots__ = (
        "cancel_outcome",
        "cancel_seconds",
        "expires_in",
        "incomplete_reason",
        "reply",
        "steps",
        "tool_calls",
        "tool_rounds",
    )

    def __init__(
        self,
        history: Iterable[StepLike],
        *,
        seconds: float = 1.0,
        cancel_outcome: RunStatus | str = RunStatus.Cancelled,
        cancel_seconds: float = 1.0,
        reply: str = "Done.",
        tool_calls: Sequence[Mapping[str, Any]] = (),
        incomplete_reason: str = "max_completion_tokens",
        tool_rounds: Sequence[Sequence[Mapping[str, Any]]] = (),
        expires_in: int = EXPIRY_WINDOW_S,
    ) -> None:
        _check_duration(seconds, "seconds", None)
        _check_duration(cancel_seconds, "cancel_seconds", None)
        if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in < 1:
            raise ScriptError(f"expires_in must be an int number of seconds >= 1, got {expires_in!r}")
        for name, value in (("history", history), ("tool_calls", tool_calls), ("tool_rounds", tool_rounds)):
            if isinstance(value, (str, bytes, Mapping)):
                raise ScriptError(f"{name} is one {type(value).__name__} ({value!r:.60}): give a list")
        if any(not isinstance(call, Mapping) for call in tool_calls):
            raise ScriptError(
                f"tool_calls is a list of tool calls (mappings: see tool_calls()), got {tool_calls!r:.80}"
            )
        for number, calls in enumerate(tool_rounds, 1):
            if isinstance(calls, Mapping) or not calls:
                raise ScriptError(f"tool_rounds[{number - 1}]: each round is a non-empty list of tool calls")
        steps: list[Step] = []
        for index, item in enumerate(history):
            if isinstance(item, tuple):
                if len(item) != 2:
                    raise ScriptError(f"expected a status or (status, seconds), got {item!r}", index=index)
                raw, duration = item
                _check_duration(duration, "duration", index)
            else:
                raw, duration = item, seconds
            try:
                status = parse_status(raw)
            except UnknownStatus as err:
                raise ScriptError(str(err), index=index) from None
            if not steps and status in (RunStatus.Null, RunStatus.Created):
                continue
            if steps and steps[-1].status is status:  # a repeat is more time in the same status
                steps[-1] = Step(status, steps[-1].seconds + float(duration))
                continue
            steps.append(Step(status, float(duration)))
        if not steps:
            raise ScriptError("empty history: a run needs at least 'queued'")
        _check_legal([s.status for s in steps])
        try:
            outcome = parse_status(cancel_outcome)
        except UnknownStatus as err:
            raise ScriptError(f"cancel_outcome: {err}") from None
        if not RUN_LIFECYCLE.is_legal(RunStatus.Cancelling, outcome):
            allowed = ", ".join(s.label for s in RUN_LIFECYCLE.successors(RunStatus.Cancelling))
            raise ScriptError(f"cancel_outcome {outcome} cannot follow cancelling; expected one of {allowed}")
        self.steps: tuple[Step, ...] = tuple(steps)
        self.cancel_outcome = outcome
        self.cancel_seconds = float(cancel_seconds)
        self.reply = reply
        self.tool_calls = tuple(dict(c) for c in tool_calls)
        self.tool_rounds = tuple(tuple(dict(c) for c in calls) for calls in tool_rounds)
        self.incomplete_reason = incomplete_reason
        self.expires_in = expires_in

    def __repr__(self) -> str:
        parts = ", ".join(f"{s.status.wire}:{s.seconds:g}" for s in self.steps)
        return f"RunScript([{parts}])"

    def calls_for(self, round_number: int) -> tuple[dict[str, Any], ...]:
        """The tool calls round ``round_number`` (from 1) asks for, before ids are made unique."""
        if round_number <= len(self.tool_rounds):
            return self.tool_rounds[round_number - 1]
        return self.tool_calls

    @property
    def statuses(self) -> tuple[RunStatus, ...]:
        """The scripted statuses, in order."""
        return tuple(s.status for s in self.steps)

    def retimed(self, seconds: float) -> RunScript:
        """A copy of this script in which every step lasts ``seconds`` (``STUCK`` steps stay stuck)."""
        steps = [(s.status, s.seconds if math.isinf(s.seconds) else seconds) for s in self.steps]
        return RunScript(
            steps,
            cancel_outcome=self.cancel_outcome,
            cancel_seconds=self.cancel_seconds,
            reply=self.reply,
            tool_calls=self.tool_calls,
            incomplete_reason=self.incomplete_reason,
            tool_rounds=self.tool_rounds,
            expires_in=self.expires_in,
        )

    @classmethod
    def coerce(cls, script: ScriptLike) -> RunScript:
        """``script`` itself if it is a :class:`RunScript`, else ``RunScript(script)``."""
        if isinstance(script, RunScript):
            return script
        if isinstance(script, (str, bytes)):
            raise ScriptError(f"expected a list of statuses, got the string {script!r}")
        return cls(script)


def _check_duration(value: object, what: str, index: int | None) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value) or value < 0:
        raise ScriptError(f"{what} must be a number of seconds >= 0 (or STUCK), got {value!r}", index=index)


def _check_legal(statuses: list[RunStatus]) -> None:
    if statuses[0] is not RunStatus.Queued:
        raise ScriptError(f"a run starts queued, the script starts {statuses[0]}", index=0)
    tracker = RunTracker("script", mode="stream", on_illegal="raise", clock=None)
    for index, status in enumerate(statuses):
        try:
            tracker.observe(status)
        except IllegalTransition as err:
            allowed = ", ".join(s.label for s in err.allowed) or "nothing (terminal)"
            raise ScriptError(
                f"{status} cannot follow {err.source}; the lifecycle allows {allowed}", index=index
            ) from None
