"""The resilience verdict: one call runs a client against a battery of drawn runs and faults, property by property.

::

    from runfsm.testing.resilience import check_resilience

    report = check_resilience(ask)       # ask(client, thread_id, *, sleep, cancelled) -> anything
    print(report)                        # one line per property: pass, or the shrunk counterexample
    report.check()                       # AssertionError listing the properties that failed

Each property has its own battery (a :func:`~runfsm.testing.examples.fake_apis` strategy
aimed at it) and is judged by its own rules of :mod:`runfsm.testing.fake.conduct`, so a
failure names the property it breaks, with the story hypothesis shrank it to. A client that
raises while a run it created is still live fails the battery it raised in (it crashed: a
429 it did not handle, a 400 it caused). A property whose situation never arose (a client
that never cancels is never seen waiting out ``cancelling``) is reported as not exercised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from hypothesis import given, seed

from runfsm.status import RunStatus
from runfsm.testing.examples import fake_apis, fault_plans, run_scripts, virtual_time
from runfsm.testing.fake.conduct import PROPERTIES, ClientBug, ClientStopped, Rule
from runfsm.testing.strategies import stream_histories

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from runfsm.testing.examples import FakeAPI

__all__ = ["BATTERIES", "ClientFunction", "PropertyResult", "ResilienceReport", "check_resilience"]

Transport = Literal["loopback", "in-process"]
ClientFunction = Callable[..., Any]
"""``client(openai_client, thread_id, *, sleep, cancelled)``: creates a run on the thread and sees it through."""


_LOOPS: frozenset[Rule] = frozenset({"busy", "terminal"})


@dataclasses.dataclass(frozen=True, slots=True)
class _Battery:
    rules: frozenset[Rule]
    apis: Callable[[Transport], SearchStrategy[FakeAPI]]
    needs: Literal["", "tools", "cancel", "fault"] = ""


def _tools(transport: Transport) -> SearchStrategy[FakeAPI]:
    runs = run_scripts(histories=stream_histories(cancel=False, max_length=12, min_tool_rounds=1))
    return fake_apis(runs=runs, transport=transport)


def _faults(kinds: tuple[str, ...]) -> Callable[[Transport], SearchStrategy[FakeAPI]]:
    def apis(transport: Transport) -> SearchStrategy[FakeAPI]:
        runs = run_scripts(histories=stream_histories(cancel=False, max_length=12, min_tool_rounds=1))
        plans = fault_plans(kinds=kinds).filter(bool)
        return fake_apis(runs=runs, faults=plans, transport=transport)

    return apis


def _cancels(transport: Transport) -> SearchStrategy[FakeAPI]:
    return fake_apis(user_cancels=True, transport=transport)


def _terminals(transport: Transport) -> SearchStrategy[FakeAPI]:
    return fake_apis(transport=transport)


def _everything(transport: Transport) -> SearchStrategy[FakeAPI]:
    return fake_apis(faults=True, user_cancels=True, transport=transport)


BATTERIES: dict[Rule, _Battery] = {
    "tools": _Battery(frozenset({"tools"}), _tools, "tools"),
    "retry_after": _Battery(
        frozenset({"retry_after"}), _faults(("429 on retrieve_run", "429 on submit_tool_outputs")), "fault"
    ),
    "poll_hint": _Battery(frozenset({"poll_hint", "busy"}), _terminals),
    "resend": _Battery(frozenset({"resend"}), _faults(("dropped submit_tool_outputs",)), "fault"),
    "cancelling": _Battery(frozenset({"cancelling"}), _cancels, "cancel"),
    "terminal": _Battery(frozenset({"terminal"}), _terminals),
    "abandon": _Battery(frozenset({"abandon"}), _everything),
}
"""Each property's battery: the rules that judge it and the examples it draws."""


@dataclasses.dataclass(frozen=True, slots=True)
class PropertyResult:
    """One property's verdict: passed, or the shrunk counterexample; and whether the battery ever exercised it."""

    name: str
    passed: bool
    examples: int
    exercised: bool = True
    counterexample: str | None = None

    def __str__(self) -> str:
        if not self.passed:
            return f"FAIL  {self.name}\n{_indent(self.counterexample or '')}"
        if not self.exercised:
            return f"n/a   {self.name} (not exercised in {self.examples} examples)"
        return f"pass  {self.name} ({self.examples} examples)"


@dataclasses.dataclass(frozen=True, slots=True)
class ResilienceReport:
    """Every property's :class:`PropertyResult`, in the order of :data:`BATTERIES`."""

    results: tuple[PropertyResult, ...]

    @property
    def passed(self) -> bool:
        """True when no property failed."""
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[str]:
        """The names of the properties that failed."""
        return [r.name for r in self.results if not r.passed]

    def __getitem__(self, name: str) -> PropertyResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def __str__(self) -> str:
        return "\n".join(str(r) for r in self.results)

    def check(self) -> None:
        """Raise ``AssertionError`` with the failed properties' counterexamples, if any."""
        if not self.passed:
            raise AssertionError(
                "the client is not resilient:\n" + "\n".join(str(r) for r in self.results if not r.passed)
            )


def _indent(text: str) -> str:
    return "\n".join("      " + line for line in text.splitlines())


def check_resilience(
    client: ClientFunction,
    *,
    examples: int = 25,
    seed_value: int = 0,
    properties: tuple[Rule, ...] | None = None,
    transport: Transport = "in-process",
) -> ResilienceReport:
    """Run ``client`` against each property's battery of ``examples`` drawn runs and faults; report per property.

    ``client(openai_client, thread_id, *, sleep, cancelled)`` creates a run on the thread and
    sees it through (``sleep``: its sleep, on virtual time; ``cancelled()``: True once the user
    asked it to stop). ``seed_value`` makes the verdict repeatable; ``properties`` picks some
    of :data:`BATTERIES` (default all); ``transport="loopback"`` runs the openai client over
    real HTTP (slower).
    """
    if not isinstance(examples, int) or examples < 1:
        raise ValueError(f"examples must be an int >= 1, got {examples!r}")
    chosen = properties if properties is not None else tuple(BATTERIES)
    unknown = [p for p in chosen if p not in BATTERIES]
    if unknown:
        raise ValueError(f"unknown properties {unknown}; choose from {list(BATTERIES)}")
    return ResilienceReport(
        tuple(_judge(client, name, examples=examples, seed_value=seed_value, transport=transport) for name in chosen)
    )


def _judge(
    client: ClientFunction, name: Rule, *, examples: int, seed_value: int, transport: Transport
) -> PropertyResult:
    battery = BATTERIES[name]
    seen = {"cancel": False, "tools": False, "fault": False}

    @seed(seed_value)
    @virtual_time(max_examples=examples, database=None)
    @given(api=battery.apis(transport))
    def prop(api: FakeAPI) -> None:
        try:
            api.fake.enforced = battery.rules | _LOOPS  # stop for this battery's rules, and for loops
            thread = api.client.beta.threads.create()
            failure: str | None = None
            try:
                client(api.client, thread.id, sleep=api.sleep, cancelled=api.cancel_requested)
            except ClientStopped as stop:
                if stop.violation.rule not in battery.rules:
                    return  # stopped for another property's rule: that battery reports it
            except Exception as err:  # noqa: BLE001 - a crash while a run is live is this battery's failure
                failure = f"the client raised {type(err).__name__}: {err}"
            fake = api.fake
            fake.mark_returned()
            live = [rid for rid, status in fake.returned_statuses.items() if not status.is_terminal]
            fake.play_out()
            seen["cancel"] = seen["cancel"] or fake.count("cancel_run") > 0
            seen["tools"] = seen["tools"] or any(RunStatus.RequiresAction in fake.history(r) for r in fake.run_ids())
            seen["fault"] = seen["fault"] or bool(fake.faults_seen)
            broken = [v for v in fake.violations if v.rule in battery.rules]
            if broken:
                raise ClientBug(broken, fake.story())
            if failure is not None and live:
                raise AssertionError(f"{failure} (run {', '.join(live)} still live)\n\n{fake.story()}")
        finally:
            api.close()

    try:
        prop()
    except AssertionError as err:
        notes = "\n".join(getattr(err, "__notes__", []))
        return PropertyResult(PROPERTIES[name], False, examples, True, f"{err}\n{notes}".strip())
    exercised = seen[battery.needs] if battery.needs else True
    return PropertyResult(PROPERTIES[name], True, examples, exercised)
