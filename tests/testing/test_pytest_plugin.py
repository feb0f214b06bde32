"""The pytest plugin (``runfsm.testing.pytest_plugin``): registered once by entry point, import-light, fixtures.

Inner sessions run in subprocesses: an in-process pytester run restores ``sys.modules``
afterwards, and HTTP modules first imported inside it (h11, httpcore2 internals) would then be
imported twice, so later tests would see exception classes that no longer match.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")

HEAVY = ("openai", "hypothesis", "starlette", "uvicorn", "httpx2", "runfsm.testing.fake")


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    """The plugin (loaded by every pytest run once installed) imports no heavy dependency."""
    code = f"import sys, runfsm.testing.pytest_plugin; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_importing_runfsm_stays_cheap() -> None:
    """``import runfsm`` imports none of the testing kit's dependencies."""
    code = f"import sys, runfsm; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_registered_once_by_entry_point(pytester: pytest.Pytester) -> None:
    """The pytest11 entry point loads the plugin exactly once (no double registration)."""
    pytester.makepyfile(
        """
        import runfsm.testing.pytest_plugin as _runfsm_pytestplugin

        def test_once(request):
            plugins = [p for p in request.config.pluginmanager.get_plugins() if p is _runfsm_pytestplugin]
            assert len(plugins) == 1
            assert request.config.pluginmanager.get_plugin("runfsm") is _runfsm_pytestplugin
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_fixtures_give_a_server_and_real_clients(pytester: pytest.Pytester) -> None:
    """fake_server / fake_client / fake_assistants / fake_clock work in a user's test file, with the marker."""
    pytester.makepyfile(
        """
        import warnings
        import pytest

        warnings.simplefilter("ignore", DeprecationWarning)

        @pytest.mark.runfsm_fake(poll_after_ms=500, script=["queued", ("in_progress", 10), "completed"])
        def test_server(fake_server, fake_client, fake_clock):
            thread = fake_client.beta.threads.create()
            run = fake_client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id="a")
            assert run.status == "completed"
            assert fake_clock.now() - fake_clock.start == 11
            assert fake_server.count("retrieve_run") == 23

        def test_in_process(fake_assistants):
            client = fake_assistants.client()
            assert client.beta.threads.create().id.startswith("thread_")

        def test_bad_marker(fake_server):
            pass

        test_bad_marker = pytest.mark.runfsm_fake("positional")(test_bad_marker)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*runfsm_fake takes keyword options only*"])


def test_async_client_fixture(pytester: pytest.Pytester) -> None:
    """fake_async_client gives a real AsyncOpenAI client, with anyio's pytest plugin running the test."""
    pytester.makepyfile(
        """
        import warnings
        import pytest

        warnings.simplefilter("ignore", DeprecationWarning)

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_async(fake_server, fake_async_client):
            thread = await fake_async_client.beta.threads.create()
            run = await fake_async_client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id="a")
            assert run.status == "completed"
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_from_type_registered_through_the_plugin(pytester: pytest.Pytester) -> None:
    """st.from_type(RunStatus) uses runfsm's registration without importing runfsm.testing.strategies."""
    pytester.makepyfile(
        """
        import sys
        from hypothesis import given, strategies as st
        from runfsm import RunStatus

        @given(st.from_type(RunStatus))
        def test_status(status):
            assert isinstance(status, RunStatus)
            assert "runfsm.testing.strategies" in sys.modules
        """
    )
    # a fresh interpreter: nothing imported runfsm.testing.strategies but the plugin
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
