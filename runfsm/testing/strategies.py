"""Hypothesis strategies for lifecycles, all derived from the lifecycle's table (``RUN_LIFECYCLE`` by default).

The history strategies (:func:`statuses`, :func:`stream_histories`, :func:`poll_histories`,
:func:`illegal_histories`) take ``lifecycle=``: a preset (``RESPONSE_LIFECYCLE``,
``BATCH_LIFECYCLE``) or any :class:`~runfsm.lifecycle.Lifecycle`; the object strategies are the
Assistants run's. Importing this module registers ``st.from_type`` for the presets' state enums.

Every strategy takes keyword-only options, validates them when called
(``hypothesis.errors.InvalidArgument``), and is built so that shrinking gives short histories:
at each step the first choice (the one hypothesis shrinks towards) is the one that ends the
history soonest, documented edges before lenient ones.

- :func:`stream_histories`: statuses as an SSE stream shows them (every change, direct edges).
- :func:`poll_histories`: what a poller sees: a sample of a stream history, with repeats,
  possibly starting mid-run and ending unfinished, plus the client calls the jumps need.
- :func:`illegal_histories`: a history with exactly one illegal jump, and its index.
- :func:`run_dicts` / :func:`runs`: run objects (JSON dicts / openai ``Run`` models) consistent
  with a status, field invariants included.
- :func:`stream_events`: the ``thread.run.*`` events of a stream, with consistent run payloads.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from typing_extensions import TypeVar

from runfsm.lifecycle import ILLEGAL, Lifecycle
from runfsm.lifecycles import PRESETS, RUN_LIFECYCLE
from runfsm.status import RunStatus
from runfsm.testing.fake.objects import run_object, tool_call
from runfsm.vocabulary import LifecycleState, StateKind, Trigger

if TYPE_CHECKING:
    from collections.abc import Iterable

    from openai.types.beta.threads import Run

    from runfsm.tracker import Observation, RunTracker

__all__ = [
    "PollEntry",
    "illegal_histories",
    "observe_entries",
    "poll_histories",
    "run_dicts",
    "runs",
    "statuses",
    "stream_events",
    "stream_histories",
]

S = TypeVar("S", bound=LifecycleState, default=RunStatus)

PollEntry: TypeAlias = "LifecycleState | Trigger"
"""One entry of a poll history: an observed status, or a client call (``Trigger.SUBMIT_TOOL_OUTPUTS`` / ``CANCEL``)."""

_LC = RUN_LIFECYCLE
_WIRE_STATES: tuple[RunStatus, ...] = tuple(s for s in _LC.states if s.wire is not None)
_INCOMPLETE_REASONS = ("max_completion_tokens", "max_prompt_tokens", "content_filter")  # the last: seen in practice
_SDK_INCOMPLETE_REASONS = _INCOMPLETE_REASONS[:2]  # what openai's Run model accepts
_ERROR_CODES = ("server_error", "rate_limit_exceeded", "invalid_prompt")


# ----------------------------------------------------------------------------- validation


def _check_int(name: str, value: object, *, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be an int")
    if value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be >= {minimum}")
    return value


def _check_bool(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, bool):
        allowed = "True, False or None" if optional else "True or False"
        raise InvalidArgument(f"{name}={value!r} must be {allowed}")


def _check_lifecycle(lifecycle: object) -> Lifecycle[Any]:
    if lifecycle is None:
        return RUN_LIFECYCLE
    if not isinstance(lifecycle, Lifecycle):
        raise InvalidArgument(f"lifecycle={lifecycle!r} must be a Lifecycle (a preset such as RESPONSE_LIFECYCLE)")
    return lifecycle


def _start(lc: Lifecycle[Any]) -> LifecycleState:
    """The first status the API shows: where the create call's edges leave the client-side states."""
    firsts = {e.dest for e in lc.edges if e.trigger is Trigger.CREATE and e.dest.kind is not StateKind.CLIENT}
    if len(firsts) != 1:
        raise InvalidArgument(f"{lc.name}: the create call must lead to one first status, found {len(firsts)}")
    (first,) = firsts
    return cast("LifecycleState", first)


def _announced(lc: Lifecycle[Any]) -> LifecycleState | None:
    """The client-side state a create stream announces before the first status (the run's ``created``)."""
    for e in lc.edges:
        if e.source is lc.initial and e.trigger is Trigger.CREATE and e.dest.kind is StateKind.CLIENT:
            return cast("LifecycleState", e.dest)
    return None


def _check_status(name: str, value: object, *, wire: bool) -> RunStatus:
    if not isinstance(value, RunStatus):
        raise InvalidArgument(f"{name}={value!r} must be a RunStatus")
    if wire and value.wire is None:
        raise InvalidArgument(f"{name}={value!r}: {value.label} is client-side; the API never shows it")
    return value


# ----------------------------------------------------------------------------- the walk


@dataclass(frozen=True, slots=True)
class _Goal:
    lenient: bool
    terminal: bool
    rounds: int
    cancel: bool | None
    depth: int = 1
    lifecycle: Lifecycle[Any] = RUN_LIFECYCLE

    def base(self) -> _Goal:
        """The goal without its weighting (what the distances depend on)."""
        return _Goal(self.lenient, self.terminal, self.rounds, self.cancel, lifecycle=self.lifecycle)


def _edges_from(state: LifecycleState, goal: _Goal) -> list[LifecycleState]:
    lc = goal.lifecycle
    out: list[LifecycleState] = []
    for dest in lc.successors(state):
        edge = lc.edge(state, dest)
        assert edge is not None
        if edge.is_lenient and not goal.lenient:
            continue
        if goal.cancel is False and edge.trigger is Trigger.CANCEL:
            continue
        if dest.kind is StateKind.CLIENT:
            continue
        out.append(dest)
    return out


_Node: TypeAlias = tuple[LifecycleState, int, bool]


def _step(node: _Node, dest: LifecycleState, goal: _Goal) -> _Node:
    source, rounds, cancelled = node
    if dest.is_paused:
        rounds = min(rounds + 1, goal.rounds)
    edge = goal.lifecycle.edge(source, dest)
    return dest, rounds, cancelled or (edge is not None and edge.trigger is Trigger.CANCEL)


def _done(node: _Node, goal: _Goal) -> bool:
    state, rounds, cancelled = node
    if rounds < goal.rounds or (goal.cancel is True and not cancelled):
        return False
    return state.is_terminal or not goal.terminal


@cache
def _distances(goal: _Goal) -> dict[_Node, int]:
    """Fewest further statuses from each walk node to a node where the history may end."""
    nodes = [(s, r, c) for s in goal.lifecycle.states for r in range(goal.rounds + 1) for c in (False, True)]
    preds: dict[_Node, list[_Node]] = {n: [] for n in nodes}
    for n in nodes:
        for dest in _edges_from(n[0], goal):
            preds[_step(n, dest, goal)].append(n)
    dist: dict[_Node, int] = {n: 0 for n in nodes if _done(n, goal)}
    todo = deque(dist)
    while todo:
        n = todo.popleft()
        for p in preds[n]:
            if p not in dist:
                dist[p] = dist[n] + 1
                todo.append(p)
    return dist


def _choices(node: _Node, goal: _Goal, budget: int) -> list[LifecycleState | None]:
    """The next choices, simplest first: ``None`` (stop) when allowed, then successors nearest the goal."""
    dist = _distances(goal.base())
    options: list[LifecycleState | None] = []
    if _done(node, goal) and (not goal.terminal or node[0].is_terminal):
        options.append(None)
    succ = [d for d in _edges_from(node[0], goal) if dist.get(_step(node, d, goal), math.inf) <= budget - 1]

    def key(dest: LifecycleState) -> tuple[float, int, int]:
        edge = goal.lifecycle.edge(node[0], dest)
        assert edge is not None
        return dist[_step(node, dest, goal)], int(edge.is_lenient), int(dest)

    ranked: list[LifecycleState] = sorted(succ, key=key)
    options.extend(ranked)
    # weighting: later copies of the non-terminal successors make long runs likelier (shrinking still
    # goes to the front of the list, the simplest choices)
    options.extend(d for _ in range(goal.depth - 1) for d in ranked if not d.is_terminal)
    return options


def _walk(draw: st.DrawFn, start: _Node, goal: _Goal, max_length: int) -> list[LifecycleState]:
    """Draw statuses after ``start`` (not included) until the goal allows stopping (and the draw stops)."""
    node = start
    out: list[LifecycleState] = []
    while True:
        options = _choices(node, goal, max_length - len(out))
        if not options:
            return out
        if options == [None]:
            return out
        choice = draw(st.sampled_from(options))
        if choice is None:
            return out
        out.append(choice)
        node = _step(node, choice, goal)


def _min_length(goal: _Goal) -> int:
    start: _Node = (_start(goal.lifecycle), 0, False)
    return 1 + _distances(goal.base()).get(start, 10**6)


# ----------------------------------------------------------------------------- statuses


def statuses(
    *, wire_only: bool = False, terminal: bool | None = None, lifecycle: Lifecycle[S] | None = None
) -> st.SearchStrategy[S]:
    """Any status of the lifecycle (``wire_only``: only those the API returns; ``terminal``: filter by it)."""
    _check_bool("wire_only", wire_only)
    _check_bool("terminal", terminal, optional=True)
    lc = _check_lifecycle(lifecycle)
    pool = [s for s in lc.states if (s.wire is not None or not wire_only)]
    if terminal is not None:
        pool = [s for s in pool if s.is_terminal is terminal]
    return cast("st.SearchStrategy[S]", st.sampled_from(pool))


# ----------------------------------------------------------------------------- stream histories


def stream_histories(
    *,
    max_length: int = 30,
    lenient: bool = True,
    terminal: bool = True,
    min_tool_rounds: int = 0,
    cancel: bool | None = None,
    created: bool = False,
    depth: int = 1,
    lifecycle: Lifecycle[S] | None = None,
) -> st.SearchStrategy[list[S]]:
    """Histories as an SSE stream shows them: the first status (``queued``) first, then direct edges only.

    - ``max_length``: at most this many statuses (``thread.run.created`` not counted).
    - ``lenient``: also use the lenient edges (queued -> failed, cancelling -> completed, ...).
    - ``terminal``: end on a terminal status (False: may stop anywhere, as an unfinished run).
    - ``min_tool_rounds``: at least this many ``requires_action`` rounds (deep tool loops).
    - ``cancel``: True: the run is cancelled at some point (cancel races when ``lenient``);
      False: never; None: either.
    - ``created``: start with ``RunStatus.Created`` (the ``thread.run.created`` event).
    - ``depth``: weight of continuing: each step picks a non-terminal successor ``depth`` times
      as often, so ``depth=4`` reaches several tool rounds and cancel races without forcing them.
    - ``lifecycle``: whose histories (the Assistants run by default). A background response
      starts ``queued``, a batch ``validating``; neither has tool rounds (``min_tool_rounds``
      must stay 0) nor a ``created`` state.

    Feed them to ``RunTracker(mode="stream")`` or queue them on the fake server as they are.
    """
    _check_int("max_length", max_length, minimum=1)
    _check_bool("lenient", lenient)
    _check_bool("terminal", terminal)
    _check_int("min_tool_rounds", min_tool_rounds, minimum=0)
    _check_bool("cancel", cancel, optional=True)
    _check_bool("created", created)
    _check_int("depth", depth, minimum=1)
    lc = _check_lifecycle(lifecycle)
    if min_tool_rounds and not lc.paused:
        raise InvalidArgument(f"min_tool_rounds={min_tool_rounds}: the {lc.title} lifecycle has no tool rounds")
    announced = _announced(lc)
    if created and announced is None:
        raise InvalidArgument(f"created=True: the {lc.title} lifecycle has no client-side created state")
    first = _start(lc)
    goal = _Goal(lenient, terminal, min_tool_rounds, cancel, depth, lifecycle=lc)
    needed = _min_length(goal)
    if needed > max_length:
        raise InvalidArgument(
            f"max_length={max_length} is too short: these options need histories of at least {needed} statuses"
        )

    @st.composite
    def histories(draw: st.DrawFn) -> list[S]:
        start: _Node = (first, 0, False)
        body = [first, *_walk(draw, start, goal, max_length - 1)]
        out = [announced, *body] if created and announced is not None else body
        return cast("list[S]", out)

    return histories()


# ----------------------------------------------------------------------------- poll histories


def observe_entries(tracker: RunTracker[S], entries: Iterable[PollEntry]) -> list[Observation[S]]:
    """Feed a poll history to ``tracker``: statuses are observed, ``Trigger`` entries recorded as calls."""
    out = []
    for entry in entries:
        if isinstance(entry, Trigger):
            out.append(tracker.record_call(entry))
        else:
            out.append(tracker.observe(entry))
    return out


def poll_histories(
    *,
    max_length: int = 30,
    lenient: bool = True,
    finished: bool | None = None,
    mid_run: bool = True,
    max_repeats: int = 3,
    min_tool_rounds: int = 0,
    cancel: bool | None = None,
    depth: int = 1,
    lifecycle: Lifecycle[Any] | None = None,
) -> st.SearchStrategy[list[PollEntry]]:
    """What a poller sees of one run: statuses (a sample of a stream history) and its client calls.

    The underlying run is drawn by :func:`stream_histories`; the poller observes some of its
    statuses, each one to ``max_repeats`` times. ``requires_action`` is always observed before
    the client submits (it needs the tool calls); a ``Trigger.SUBMIT_TOOL_OUTPUTS`` or
    ``Trigger.CANCEL`` entry stands where the client made the call. ``mid_run``: the first
    observation may come after ``queued``; ``finished``: True ends on the run's terminal status,
    False before it, None either. ``min_tool_rounds``, ``cancel`` and ``depth`` shape the
    underlying run as in :func:`stream_histories`, for ``lifecycle`` (the Assistants run by
    default). Every history is accepted by ``RunTracker(mode="poll", lifecycle=lifecycle)`` fed
    with :func:`observe_entries`.
    """
    _check_int("max_length", max_length, minimum=2)
    _check_bool("lenient", lenient)
    _check_bool("finished", finished, optional=True)
    _check_bool("mid_run", mid_run)
    _check_int("max_repeats", max_repeats, minimum=1)
    lc = _check_lifecycle(lifecycle)
    underlying: st.SearchStrategy[list[Any]] = stream_histories(
        lifecycle=lc,
        max_length=max_length,
        lenient=lenient,
        terminal=True,
        min_tool_rounds=min_tool_rounds,
        cancel=cancel,
        depth=depth,
    )

    @st.composite
    def histories(draw: st.DrawFn) -> list[PollEntry]:
        path = draw(underlying)
        last = len(path) - 1
        unfinished = finished is False or (finished is None and draw(st.booleans()))
        end = last - 1 if unfinished else last
        first = draw(st.integers(0, end)) if mid_run else 0
        stop = draw(st.integers(first, end)) if unfinished else last
        # the poller saw requires_action before each submit it made (it needs the tool calls)
        forced = {i for i in range(first, stop) if _trigger(lc, path[i], path[i + 1]) is Trigger.SUBMIT_TOOL_OUTPUTS}
        seen = {first, stop} | forced
        extra = [i for i in range(first, stop + 1) if i not in seen]
        included = draw(st.lists(st.sampled_from(extra), unique=True)) if extra else []
        chosen = sorted(seen | set(included))
        entries: list[PollEntry] = []
        for k, idx in enumerate(chosen):
            if k:
                calls = [_trigger(lc, path[j], path[j + 1]) for j in range(chosen[k - 1], idx)]
                entries.extend(dict.fromkeys(c for c in calls if c.is_client_call))  # in the order made
            entries.extend([path[idx]] * draw(st.integers(1, max_repeats)))
        return entries

    return histories()


def _trigger(lc: Lifecycle[Any], source: LifecycleState, dest: LifecycleState) -> Trigger:
    edge = lc.edge(source, dest)
    if edge is None:  # pragma: no cover - consecutive statuses of a stream history are edges
        raise AssertionError(f"{source.label} -> {dest.label} is not an edge")
    return edge.trigger


# ----------------------------------------------------------------------------- illegal histories


def illegal_histories(
    *, mode: str = "stream", max_length: int = 20, lenient: bool = True, lifecycle: Lifecycle[S] | None = None
) -> st.SearchStrategy[tuple[list[S], int]]:
    """A history with exactly one illegal jump, and that jump's index: ``(statuses, index)``.

    Legal statuses (direct edges) surround one status the lifecycle forbids after the
    previous accepted one (``mode="poll"``: one no path explains, whatever client calls were
    made). Since a tracker keeps its state on a rejection, the history continues legally from
    the status before the illegal one. ``RunTracker(mode=mode, on_illegal="record",
    lifecycle=lifecycle)`` rejects exactly ``index``.
    """
    if mode not in ("stream", "poll"):
        raise InvalidArgument(f"mode={mode!r} must be 'stream' or 'poll'")
    _check_int("max_length", max_length, minimum=3)
    _check_bool("lenient", lenient)
    lc = _check_lifecycle(lifecycle)
    goal = _Goal(lenient, terminal=False, rounds=0, cancel=None, lifecycle=lc)
    all_calls = lc.client_calls
    first = _start(lc)

    def forbidden(state: LifecycleState) -> list[LifecycleState]:
        out = []
        for s in lc.states:
            if s is state or lc.lookup[state][s] != ILLEGAL:
                continue
            if mode == "poll" and lc.route(state, s, calls=all_calls) is not None:
                continue
            out.append(s)
        return out

    @st.composite
    def histories(draw: st.DrawFn) -> tuple[list[S], int]:
        # a first status is never illegal (a poll starts anywhere; a stream may be joined mid-run)
        prefix = [first, *_walk(draw, (first, 0, False), goal, max_length // 2 - 1)]
        state = prefix[-1]
        bad = draw(st.sampled_from(forbidden(state)))
        node: _Node = (state, 0, False)
        rest = _walk(draw, node, goal, max_length - len(prefix) - 1)
        return cast("list[S]", [*prefix, bad, *rest]), len(prefix)

    return histories()


# ----------------------------------------------------------------------------- run objects


@st.composite
def _run_dict(draw: st.DrawFn, status: RunStatus, reasons: tuple[str, ...] = _INCOMPLETE_REASONS) -> dict[str, Any]:
    created = draw(st.integers(1_600_000_000, 1_900_000_000))
    started: int | None = None
    entered = created
    if status is not RunStatus.Queued or draw(st.booleans()):  # a queued run may be queued again after a submit
        started = created + draw(st.integers(0, 30))
        entered = started + draw(st.integers(0, 500))
    if status is RunStatus.Queued and started is not None:
        entered = max(entered, started)
    calls = draw(st.integers(1, 3))
    run_id = "run_" + draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=4, max_size=8))
    return run_object(
        status,
        run_id=run_id,
        thread_id="thread_" + draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=4, max_size=8)),
        created_at=created,
        entered_at=entered,
        started_at=started,
        tool_calls=[tool_call(f"call_{run_id[4:]}_{i}") for i in range(calls)],
        incomplete_reason=draw(st.sampled_from(reasons)),
        last_error={"code": (code := draw(st.sampled_from(_ERROR_CODES))), "message": f"{code} (hypothesis)"},
    )


def run_dicts(status: RunStatus | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Run objects as the API's JSON, consistent with ``status`` (None: any status the API returns).

    The fields satisfy the invariants of LIFECYCLE.md (``runfsm.invariants.check_fields`` finds
    nothing): ``required_action`` only in requires_action, ``last_error`` / ``failed_at`` when
    failed, ``completed_at`` and a null ``expires_at`` when completed, ``expires_at =
    created_at + 600`` while the run can expire, ...
    """
    if status is None:
        return st.sampled_from(_WIRE_STATES).flatmap(_run_dict)
    return _run_dict(_check_status("status", status, wire=True))


def runs(status: RunStatus | None = None) -> st.SearchStrategy[Run]:
    """The openai ``Run`` models of :func:`run_dicts`, checked by ``Run.model_validate``.

    ``incomplete_details.reason`` is one the SDK's model accepts (not ``content_filter``, which
    the API sends in practice but the model's literal type lacks: use :func:`run_dicts` for it).
    """
    if status is None:
        base = st.sampled_from(_WIRE_STATES).flatmap(lambda s: _run_dict(s, _SDK_INCOMPLETE_REASONS))
    else:
        base = _run_dict(_check_status("status", status, wire=True), _SDK_INCOMPLETE_REASONS)
    from openai.types.beta.threads import Run  # noqa: PLC0415 - openai only when this strategy is used

    return base.map(Run.model_validate)


# ----------------------------------------------------------------------------- stream events


def stream_events(
    *, max_length: int = 30, lenient: bool = True, terminal: bool = True, min_tool_rounds: int = 0
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """The ``thread.run.*`` events of one run's streams: ``{"event": name, "data": run}`` dicts.

    The first is ``thread.run.created`` (payload status ``queued``), then one event per status
    of a :func:`stream_histories` history, each payload consistent with its status (one run id,
    monotonic timestamps, ``started_at`` kept, ``expires_at`` fixed at creation).
    """
    histories = stream_histories(
        max_length=max_length, lenient=lenient, terminal=terminal, min_tool_rounds=min_tool_rounds
    )

    @st.composite
    def events(draw: st.DrawFn) -> list[dict[str, Any]]:
        path = draw(histories)
        run_id = "run_" + draw(st.text("abcdef0123456789", min_size=4, max_size=8))
        created = draw(st.integers(1_600_000_000, 1_900_000_000))
        now = created
        started: int | None = None
        out = [
            {
                "event": RunStatus.Created.event,
                "data": run_object(RunStatus.Queued, run_id=run_id, thread_id="thread_s", created_at=created),
            }
        ]
        for status in path:
            now += draw(st.integers(0, 20))
            if status is RunStatus.InProgress and started is None:
                started = now
            data = run_object(
                status, run_id=run_id, thread_id="thread_s", created_at=created, entered_at=now, started_at=started
            )
            out.append({"event": status.event, "data": data})
        return out

    return events()


# ----------------------------------------------------------------------------- registration

for _preset in PRESETS.values():
    st.register_type_strategy(_preset.state_type, st.sampled_from(_preset.states))
