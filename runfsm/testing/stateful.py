"""A hypothesis state machine that moves one run along the lifecycle while your client logic acts.

Subclass :class:`RunLifecycleMachine`, implement :meth:`~RunLifecycleMachine.client_step` (one
step of your client: poll once, react), optionally :meth:`~RunLifecycleMachine.client_done`, add
your own ``@invariant()`` methods, and let pytest collect ``TestMyClient = MyMachine.TestCase``.

Hypothesis then interleaves three kinds of rules: the server moving the run along a server edge
of ``RUN_LIFECYCLE`` (drawn from the declaration, lenient edges included unless ``lenient =
False``), virtual time passing (runs expire at ``expires_at``), and your client acting. The
run lives on an in-process :class:`~runfsm.testing.fake.FakeAssistants`, and your client talks to it with
the real ``openai`` SDK (``self.client``), so what it sends is checked by the fake as by the API.

Built-in invariants (each can be switched off with a class attribute):

- ``check_rejected_calls``: the client never made a call the API rejects (tool outputs submitted
  outside requires_action, a cancel of a finished run, a message on a thread with an active run).
- ``check_gives_up``: once :meth:`client_done` says True, the run is terminal (the client never
  stops watching a live run).
- ``max_idle_steps_paused``: the client reacts to requires_action (submits or cancels) within that
  many steps after the run paused (None: unchecked).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from runfsm.lifecycle import LENIENT
from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.testing.fake import STUCK, FakeAssistants, RunScript, VirtualClock

if TYPE_CHECKING:
    import openai

    from runfsm.status import RunStatus

__all__ = ["RunLifecycleMachine"]

_CLIENT_CALLS = ("submit_tool_outputs", "cancel_run", "create_message", "create_run")


class RunLifecycleMachine(RuleBasedStateMachine):
    """Base class: one run, moved by the server and the clock, watched by your client logic.

    Attributes available to subclasses: ``clock`` (:class:`~runfsm.testing.fake.VirtualClock`; give
    ``clock.sleep`` to your code), ``fake`` (the :class:`~runfsm.testing.fake.FakeAssistants`),
    ``client`` (a real ``openai.OpenAI`` on it), ``thread_id``, ``run_id``, ``status`` (the
    run's status on the server now).
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
    check_rejected_calls: ClassVar[bool] = True
    check_gives_up: ClassVar[bool] = True
    max_idle_steps_paused: ClassVar[int | None] = 3

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        self.fake = FakeAssistants(
            clock=self.clock,
            script=RunScript([("queued", STUCK)], seconds=STUCK, cancel_seconds=STUCK),
            poll_after_ms=self.poll_after_ms,
        )
        self.client: openai.OpenAI = self.fake.client(max_retries=0)
        self.thread_id = ""
        self.run_id = ""
        self._idle_paused = 0

    # ------------------------------------------------------------------ hooks

    def start_run(self) -> str:
        """Create the run the machine moves; returns its id. Default: a thread and a run via ``self.client``."""
        thread = self.client.beta.threads.create()
        self.thread_id = thread.id
        run = self.client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_machine")
        return run.id

    def client_step(self) -> None:
        """One step of the client logic under test (override): e.g. poll the run once and react."""
        raise NotImplementedError("override client_step() with one step of your client logic")

    def client_done(self) -> bool:
        """True once the client has stopped watching the run (override; default: never)."""
        return False

    # ------------------------------------------------------------------ reading

    @property
    def status(self) -> RunStatus:
        """The run's status on the (fake) server now."""
        return self.fake.status(self.run_id)

    # ------------------------------------------------------------------ rules

    @initialize()
    def _create_run(self) -> None:
        self.run_id = self.start_run()

    def _server_moves(self) -> list[RunStatus]:
        if not self.run_id:
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
        if not moves:
            return
        going_on = [d for d in moves if not d.is_terminal]
        ending = [d for d in moves if d.is_terminal]
        # the run goes on (rather than ends) depth times out of depth + 1
        if going_on and (not ending or data.draw(st.integers(0, self.depth), label="roll") > 0):
            pool = going_on
        else:
            pool = ending
        dest = data.draw(st.sampled_from(pool), label="server moves to")
        self.fake.move(self.run_id, dest)

    @rule(seconds=st.integers(min_value=0, max_value=90))
    def time_passes(self, seconds: int) -> None:
        """Up to 90 virtual seconds pass; the run expires when the clock passes ``expires_at``."""
        self.clock.advance(seconds)

    @rule()
    def client_acts(self) -> None:
        """Your client logic takes one step."""
        before = len(self.fake.requests)
        paused = self.status.is_paused
        self.client_step()
        reacted = any(r.route in ("submit_tool_outputs", "cancel_run") for r in self.fake.requests[before:])
        self._idle_paused = self._idle_paused + 1 if paused and self.status.is_paused and not reacted else 0

    # ------------------------------------------------------------------ invariants

    @invariant()
    def _no_rejected_calls(self) -> None:
        if not self.check_rejected_calls:
            return
        rejected = [r for r in self.fake.requests if r.route in _CLIENT_CALLS and r.status_code == 400]
        assert not rejected, f"the client made calls the API rejects: {[(r.route, r.run_id) for r in rejected]}"

    @invariant()
    def _does_not_give_up(self) -> None:
        if self.check_gives_up and self.run_id and self.client_done():
            status = self.status
            assert status.is_terminal, f"the client stopped watching run {self.run_id} while it is {status}"

    @invariant()
    def _reacts_to_requires_action(self) -> None:
        limit = self.max_idle_steps_paused
        if limit is not None:
            assert self._idle_paused <= limit, (
                f"run {self.run_id} waited in requires_action for {self._idle_paused} client step(s) "
                "without a submit_tool_outputs or cancel"
            )

    def teardown(self) -> None:
        """Close the openai client."""
        self.client.close()
