"""The run tracker: follows one run through the lifecycle, one observation at a time.

Modes
-----
``"stream"``
    Every change is seen (SSE streams emit an event per status), so consecutive statuses
    must be direct edges.
``"poll"``
    Polls sample: a jump is accepted when a path of unobserved server-driven edges explains
    it, and the states in between are recorded as *inferred*. A path through a client call
    (``submit_tool_outputs``, ``cancel``) is accepted only if the tracker was told of the call
    (:meth:`RunTracker.submitted_tool_outputs`, :meth:`RunTracker.cancel_requested`). The first
    poll may find the run in any status: it is recorded as the ``START``.

A ``requires_action`` seen again right after a submit is a stale view of the round just
answered when it asks for the same tool calls (by id): it is recorded as ``REPEATED`` and the
submit stays pending, to explain the next move. New ids start a new round. Without ids (a
compact log, bare status strings) there is nothing to compare: a poll reads the second
``requires_action`` as a new round, as before.

A stream capture that begins after ``created``/``queued`` (a submit stream logged alone, a
consumer that connected late, a log cut at its start) is not an illegal run: its first status
is recorded as ``JOINED`` (the run was joined mid-run), and it goes on from there. A stream
that starts where runs start and then skips a state is still illegal.

Callbacks
---------
``tracker.on_enter(RunStatus.RequiresAction, fn)`` or a subclass method
``on_enter_RequiresAction(self, event)``. They fire after the state and the history are
updated, once for every state entered, inferred ones included, in path order, with
``event.inferred`` telling which. Repeats enter nothing. An exception in a callback does not
undo anything: the remaining callbacks still run, then :class:`~runfsm.exceptions.CallbackError`
is raised. When a tracker has callbacks, its state changes go through the one shared
``transitions`` machine of the lifecycle (the tracker is its model, never added to it);
without callbacks the tracker applies the same change from the lookup table directly, which
is what keeps an observation at a few microseconds.

Threads
-------
Trackers share only immutable data and the shared machine, which processes events without a
queue and keeps no per-event state: different runs may be fed from different threads. One
tracker is not locked: feed it from one thread at a time, or hold your own lock around it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypedDict

from typing_extensions import TypeVar

from runfsm.exceptions import (
    CallbackError,
    IllegalTransition,
    MissingClientCall,
    RunfsmError,
    SavedTrackerError,
    UnknownStatus,
    WrongRun,
)
from runfsm.lifecycle import DOCUMENTED, LENIENT, SAME, Edge, Lifecycle, Route
from runfsm.observation import (
    Observation,
    Outcome,
    history_list,
    lifecycle_or_run,
    observation_from_step,
)
from runfsm.saved import FORMAT, read_saved
from runfsm.status import (
    RunStatus,
    StatusAliases,
    alias_key,
    aliased_snapshot,
    checked_aliases,
    tool_call_ids,
)
from runfsm.vocabulary import LifecycleState, Trigger

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

__all__ = [
    "EnterCallback",
    "Mode",
    "Observation",
    "OnIllegal",
    "OnMissingCall",
    "RunTracker",
    "StateEntered",
    "Outcome",
]

logger = logging.getLogger("runfsm")

Mode = Literal["stream", "poll"]
OnIllegal = Literal["log", "raise", "record"]
OnMissingCall = Literal["reject", "assume"]

_MODES: tuple[str, ...] = ("stream", "poll")
_ON_ILLEGAL: tuple[str, ...] = ("log", "raise", "record")
_ON_MISSING: tuple[str, ...] = ("reject", "assume")
_ALL_CALLS = frozenset({Trigger.SUBMIT_TOOL_OUTPUTS, Trigger.CANCEL})
_NO_CALLS: frozenset[Trigger] = frozenset()

S = TypeVar("S", bound=LifecycleState, default=RunStatus)
"""The state enum of the tracked lifecycle (run statuses unless told otherwise)."""


@dataclass(frozen=True, slots=True)
class StateEntered(Generic[S]):
    """What an on-enter callback receives."""

    tracker: RunTracker[S]
    state: S
    """The state entered (the tracker is in it while the callback runs)."""
    previous: S
    """The state left."""
    observation: Observation[S]
    """The observation that caused it (already in the history)."""
    inferred: bool
    """True if the state was not observed but inferred on a poll path."""


EnterCallback = Callable[[StateEntered[Any]], object]


class _IllegalFields(TypedDict):
    run_id: str | None
    source: LifecycleState
    target: LifecycleState
    index: int
    mode: str
    allowed: tuple[LifecycleState, ...]


@dataclass(slots=True)
class _Entering(Generic[S]):
    observation: Observation[S]
    dest: S
    previous: S
    errors: list[BaseException] = field(default_factory=list)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a saved history is read.

    Decoding builds millions of acyclic containers; each full collection on the way walks
    all of them, which doubled the time to restore a million observations. Nothing read
    here forms a cycle, and the collector's previous state is restored on the way out.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _ordered(calls: frozenset[Trigger]) -> tuple[Trigger, ...]:
    if not calls:
        return ()
    return tuple(sorted(calls, key=lambda c: c.value))


class RunTracker(Generic[S]):
    """Follows one run: feed it what you observe; it knows where the run is and what was legal.

    ``lifecycle`` picks what is tracked: the Assistants run by default, or another preset
    (``RunTracker("resp_1", lifecycle=RESPONSE_LIFECYCLE)`` follows a background response,
    ``BATCH_LIFECYCLE`` a batch). Statuses, objects and events are read by that lifecycle's
    parser and checked against its field invariants.

    >>> t = RunTracker("run_1", mode="stream", on_illegal="record")
    >>> t.observe("queued").outcome, t.observe("in_progress").outcome
    (<Outcome.ACCEPTED: 'accepted'>, <Outcome.ACCEPTED: 'accepted'>)
    >>> t.observe("queued").outcome, t.state
    (<Outcome.ILLEGAL: 'illegal'>, <RunStatus.InProgress: 3>)
    """

    __slots__ = (
        "_answered_calls",
        "_callbacks",
        "_clock",
        "_entering",
        "_pending",
        "_round_calls",
        "aliases",
        "history",
        "keep_raw",
        "lifecycle",
        "mode",
        "on_illegal",
        "on_missing_call",
        "run_id",
        "state",
    )

    _class_hooks: ClassVar[dict[str, str]] = {}
    """State name -> the subclass method ``on_enter_<Name>`` called on entering it."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        prefix = "on_enter_"
        cls._class_hooks = {
            name[len(prefix) :]: name
            for name in dir(cls)
            if name.startswith(prefix) and len(name) > len(prefix) and callable(getattr(cls, name, None))
        }

    def __init__(
        self,
        run_id: str | None = None,
        *,
        mode: Mode = "poll",
        on_illegal: OnIllegal = "log",
        on_missing_call: OnMissingCall = "reject",
        keep_raw: bool = True,
        clock: Callable[[], float] | None = time.time,
        lifecycle: Lifecycle[S] | None = None,
        aliases: StatusAliases | None = None,
    ) -> None:
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        if on_illegal not in _ON_ILLEGAL:
            raise ValueError(f"on_illegal must be one of {_ON_ILLEGAL}, got {on_illegal!r}")
        if on_missing_call not in _ON_MISSING:
            raise ValueError(f"on_missing_call must be one of {_ON_MISSING}, got {on_missing_call!r}")
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a function returning the time (time.time) or None, got {clock!r}")
        self.run_id = run_id
        self.mode: Mode = mode
        self.on_illegal: OnIllegal = on_illegal
        self.on_missing_call: OnMissingCall = on_missing_call
        self.keep_raw = keep_raw
        self.lifecycle: Lifecycle[S] = lifecycle_or_run(lifecycle)
        self.aliases: StatusAliases = checked_aliases(aliases, self.lifecycle)
        """Misspelled statuses read as the status meant (:func:`~runfsm.status.status_aliases`); none by default."""
        self.state: S = self.lifecycle.initial
        self.history: list[Observation[S]] = []
        self._pending: frozenset[Trigger] = _NO_CALLS
        self._round_calls: frozenset[str] | None = None
        """The tool-call ids of the paused round the run is in (None: not known)."""
        self._answered_calls: frozenset[str] | None = None
        """The tool-call ids of the round the last recorded submit answered."""
        self._callbacks: dict[S, list[EnterCallback]] | None = None
        self._clock = clock
        self._entering: _Entering[S] | None = None

    def __repr__(self) -> str:
        return f"<RunTracker {self.run_id!r} {self.state.label} ({self.mode}, {len(self.history)} observations)>"

    # -- reading

    @property
    def status(self) -> S:
        """The current state (alias of ``state``)."""
        return self.state

    @property
    def is_terminal(self) -> bool:
        """True once a terminal status was accepted."""
        return self.state in self.lifecycle.terminal

    @property
    def is_paused(self) -> bool:
        """True while the run waits for tool outputs."""
        return self.state.is_paused

    @property
    def pending_calls(self) -> frozenset[Trigger]:
        """Client calls recorded and not yet used to explain a jump."""
        return self._pending

    def allowed(self) -> tuple[S, ...]:
        """Statuses a stream may show next (direct successors)."""
        return self.lifecycle.successors(self.state)

    @property
    def violations(self) -> list[Observation[S]]:
        """The rejected observations, in order."""
        return [o for o in self.history if o.outcome.is_rejection]

    # -- callbacks

    def on_enter(self, state: S, callback: EnterCallback) -> EnterCallback:
        """Call ``callback(event)`` whenever the run enters ``state``; returns ``callback``."""
        if not isinstance(state, self.lifecycle.state_type):
            raise TypeError(f"on_enter takes a {self.lifecycle.state_type.__name__}, got {state!r}")
        if not callable(callback):
            raise TypeError(f"on_enter callback must be callable, got {callback!r}")
        if self._callbacks is None:
            self._callbacks = {}
        self._callbacks.setdefault(state, []).append(callback)
        return callback

    # -- client calls

    def submitted_tool_outputs(self, *, at: float | None = None) -> Observation[S]:
        """Record that the client submitted tool outputs (explains requires_action -> queued in polls)."""
        return self.record_call(Trigger.SUBMIT_TOOL_OUTPUTS, at=at)

    def cancel_requested(self, *, at: float | None = None) -> Observation[S]:
        """Record that the client asked to cancel (explains a polled jump into cancelling)."""
        return self.record_call(Trigger.CANCEL, at=at)

    def record_call(self, call: Trigger, *, at: float | None = None) -> Observation[S]:
        """Record a client call (``Trigger.SUBMIT_TOOL_OUTPUTS`` or ``Trigger.CANCEL``)."""
        if not isinstance(call, Trigger) or not call.is_client_call:
            raise ValueError(f"record_call takes Trigger.SUBMIT_TOOL_OUTPUTS or Trigger.CANCEL, got {call!r}")
        warnings: tuple[str, ...] = ()
        if self.is_terminal:
            warnings = (f"{call.value} recorded after the run ended ({self.state})",)
        elif call not in self.lifecycle.client_calls:
            warnings = (f"{call.value} recorded, but no edge of the {self.lifecycle.title} lifecycle needs it",)
        elif call is Trigger.SUBMIT_TOOL_OUTPUTS and not self.state.is_paused:
            warnings = (f"submit_tool_outputs recorded while the run was last seen {self.state}",)
        self._pending = self._pending | {call}
        if call is Trigger.SUBMIT_TOOL_OUTPUTS:
            self._answered_calls = self._round_calls
        obs = Observation(
            index=len(self.history),
            time=self._now(at),
            raw=call.value,
            status=None,
            source=self.state,
            state=self.state,
            outcome=Outcome.CALL,
            calls=(call,),
            warnings=warnings,
        )
        self.history.append(obs)
        return obs

    # -- observing

    def _now(self, at: float | None) -> float | None:
        if at is not None:
            return at
        return self._clock() if self._clock is not None else None

    def observe(
        self, value: object, *, at: float | None = None, tool_calls: Iterable[str] | None = None
    ) -> Observation[S]:
        """Feed one observed status; return the history entry it produced.

        ``value`` is anything :func:`~runfsm.status.parse_status` accepts: a status string,
        ordinal, stream event name, an openai ``Run`` or stream event, or their dicts; or a
        member of the tracker's lifecycle's state enum.
        Run objects are also checked against the field invariants (warnings only).

        Rejected observations (illegal jumps, unknown statuses) leave the state unchanged and
        are kept in the history; depending on ``on_illegal`` they are logged (default),
        raised as :class:`~runfsm.exceptions.IllegalTransition` /
        :class:`~runfsm.exceptions.UnknownStatus`, or only recorded. Run-step and message
        events raise :class:`~runfsm.exceptions.NotARunStatus`: filter them out first.

        ``tool_calls`` gives the tool-call ids of a paused (``requires_action``) observation when
        ``value`` carries none; a run object's own ``required_action`` is read otherwise. They
        tell a stale view of the round just answered from a new round (see the module docs).
        """
        calls = frozenset(tool_calls) if tool_calls is not None else None
        lifecycle = self.lifecycle
        if isinstance(value, (str, LifecycleState)):  # the common case: no run object, no fields to check
            try:
                status = lifecycle.parse(value)
            except UnknownStatus as err:
                aliased = self._alias(err)
                if aliased is None:
                    return self._reject_unknown(value, err, at)
                status = aliased
            return self._advance(value, status, (), at, calls)
        try:
            snapshot = lifecycle.read(value)
        except UnknownStatus as err:
            aliased = self._alias(err)
            if aliased is None:
                return self._reject_unknown(value, err, at)
            snapshot = aliased_snapshot(value, aliased, lifecycle)
        if snapshot.run_id is not None:
            if self.run_id is None:
                self.run_id = snapshot.run_id
            elif snapshot.run_id != self.run_id:
                raise WrongRun(self.run_id, snapshot.run_id)
        warnings: tuple[str, ...] = ()
        if snapshot.fields is not None:
            warnings = lifecycle.check_fields(snapshot.status, snapshot.fields)
            if calls is None and snapshot.status.is_paused:
                calls = tool_call_ids(snapshot.fields)
        return self._advance(value, snapshot.status, warnings, at, calls)

    def _advance(
        self,
        raw: object,
        dest: S,
        warnings: tuple[str, ...],
        at: float | None,
        calls: frozenset[str] | None = None,
    ) -> Observation[S]:
        source = self.state
        lifecycle = self.lifecycle
        code = lifecycle.lookup[source][dest]
        outcome = Outcome.ACCEPTED
        route: Route[S] | None = None
        lenient: tuple[Edge[S], ...] = ()
        used: frozenset[Trigger] = _NO_CALLS
        missing: tuple[Trigger, ...] = ()

        if code == SAME:
            outcome = Outcome.REPEATED
            stale = calls is not None and calls == self._answered_calls  # the round just answered, seen again
            if self._pending and self.mode == "poll" and not stale:
                cycle = lifecycle.route(source, dest, calls=self._pending)
                if cycle is not None and cycle.calls:
                    route, outcome = cycle, Outcome.INFERRED
        elif source is lifecycle.initial and self.mode == "poll":
            outcome = Outcome.START
        elif source is lifecycle.initial and code not in (DOCUMENTED, LENIENT):
            outcome = Outcome.JOINED  # stream mode: the capture began mid-run
        elif code in (DOCUMENTED, LENIENT):
            edge = lifecycle.edge(source, dest)
            assert edge is not None  # the lookup table says so
            if code == LENIENT:
                lenient = (edge,)
            if edge.trigger.is_client_call:
                used = frozenset((edge.trigger,))
        elif self.mode == "poll":
            route = lifecycle.route(source, dest, calls=self._pending)
            if route is not None:
                outcome = Outcome.INFERRED
            else:
                needed = lifecycle.route(source, dest, calls=_ALL_CALLS)
                if needed is None:
                    outcome = Outcome.ILLEGAL
                else:
                    missing = _ordered(needed.calls - self._pending)
                    if self.on_missing_call == "assume":
                        route, outcome = needed, Outcome.UNRECORDED_CALL
                    else:
                        outcome = Outcome.ILLEGAL
        else:
            outcome = Outcome.ILLEGAL

        if route is not None:
            lenient = route.lenient
            used = route.calls
        rejected = outcome is Outcome.ILLEGAL
        obs = Observation(
            index=len(self.history),
            time=at if at is not None else (self._clock() if self._clock is not None else None),
            raw=raw if self.keep_raw else None,
            status=dest,
            source=source,
            state=source if rejected else dest,
            outcome=outcome,
            inferred=route.inferred if route is not None else (),
            lenient=lenient,
            calls=_ordered(used),
            missing_calls=missing,
            warnings=warnings,
        )
        self.history.append(obs)
        if rejected:
            self._report_illegal(obs)
            return obs
        if used:
            self._pending = self._pending - used
        if dest.is_paused and (outcome is not Outcome.REPEATED or route is not None):
            self._round_calls = calls  # a new paused round (None: its calls are not known)
        if outcome is Outcome.REPEATED:
            return obs
        if self._callbacks is not None or self._class_hooks:
            self._enter_through_machine(obs, route)
        else:
            self.state = dest
        return obs

    def _alias(self, err: UnknownStatus) -> S | None:
        """The status an unknown one is an alias of, if the tracker was given aliases."""
        if not self.aliases or not isinstance(err.value, str):
            return None
        return self.aliases.get(alias_key(err.value, self.lifecycle))

    # -- rejections

    def _reject_unknown(self, raw: object, err: UnknownStatus, at: float | None) -> Observation[S]:
        obs = Observation(
            index=len(self.history),
            time=self._now(at),
            raw=raw if self.keep_raw else None,
            status=None,
            source=self.state,
            state=self.state,
            outcome=Outcome.UNKNOWN_STATUS,
            warnings=(str(err),),
        )
        self.history.append(obs)
        if self.on_illegal == "raise":
            raise err
        if self.on_illegal == "log":
            self._log_rejection(
                obs,
                repr(err.value),
                "run %s: unknown status %r at observation %d; state stays %s",
                self.run_id,
                err.value,
                obs.index,
                self.state.label,
            )
        return obs

    def _report_illegal(self, obs: Observation[S]) -> None:
        assert obs.status is not None
        if self.on_illegal == "raise":
            fields: _IllegalFields = {
                "run_id": self.run_id,
                "source": obs.source,
                "target": obs.status,
                "index": obs.index,
                "mode": self.mode,
                "allowed": self.lifecycle.successors(obs.source),
            }
            if obs.missing_calls:
                raise MissingClientCall(**fields, missing=obs.missing_calls)
            raise IllegalTransition(**fields)
        if self.on_illegal == "log":
            why = " and ".join(c.value for c in obs.missing_calls)
            self._log_rejection(
                obs,
                obs.status.label,
                "run %s: illegal jump %s -> %s at observation %d (%s mode); allowed: %s%s",
                self.run_id,
                obs.source.label,
                obs.status.label,
                obs.index,
                self.mode,
                ", ".join(s.label for s in self.lifecycle.successors(obs.source)) or "nothing (terminal)",
                f"; needs an unrecorded {why}" if why else "",
            )

    def _log_rejection(self, obs: Observation[S], target: str, message: str, *args: object) -> None:
        """One WARNING on the ``runfsm`` logger, with the fields log pipelines index in ``extra``."""
        logger.warning(
            message,
            *args,
            extra={
                "run_id": self.run_id,
                "source": obs.source.label,
                "target": target,
                "mode": self.mode,
                "index": obs.index,
                "outcome": obs.outcome.value,
                "allowed": [s.label for s in self.lifecycle.successors(obs.source)],
                "missing_calls": [c.value for c in obs.missing_calls],
            },
        )

    # -- entering states through the shared machine

    def _enter_through_machine(self, obs: Observation[S], route: Route[S] | None) -> None:
        from transitions.core import EventData, MachineError  # noqa: PLC0415

        machine = self.lifecycle.machine
        dest = obs.state
        path = (*route.inferred, dest) if route is not None else (dest,)
        entering = _Entering(observation=obs, dest=dest, previous=self.state)
        self._entering = entering
        try:
            if obs.outcome in (Outcome.START, Outcome.JOINED) and not self.lifecycle.is_legal(self.state, dest):
                # watching began mid-run: no edge was taken, the state is simply entered
                machine.set_state(dest, model=self)
                machine.get_state(dest).enter(EventData(machine.get_state(dest), None, machine, self, (), {}))
            else:
                for state in path:
                    machine.events[self.lifecycle.trigger_name(state)].trigger(self)
        except MachineError as err:  # pragma: no cover - the structural tests prove this cannot happen
            self.state = dest
            raise RunfsmError(
                f"internal error: the transitions machine disagrees with the lookup table: {err}"
            ) from err
        finally:
            self._entering = None
        if entering.errors:
            raise CallbackError(entering.errors) from entering.errors[0]

    def _runfsm_entered(self, event_data: Any) -> None:
        """The shared machine's on-enter hook: dispatches to this tracker's callbacks."""
        entering = self._entering
        if entering is None:  # pragma: no cover - only the tracker drives the machine
            return
        state = self.state
        event = StateEntered(
            tracker=self,
            state=state,
            previous=entering.previous,
            observation=entering.observation,
            inferred=state is not entering.dest,
        )
        entering.previous = state
        callbacks: list[EnterCallback] = []
        hook = self._class_hooks.get(state.name)
        if hook is not None:
            callbacks.append(getattr(self, hook))
        if self._callbacks is not None:
            callbacks.extend(self._callbacks.get(state, ()))
        for callback in callbacks:
            try:
                callback(event)
            except Exception as err:  # noqa: BLE001 - collected and re-raised as CallbackError
                entering.errors.append(err)

    # -- persistence

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to resume: settings, state, recorded calls and the history.

        Callbacks are code, not data: register them again after :meth:`from_dict`.
        """
        return {
            "format": FORMAT,
            "lifecycle": self.lifecycle.name,
            "run_id": self.run_id,
            "mode": self.mode,
            "on_illegal": self.on_illegal,
            "on_missing_call": self.on_missing_call,
            "keep_raw": self.keep_raw,
            "state": self.state.name,
            "pending_calls": sorted(c.value for c in self._pending),
            "round_calls": sorted(self._round_calls) if self._round_calls is not None else None,
            "answered_calls": sorted(self._answered_calls) if self._answered_calls is not None else None,
            "history": [o.to_dict() for o in self.history],
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        clock: Callable[[], float] | None = time.time,
        lifecycle: Lifecycle[Any] | None = None,
        aliases: StatusAliases | None = None,
    ) -> RunTracker[Any]:
        """Restore a tracker saved with :meth:`to_dict` (``aliases`` are settings, like ``clock``: give them again).

        Into the run lifecycle unless ``lifecycle`` says otherwise.

        The document is checked whole before anything is restored (see :mod:`runfsm.saved`):
        a malformed or inconsistent one raises :class:`~runfsm.exceptions.SavedTrackerError`
        (also a ``ValueError``) naming the field.
        """
        lifecycle = lifecycle_or_run(lifecycle)
        with _collector_paused():
            saved = read_saved(data, lifecycle=lifecycle, make=observation_from_step)
        tracker: RunTracker[Any] = cls(
            saved.run_id,
            mode=saved.mode,  # type: ignore[arg-type]  # checked by read_saved
            on_illegal=saved.on_illegal,  # type: ignore[arg-type]
            on_missing_call=saved.on_missing_call,  # type: ignore[arg-type]
            keep_raw=saved.keep_raw,
            clock=clock,
            lifecycle=lifecycle,
            aliases=aliases,
        )
        tracker.state = saved.state
        tracker._pending = saved.pending_calls
        tracker._round_calls = saved.round_calls
        tracker._answered_calls = saved.answered_calls
        tracker.history = saved.history
        return tracker

    @classmethod
    def from_json(cls, text: str | bytes, **kwargs: Any) -> RunTracker[Any]:
        """Restore a tracker saved with :meth:`to_json`; bad text raises :class:`~runfsm.exceptions.SavedTrackerError`.

        ``text`` is the JSON as ``str`` or UTF-8 ``bytes``; ``kwargs`` go to :meth:`from_dict`.
        """
        try:
            with _collector_paused():
                data = json.loads(text)
        except RecursionError:
            raise SavedTrackerError("nested deeper than the JSON reader allows", field="<document>") from None
        except (ValueError, TypeError) as err:  # JSONDecodeError, bad UTF-8, an integer too long to read
            raise SavedTrackerError(f"not JSON: {err}", field="<document>") from None
        return cls.from_dict(data, **kwargs)

    # -- convenience

    def observe_all(self, values: Iterable[object]) -> list[Observation[S]]:
        """Observe each value in order; return their history entries (``TypeError`` for one string or object alone)."""
        return [self.observe(v) for v in history_list(values, "values")]
