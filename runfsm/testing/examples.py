"""A fresh fake Assistants API per hypothesis example: :class:`FakeAPI`, strategies that draw it, virtual-time settings.

::

    from hypothesis import given
    from runfsm.testing.examples import fake_apis, virtual_time

    @virtual_time
    @given(api=fake_apis(faults=True))
    def test_my_client(api):
        thread = api.client.beta.threads.create()
        run = my_client(api.client, thread.id, sleep=api.sleep)
        assert run.status == "completed"

Each example draws its own fake (so no fault, run or request count leaks between examples,
and no function-scoped fixture is involved: no health check to suppress), with its own run
script (:func:`run_scripts`: 0 to M tool rounds of 1 to N parallel calls, step durations,
cancel races), faults tied to the run the client creates (:func:`fault_plans`), a poll hint
and a request budget. The client is a real ``openai.OpenAI`` talking to it over loopback HTTP
(one shared server, a base URL per fake) that sleeps on the fake's virtual clock and warns no
``DeprecationWarning``.

When the test body returns, the runfsm pytest plugin makes the built-in check
(:meth:`FakeAPI.check`): every run ended before the client returned, and no rule of
:mod:`runfsm.testing.fake.conduct` was broken; then the rest of each run plays out, so a
failure tells what the run did after. A client in a busy loop is stopped at its first broken
rule instead of spending the request budget. Without the plugin, call ``api.check()`` at the
end of the test (or use ``with api:``). ``@pytest.mark.runfsm_fake(poll_after_ms=..., ...)``
gives every example of the test those fake options (options given to :func:`fake_apis` win).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from runfsm.lifecycles import RUN_LIFECYCLE
from runfsm.status import RunStatus
from runfsm.testing.fake import FakeAssistants, Fault, RunScript
from runfsm.testing.fake.conduct import ClientBug, ClientStopped
from runfsm.testing.fake.objects import tool_calls
from runfsm.testing.strategies import stream_histories
from runfsm.vocabulary import Trigger

if TYPE_CHECKING:
    import openai

    from runfsm.lifecycle import Lifecycle
    from runfsm.testing.fake.clock import VirtualClock
    from runfsm.testing.fake.faults import ObjectKind
    from runfsm.testing.fake.wire import Route

__all__ = [
    "DEFAULT_DURATIONS",
    "DEFAULT_POLL_HINTS",
    "FakeAPI",
    "fake_apis",
    "fault_kinds",
    "fault_plans",
    "poll_route",
    "run_example",
    "run_scripts",
    "virtual_time",
]

_VIRTUAL_TIME: dict[str, Any] = {
    "deadline": None,
    "report_multiple_bugs": False,
    "phases": (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
}

_T = TypeVar("_T", bound=Callable[..., Any])


@overload
def virtual_time(test: _T, /) -> _T: ...
@overload
def virtual_time(**overrides: Any) -> Callable[[_T], _T]: ...
def virtual_time(test: Any = None, /, **overrides: Any) -> Any:
    """Hypothesis settings for tests on virtual time: ``@virtual_time`` or ``@virtual_time(max_examples=50)``.

    No deadline (an example's real time is the loopback round trips, not the code under test;
    virtual minutes cost milliseconds); one bug reported, shrunk once (a client with two bugs
    shows the simplest first instead of shrinking both); no ``explain`` phase (it re-runs the
    failing example under coverage tracing: seconds per failure, and the story says more).
    Everything else comes from the settings profile in force; ``overrides`` are any other
    ``settings`` keywords (one settings decorator per test, so pass them here).
    """

    def apply(fn: _T) -> _T:
        return settings(**{**_VIRTUAL_TIME, **overrides})(fn)

    return apply(test) if test is not None else apply


DEFAULT_DURATIONS: tuple[float, ...] = (1.0, 5.0, 0.0, 30.0)
"""Step durations :func:`run_scripts` draws from (shrinking towards the first); add ``STUCK`` for runs that
sit until they expire (600 virtual seconds: many polls)."""

DEFAULT_POLL_HINTS: tuple[int, ...] = (10_000, 5000, 3000)
"""``openai-poll-after-ms`` values :func:`fake_apis` draws from (a run can last 600 virtual seconds: each
second of hint is fewer polls over loopback)."""

DEFAULT_CANCEL_AFTER: tuple[float, ...] = (0.0, 5.0, 30.0, 120.0)
"""When the user asks the client to stop, in half the examples (virtual seconds after the example starts)."""

_CANCEL_SECONDS: tuple[float, ...] = (1.0, 0.0, 5.0, 30.0)
# cancelling -> expired happens at expires_at, like any expiry: a cancel race to it costs minutes of polling
_CANCEL_OUTCOMES: tuple[RunStatus, ...] = (
    RunStatus.Cancelled,
    RunStatus.Completed,
    RunStatus.Failed,
    RunStatus.Incomplete,
)
_ENDS: tuple[RunStatus, ...] = (RunStatus.Completed, RunStatus.Incomplete, RunStatus.Failed, RunStatus.Expired)


def _server_edge(source: RunStatus, dest: RunStatus) -> bool:
    edge = RUN_LIFECYCLE.edge(source, dest)
    return edge is not None and edge.trigger is Trigger.SERVER


_SDK_RETRIES = 2  # openai's default max_retries
_OPTION_NAMES = ("poll_after_ms", "max_requests", "paused_polls", "repolls", "seconds", "transport")


def _check_int(name: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be an int >= {minimum}")
    return value


# ----------------------------------------------------------------------------- strategies


def run_scripts(
    *,
    histories: st.SearchStrategy[Sequence[RunStatus]] | None = None,
    durations: Sequence[float] | None = None,
    seconds: float | None = None,
    max_tool_calls: int = 3,
    max_tool_rounds: int = 3,
    cancel_races: bool = True,
) -> st.SearchStrategy[RunScript]:
    """Scripts of one run: a history, how long each status lasts, the tool calls of each round, how a cancel ends.

    - ``histories``: the statuses (default: 0 to ``max_tool_rounds`` rounds drawn evenly, then
      ``stream_histories(cancel=False, min_tool_rounds=rounds)``: the run is cancelled only if
      the client cancels it);
    - each step lasts a duration drawn from ``durations`` (default :data:`DEFAULT_DURATIONS`),
      or exactly ``seconds``; a scripted ``expired`` happens at ``expires_at`` whatever they say;
    - each ``requires_action`` round asks for 1 to ``max_tool_calls`` parallel tool calls, and
      histories have at most ``max_tool_rounds`` rounds;
    - a cancel by the client takes one of a few durations and, with ``cancel_races``, may end
      in ``completed``, ``failed`` or ``incomplete`` instead of ``cancelled`` (the run finished first).
    """
    _check_int("max_tool_calls", max_tool_calls, 1)
    _check_int("max_tool_rounds", max_tool_rounds, 0)
    if seconds is not None and durations is not None:
        raise InvalidArgument("run_scripts takes durations or seconds, not both")
    if seconds is not None and (not isinstance(seconds, (int, float)) or seconds < 0):
        raise InvalidArgument(f"seconds={seconds!r} must be a number >= 0")
    pool = tuple(durations) if durations is not None else DEFAULT_DURATIONS
    if not pool or any(not isinstance(d, (int, float)) or d < 0 or math.isnan(d) for d in pool):
        raise InvalidArgument(f"durations={durations!r} must be numbers >= 0 (or STUCK)")

    def few_rounds(history: Sequence[RunStatus]) -> bool:
        return sum(1 for s in history if s is RunStatus.RequiresAction) <= max_tool_rounds

    drawn: st.SearchStrategy[Sequence[RunStatus]]
    if histories is not None:
        drawn = histories.filter(few_rounds)
    else:  # rounds drawn first: an even spread of 0 to M rounds (a free walk mostly ends at the first chance)
        # k rounds take at least 3k + 1 statuses (queued, in_progress, requires_action, ..., the end), so
        # max_length 3M + 3 allows M rounds and never M + 1: no filter, nothing for the shrinker to reject
        length = 3 * max_tool_rounds + 3
        by_rounds: list[st.SearchStrategy[Sequence[RunStatus]]] = [
            stream_histories(cancel=False, max_length=length, min_tool_rounds=rounds)
            for rounds in range(max_tool_rounds + 1)
        ]
        drawn = st.integers(0, max_tool_rounds).flatmap(lambda rounds: by_rounds[rounds])
    outcomes = _CANCEL_OUTCOMES if cancel_races else _CANCEL_OUTCOMES[:1]

    @st.composite
    def scripts(draw: st.DrawFn) -> RunScript:
        history = [s for s in draw(drawn) if s not in (RunStatus.Null, RunStatus.Created)]
        if len(history) > 1 and history[-1].is_terminal:  # the end drawn on its own: every terminal status often
            ends = [t for t in _ENDS if _server_edge(history[-2], t)]
            history[-1] = draw(st.sampled_from(ends))
        steps = [(s, seconds if seconds is not None else draw(st.sampled_from(pool))) for s in history]
        rounds = sum(1 for s in history if s is RunStatus.RequiresAction)
        sizes = [draw(st.integers(1, max_tool_calls)) for _ in range(rounds)]
        return RunScript(
            steps,
            tool_rounds=[tool_calls(n) for n in sizes],
            cancel_seconds=draw(st.sampled_from(_CANCEL_SECONDS)),
            cancel_outcome=draw(st.sampled_from(outcomes)),
        )

    return scripts()


_FaultMaker = Callable[[st.DrawFn], Fault]


def poll_route(lifecycle: Lifecycle[Any] | None = None) -> Route:
    """The route that polls an object of ``lifecycle`` (``retrieve_run``, ``retrieve_response``, ``retrieve_batch``)."""
    key = "run" if lifecycle is None else lifecycle.key
    routes: dict[str, Route] = {"run": "retrieve_run", "response": "retrieve_response", "batch": "retrieve_batch"}
    if key not in routes:
        raise InvalidArgument(f"lifecycle {key!r}: the fake serves objects of {', '.join(routes)}")
    return routes[key]


def _faults_menu(lifecycle: Lifecycle[Any] | None = None) -> dict[str, _FaultMaker]:
    def rate_limited(route: Route, kind: ObjectKind = "run") -> _FaultMaker:
        def make(draw: st.DrawFn) -> Fault:
            return Fault(
                "status",
                route=route,
                status_code=429,
                times=draw(st.integers(1, 2)),
                retry_after=draw(st.sampled_from([2.0, 1.0, 5.0, None])),
                next_object=kind,
            )

        return make

    if lifecycle is not None and lifecycle is not RUN_LIFECYCLE:
        poll = poll_route(lifecycle)
        kind: ObjectKind = "response" if poll == "retrieve_response" else "batch"
        return {
            f"429 on {poll}": rate_limited(poll, kind),
            f"500 on {poll}": lambda draw: Fault(
                "status", route=poll, status_code=500, times=draw(st.integers(1, 2)), next_object=kind
            ),
            f"dropped {poll}": lambda draw: Fault("drop", route=poll, next_object=kind),
            f"slow {poll}": lambda draw: Fault(
                "slow", route=poll, seconds=float(draw(st.integers(1, 10))), next_object=kind
            ),
        }
    return {
        "429 on retrieve_run": rate_limited("retrieve_run"),
        "429 on submit_tool_outputs": rate_limited("submit_tool_outputs"),
        "500 on retrieve_run": lambda draw: Fault(
            "status", route="retrieve_run", status_code=500, times=draw(st.integers(1, 2)), next_run=True
        ),
        "dropped retrieve_run": lambda draw: Fault("drop", route="retrieve_run", next_run=True),
        "dropped submit_tool_outputs": lambda draw: Fault(
            "drop", route="submit_tool_outputs", processed=draw(st.booleans()), next_run=True
        ),
        "slow retrieve_run": lambda draw: Fault(
            "slow", route="retrieve_run", seconds=float(draw(st.integers(1, 10))), next_run=True
        ),
    }


FAULT_KINDS: tuple[str, ...] = tuple(_faults_menu())
"""The faults :func:`fault_plans` draws from for runs, by name."""


def fault_kinds(lifecycle: Lifecycle[Any] | None = None) -> tuple[str, ...]:
    """The faults :func:`fault_plans` draws from for objects of ``lifecycle`` (the run's: :data:`FAULT_KINDS`).

    For a background response or a batch: 429s (with or without ``retry-after``), 500s, dropped
    and slow answers on its poll (``retrieve_response``, ``retrieve_batch``).
    """
    return tuple(_faults_menu(lifecycle))


def fault_plans(
    *, max_faults: int = 3, kinds: Sequence[str] | None = None, lifecycle: Lifecycle[Any] | None = None
) -> st.SearchStrategy[list[Fault]]:
    """0 to ``max_faults`` faults aimed at the next object the client creates (:attr:`Fault.next_object`).

    ``lifecycle``: whose objects (the run's by default); ``kinds`` picks from its
    :func:`fault_kinds` (None: all of them). For runs, :data:`FAULT_KINDS`: 429s (with or
    without ``retry-after``) and 500s on polls, which the SDK's own retries absorb when the
    client honours them; 429s on ``submit_tool_outputs`` and dropped connections there, before
    or after the server took the outputs, which a client must handle itself; dropped and slow
    polls. Faults on
    ``create_run`` and ``cancel_run`` are left out: the SDK re-sends those blindly, so no
    client could pass them; and failed polls add up to at most the SDK's two retries.
    """
    _check_int("max_faults", max_faults, 0)
    menu = _faults_menu(lifecycle)
    poll = poll_route(lifecycle)
    if kinds is None:
        kinds = tuple(menu)
    unknown = [k for k in kinds if k not in menu]
    if unknown or not kinds:
        raise InvalidArgument(f"kinds={kinds!r}: choose from {list(menu)}")
    makers = [menu[k] for k in kinds]

    @st.composite
    def plans(draw: st.DrawFn) -> list[Fault]:
        # each kind present or not (an even chance, shrinking to absent), in a drawn order, up to max_faults
        present = [make for make in makers if draw(st.booleans())]
        order = draw(st.permutations(present)) if len(present) > 1 else present
        chosen: list[Fault] = []
        for make in order[:max_faults]:
            fault = make(draw)
            failing = sum(f.times for f in chosen if f.route == poll and f.kind != "slow")
            if fault.route == poll and fault.kind != "slow":
                if failing >= _SDK_RETRIES:
                    continue
                fault.times = min(fault.times, _SDK_RETRIES - failing)
            chosen.append(fault)
        return chosen

    return plans()


def fake_apis(
    *,
    runs: st.SearchStrategy[RunScript] | None = None,
    faults: bool | st.SearchStrategy[list[Fault]] = False,
    poll_after_ms: int | st.SearchStrategy[int | None] | None = None,
    max_requests: int | st.SearchStrategy[int] | None = None,
    transport: Literal["loopback", "in-process"] | None = None,
    user_cancels: bool = False,
    **options: Any,
) -> st.SearchStrategy[FakeAPI]:
    """A fresh :class:`FakeAPI` per example.

    - ``runs``: the script of the run the client creates (default :func:`run_scripts`);
      later runs play the fake's default script;
    - ``faults``: True draws :func:`fault_plans`; or give a strategy of fault lists;
    - ``poll_after_ms``: an int, or a strategy (default: drawn from :data:`DEFAULT_POLL_HINTS`;
      ``st.none()`` for no hint header);
    - ``max_requests``: the request budget per run (default 2,000: a client that needs more
      is stopped by the busy rule long before);
    - ``transport``: ``"loopback"`` (real HTTP on 127.0.0.1, the default) or ``"in-process"`` (no socket);
    - ``user_cancels``: draw when the user asks the client to stop (:data:`DEFAULT_CANCEL_AFTER`);
      give :meth:`FakeAPI.cancel_requested` to the client as its cancel signal;
    - ``options``: other :class:`~runfsm.testing.fake.FakeAssistants` keywords (``paused_polls``, ...).
    """
    if transport not in (None, "loopback", "in-process"):
        raise InvalidArgument(f"transport={transport!r} must be 'loopback' or 'in-process'")
    unknown = sorted(set(options) - {"paused_polls", "repolls"})
    if unknown:
        raise InvalidArgument(f"fake_apis: unknown options {unknown}")
    script_strategy = runs if runs is not None else run_scripts()
    if faults is True:
        fault_strategy: st.SearchStrategy[list[Fault]] = fault_plans()
    elif faults is False:
        fault_strategy = st.just([])
    else:
        fault_strategy = faults
    given: dict[str, Any] = dict(options)
    if transport is not None:
        given["transport"] = transport
    hints = _as_strategy(poll_after_ms, st.sampled_from(DEFAULT_POLL_HINTS))
    budgets = _as_strategy(max_requests, st.just(2000))
    retime = runs is None

    @st.composite
    def apis(draw: st.DrawFn) -> FakeAPI:
        chosen, defaults = dict(given), dict[str, Any]()
        (chosen if poll_after_ms is not None else defaults)["poll_after_ms"] = draw(hints)
        (chosen if max_requests is not None else defaults)["max_requests"] = draw(budgets)
        return FakeAPI(
            script=draw(script_strategy),
            faults=draw(fault_strategy),
            options=chosen,
            defaults=defaults,
            retime=retime,
            cancel_after=draw(st.sampled_from(DEFAULT_CANCEL_AFTER)) if user_cancels and draw(st.booleans()) else None,
        )

    return apis()


def _as_strategy(value: Any, default: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    if value is None:
        return default
    if isinstance(value, st.SearchStrategy):
        return value
    return st.just(value)


# ----------------------------------------------------------------------------- the example


class FakeAPI:
    """One example's fake Assistants API: :attr:`fake`, a real openai :attr:`client` on it, :meth:`sleep`.

    Built on first use, so a pytest marker can still set options. ``run_id`` is the first run
    the client created; :meth:`history` and :meth:`status` read the server's side of a run
    (the client's by default). :meth:`check` is the built-in verdict.
    """

    _runfsm_example = True

    def __init__(
        self,
        *,
        script: RunScript,
        faults: Sequence[Fault] = (),
        options: Mapping[str, Any] | None = None,
        defaults: Mapping[str, Any] | None = None,
        retime: bool = False,
        cancel_after: float | None = None,
    ) -> None:
        self.script = script
        self.cancel_after = cancel_after
        self.faults = [dataclasses.replace(f) for f in faults]
        self._options = dict(options or {})
        self._defaults = dict(defaults or {})
        self._retime = retime
        self._fake: FakeAssistants | None = None
        self._client: openai.OpenAI | None = None
        self._url: str | None = None

    def __repr__(self) -> str:
        opts = {**self._defaults, **self._options}
        faults = "; ".join(f.describe() + (f" x{f.times}" if f.times > 1 else "") for f in self.faults) or "none"
        rounds = [len(r) for r in self.script.tool_rounds]
        return (
            f"FakeAPI({self.script!r}, tool calls per round {rounds}, cancel -> {self.script.cancel_outcome.wire} "
            f"after {self.script.cancel_seconds:g} s, faults: {faults}, "
            f"poll_after_ms={opts.get('poll_after_ms')}, max_requests={opts.get('max_requests')}"
            + (f", user cancels at t+{self.cancel_after:g}s" if self.cancel_after is not None else "")
            + ")"
        )

    # ------------------------------------------------------------------ building

    def configure(self, options: Mapping[str, Any]) -> None:
        """Apply a test's marker options (before first use); options given to :func:`fake_apis` win."""
        if self._fake is not None:
            raise RuntimeError("configure() after the fake was built")
        unknown = sorted(set(options) - {*_OPTION_NAMES, "check"})
        if unknown:
            raise TypeError(f"runfsm_fake marker: unknown options for fake_apis examples: {unknown}")
        self._defaults.update({k: v for k, v in options.items() if k != "check"})

    @property
    def fake(self) -> FakeAssistants:
        """The example's :class:`~runfsm.testing.fake.FakeAssistants` (built on first use)."""
        if self._fake is None:
            self._build()
        assert self._fake is not None
        return self._fake

    @property
    def client(self) -> openai.OpenAI:
        """A real ``openai.OpenAI`` talking to the fake (loopback HTTP unless ``transport="in-process"``)."""
        if self._client is None:
            self._build()
        assert self._client is not None
        return self._client

    def _build(self) -> None:
        opts = {**self._defaults, **self._options}
        transport = opts.pop("transport", "loopback")
        seconds = opts.pop("seconds", None)
        script = self.script.retimed(seconds) if seconds is not None and self._retime else self.script
        fake = FakeAssistants(stop_on_violation=True, **opts)
        fake.queue_run(script)
        for fault in self.faults:
            fake.inject(dataclasses.replace(fault))
        if transport == "loopback":
            from runfsm.testing.fake.host import shared_host  # noqa: PLC0415 - the web server only when used
            from runfsm.testing.fake.transport import openai_client  # noqa: PLC0415

            host = shared_host()
            self._url = host.register(fake)
            self._client = openai_client(fake, base_url=self._url, pool=host.pool)
        else:
            self._client = fake.client()
        self._fake = fake

    @property
    def built(self) -> bool:
        """True once the fake exists (the test used it)."""
        return self._fake is not None

    # ------------------------------------------------------------------ using

    @property
    def clock(self) -> VirtualClock:
        """The fake's virtual clock."""
        return self.fake.clock

    def sleep(self, seconds: float) -> None:
        """Sleep on the virtual clock: give it to the client as its ``sleep`` (stops a judged client)."""
        self.fake.raise_if_stopped()
        self.fake.clock.sleep(seconds)

    async def async_sleep(self, seconds: float) -> None:
        """The coroutine twin of :meth:`sleep`."""
        self.sleep(seconds)

    def cancel_requested(self) -> bool:
        """True once the user asked the client to stop (drawn with ``fake_apis(user_cancels=True)``)."""
        return self.cancel_after is not None and self.fake.clock.elapsed >= self.cancel_after

    @property
    def run_id(self) -> str | None:
        """The first run the client created (None: it created none)."""
        ids = self.fake.run_ids()
        return ids[0] if ids else None

    def _run(self, run_id: str | None) -> str:
        chosen = run_id if run_id is not None else self.run_id
        if chosen is None:
            raise LookupError("the client created no run")
        return chosen

    def status(self, run_id: str | None = None) -> RunStatus:
        """The run's status on the server now (default: the client's run)."""
        return self.fake.status(self._run(run_id))

    def history(self, run_id: str | None = None) -> list[RunStatus]:
        """Every status the run went through on the server so far (default: the client's run)."""
        return self.fake.history(self._run(run_id))

    def check(self) -> None:
        """The built-in verdict, once the client returned: raise :class:`ClientBug` if it broke a rule."""
        if self._fake is not None:
            self._fake.check_client()

    def close(self) -> None:
        """Close the client and stop serving the fake."""
        if self._client is not None:
            self._client.close()
        if self._url is not None:
            from runfsm.testing.fake.host import shared_host  # noqa: PLC0415

            shared_host().unregister(self._url)
            self._url = None

    def __enter__(self) -> FakeAPI:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        try:
            if isinstance(exc, ClientStopped):
                raise exc.bug() from None
            if exc is None:
                self.check()
        finally:
            self.close()


def run_example(
    test: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any], options: Mapping[str, Any]
) -> Any:
    """Run one example of ``test`` and judge every :class:`FakeAPI` it was given (the pytest plugin calls this).

    A client stopped by the fake becomes a :class:`ClientBug`; any other failure gets the
    story of the example as a note; a passing body is judged by :meth:`FakeAPI.check`.
    """
    apis = [v for v in (*args, *kwargs.values()) if isinstance(v, FakeAPI)]
    for api in apis:
        api.configure(options)
    try:
        try:
            result = test(*args, **kwargs)
        except ClientStopped as stop:
            raise stop.bug() from None
        except ClientBug:
            raise
        except Exception as err:
            for api in apis:
                if api.built:
                    api.fake.mark_returned()
                    api.fake.play_out()
                    err.add_note(api.fake.story())
            raise
        if options.get("check", True):
            for api in apis:
                api.check()
        return result
    finally:
        for api in apis:
            api.close()
