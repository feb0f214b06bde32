"""The decision core shared by the sync and async watchers and the scheduler: what to do after each response.

:class:`FollowCore` does no I/O and never sleeps. It is fed what the API said (a run, a stream
event, a failure) and answers with a :class:`Step`: retrieve after so many seconds, call the
user's tool handler, submit outputs, cancel, or stop. The watchers (``runfsm.following.watcher``) and
the scheduler (``runfsm.following.scheduler``) only carry steps out, so the policy, the deadline, the
retry rules and the tracker bookkeeping are written once.

The core follows an object of any lifecycle: the tracker's. What differs between lifecycles is
read from the lifecycle (its paused states, its stream events, the state an object is created
in) and from its :func:`~runfsm.following.profile.profile` (policy, lifetime, grace). What differs
between APIs is said by the shell: whether a create whose stream broke early can be looked for
(``can_locate``: a thread's newest run) and whether a broken stream can be resumed where it
broke (``can_resume``: a background response's ``starting_after``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypeVar

from runfsm.exceptions import NotARunStatus, UnknownStatus
from runfsm.following.backoff import PollContext, PollPolicy, RetryPolicy, policy_wait
from runfsm.following.errors import (
    RequestsFailed,
    SubmitInDoubt,
    ToolOutputsRejected,
    UnexpectedRunStatus,
    WatchError,
    WatchTimeout,
)
from runfsm.following.profile import DEFAULT_EXPIRY, DEFAULT_GRACE, profile
from runfsm.following.reading import (
    event_name,
    round_steps,
    run_of,
    step_outputs,
    tool_call_ids,
    value_of,
)
from runfsm.following.steps import DONE, Step, StepKind, WatchResult, created_state, follow_tracker
from runfsm.status import RunStatus
from runfsm.tracker import Outcome, RunTracker
from runfsm.vocabulary import LifecycleState

if TYPE_CHECKING:
    from collections.abc import Iterable

    from runfsm.exceptions import ApiError
    from runfsm.following.client import Reply, ToolOutput
    from runfsm.lifecycle import Lifecycle

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

S = TypeVar("S", bound=LifecycleState, default=RunStatus)
"""The state enum of the followed lifecycle (run statuses unless told otherwise)."""


class FollowCore(Generic[S]):
    """The decisions for one object (a run, unless the tracker follows another lifecycle); fed by a shell.

    The shell carries out the :class:`Step` each call returns. ``thread_id`` is the run's thread
    (None for objects addressed by their id alone). ``policy`` and ``grace`` default to the
    tracker's lifecycle's :func:`~runfsm.following.profile.profile`.
    """

    def __init__(
        self,
        thread_id: str | None,
        run_id: str | None,
        *,
        tracker: RunTracker[S],
        policy: PollPolicy | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float],
        timeout: float | None = None,
        grace: float | None = None,
        has_handler: bool = False,
        respect_hint: bool = True,
        can_locate: bool = True,
        can_resume: bool = False,
    ) -> None:
        defaults = profile(tracker.lifecycle)
        grace = defaults.grace if grace is None else grace
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
        if not grace >= 0:
            raise ValueError(f"grace must be >= 0 seconds, got {grace!r}")
        self.thread_id = thread_id
        self.run_id = run_id
        self.tracker = tracker
        self.lifecycle: Lifecycle[S] = tracker.lifecycle
        self.policy = policy if policy is not None else defaults.policy
        self.retry = retry if retry is not None else RetryPolicy()
        self.clock = clock
        self.grace = grace
        self.lifetime = defaults.lifetime
        self.has_handler = has_handler
        self.respect_hint = respect_hint
        self.can_locate = can_locate
        self.can_resume = can_resume
        self.result: WatchResult[S] = WatchResult(tracker)
        self.started = clock()
        self.user_deadline = self.started + timeout if timeout is not None else None
        self.expires_at: float | None = None
        self.sequence: int | None = None
        """The ``sequence_number`` of the last stream event seen (Responses streams number their events)."""
        self._stream_events = 0
        self._object_prefix = f"{self.lifecycle.object_type}." if self.lifecycle.object_type else ""
        self._status: S | None = None
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
        expires = self.expires_at if self.expires_at is not None else self.started + self.lifetime
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
        status = self._status if self._status is not None else created_state(self.lifecycle)
        ctx = PollContext(
            status=status,
            polls=max(self._replies_in_status - 1, 0),
            since_change=now - self._status_since,
            elapsed=now - self.started,
            hint=self._hint,
            first_hint=self._first_hint,
        )
        wait = policy_wait(self.policy, ctx)
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

    def observe(self, value: object, *, hint: float | None = None) -> S:
        """Feed one object or stream event to the tracker; return the status the server reported."""
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
            self._every_round = fresh and value_of(run_of(value), "started_at") is None
        if self._submitting:  # the submit's own answer (or its stream's first event): it was applied
            self._submitting = False
            self._applied()
        if not status.is_paused:
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
        expires = value_of(run, "expires_at")
        if isinstance(expires, (int, float)) and not isinstance(expires, bool):
            self.expires_at = float(expires)

    def on_reply(self, reply: Reply) -> Step:
        """A run came back (retrieve, submit or cancel response): decide the next step."""
        self._failures = 0
        self._run_fields(reply.run)
        status = self.observe(reply.run, hint=reply.hint)
        return self._after(status, reply.run)

    def _after(self, status: S, run: Any) -> Step:
        now = self.clock()
        if status.is_terminal:
            return DONE
        if status.is_paused:
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
            return DONE
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
        rounds = round_steps(steps)
        open_round = rounds[-1] if rounds else None
        if (
            open_round is None
            or value_of(open_round, "status") != "in_progress"
            or sorted(step_outputs(open_round)) != sorted(ids)
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
        shown = step_outputs(before) if before is not None else {}
        applied: bool | None = None
        if (
            before is None
            or sorted(shown) != sorted(ids)
            or value_of(before, "status") != "completed"
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
        """One SSE event: status events feed the tracker; returns None to keep reading the stream.

        A status event is one named in the object's namespace (``thread.run.``, ``response.``)
        that the lifecycle reads as a status; its others (run steps, text deltas) are skipped,
        and a name in the namespace that is no known status is an unknown status, as in a poll.
        """
        self._stream_events += 1
        number = value_of(event, "sequence_number")
        if isinstance(number, int) and not isinstance(number, bool):
            self.sequence = number
        name = event_name(event)
        if not isinstance(name, str) or not name.startswith(self._object_prefix):
            return None
        try:
            self.lifecycle.read(event)
        except NotARunStatus:
            return None
        except UnknownStatus:
            pass  # the tracker reports it: the watch stops with UnexpectedRunStatus
        data = value_of(event, "data")
        if data is None and self.lifecycle.parser.payload_key is not None:
            data = value_of(event, self.lifecycle.parser.payload_key)
        self._failures = 0
        if data is not None:
            self._run_fields(data)
        status = self.observe(event)
        if status.is_terminal or status.is_paused:
            return self._close_stream(self._after(status, data))
        return None

    def _close_stream(self, step: Step) -> Step:
        self._stream_events = 0
        return step

    def on_stream_end(self, error: ApiError | None = None) -> Step:
        """A stream ended (or broke) before the object ended or paused: resume it, or go on by polling.

        A stream that can be resumed (``can_resume``) and delivered events since it was opened
        is opened again after the last one; one that delivered nothing is not tried again.
        """
        progress, self._stream_events = self._stream_events, 0
        if self._submitting:  # a submit stream that brought no event: applied or not, nobody knows yet
            self._submitting = False
            self._in_doubt = error is None or error.kind != "rejected"
        if error is not None:
            self.result.failures += 1
            if error.kind == "rejected" and self._round is not None:
                self._rejected = error.message
                self.result.rejection = error.message
        note = f"stream ended ({error or 'closed early'})"
        what = self.lifecycle.title.lower() if self.thread_id is None else "run"
        if self.run_id is None and error is not None and error.kind == "rejected":
            raise self._error(WatchError, f"the API refused to create the {what}: {error}")
        if self.run_id is None and not self.can_locate:
            return self._lost_create(error, what)
        if self.run_id is not None and self.can_resume and progress and not self.result.fell_back:
            if self.clock() >= self.deadline:
                raise self._timeout(self.clock()) from error
            after = "the start" if self.sequence is None else f"event {self.sequence}"
            self.result.notes.append(f"{note}; resuming after {after}")
            return Step(StepKind.RESUME, wait=(error.retry_after or 0.0) if error is not None else 0.0)
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

    def _lost_create(self, error: ApiError | None, what: str) -> Step:
        """The create stream broke before naming the object, and the API cannot list what was created.

        Only a 429 says that nothing was created: the create is sent again after the backoff.
        Any other break may have created the object, so creating another could duplicate it.
        """
        if error is None or error.kind != "rate_limited":
            raise self._error(
                WatchError,
                f"the create stream broke before the {what} was named ({error or 'closed early'}): "
                f"it may exist; not creating another",
            ) from error
        self._failures += 1
        limit = self.retry.max_consecutive
        if limit is not None and self._failures > limit:
            raise self._error(RequestsFailed, f"the create failed {self._failures} times in a row: {error}") from error
        if self.clock() >= self.deadline:
            raise self._timeout(self.clock()) from error
        self.result.notes.append(f"create refused ({error}): creating it again")
        return Step(StepKind.CREATE, wait=self.retry.wait(self._failures, retry_after=error.retry_after))

    def on_located(self, reply: Reply | None) -> Step:
        """The thread's newest run after a broken create stream (None: the thread has none).

        A run created since watching began is this watch's run: it is followed. Otherwise no
        run was created, so creating it again cannot make a duplicate: the next step is
        ``CREATE`` after the retry backoff (bounded like any retry by ``max_consecutive`` and
        the deadline). A refused create (4xx) was stopped earlier, in :meth:`on_stream_end`.
        """
        created = value_of(reply.run, "created_at") if reply is not None else None
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
        run_id = value_of(reply.run, "id")
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
