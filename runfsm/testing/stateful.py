"""A hypothesis state machine that moves one run along the lifecycle while your client acts.

Two ways to plug your client in. Subclass :class:`RunLifecycleMachine` and either

- implement :meth:`~RunLifecycleMachine.client_step` (one step of your client: poll once,
  react) and optionally :meth:`~RunLifecycleMachine.client_done`; or
- implement :meth:`~RunLifecycleMachine.run_client` with your ordinary blocking client
  function (``return ask(client, thread_id, sleep=sleep)``): it runs in a thread of its own and
  hands control back to the machine at each request it makes and each sleep, so every rule
  of the machine can happen between any two of its requests; its sleeps end when the
  machine's virtual time has passed them.

Then add your own ``@invariant()`` methods and let pytest collect ``TestMyClient = MyMachine.TestCase``.

Hypothesis interleaves four kinds of rules: the server moving the run along a server edge of
``RUN_LIFECYCLE`` (drawn from the declaration, lenient edges included unless ``lenient =
False``; a ``requires_action`` round asks for 1 to ``max_tool_calls`` parallel tool calls),
faults aimed at the run (``fault_rules``: 429s with ``retry-after``, 500s, dropped connections
before or after a submit took effect, slow answers), virtual time passing (runs expire at
``expires_at``), and your client acting. The run lives on an in-process
:class:`~runfsm.testing.fake.FakeAssistants` and your client talks to it with the real ``openai``
SDK (``self.client``), so what it sends is checked by the fake as by the API.

Built-in checks, made inside the rules (so a failure's steps list no invariant lines):

- the fake's rules (:mod:`runfsm.testing.fake.conduct`) in :attr:`~RunLifecycleMachine.client_rules`:
  no call the API rejects (partial tool outputs included), no tool outputs sent twice, and, for
  blocking clients, which own their time, the poll hint and ``retry-after`` honoured, no
  terminal run polled again and again; a client breaking one is stopped at once;
- ``check_gives_up``: once the client is done (:meth:`client_done`, or its function returned),
  the run is terminal;
- ``max_idle_steps_paused``: the client reacts to requires_action (submits or cancels) within
  that many steps after the run paused (None: unchecked).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from runfsm.lifecycle import LENIENT
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.status import RunStatus
from runfsm.testing.fake import STUCK, FakeAssistants, Fault, RunScript, VirtualClock
from runfsm.testing.fake.conduct import ClientBug, ClientStopped, Rule

if TYPE_CHECKING:
    from collections.abc import Callable

    import openai

__all__ = ["RunLifecycleMachine"]

_SDK_RETRIES = 2  # openai's default max_retries, which the machine's client keeps
_HANDOFF_TIMEOUT_S = 30.0  # real seconds a client may run between two requests or sleeps
_STEP_RULES: frozenset[Rule] = frozenset({"rejected", "resend", "tools"})
_ALL_RULES: frozenset[Rule] = _STEP_RULES | {"retry_after", "poll_hint", "terminal", "busy"}


class _Abandoned(BaseException):
    """Raised in a blocking client's thread when the machine's example is over."""


class _Handoff:
    """Runs a blocking client function in its own thread, one stretch (up to its next request or sleep) per call."""

    def __init__(self, target: Callable[[], object], clock: VirtualClock) -> None:
        self._target = target
        self._clock = clock
        self._client_turn = threading.Semaphore(0)
        self._machine_turn = threading.Semaphore(0)
        self._thread: threading.Thread | None = None
        self._abandon = False
        self.finished = False
        self.result: object = None
        self.error: BaseException | None = None

    def _body(self) -> None:
        try:
            self._client_turn.acquire()
            if not self._abandon:
                self.result = self._target()
        except _Abandoned:
            pass
        except BaseException as err:  # noqa: BLE001 - the client's exception, re-raised by the machine's step
            self.error = err
        finally:
            self.finished = True
            self._machine_turn.release()

    def in_client(self) -> bool:
        return threading.current_thread() is self._thread

    def pause(self) -> None:
        """In the client's thread: hand control to the machine until its next client step."""
        self._machine_turn.release()
        self._client_turn.acquire()
        if self._abandon:
            raise _Abandoned

    def sleep(self, seconds: float) -> None:
        """The client's sleep: returns once the machine's virtual time passed ``seconds`` (at least one step)."""
        wake = self._clock.now() + seconds
        self.pause()
        self._clock.advance_to(wake)

    def step(self) -> None:
        """In the machine: let the client run its next stretch."""
        if self.finished:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._body, name="runfsm-machine-client", daemon=True)
            self._thread.start()
        self._client_turn.release()
        if not self._machine_turn.acquire(timeout=_HANDOFF_TIMEOUT_S):
            raise AssertionError(f"the client ran {_HANDOFF_TIMEOUT_S:g} real seconds without a request or a sleep")

    def close(self) -> None:
        if self._thread is not None and not self.finished:
            self._abandon = True
            self._client_turn.release()
            self._thread.join(timeout=_HANDOFF_TIMEOUT_S)


class RunLifecycleMachine(RuleBasedStateMachine):
    """Base class: one run, moved by the server, faults and the clock, watched by your client logic.

    Attributes available to subclasses: ``clock`` (:class:`~runfsm.testing.fake.VirtualClock`; give
    ``clock.sleep`` to step code), ``fake`` (the :class:`~runfsm.testing.fake.FakeAssistants`),
    ``client`` (a real ``openai.OpenAI`` on it), ``thread_id``, ``run_id``, ``status`` (the
    run's status on the server now), ``result`` (what :meth:`run_client` returned).
    """

    lenient: ClassVar[bool] = True
    """Let the server's moves take lenient edges too (queued -> failed, cancelling -> completed, ...).

    Time is another matter: a queued run still expires when the clock passes ``expires_at``.
    """
    depth: ClassVar[int] = 3
    """Weight of server moves to non-terminal statuses (as ``stream_histories(depth=...)``), so runs
    reach requires_action and cancelling often instead of ending at the first step."""
    poll_after_ms: ClassVar[int | None] = 1000
    """The ``openai-poll-after-ms`` header the fake sends."""
    max_tool_calls: ClassVar[int] = 3
    """Each requires_action round asks for 1 to this many parallel tool calls."""
    fault_rules: ClassVar[bool] = True
    """Let hypothesis inject faults aimed at the run (the fake's real retry and drop behaviour)."""
    fault_kinds: ClassVar[tuple[str, ...] | None] = None
    """Which faults (names of :data:`~runfsm.testing.examples.FAULT_KINDS`); None: all for
    :meth:`run_client` clients, only those the SDK's own retries absorb (on polls) for step clients."""
    client_rules: ClassVar[frozenset[Rule] | None] = None
    """The fake's rules a client must keep (None: all for :meth:`run_client` clients, else
    ``rejected``, ``resend``, ``tools``: a step client does not own its time)."""
    check_rejected_calls: ClassVar[bool] = True
    """Fail on a call the API rejects (the ``rejected`` and ``tools`` rules' refused submits)."""
    check_gives_up: ClassVar[bool] = True
    max_idle_steps_paused: ClassVar[int | None] = 3

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        self.fake = FakeAssistants(
            clock=self.clock,
            script=RunScript([("queued", STUCK)], seconds=STUCK, cancel_seconds=STUCK),
            poll_after_ms=self.poll_after_ms,
            stop_on_violation=True,
        )
        self.client: openai.OpenAI = self.fake.client()
        self.thread_id = ""
        self.run_id = ""
        self.result: object = None
        self._idle_paused = 0
        self._reported = 0
        self._handoff: _Handoff | None = None

    @property
    def _blocking(self) -> bool:
        return type(self).run_client is not RunLifecycleMachine.run_client

    # ------------------------------------------------------------------ hooks

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

    def client_step(self) -> None:
        """One step of the client logic under test (override): e.g. poll the run once and react."""
        raise NotImplementedError("override client_step() with one step of your client logic, or run_client()")

    def client_done(self) -> bool:
        """True once the client has stopped watching the run (override; default: never, or its function returned)."""
        return self._handoff is not None and self._handoff.finished

    def run_client(self, client: openai.OpenAI, thread_id: str, *, sleep: Callable[[float], None]) -> Any:
        """Your blocking client function, run against the machine (override instead of :meth:`client_step`).

        It creates its run on ``thread_id`` itself; ``sleep`` is its sleep (virtual, interleaved
        with the machine's rules). What it returns is kept in :attr:`result`.
        """
        raise NotImplementedError  # pragma: no cover - only called when overridden

    # ------------------------------------------------------------------ reading

    @property
    def status(self) -> RunStatus:
        """The run's status on the (fake) server now."""
        return self.fake.status(self.run_id)

    # ------------------------------------------------------------------ rules

    @initialize()
    def _create_run(self) -> None:
        self.run_id = self.start_run()
        if self._blocking:
            self._handoff = _Handoff(
                lambda: self.run_client(self.client, self.thread_id, sleep=self._handoff_sleep), self.clock
            )
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

    def _live_run(self) -> str | None:
        if not self.run_id and self.fake.run_ids():
            self.run_id = self.fake.run_ids()[0]
        return self.run_id or None

    def _server_moves(self) -> list[RunStatus]:
        if self._live_run() is None:
            return []
        moves = self.fake.server_moves(self.run_id)
        if self.lenient:
            return list(moves)
        status = self.status
        return [d for d in moves if RUN_LIFECYCLE.lookup[status][d] != LENIENT]

    @rule(data=st.data())
    def server_moves(self, data: st.DataObject) -> None:
        """The server moves the run along one server edge of the lifecycle (none left: nothing happens)."""
        moves = self._server_moves()
        if moves:
            going_on = [d for d in moves if not d.is_terminal]
            ending = [d for d in moves if d.is_terminal]
            # the run goes on (rather than ends) depth times out of depth + 1
            if going_on and (not ending or data.draw(st.integers(0, self.depth), label="roll") > 0):
                pool = going_on
            else:
                pool = ending
            dest = data.draw(st.sampled_from(pool), label="server moves to")
            calls = None
            if dest is RunStatus.RequiresAction:
                calls = data.draw(st.integers(1, self.max_tool_calls), label="tool calls")
            self.fake.move(self.run_id, dest, tool_calls=calls)
        self._check()

    @precondition(lambda self: self.fault_rules)
    @rule(data=st.data())
    def fault(self, data: st.DataObject) -> None:
        """A fault aimed at the run's next matching request: 429 (retry-after), 500, a dropped or slow answer."""
        from runfsm.testing.examples import FAULT_KINDS, fault_plans  # noqa: PLC0415 - the examples' menu

        kinds = self.fault_kinds
        if kinds is None:
            kinds = FAULT_KINDS if self._blocking else tuple(k for k in FAULT_KINDS if k.endswith("retrieve_run"))
        pending = sum(f.times for f in self.fake.pending_faults() if f.route == "retrieve_run" and f.kind != "slow")
        for fault in data.draw(fault_plans(max_faults=1, kinds=kinds), label="fault"):
            if fault.route == "retrieve_run" and fault.kind != "slow" and pending + fault.times > _SDK_RETRIES:
                continue  # more failed polls in a row than the SDK retries: no client could pass
            if self._live_run() is not None:
                self.fake.inject(
                    Fault(**{**_fields(fault), "next_run": False, "next_object": None, "run_id": self.run_id})
                )
            else:
                self.fake.inject(fault)
        self._check()

    @rule(seconds=st.integers(min_value=0, max_value=90))
    def time_passes(self, seconds: int) -> None:
        """Up to 90 virtual seconds pass; the run expires when the clock passes ``expires_at``."""
        self.clock.advance(seconds)
        self._check()

    @rule()
    def client_acts(self) -> None:
        """Your client logic takes one step (a blocking client: runs up to its next request or sleep)."""
        before = len(self.fake.requests)
        paused = bool(self._live_run()) and self.status.is_paused
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
        reacted = any(r.route in ("submit_tool_outputs", "cancel_run") for r in self.fake.requests[before:])
        still = bool(self._live_run()) and self.status.is_paused
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
        if self.check_gives_up and self._live_run() and self.client_done():
            status = self.status
            assert status.is_terminal, f"the client stopped watching run {self.run_id} while it is {status}"
        limit = self.max_idle_steps_paused
        if limit is not None:
            assert self._idle_paused <= limit, (
                f"run {self.run_id} waited in requires_action for {self._idle_paused} client step(s) "
                "without a submit_tool_outputs or cancel"
            )

    def teardown(self) -> None:
        """Stop a blocking client still running, close the openai client."""
        if self._handoff is not None:
            self._handoff.close()
        self.client.close()


def _fields(fault: Fault) -> dict[str, Any]:
    return {f: getattr(fault, f) for f in Fault.__dataclass_fields__}
