"""Hypothesis state machines that move one object along its lifecycle while your client acts: one per preset.

:class:`LifecycleMachine` is the generic machine; it takes the lifecycle (``lifecycle =``, a
preset of :data:`~runfsm.lifecycles.PRESETS`). Its presets, one per lifecycle preset
(:data:`MACHINES`, :func:`machine_for`):

- :class:`RunLifecycleMachine`: an Assistants run (``client.beta.threads.runs``), with tool-call
  rounds (the run's paused status, ``requires_action``);
- :class:`ResponseLifecycleMachine`: a background response (``client.responses``);
- :class:`BatchLifecycleMachine`: a batch (``client.batches``).

Two ways to plug your client in. Subclass the preset and either

- implement :meth:`~LifecycleMachine.client_step` (one step of your client: poll once, react)
  and optionally :meth:`~LifecycleMachine.client_done`; or
- implement ``run_client`` with your ordinary blocking client function: for a run
  ``run_client(self, client, thread_id, *, sleep)`` (it creates its run on ``thread_id``), for a
  response or a batch ``run_client(self, client, *, sleep)`` (it creates its object). It runs in
  a thread of its own and hands control back to the machine at each request it makes and each
  sleep, so every rule of the machine can happen between any two of its requests; its sleeps
  end when the machine's virtual time has passed them.

Then add your own ``@invariant()`` methods and let pytest collect ``TestMyClient = MyMachine.TestCase``.

Hypothesis interleaves these rules: the server moving the object along a server edge of the
preset's declaration (lenient edges included unless ``lenient = False``; for a run, a
``requires_action`` round asks for 1 to ``max_tool_calls`` parallel tool calls); a cancel made by
someone else (``cancel_rules``: another process cancels the object where the lifecycle has a
cancel edge; the client must follow it to its end; off for runs by default); faults aimed at the
object (``fault_rules``: 429s with ``retry-after``, 500s, dropped and slow answers; for runs also
on ``submit_tool_outputs``, see :func:`~runfsm.testing.examples.fault_kinds`); virtual time
passing (runs expire at ``expires_at``); and your client acting. The object lives on an
in-process :class:`~runfsm.testing.fake.FakeAssistants` and your client talks to it with the
real ``openai`` SDK (``self.client``), so what it sends is checked by the fake as by the API.

Built-in checks, made inside the rules (so a failure's steps list no invariant lines), for every
preset:

- the fake's rules (:mod:`runfsm.testing.fake.conduct`) in :attr:`~LifecycleMachine.client_rules`:
  no call the API rejects, and, for blocking clients, which own their time, the poll hint and
  ``retry-after`` honoured, no terminal object polled again and again (for runs also: no
  partial or re-sent tool outputs); a client breaking one is stopped at once;
- ``check_gives_up``: once the client is done (:meth:`~LifecycleMachine.client_done`, or its
  function returned), the object is terminal (a client that takes ``cancelling`` for the end is
  caught here);
- ``max_idle_steps_paused`` (lifecycles with a paused status: the run): the client reacts to
  requires_action (submits or cancels) within that many steps after the run paused (None: unchecked).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from runfsm.lifecycle import LENIENT
from runfsm.lifecycles import BATCH_LIFECYCLE, RESPONSE_LIFECYCLE, RUN_LIFECYCLE
from runfsm.status import RunStatus
from runfsm.testing.fake import STUCK, FakeAssistants, Fault, RunScript, VirtualClock
from runfsm.testing.fake.conduct import ClientBug, ClientStopped, Rule
from runfsm.testing.handoff import Handoff
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    from collections.abc import Callable

    import openai

    from runfsm.lifecycle import Lifecycle
    from runfsm.vocabulary import LifecycleState

__all__ = [
    "MACHINES",
    "BatchLifecycleMachine",
    "LifecycleMachine",
    "ResponseLifecycleMachine",
    "RunLifecycleMachine",
    "machine_for",
]

_SDK_RETRIES = 2  # openai's default max_retries, which the machine's client keeps
_STEP_RULES: frozenset[Rule] = frozenset({"rejected", "resend", "tools"})
_ALL_RULES: frozenset[Rule] = _STEP_RULES | {"retry_after", "poll_hint", "terminal", "busy"}
_REACTIONS = frozenset({"submit_tool_outputs", "cancel_run", "cancel_response", "cancel_batch"})


def _placeholder(method: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a preset's ``run_client`` that only says what to override (the machine then runs ``client_step``)."""
    method.__runfsm_placeholder__ = True  # type: ignore[attr-defined]
    return method


class LifecycleMachine(RuleBasedStateMachine):
    """Base class: one object of :attr:`lifecycle`, moved by the server, cancels, faults and time; your client watches.

    Attributes available to subclasses: ``clock`` (:class:`~runfsm.testing.fake.VirtualClock`; give
    ``clock.sleep`` to step code), ``fake`` (the :class:`~runfsm.testing.fake.FakeAssistants`),
    ``client`` (a real ``openai.OpenAI`` on it), ``object_id``, ``status`` (the object's status
    on the server now), ``result`` (what the blocking client function returned).
    """

    lifecycle: ClassVar[Lifecycle[Any]] = RUN_LIFECYCLE
    """Whose object the machine moves: a preset of :data:`~runfsm.lifecycles.PRESETS`."""
    lenient: ClassVar[bool] = True
    """Let the server's moves take lenient edges too (for a run: queued -> failed, cancelling -> completed, ...).

    Time is another matter: a queued run still expires when the clock passes ``expires_at``.
    """
    depth: ClassVar[int] = 3
    """Weight of server moves to non-terminal statuses (as ``stream_histories(depth=...)``), so objects
    reach their paused and cancelling statuses often instead of ending at the first step."""
    poll_after_ms: ClassVar[int | None] = 1000
    """The ``openai-poll-after-ms`` header the fake sends."""
    max_tool_calls: ClassVar[int] = 3
    """Each requires_action round of a run asks for 1 to this many parallel tool calls."""
    fault_rules: ClassVar[bool] = True
    """Let hypothesis inject faults aimed at the object (the fake's real retry and drop behaviour)."""
    fault_kinds: ClassVar[tuple[str, ...] | None] = None
    """Which faults (names of :func:`~runfsm.testing.examples.fault_kinds` of the lifecycle); None: all
    for blocking clients, only those the SDK's own retries absorb (on polls) for step clients."""
    cancel_rules: ClassVar[bool] = True
    """Let someone else cancel the object (without a request the fake judges) where its lifecycle has a
    cancel edge: the client must follow the cancel to its end."""
    client_rules: ClassVar[frozenset[Rule] | None] = None
    """The fake's rules a client must keep (None: all for blocking clients, else ``rejected``,
    ``resend``, ``tools``: a step client does not own its time)."""
    check_rejected_calls: ClassVar[bool] = True
    """Fail on a call the API rejects (the ``rejected`` and ``tools`` rules' refused submits)."""
    check_gives_up: ClassVar[bool] = True
    max_idle_steps_paused: ClassVar[int | None] = 3

    def __init__(self) -> None:
        super().__init__()
        lifecycle = self.lifecycle
        self.clock = VirtualClock()
        self.fake = FakeAssistants(
            clock=self.clock,
            script=RunScript([("queued", STUCK)], seconds=STUCK, cancel_seconds=STUCK),
            poll_after_ms=self.poll_after_ms,
            stop_on_violation=True,
        )
        if lifecycle is not RUN_LIFECYCLE:
            if lifecycle not in (RESPONSE_LIFECYCLE, BATCH_LIFECYCLE):
                raise TypeError(f"{type(self).__name__}: the fake serves no objects of the {lifecycle.title} lifecycle")
            created = [e.dest for e in lifecycle.edges if e.trigger is Trigger.CREATE]
            self.fake.background.set_default(lifecycle, [(created[0].name, STUCK)])
            self.fake.background.cancel_seconds = STUCK
        self.client: openai.OpenAI = self.fake.client()
        self.object_id = ""
        self.result: object = None
        self._idle_paused = 0
        self._reported = 0
        self._handoff: Handoff | None = None

    def _client_function(self) -> Callable[..., Any] | None:
        function = getattr(self, "run_client", None)
        if function is None or getattr(function, "__runfsm_placeholder__", False):
            return None
        return function  # type: ignore[no-any-return]

    @property
    def _blocking(self) -> bool:
        return self._client_function() is not None

    # ------------------------------------------------------------------ hooks

    def start_object(self) -> str:
        """Create the object the machine moves; returns its id. Blocking clients create their own: then ``""``.

        Default: ``client.responses.create(background=True)`` or ``client.batches.create(...)``.
        """
        if self._blocking:
            return ""
        if self.lifecycle is RESPONSE_LIFECYCLE:
            return self.client.responses.create(model="gpt-machine", input="machine", background=True).id
        if self.lifecycle is BATCH_LIFECYCLE:
            return self.client.batches.create(
                input_file_id="file_machine", endpoint="/v1/responses", completion_window="24h"
            ).id
        raise NotImplementedError(f"override start_object() to create an object of {self.lifecycle.title}")

    def client_args(self) -> tuple[object, ...]:
        """The positional arguments a blocking client function gets after the client (none; a run's: the thread)."""
        return ()

    def client_step(self) -> None:
        """One step of the client logic under test (override): e.g. poll the object once and react."""
        raise NotImplementedError("override client_step() with one step of your client logic, or run_client()")

    def client_done(self) -> bool:
        """True once the client has stopped watching the object (override; default: never, or its function returned)."""
        return self._handoff is not None and self._handoff.finished

    # ------------------------------------------------------------------ reading

    @property
    def status(self) -> LifecycleState:
        """The object's status on the (fake) server now."""
        return self.fake.object_status(self.object_id)

    # ------------------------------------------------------------------ rules

    @initialize()
    def _create_object(self) -> None:
        self.object_id = self.start_object()
        function = self._client_function()
        if function is not None:
            args = self.client_args()
            self._handoff = Handoff(lambda: function(self.client, *args, sleep=self._handoff_sleep), self.clock)
            self.fake.before_request = self._before_request
        self.fake.enforced = self._enforced()
        self._check()

    def _handoff_sleep(self, seconds: float) -> None:
        assert self._handoff is not None
        self.fake.raise_if_stopped()
        self._handoff.sleep(seconds)

    def _before_request(self) -> None:
        if self._handoff is not None and self._handoff.in_client():
            self._handoff.pause()

    def _live_object(self) -> str | None:
        if not self.object_id:
            ids = [i for i in self.fake.object_ids() if self.fake.lifecycle_of(i) is self.lifecycle]
            if ids:
                self.object_id = ids[0]
        return self.object_id or None

    def _server_moves(self) -> list[LifecycleState]:
        if self._live_object() is None:
            return []
        moves = self.fake.object_moves(self.object_id)
        if self.lenient:
            return list(moves)
        status = self.status
        return [d for d in moves if self.lifecycle.lookup[status][d] != LENIENT]

    @rule(data=st.data())
    def server_moves(self, data: st.DataObject) -> None:
        """The server moves the object along one server edge of the lifecycle (none left: nothing happens)."""
        moves = self._server_moves()
        if moves:
            going_on = [d for d in moves if not d.is_terminal]
            ending = [d for d in moves if d.is_terminal]
            # the object goes on (rather than ends) depth times out of depth + 1
            if going_on and (not ending or data.draw(st.integers(0, self.depth), label="roll") > 0):
                pool = going_on
            else:
                pool = ending
            dest = data.draw(st.sampled_from(pool), label="server moves to")
            calls = None
            if dest is RunStatus.RequiresAction:  # the one paused status with tool calls
                calls = data.draw(st.integers(1, self.max_tool_calls), label="tool calls")
            self.fake.move_object(self.object_id, dest, tool_calls=calls)
        self._check()

    @precondition(lambda self: self.cancel_rules)
    @rule()
    def someone_cancels(self) -> None:
        """Someone else cancels the object (a cancel edge from where it is, lenient only if allowed: else nothing)."""
        if self._live_object() is not None:
            status = self.status
            edges = [e for e in self.lifecycle.edges if e.source is status and e.trigger is Trigger.CANCEL]
            if any(self.lenient or not e.is_lenient for e in edges):
                self.fake.cancel_object(self.object_id)
        self._check()

    @precondition(lambda self: self.fault_rules)
    @rule(data=st.data())
    def fault(self, data: st.DataObject) -> None:
        """A fault aimed at the object's next matching request: 429 (retry-after), 500, a dropped or slow answer."""
        from runfsm.testing.examples import fault_kinds, fault_plans, poll_route  # noqa: PLC0415 - the examples' menu

        poll = poll_route(self.lifecycle)
        kinds = self.fault_kinds
        if kinds is None:
            menu = fault_kinds(self.lifecycle)
            kinds = menu if self._blocking else tuple(k for k in menu if k.endswith(poll))
        pending = sum(f.times for f in self.fake.pending_faults() if f.route == poll and f.kind != "slow")
        pending += self._failed_polls_in_a_row(poll)  # a blocking client may be between the SDK's retries
        for fault in data.draw(fault_plans(max_faults=1, kinds=kinds, lifecycle=self.lifecycle), label="fault"):
            if fault.route == poll and fault.kind != "slow" and pending + fault.times > _SDK_RETRIES:
                continue  # more failed polls in a row than the SDK retries: no client could pass
            if self._live_object() is not None:
                self.fake.inject(
                    Fault(**{**_fields(fault), "next_run": False, "next_object": None, "run_id": self.object_id})
                )
            else:
                self.fake.inject(fault)
        self._check()

    def _failed_polls_in_a_row(self, poll: str) -> int:
        """The failed answers (429, 500, dropped) to the latest polls of the object, since its last good one."""
        failed = 0
        for request in reversed(self.fake.requests):
            if request.route != poll or (self.object_id and request.run_id != self.object_id):
                continue
            if request.fault in (None, "slow", "garble"):
                break
            failed += 1
        return failed

    @rule(seconds=st.integers(min_value=0, max_value=90))
    def time_passes(self, seconds: int) -> None:
        """Up to 90 virtual seconds pass; a run expires when the clock passes ``expires_at``."""
        self.clock.advance(seconds)
        self._check()

    @rule()
    def client_acts(self) -> None:
        """Your client logic takes one step (a blocking client: runs up to its next request or sleep)."""
        before = len(self.fake.requests)
        paused = bool(self._live_object()) and self.status.is_paused
        try:
            if self._handoff is not None:
                self._handoff.step()
                error = self._handoff.error
                if error is not None:
                    self._handoff.error = None
                    raise error
            else:
                self.client_step()
        except ClientStopped as stop:
            raise stop.bug(self._enforced()) from None
        reacted = any(r.route in _REACTIONS for r in self.fake.requests[before:])
        still = bool(self._live_object()) and self.status.is_paused
        self._idle_paused = self._idle_paused + 1 if paused and still and not reacted else 0
        if self._handoff is not None and self._handoff.finished:
            self.result = self._handoff.result
        self._check()

    # ------------------------------------------------------------------ the checks, made by the rules

    def _enforced(self) -> frozenset[Rule]:
        enforced = (
            self.client_rules if self.client_rules is not None else (_ALL_RULES if self._blocking else _STEP_RULES)
        )
        return enforced if self.check_rejected_calls else enforced - {"rejected", "tools"}

    def _check(self) -> None:
        enforced = self._enforced()
        broken = [v for v in self.fake.violations[self._reported :] if v.rule in enforced]
        self._reported = len(self.fake.violations)
        if broken:
            raise ClientBug(broken, self.fake.story())
        if self.check_gives_up and self._live_object() and self.client_done():
            status = self.status
            assert status.is_terminal, (
                f"the client stopped watching {self.lifecycle.key} {self.object_id} while it is {status}"
            )
        limit = self.max_idle_steps_paused
        if limit is not None:
            assert self._idle_paused <= limit, (
                f"{self.lifecycle.key} {self.object_id} waited in {status_names(self.lifecycle.paused)} for "
                f"{self._idle_paused} client step(s) without a submit_tool_outputs or cancel"
            )

    def teardown(self) -> None:
        """Stop a blocking client still running, close the openai client."""
        if self._handoff is not None:
            self._handoff.close()
        self.client.close()


class RunLifecycleMachine(LifecycleMachine):
    """The Assistants run preset: one run, moved by the server, faults and the clock, watched by your client logic.

    Besides :class:`LifecycleMachine`'s attributes: ``thread_id``, ``run_id`` (the run's id,
    :attr:`~LifecycleMachine.object_id`). Someone else's cancels are off (``cancel_rules``): the
    client's own cancels lead the run to ``cancelling``.
    """

    lifecycle: ClassVar[Lifecycle[Any]] = RUN_LIFECYCLE
    cancel_rules: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.thread_id = ""

    @property
    def run_id(self) -> str:
        """The run's id (empty until a blocking client created its run)."""
        return self.object_id

    @run_id.setter
    def run_id(self, value: str) -> None:
        self.object_id = value

    @property
    def status(self) -> RunStatus:
        """The run's status on the (fake) server now."""
        return self.fake.status(self.object_id)

    def start_run(self) -> str:
        """Create the run the machine moves; returns its id. Default: a thread and a run via ``self.client``.

        Blocking clients create their own run: the default then creates only the thread.
        """
        thread = self.client.beta.threads.create()
        self.thread_id = thread.id
        if self._blocking:
            return ""
        run = self.client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_machine")
        return run.id

    def start_object(self) -> str:
        """:meth:`start_run`."""
        return self.start_run()

    def client_args(self) -> tuple[object, ...]:
        """A run's client function gets the thread to create its run on."""
        return (self.thread_id,)

    @_placeholder
    def run_client(self, client: openai.OpenAI, thread_id: str, *, sleep: Callable[[float], None]) -> Any:
        """Your blocking client function, run against the machine (override instead of :meth:`client_step`).

        It creates its run on ``thread_id`` itself; ``sleep`` is its sleep (virtual, interleaved
        with the machine's rules). What it returns is kept in :attr:`result`.
        """
        raise NotImplementedError  # pragma: no cover - only called when overridden


class _ObjectMachine(LifecycleMachine):
    """The presets of objects a client creates on its own: background responses and batches."""

    max_idle_steps_paused: ClassVar[int | None] = None  # no paused status

    @_placeholder
    def run_client(self, client: openai.OpenAI, *, sleep: Callable[[float], None]) -> Any:
        """Your blocking client function, run against the machine (override instead of :meth:`client_step`).

        It creates its object itself (``client.responses.create(background=True)``,
        ``client.batches.create(...)``); ``sleep`` is its sleep (virtual, interleaved with the
        machine's rules). What it returns is kept in :attr:`result`.
        """
        raise NotImplementedError  # pragma: no cover - only called when overridden


class ResponseLifecycleMachine(_ObjectMachine):
    """The background response preset: ``client.responses``; a cancel ends the response at once."""

    lifecycle: ClassVar[Lifecycle[Any]] = RESPONSE_LIFECYCLE


class BatchLifecycleMachine(_ObjectMachine):
    """The batch preset: ``client.batches``; a cancel leads to ``cancelling``, which the server ends."""

    lifecycle: ClassVar[Lifecycle[Any]] = BATCH_LIFECYCLE


MACHINES: dict[str, type[LifecycleMachine]] = {
    "run": RunLifecycleMachine,
    "response": ResponseLifecycleMachine,
    "batch": BatchLifecycleMachine,
}
"""The machine of each lifecycle preset, by the preset's key."""


def machine_for(lifecycle: Lifecycle[Any] | str) -> type[LifecycleMachine]:
    """The machine preset of ``lifecycle`` (a preset or its key): subclass it with your client."""
    key = lifecycle if isinstance(lifecycle, str) else lifecycle.key
    if key not in MACHINES:
        raise ValueError(f"no machine for lifecycle {key!r}: choose one of {', '.join(MACHINES)}")
    return MACHINES[key]


def status_names(states: frozenset[LifecycleState]) -> str:
    """``requires_action`` (the paused statuses' wire names, joined)."""
    return " or ".join(sorted(str(s.wire or s.name) for s in states)) or "a paused status"


def _fields(fault: Fault) -> dict[str, Any]:
    return {f: getattr(fault, f) for f in Fault.__dataclass_fields__}
