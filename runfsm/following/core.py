"""The decision core shared by the sync and async watchers and the scheduler: what to do after each response.

:class:`FollowCore` does no I/O and never sleeps. It is fed what the API said (a run, a stream
event, a failure) and answers with a :class:`Step`: retrieve after so many seconds, call the
user's tool handler, submit outputs, cancel, or stop. The watchers (``runfsm.following.watcher``) and
the scheduler (``runfsm.following.scheduler``) only carry steps out, so the policy, the deadline, the
retry rules and the tracker bookkeeping are written once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runfsm.following.backoff import DEFAULT, PollContext, PollPolicy, RetryPolicy
from runfsm.following.errors import (
    RequestsFailed,
    SubmitInDoubt,
    ToolOutputsRejected,
    UnexpectedRunStatus,
    WatchError,
    WatchTimeout,
)
from runfsm.status import RunStatus
from runfsm.tracker import Mode, OnIllegal, Outcome, RunTracker

if TYPE_CHECKING:
    from collections.abc import Iterable

    from runfsm.exceptions import ApiError
    from runfsm.following.client import Reply, ToolOutput

__all__ = [
    "DEFAULT_EXPIRY",
    "DEFAULT_GRACE",
    "FollowCore",
    "Step",
    "StepKind",
    "WatchResult",
    "follow_tracker",
    "tool_call_ids",
]

DEFAULT_GRACE = 60.0
"""Seconds past the run's ``expires_at`` before a watcher gives up on a run that has not ended."""
DEFAULT_EXPIRY = 600.0
"""The API's run lifetime (``expires_at - created_at``), assumed until a response says otherwise."""


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


_DONE = Step(StepKind.DONE)


@dataclass(slots=True)
class WatchResult:
    """How a watch ended: the tracker (history, callbacks fired), the last run object, and what it cost."""

    tracker: RunTracker
    run: Any = None
    """The last run object the API returned (an openai ``Run``), None if none was seen."""
    retrieves: int = 0
    """Status retrieves sent (failed ones included)."""
    submits: int = 0
    cancels: int = 0
    streams: int = 0
    """SSE streams opened (create and submit streams)."""
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
    def status(self) -> RunStatus:
        """The run's last accepted status."""
        return self.tracker.state

    @property
    def requests(self) -> int:
        """All requests sent."""
        return self.retrieves + self.submits + self.cancels + self.streams + self.step_listings


def _field(run: Any, name: str) -> Any:
    if isinstance(run, Mapping):
        return run.get(name)
    return getattr(run, name, None)


def _run_of(value: Any) -> Any:
    """The run in an observed value: a stream event's ``data``, or the value itself (a run object)."""
    if _field(value, "event") is not None:
        return _field(value, "data")
    return value


def follow_tracker(run_id: str | None, *, mode: Mode, on_illegal: OnIllegal, clock: Callable[[], float]) -> RunTracker:
    """The tracker a watcher or scheduler creates for a run it follows.

    Another client may cancel or answer the run, so a polled jump that only such a call explains
    is accepted and marked (``on_missing_call="assume"``) rather than rejected.
    """
    return RunTracker(run_id, mode=mode, on_illegal=on_illegal, on_missing_call="assume", clock=clock)


def tool_call_ids(run: Any) -> tuple[str, ...]:
    """The ids of the tool calls a ``requires_action`` run waits for (empty if none)."""
    action = _field(run, "required_action")
    submit = _field(action, "submit_tool_outputs") if action is not None else None
    calls = _field(submit, "tool_calls") if submit is not None else None
    return tuple(str(_field(c, "id")) for c in calls or ())


def _function_calls(step: Any) -> list[Any]:
    """The function tool calls of a run step (empty unless it is a ``tool_calls`` step with some)."""
    if _field(step, "type") != "tool_calls":
        return []
    details = _field(step, "step_details")
    calls = _field(details, "tool_calls") if details is not None else None
    return [c for c in calls or () if _field(c, "type") == "function"]


def _round_steps(steps: Iterable[Any]) -> list[Any]:
    """The steps that are ``requires_action`` rounds (function tool calls), oldest first."""
    found = [s for s in steps if _function_calls(s)]
    found.sort(key=lambda s: _field(s, "created_at") or 0)  # stable: same-second steps keep the listing's order
    return found


def _step_outputs(step: Any) -> dict[str, str | None]:
    """``{call id: output}`` of a round's step (None: the step shows no output for that call)."""
    shown: dict[str, str | None] = {}
    for call in _function_calls(step):
        function = _field(call, "function")
        output = _field(function, "output") if function is not None else None
        shown[str(_field(call, "id"))] = None if output is None else str(output)
    return shown


class FollowCore:
    """The decisions for one run; fed by a shell, which carries out the :class:`Step` it returns."""

    def __init__(
        self,
        thread_id: str,
        run_id: str | None,
        *,
        tracker: RunTracker,
        policy: PollPolicy = DEFAULT,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float],
        timeout: float | None = None,
        grace: float = DEFAULT_GRACE,
        has_handler: bool = False,
        respect_hint: bool = True,
    ) -> None:
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
        if not grace >= 0:
            raise ValueError(f"grace must be >= 0 seconds, got {grace!r}")
        self.thread_id = thread_id
        self.run_id = run_id
        self.tracker = tracker
        self.policy = policy
        self.retry = retry if retry is not None else RetryPolicy()
        self.clock = clock
        self.grace = grace
        self.has_handler = has_handler
        self.respect_hint = respect_hint
        self.result = WatchResult(tracker)
        self.started = clock()
        self.user_deadline = self.started + timeout if timeout is not None else None
        self.expires_at: float | None = None
        self._status: RunStatus | None = None
        self._status_since = self.started
        self._replies_in_status = 0
        self._hint: float | None = None
        self._first_hint: float | None = None
        self._failures = 0
        self._round: tuple[tuple[str, ...], tuple[ToolOutput, ...]] | None = None
        self._rejected: str | None = None
        self._submitting = False
        """A submit was handed to the shell and neither its answer nor its failure has come back."""
        self._in_doubt = False
        """The last submit's answer was lost: the server may or may not have applied it."""
        self._answered = 0
        """Rounds of this run whose outputs this core knows were applied."""
        self._every_round: bool | None = None
        """True when the run was first seen before it ever started (``queued``, no ``started_at``): every
        round since was seen here, so the ``_answered + 1``-th round step is the one open."""
        self._waiting_run: Any = None
        """The ``requires_action`` run a step listing is deciding about."""
        self._mismatches = 0
        self._want_cancel = False
        self._cancel_sent = False
        self._stream_error: ApiError | None = None

    # -- deadline

    @property
    def deadline(self) -> float:
        """When the watch gives up: the caller's timeout, or ``expires_at`` plus the grace period."""
        expires = self.expires_at if self.expires_at is not None else self.started + DEFAULT_EXPIRY
        run_deadline = expires + self.grace
        return min(run_deadline, self.user_deadline) if self.user_deadline is not None else run_deadline

    def _error(self, cls: type[WatchError], message: str) -> WatchError:
        return cls(message, run_id=self.run_id, thread_id=self.thread_id, tracker=self.tracker)

    def _timeout(self, now: float) -> WatchError:
        who = "the caller's timeout" if self.deadline == self.user_deadline else "expires_at plus the grace period"
        return self._error(WatchTimeout, f"deadline passed ({who}, {now - self.started:.1f} s after watching began)")

    # -- steps

    def retrieve_now(self) -> Step:
        """The first step when nothing is known yet: retrieve at once."""
        self.result.retrieves += 1
        return Step(StepKind.RETRIEVE)

    def _next_retrieve(self, now: float) -> Step:
        if now >= self.deadline:
            raise self._timeout(now)
        status = self._status if self._status is not None else RunStatus.Queued
        ctx = PollContext(
            status=status,
            polls=max(self._replies_in_status - 1, 0),
            since_change=now - self._status_since,
            elapsed=now - self.started,
            hint=self._hint,
            first_hint=self._first_hint,
        )
        wait = max(self.policy(ctx), 0.0)
        if self.respect_hint and self._hint is not None:
            wait = max(wait, self._hint)  # the server's openai-poll-after-ms: a lower bound on every response
        wait = min(wait, self.deadline - now)
        self.result.retrieves += 1
        return Step(StepKind.RETRIEVE, wait=wait)

    def request_cancel(self) -> Step:
        """Ask for a cancel: the next step sends it (recorded on the tracker)."""
        self._want_cancel = True
        return self._cancel_step(0.0)

    def _cancel_step(self, wait: float) -> Step:
        self._cancel_sent = True
        self.result.cancels += 1
        self.tracker.cancel_requested(at=self.clock())
        return Step(StepKind.CANCEL, wait=wait)

    def _submit_step(self, outputs: tuple[ToolOutput, ...]) -> Step:
        self._submitting = True
        self.result.submits += 1
        self.tracker.submitted_tool_outputs(at=self.clock())
        return Step(StepKind.SUBMIT, outputs=outputs)

    def handled(self, outputs: object) -> Step:
        """The user's handler returned ``outputs`` for the current round: submit them."""
        if isinstance(outputs, (str, bytes, Mapping)) or not isinstance(outputs, Sequence):
            raise TypeError(
                "the requires_action handler must return a list of tool outputs "
                f"({{'tool_call_id': ..., 'output': ...}} mappings), got {type(outputs).__name__}"
            )
        checked: list[ToolOutput] = []
        for i, item in enumerate(outputs):
            if not isinstance(item, Mapping) or "tool_call_id" not in item:
                raise TypeError(
                    f"tool output {i} from the requires_action handler must be a mapping with "
                    f"'tool_call_id' and 'output', got {item!r}"
                )
            checked.append(item)
        assert self._round is not None, "handled() called with no requires_action round open"
        self._round = (self._round[0], tuple(checked))
        return self._submit_step(self._round[1])

    # -- feeding

    def observe(self, value: object, *, hint: float | None = None) -> RunStatus:
        """Feed one run object or stream event to the tracker; return the status the server reported."""
        now = self.clock()
        obs = self.tracker.observe(value, at=now)
        if obs.outcome is Outcome.UNKNOWN_STATUS:
            raise self._error(UnexpectedRunStatus, obs.warnings[0] if obs.warnings else "unknown status")
        if self.run_id is None:
            self.run_id = self.tracker.run_id
        assert obs.status is not None  # only unknown statuses lack one
        status = obs.status
        if self._every_round is None:
            fresh = status in (RunStatus.Created, RunStatus.Queued)
            self._every_round = fresh and _field(_run_of(value), "started_at") is None
        if self._submitting:  # the submit's own answer (or its stream's first event): it was applied
            self._submitting = False
            self._applied()
        if status is not RunStatus.RequiresAction:
            # the round is over (its outputs were taken, or the run moved on without them): a later
            # round with the same tool-call ids is a new round for the handler, never a resend
            if self._in_doubt and not status.is_terminal:
                self._applied()  # only the outputs move a run on from requires_action
            self._round, self._rejected, self._in_doubt = None, None, False
        if status is not self._status:
            self._status, self._status_since, self._replies_in_status = status, now, 0
        self._replies_in_status += 1
        self._hint = hint
        if hint is not None and self._first_hint is None:
            self._first_hint = hint
        return status

    def _applied(self) -> None:
        """The outputs of the open round were applied: the next ``requires_action`` is a new round."""
        self._answered += 1
        self._round, self._in_doubt = None, False

    def _run_fields(self, run: Any) -> None:
        self.result.run = run
        expires = _field(run, "expires_at")
        if isinstance(expires, (int, float)) and not isinstance(expires, bool):
            self.expires_at = float(expires)

    def on_reply(self, reply: Reply) -> Step:
        """A run came back (retrieve, submit or cancel response): decide the next step."""
        self._failures = 0
        self._run_fields(reply.run)
        status = self.observe(reply.run, hint=reply.hint)
        return self._after(status, reply.run)

    def _after(self, status: RunStatus, run: Any) -> Step:
        now = self.clock()
        if status.is_terminal:
            return _DONE
        if status is RunStatus.RequiresAction:
            ids = tool_call_ids(run)
            if self._round is not None and self._round[0] == ids and self._round[1]:
                if self._rejected is not None:
                    raise self._error(ToolOutputsRejected, f"the API refused the tool outputs: {self._rejected}")
                if self._in_doubt:
                    # The submit's answer was lost and the run waits for the same call ids: the same
                    # round (not applied) or the next one reusing them (applied). The run object
                    # cannot tell; its steps can.
                    self._waiting_run = run
                    self.result.step_listings += 1
                    return Step(StepKind.STEPS)
            elif self._in_doubt:
                self._applied()  # other call ids: only the outputs could have opened a new round
            return self._new_round(ids, run)
        if self._want_cancel and not self._cancel_sent:
            return self._cancel_step(0.0)
        return self._next_retrieve(now)

    def _new_round(self, ids: tuple[str, ...], run: Any) -> Step:
        if not self.has_handler:
            return _DONE
        self._round = (ids, ())
        return Step(StepKind.HANDLE, run=run)

    def on_steps(self, steps: Iterable[Any]) -> Step:
        """The run's steps, listed after a lost submit (:attr:`StepKind.STEPS`): resend, or hand on a new round.

        The round submitted is round N; the run waits for calls with the same ids. The open round
        step (the newest, in progress, with those ids) is round N if the submit was not applied,
        round N+1 if it was; then round N is the step before it, completed, with those ids and
        (when the server shows them) the outputs sent. So the submit was *not* applied when there
        is no round step before the open one, or it has other call ids, is not completed, or shows
        other outputs; it was applied when the steps count one round more than this core answered
        (known only when the run was followed from before it started). Anything else (or steps
        that do not show the open round) raises :class:`SubmitInDoubt` rather than guess.
        """
        self._failures = 0
        assert self._round is not None, "on_steps() called with no requires_action round open"
        assert self._in_doubt, "on_steps() called with no submit in doubt"
        ids, outputs = self._round
        rounds = _round_steps(steps)
        open_round = rounds[-1] if rounds else None
        if (
            open_round is None
            or _field(open_round, "status") != "in_progress"
            or sorted(_step_outputs(open_round)) != sorted(ids)
        ):
            self._mismatches += 1
            if self._mismatches > 1:
                raise self._doubt("the run's steps do not show the round the run waits for")
            self.result.notes.append("the run's steps do not show the open round yet: retrieving again")
            self.result.retrieves += 1
            return Step(StepKind.RETRIEVE)  # the run moved on meanwhile (expired, cancelled): see where it is
        self._mismatches = 0
        before = rounds[-2] if len(rounds) > 1 else None
        sent = {str(o.get("tool_call_id")): str(o.get("output")) for o in outputs}
        shown = _step_outputs(before) if before is not None else {}
        applied: bool | None = None
        if (
            before is None
            or sorted(shown) != sorted(ids)
            or _field(before, "status") != "completed"
            or any(v is not None and v != sent.get(k) for k, v in shown.items())
        ):
            applied = False
        elif self._every_round:
            applied = {self._answered + 1: False, self._answered + 2: True}.get(len(rounds))
        if applied is None:
            raise self._doubt(
                f"the round step before the open one has the same call ids and outputs, and the steps count "
                f"{len(rounds)} round(s) where {self._answered} were known answered"
                if self._every_round
                else "the round step before the open one has the same call ids and outputs, and this watch did "
                "not see the run's earlier rounds"
            )
        listed = ", ".join(ids)
        if applied:
            self.result.notes.append(
                f"the lost submit for {listed} was applied (its run step is completed): a new round with the same ids"
            )
            self._applied()
            run, self._waiting_run = self._waiting_run, None
            return self._new_round(ids, run)
        self.result.notes.append(f"the lost submit for {listed} was not applied (its run step waits): sending again")
        self._in_doubt = False
        return self._submit_step(outputs)

    def _doubt(self, why: str) -> WatchError:
        ids = self._round[0] if self._round is not None else ()
        message = (
            f"a submit of tool outputs for {', '.join(ids)} lost its answer and the run waits for the same call ids; "
            f"{why}: not sending them again (it could answer a new round with the last round's outputs) and not "
            "calling the handler again (it could run the tools twice); the run is left waiting"
        )
        self.result.notes.append(message)
        return SubmitInDoubt(message, run_id=self.run_id, thread_id=self.thread_id, tracker=self.tracker, call_ids=ids)

    def on_event(self, event: Any) -> Step | None:
        """One SSE event: run status events feed the tracker; returns None to keep reading the stream."""
        name = event.get("event") if isinstance(event, Mapping) else getattr(event, "event", None)
        if not isinstance(name, str) or not name.startswith("thread.run.") or name.startswith("thread.run.step."):
            return None
        data = event.get("data") if isinstance(event, Mapping) else getattr(event, "data", None)
        self._failures = 0
        if data is not None:
            self._run_fields(data)
        status = self.observe(event)
        if status.is_terminal or status is RunStatus.RequiresAction:
            return self._after(status, data)
        return None

    def on_stream_end(self, error: ApiError | None = None) -> Step:
        """A stream ended (or broke) before the run ended or paused: go on by polling."""
        if self._submitting:  # a submit stream that brought no event: applied or not, nobody knows yet
            self._submitting = False
            self._in_doubt = error is None or error.kind != "rejected"
        if error is not None:
            self.result.failures += 1
            if error.kind == "rejected" and self._round is not None:
                self._rejected = error.message
                self.result.rejection = error.message
        note = f"stream ended ({error or 'closed early'})"
        if self.run_id is None and error is not None and error.kind == "rejected":
            raise self._error(WatchError, f"the API refused to create the run: {error}")
        self.tracker.mode = "poll"
        self.result.fell_back = True
        if self.run_id is None:
            # The run may exist although its id never arrived: look for it rather than lose it.
            self._stream_error = error
            self.result.notes.append(f"{note}; looking for the run on the thread")
            return Step(StepKind.LOCATE)
        self.result.notes.append(f"{note}; polling")
        self.result.retrieves += 1
        return Step(StepKind.RETRIEVE, wait=(error.retry_after or 0.0) if error is not None else 0.0)

    def on_located(self, reply: Reply | None) -> Step:
        """The thread's newest run after a broken create stream (None: the thread has none).

        A run created since watching began is this watch's run: it is followed. Otherwise no
        run was created, so creating it again cannot make a duplicate: the next step is
        ``CREATE`` after the retry backoff (bounded like any retry by ``max_consecutive`` and
        the deadline). A refused create (4xx) was stopped earlier, in :meth:`on_stream_end`.
        """
        created = _field(reply.run, "created_at") if reply is not None else None
        if reply is None or not isinstance(created, (int, float)) or created < self.started - 2:
            error = self._stream_error
            cause = f": {error}" if error is not None else ""
            now = self.clock()
            self._failures += 1
            limit = self.retry.max_consecutive
            if limit is not None and self._failures > limit:
                raise self._error(
                    RequestsFailed, f"the create failed {self._failures} times in a row, no run was created{cause}"
                ) from error
            if now >= self.deadline:
                raise self._error(
                    WatchTimeout, f"deadline passed; the create stream failed before the run was created{cause}"
                ) from error
            self.result.notes.append("no run on the thread: creating it again")
            retry_after = error.retry_after if error is not None else None
            return Step(StepKind.CREATE, wait=self.retry.wait(self._failures, retry_after=retry_after))
        run_id = _field(reply.run, "id")
        self.run_id = run_id if isinstance(run_id, str) else None
        self.result.notes.append(f"found {self.run_id} on the thread; polling")
        return self.on_reply(reply)

    def on_failure(self, error: ApiError, *, request: StepKind) -> Step:
        """A request failed: retry it (honouring ``retry-after``), check the run, or give up with a clear error."""
        now = self.clock()
        self.result.failures += 1
        self.result.notes.append(f"{request.value} failed: {error}")
        if request is StepKind.SUBMIT:
            self._submitting = False
            self._in_doubt = error.transient  # a refused submit was not applied; a lost answer may have been
        if not error.transient:
            if request is StepKind.STEPS:
                raise self._doubt(f"listing the run's steps was refused ({error})") from error
            if request is StepKind.SUBMIT:
                self._rejected = error.message  # see what the run really is; never resubmit the same outputs
                self.result.rejection = error.message
                self.result.retrieves += 1
                return Step(StepKind.RETRIEVE)
            if request is StepKind.CANCEL:
                self.result.retrieves += 1  # "Cannot cancel run with status ...": it ended meanwhile
                return Step(StepKind.RETRIEVE)
            if request is StepKind.LOCATE:
                raise self._error(
                    RequestsFailed,
                    f"listing the thread's runs was refused ({error}) after the create stream broke: "
                    "the run may exist; not creating another",
                ) from error
            raise self._error(RequestsFailed, f"{request.value} was refused: {error}") from error
        self._failures += 1
        limit = self.retry.max_consecutive
        if request is StepKind.STEPS and ((limit is not None and self._failures > limit) or now >= self.deadline):
            raise self._doubt(f"listing the run's steps failed {self._failures} time(s) in a row ({error})") from error
        if limit is not None and self._failures > limit:
            raise self._error(RequestsFailed, f"{self._failures} requests failed in a row; last: {error}") from error
        if now >= self.deadline:
            raise self._timeout(now) from error
        wait = self.retry.wait(self._failures, retry_after=error.retry_after)
        if request is StepKind.STEPS:
            self.result.step_listings += 1
            return Step(StepKind.STEPS, wait=wait)  # list again: the decision waits on it
        if request is StepKind.LOCATE:
            return Step(StepKind.LOCATE, wait=wait)  # look again: the run, if any, is still there
        if request is StepKind.CANCEL and self._status is not None and not self._status.is_terminal:
            self.result.cancels += 1
            return Step(StepKind.CANCEL, wait=wait)
        # Retrieve again; after a failed submit this tells whether it was applied (never resend blindly).
        self.result.retrieves += 1
        return Step(StepKind.RETRIEVE, wait=wait)
