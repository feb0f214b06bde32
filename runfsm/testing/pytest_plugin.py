"""The runfsm pytest plugin: fixtures for the fake Assistants API, registered by the ``pytest11`` entry point.

Import-light, as hypothesis's ``_hypothesis_pytestplugin`` explains a plugin must be: every
pytest run of a project that installs ``runfsm[testing]`` loads it. Importing it imports pytest
and the cheap ``runfsm`` package only; the fake server, openai, starlette and hypothesis are
imported by the fixtures that need them, when a test asks for them. (pytest loads entry-point
plugins before pytest-cov starts, so measure runfsm's own coverage with ``coverage run -m pytest``.)

Fixtures
--------
``fake_clock``
    A fresh :class:`~runfsm.testing.fake.VirtualClock`.
``fake_assistants``
    An in-process :class:`~runfsm.testing.fake.FakeAssistants` on ``fake_clock``.
``fake_server``
    A :class:`~runfsm.testing.fake.FakeAssistantsServer` on ``fake_clock``, listening on 127.0.0.1.
``fake_client`` / ``fake_async_client``
    Real ``openai.OpenAI`` / ``openai.AsyncOpenAI`` clients of ``fake_server`` over loopback HTTP,
    whose poll helpers and retries sleep on ``fake_clock``.
``fake_agents_client`` / ``fake_async_agents_client``
    Real ``azure.ai.agents.AgentsClient`` / ``azure.ai.agents.aio.AgentsClient`` clients of
    ``fake_server``'s Azure endpoint over loopback HTTP (test credential, retries on
    ``fake_clock``; needs ``runfsm[azure]``).

Options for the fake go in a marker: ``@pytest.mark.runfsm_fake(poll_after_ms=200, script=[...])``
(any keyword of ``FakeAssistants``; for :func:`~runfsm.testing.examples.fake_apis` examples:
``poll_after_ms``, ``max_requests``, ``seconds``, ``paused_polls``, ``repolls``, ``transport``).

The built-in check: the fixtures' fake is judged when the test ends
(:meth:`~runfsm.testing.fake.FakeAssistants.check_client`: every run ended, no rule broken;
the fake's own clients stop a client at its first broken rule), and so is every
:class:`~runfsm.testing.examples.FakeAPI` a hypothesis test draws, after each example, so
hypothesis shrinks the failure. ``@pytest.mark.runfsm_fake(check=False)`` turns it off (and
the stopping: for tests of the fake's own refusals). Markers on a module, a class and a test
add up, the closest winning.

When hypothesis is in use, the plugin also registers the ``RunStatus`` strategy (as importing
:mod:`runfsm.testing.strategies` does), so ``st.from_type(RunStatus)`` works in any test.
"""

from __future__ import annotations

import functools
import inspect
import sys
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Generator, Iterator

    import openai
    from azure.ai.agents import AgentsClient
    from azure.ai.agents.aio import AgentsClient as AsyncAgentsClient

    from runfsm.testing.fake import FakeAssistants, FakeAssistantsServer, VirtualClock

__all__ = [
    "fake_agents_client",
    "fake_assistants",
    "fake_async_agents_client",
    "fake_async_client",
    "fake_client",
    "fake_clock",
    "fake_server",
]

MARKER = "runfsm_fake"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``runfsm_fake`` marker."""
    config.addinivalue_line(
        "markers", f"{MARKER}(**options): options for the runfsm fake Assistants API fixtures (FakeAssistants keywords)"
    )


def _register_strategies() -> None:
    if "hypothesis" in sys.modules and "runfsm.testing.strategies" not in sys.modules:
        import runfsm.testing.strategies  # noqa: F401, PLC0415 - importing it registers the RunStatus strategy


def pytest_collection_finish(session: pytest.Session) -> None:
    """Register ``st.from_type(RunStatus)`` when the collected tests use hypothesis."""
    del session
    _register_strategies()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """... or when a test imported hypothesis after collection (a dictionary lookup otherwise)."""
    del item
    _register_strategies()


def _marker_options(node: pytest.Item | pytest.Collector) -> dict[str, Any]:
    """Every ``runfsm_fake`` marker's options (module, class, test), the closest winning."""
    options: dict[str, Any] = {}
    for marker in node.iter_markers(MARKER):  # closest first
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword options only, got {marker.args!r}")
        options = {**marker.kwargs, **options}
    return options


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options = _marker_options(request.node)
    check = options.pop("check", True)
    options.setdefault("stop_on_violation", bool(check))
    return options


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Remember a failed test body: the fixtures then skip their check (the failure already tells)."""
    report = yield
    if call.when == "call" and report.failed:
        item.stash[_CALL_FAILED] = True
    return report


def _checks(request: pytest.FixtureRequest) -> bool:
    node = request.node
    return bool(_marker_options(node).get("check", True)) and not node.stash.get(_CALL_FAILED, False)


def _judged(inner: Callable[..., Any], options: dict[str, Any]) -> Callable[..., Any]:
    @functools.wraps(inner)
    def judged(*args: Any, **kwargs: Any) -> Any:
        if not any(getattr(v, "_runfsm_example", False) for v in (*args, *kwargs.values())):
            return inner(*args, **kwargs)
        from runfsm.testing.examples import run_example  # noqa: PLC0415 - only tests drawing fakes need it

        return run_example(inner, args, kwargs, options)

    judged._runfsm_judged = True  # type: ignore[attr-defined]
    return judged


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Judge each example of a hypothesis test that draws a ``FakeAPI`` (wraps its documented ``inner_test``)."""
    for item in items:
        handle = getattr(getattr(item, "obj", None), "hypothesis", None)
        inner = getattr(handle, "inner_test", None)
        if inner is None or getattr(inner, "_runfsm_judged", False) or inspect.iscoroutinefunction(inner):
            continue
        handle.inner_test = _judged(inner, _marker_options(item))  # type: ignore[union-attr]


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """A client the fixtures' fake stopped fails with the story (:class:`~runfsm.testing.fake.conduct.ClientBug`)."""
    try:
        return (yield)
    except BaseException as err:
        stop = type(err).__name__ == "ClientStopped" and getattr(err, "bug", None)
        if stop:
            raise stop() from None
        raise


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the shared loopback host of ``fake_apis`` examples, if one was started."""
    del session
    host = sys.modules.get("runfsm.testing.fake.host")
    if host is not None:
        host.stop_shared_host()


@pytest.fixture
def fake_clock() -> VirtualClock:
    """A fresh virtual clock: pass ``fake_clock.sleep`` to the code under test."""
    from runfsm.testing.fake import VirtualClock  # noqa: PLC0415

    return VirtualClock()


@pytest.fixture
def fake_assistants(request: pytest.FixtureRequest, fake_clock: VirtualClock) -> Iterator[FakeAssistants]:
    """An in-process fake Assistants API (``.client()``: a real openai client, no socket), checked at the end."""
    from runfsm.testing.fake import FakeAssistants  # noqa: PLC0415

    fake = FakeAssistants(clock=fake_clock, **_options(request))
    yield fake
    if _checks(request) and fake.stopped is None:
        fake.check_client()


@pytest.fixture
def fake_server(request: pytest.FixtureRequest, fake_clock: VirtualClock) -> Iterator[FakeAssistantsServer]:
    """A fake Assistants API served on 127.0.0.1 for the duration of the test, checked at the end."""
    from runfsm.testing.fake import FakeAssistantsServer  # noqa: PLC0415

    with FakeAssistantsServer(clock=fake_clock, **_options(request)) as server:
        yield server
        if _checks(request) and server.stopped is None:
            server.check_client()


@pytest.fixture
def fake_client(fake_server: FakeAssistantsServer) -> Iterator[openai.OpenAI]:
    """A real ``openai.OpenAI`` client of ``fake_server`` (loopback HTTP, virtual sleeps)."""
    client = fake_server.client()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
async def fake_async_client(fake_server: FakeAssistantsServer) -> AsyncIterator[openai.AsyncOpenAI]:
    """A real ``openai.AsyncOpenAI`` client of ``fake_server`` (needs an async test runner such as anyio's)."""
    client = fake_server.async_client()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def fake_agents_client(fake_server: FakeAssistantsServer) -> Iterator[AgentsClient]:
    """A real ``azure.ai.agents.AgentsClient`` of ``fake_server`` (loopback HTTP, test credential)."""
    with fake_server.agents_client() as client:
        yield client


@pytest.fixture
async def fake_async_agents_client(fake_server: FakeAssistantsServer) -> AsyncIterator[AsyncAgentsClient]:
    """A real ``azure.ai.agents.aio.AgentsClient`` of ``fake_server`` (needs an async test runner such as anyio's)."""
    async with fake_server.async_agents_client() as client:
        yield client
