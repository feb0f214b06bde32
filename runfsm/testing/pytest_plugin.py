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
(any keyword of ``FakeAssistants``).

When hypothesis is in use, the plugin also registers the ``RunStatus`` strategy (as importing
:mod:`runfsm.testing.strategies` does), so ``st.from_type(RunStatus)`` works in any test.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

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


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword options only, got {marker.args!r}")
    return dict(marker.kwargs)


@pytest.fixture
def fake_clock() -> VirtualClock:
    """A fresh virtual clock: pass ``fake_clock.sleep`` to the code under test."""
    from runfsm.testing.fake import VirtualClock  # noqa: PLC0415

    return VirtualClock()


@pytest.fixture
def fake_assistants(request: pytest.FixtureRequest, fake_clock: VirtualClock) -> FakeAssistants:
    """An in-process fake Assistants API (``.client()`` gives a real openai client without sockets)."""
    from runfsm.testing.fake import FakeAssistants  # noqa: PLC0415

    return FakeAssistants(clock=fake_clock, **_options(request))


@pytest.fixture
def fake_server(request: pytest.FixtureRequest, fake_clock: VirtualClock) -> Iterator[FakeAssistantsServer]:
    """A fake Assistants API served on 127.0.0.1 for the duration of the test."""
    from runfsm.testing.fake import FakeAssistantsServer  # noqa: PLC0415

    with FakeAssistantsServer(clock=fake_clock, **_options(request)) as server:
        yield server


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
