"""How the client behaved: the fake judges every request as it answers it, and can stop a client it has judged.

The rules, each named by the property it checks (:data:`PROPERTIES`). They judge every object the
fake serves, of every lifecycle preset: runs, background responses and batches (``run`` in the
rules below is any of them; the ``tools`` and ``resend`` rules only concern runs, the one
lifecycle with a paused status):

- ``tools``: a paused run is answered: the client neither polls one ``requires_action`` round
  again and again without submitting or cancelling (``paused_polls`` retrieves), nor lets a round
  it was shown expire, nor submits outputs that leave calls of the round unanswered (the API's 400);
- ``retry_after``: after a 429 carrying ``retry-after`` / ``retry-after-ms``, the client's next
  request about that run comes no sooner;
- ``poll_hint``: two polls of a run (``retrieve_run``, ``retrieve_response`` without ``stream``,
  ``retrieve_batch``), with nothing else sent about it in between, are at least
  ``openai-poll-after-ms`` apart (a poll after an error answer is a retry, not judged here);
- ``resend``: tool outputs the server accepted are never sent again (they are, typically, when
  a connection drops after the server took the submit and the client retries blindly);
- ``terminal``: once shown a terminal status, the client stops polling that run (``repolls``);
- ``busy``: no more requests about a run than its virtual time allows under the hint
  (``30 + 3 x seconds / hint``), nor more than ``max_requests``;
- ``rejected``: no other call the API refuses (a message on a thread with an active run, ...);
- ``cancelling`` / ``abandon``: judged when the client returns (:meth:`Conduct.check_client`):
  every run it created has ended; a run still cancelling (a live status a cancel call leads to:
  a run's or a batch's ``cancelling``) breaks ``cancelling``, any other live run ``abandon``.

A broken rule is a :class:`Violation`. With ``stop_on_violation`` (the pytest fixtures and
:func:`runfsm.testing.examples.fake_apis` set it), the first one also stops the client: the
fake's own openai clients and sleeps raise :class:`ClientStopped` in the client's thread, so a
busy loop costs a few dozen requests, not the whole budget.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from runfsm.exceptions import RunfsmError
from runfsm.status import RunStatus
from runfsm.testing.fake.clock import stamp
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    import threading
    from collections.abc import Mapping

    from runfsm.lifecycle import Lifecycle
    from runfsm.testing.fake.clock import VirtualClock
    from runfsm.testing.fake.wire import FakeResponse, RecordedRequest, Route
    from runfsm.vocabulary import LifecycleState

__all__ = ["PROPERTIES", "ClientBug", "ClientStopped", "Conduct", "Rule", "Violation"]

Rule = Literal["tools", "retry_after", "poll_hint", "resend", "terminal", "busy", "rejected", "cancelling", "abandon"]

PROPERTIES: Final[dict[Rule, str]] = {
    "tools": "answers tools in time",
    "retry_after": "honours retry-after",
    "poll_hint": "honours the poll hint",
    "resend": "never re-sends outputs",
    "cancelling": "waits out cancelling",
    "terminal": "stops on every terminal status",
    "abandon": "never abandons a live run",
    "busy": "sends no more requests than virtual time allows",
    "rejected": "makes no call the API refuses",
}
"""Every rule and the property of a client it checks, as the resilience verdict reports them."""

_POLLS: Final[frozenset[Route]] = frozenset({"retrieve_run", "retrieve_response", "retrieve_batch"})
"""The routes that poll an object (a ``retrieve_response`` with ``stream=true`` resumes a stream: no poll)."""
_CREATES: Final[frozenset[Route]] = frozenset({"create_run", "create_response", "create_batch"})
_EPS = 1e-6
_BUDGET_BASE = 30
_BUDGET_RATE = 3


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule the client broke: which, about which run, when (virtual time) and what it did."""

    rule: Rule
    run_id: str | None
    at: float
    message: str

    @property
    def property(self) -> str:
        """The client property the rule checks (``"honours the poll hint"``)."""
        return PROPERTIES[self.rule]


class ClientStopped(BaseException):
    """Raised in the client's thread by the fake's own clients and sleeps once the client broke a rule.

    A ``BaseException``, as ``KeyboardInterrupt`` is, so that neither the openai SDK (which
    wraps transport errors in ``APIConnectionError``) nor a client's ``except Exception``
    swallows it. The kit's pytest plugin turns it into a :class:`ClientBug` failure.
    """

    def __init__(self, violation: Violation, fake: Conduct) -> None:
        super().__init__(f"runfsm fake stopped the client: {violation.message}")
        self.violation = violation
        self.fake = fake

    def bug(self, rules: frozenset[Rule] | None = None) -> ClientBug:
        """The :class:`ClientBug` to report: the fake's violations (of ``rules``: None for all) and its story."""
        self.fake.mark_returned()
        self.fake.play_out()
        broken = [v for v in self.fake.violations if rules is None or v.rule in rules] or [self.violation]
        return ClientBug(broken, self.fake.story())


class ClientBug(RunfsmError, AssertionError):
    """The client under test broke the kit's rules; the message tells the story of what happened.

    ``violations`` are the broken rules, in order; ``story`` is the counterexample: each run's
    real server-side history with virtual timestamps, the faults injected and the client's
    requests.
    """

    def __init__(self, violations: list[Violation], story: str) -> None:
        head = "\n".join(f"- {v.property}: {v.message}" for v in violations)
        super().__init__(f"the client broke {len(violations)} rule(s):\n{head}\n\n{story}")
        self.violations = violations
        self.story = story


@dataclass(slots=True)
class _Watch:
    """What the judge remembers about the client's requests on one run (or on no run: key None)."""

    count: int = 0
    first_at: float | None = None
    wait_until: float | None = None
    wait_asked: float = 0.0
    last_poll: tuple[float, float] | None = None
    terminal_shown: tuple[float, str] | None = None
    last_shown: str | None = None
    """The status the client read last (a trusted answer), to tell a race from a stale view."""
    repolls: int = 0
    paused_round: int = 0
    paused_polls: int = 0
    paused_shown: set[int] = field(default_factory=set)


class Conduct:
    """The judging half of :class:`~runfsm.testing.fake.api.FakeAssistants`: rules, violations, stopping."""

    clock: VirtualClock
    poll_after_ms: int | None
    requests: list[RecordedRequest]
    _lock: threading.RLock

    def _init_conduct(self, *, paused_polls: int, repolls: int, stop_on_violation: bool) -> None:
        if not isinstance(paused_polls, int) or paused_polls < 1:
            raise ValueError(f"paused_polls must be an int >= 1, got {paused_polls!r}")
        if not isinstance(repolls, int) or repolls < 1:
            raise ValueError(f"repolls must be an int >= 1, got {repolls!r}")
        self.paused_polls = paused_polls
        self.repolls = repolls
        self.stop_on_violation = stop_on_violation
        self.enforced: frozenset[Rule] | None = None
        """The rules whose violation stops the client (None: every rule); the others are only recorded."""
        self.violations: list[Violation] = []
        """Every rule the client broke so far, in order."""
        self.stopped: Violation | None = None
        """The violation that stopped the client (with ``stop_on_violation``), if any."""
        self.faults_seen: list[tuple[float, str, str | None, str]] = []
        """Faults as they were injected: (virtual time, route, run id, description)."""
        self.returned_at: float | None = None
        self.returned_statuses: dict[str, LifecycleState] = {}
        """The status of every object (runs, background responses, batches) when the client returned."""
        self._watch: dict[str | None, _Watch] = {}

    # ------------------------------------------------------------------ public

    def raise_if_stopped(self) -> None:
        """Raise :class:`ClientStopped` if the client broke a rule and ``stop_on_violation`` is set.

        The fake's own openai clients call it after every answer, its sleeps before sleeping.
        """
        stopped = self.stopped
        if stopped is not None and self.stop_on_violation:
            raise ClientStopped(stopped, self)

    def check_client(self, *, play_out: bool = True) -> None:
        """Judge the client now that it returned; raise :class:`ClientBug` (an ``AssertionError``) if it broke a rule.

        The one call for users of the fake directly (the fixtures make it at teardown): every
        run still live now was abandoned (``cancelling`` when it is cancelling); then, with
        ``play_out``, the rest of each run's script plays in virtual time, so the story shows
        what the run did after the client stopped watching.
        """
        self.mark_returned()
        if play_out:
            self.play_out()
        if self.violations:
            raise ClientBug(list(self.violations), self.story())

    def mark_returned(self) -> None:
        """Record that the client returned now, and judge the runs it left live (once)."""
        with self._lock:
            if self.returned_at is not None:
                return
            now = self.clock.now()
            self.returned_at = now
            for run_id in self.object_ids():
                self.returned_statuses[run_id] = self.object_status(run_id)
            if self.stopped is not None:  # stopped, not returned: the runs it left are not the story
                return
            for run_id, status in self.returned_statuses.items():
                if status.is_terminal:
                    continue
                lifecycle = self.lifecycle_of(run_id)
                noun = lifecycle.key if lifecycle is not None else "run"
                if lifecycle is not None and is_cancelling(lifecycle, status):
                    self._violate(
                        "cancelling",
                        run_id,
                        now,
                        f"the client returned at {stamp(now, self.clock.start)} while {noun} {run_id} was still "
                        f"{status.wire} (a cancel is done when the {noun} is cancelled, or ends otherwise)",
                        stop=False,
                    )
                else:
                    self._violate(
                        "abandon",
                        run_id,
                        now,
                        f"the client returned at {stamp(now, self.clock.start)} while {noun} {run_id} was still "
                        f"{status.wire} (it had not ended)",
                        stop=False,
                    )

    def story(self) -> str:
        """The counterexample as it happened: runs, faults and requests, compactly, on virtual time."""
        from runfsm.testing.fake.story import tell  # noqa: PLC0415 - only failures need it

        return tell(self)  # type: ignore[arg-type]  # self is a whole FakeAssistants

    if TYPE_CHECKING:  # provided by the other halves of FakeAssistants (defining them here would shadow those)
        trackers: dict[str, Any]

        def object_ids(self) -> list[str]: ...  # noqa: D102
        def object_status(self, object_id: str) -> LifecycleState: ...  # noqa: D102
        def lifecycle_of(self, object_id: str | None) -> Lifecycle[Any] | None: ...  # noqa: D102
        def play_out(self) -> None: ...  # noqa: D102
        def _answered_round(self, run_id: str, call_ids: frozenset[str]) -> tuple[int, float] | None: ...
        def _round_of(self, run_id: str) -> tuple[int, int]: ...

    # ------------------------------------------------------------------ judging

    def _violate(self, rule: Rule, run_id: str | None, at: float, message: str, *, stop: bool = True) -> None:
        violation = Violation(rule, run_id, at, message)
        self.violations.append(violation)
        if stop and self.stopped is None and (self.enforced is None or rule in self.enforced):
            self.stopped = violation

    def _note_fault(self, at: float, route: str, run_id: str | None, description: str) -> None:
        self.faults_seen.append((at, route, run_id, description))

    def _judge(
        self, record: RecordedRequest, response: FakeResponse, *, index: int, answered_at: float, body: bytes
    ) -> None:
        """Apply the rules to one request just answered (``index``: its place in :attr:`requests`)."""
        run_id = record.run_id
        watch = self._watch.setdefault(run_id, _Watch())
        start = self.clock.start
        when = stamp(record.at, start)
        lifecycle = self.lifecycle_of(run_id)
        noun = lifecycle.key if lifecycle is not None else "run"
        about = f"{noun} {run_id}" if run_id is not None else "threads and messages"
        hint_ms = response.headers.get("openai-poll-after-ms")
        # retry-after
        if watch.wait_until is not None and record.at < watch.wait_until - _EPS:
            self._violate(
                "retry_after",
                run_id,
                record.at,
                f"{record.route} about {about} at {when}, {round(watch.wait_until - record.at, 3):g} s before "
                f"the retry-after of {watch.wait_asked:g} s of the 429 at "
                f"{stamp(watch.wait_until - watch.wait_asked, start)} allowed",
            )
        watch.wait_until = None
        if record.status_code == 429:
            wait = _retry_after(response.headers)
            if wait is not None:
                watch.wait_until, watch.wait_asked = answered_at + wait, wait
        # busy: requests against virtual time
        watch.count += 1
        if watch.first_at is None:
            watch.first_at = record.at
        hint_s = (self.poll_after_ms or 1000) / 1000
        elapsed = answered_at - watch.first_at
        allowed = _BUDGET_BASE + _BUDGET_RATE * elapsed / hint_s
        if watch.count > allowed:
            self._violate(
                "busy",
                run_id,
                record.at,
                f"{watch.count} requests about {about} in {round(elapsed, 3):g} virtual seconds "
                f"(at the poll hint of {hint_s:g} s a client needs about {1 + int(elapsed / hint_s)})",
            )
        if run_id is None or record.route in _CREATES or lifecycle is None:  # 404s included
            self._judge_rejected(record, response, about, lifecycle)
            return
        shown = _shown_status(record, lifecycle)
        if shown is not None:
            watch.last_shown = record.run_status
        polled = record.route in _POLLS and not record.stream
        # poll hint
        if polled:
            if watch.last_poll is not None and record.at < watch.last_poll[0] + watch.last_poll[1] - _EPS:
                gap = record.at - watch.last_poll[0]
                self._violate(
                    "poll_hint",
                    run_id,
                    record.at,
                    f"polled {about} at {when}, {round(gap, 3):g} s after the previous poll; the server asked "
                    f"for {watch.last_poll[1]:g} s (openai-poll-after-ms: {round(watch.last_poll[1] * 1000)})",
                )
            ok = record.status_code == 200 and hint_ms is not None and record.fault in (None, "slow", "garble")
            watch.last_poll = (answered_at, int(hint_ms) / 1000) if ok and hint_ms is not None else None
        else:
            watch.last_poll = None
        # terminal re-polls
        if polled and watch.terminal_shown is not None:
            watch.repolls += 1
            if watch.repolls >= self.repolls:
                self._violate(
                    "terminal",
                    run_id,
                    record.at,
                    f"polled {about} {watch.repolls} more time(s) (the last at {when}) after it was answered "
                    f"{watch.terminal_shown[1]} at {stamp(watch.terminal_shown[0], start)}",
                )
        if shown is not None and shown.is_terminal and watch.terminal_shown is None:
            watch.terminal_shown = (answered_at, str(shown.wire))
        # tools: paused polls
        if record.route in ("submit_tool_outputs", "cancel_run"):
            watch.paused_polls = 0
        if shown is RunStatus.RequiresAction:
            number, calls = self._round_of(run_id)
            watch.paused_shown.add(number)
            if record.route == "retrieve_run" and number == watch.paused_round:
                watch.paused_polls += 1
                if watch.paused_polls >= self.paused_polls:
                    self._violate(
                        "tools",
                        run_id,
                        record.at,
                        f"polled {about} {watch.paused_polls} times in requires_action (round {number}, {calls} "
                        f"tool call(s)) without submitting tool outputs or cancelling, the last at {when}",
                    )
            elif number != watch.paused_round:
                watch.paused_round, watch.paused_polls = number, 0
        # tools: outputs for every call; resend
        if record.route == "submit_tool_outputs":
            ids = _call_ids(body)
            answered = self._answered_round(run_id, ids) if ids is not None else None
            if answered is not None and answered[0] != index:
                self._violate(
                    "resend",
                    run_id,
                    record.at,
                    f"sent the tool outputs for {', '.join(sorted(ids or ()))} of {about} again at {when}; the "
                    f"server had accepted them at {stamp(answered[1], start)}",
                )
                return
        self._judge_rejected(record, response, about, lifecycle)

    def _judge_rejected(
        self, record: RecordedRequest, response: FakeResponse, about: str, lifecycle: Lifecycle[Any] | None
    ) -> None:
        if record.status_code != 400 or record.fault is not None:
            return
        watch = self._watch.get(record.run_id)
        ended = (
            lifecycle is not None and record.run_status is not None and lifecycle.parse(record.run_status).is_terminal
        )
        last = watch.last_shown if watch is not None else None
        if record.run_status != last and (ended or last is not None):
            # it moved since the client last read it (it ended, someone else cancelled), or it ended
            # before the client read it at all: a race the API has too, not the client's mistake
            return
        try:
            message = str(json.loads(response.body)["error"]["message"])
        except (ValueError, KeyError, TypeError):  # pragma: no cover - the fake's 400s carry the API's error body
            message = "400"
        rule: Rule = "tools" if record.route == "submit_tool_outputs" else "rejected"
        self._violate(
            rule,
            record.run_id,
            record.at,
            f"{record.route} about {about} at {stamp(record.at, self.clock.start)} was refused: 400 {message}",
        )

    def _round_expired(self, run_id: str, number: int, at: float) -> None:
        """Round ``number`` of the run expired unanswered: a violation if the client was watching and had seen it."""
        watch = self._watch.get(run_id)
        if self.returned_at is None and watch is not None and number in watch.paused_shown:
            self._violate(
                "tools",
                run_id,
                at,
                f"run {run_id} expired at {stamp(at, self.clock.start)} waiting for the tool outputs of round "
                f"{number}, which the client had been shown",
            )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    if "retry-after-ms" in headers:
        return int(headers["retry-after-ms"]) / 1000
    if "retry-after" in headers:
        return float(headers["retry-after"])
    return None


def is_cancelling(lifecycle: Lifecycle[Any], status: LifecycleState) -> bool:
    """True if ``status`` is a live status a cancel call leads to (the run's and the batch's ``cancelling``)."""
    return not status.is_terminal and any(e.dest is status and e.trigger is Trigger.CANCEL for e in lifecycle.edges)


def _shown_status(record: RecordedRequest, lifecycle: Lifecycle[Any]) -> LifecycleState | None:
    """The status the client read in this answer (None: it read none it could trust)."""
    if record.status_code != 200 or record.fault not in (None, "slow") or record.run_status is None:
        return None
    status: LifecycleState = lifecycle.parse(record.run_status)
    return status


def _call_ids(body: bytes) -> frozenset[str] | None:
    try:
        outputs = json.loads(body)["tool_outputs"]
        return frozenset(str(o["tool_call_id"]) for o in outputs)
    except (ValueError, KeyError, TypeError):
        return None
