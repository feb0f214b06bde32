"""Shared test configuration: hypothesis profiles.

``quick`` (default) keeps the suite fast while developing; ``ci`` (chosen when ``CI`` is set)
explores more examples. Pick one explicitly with ``HYPOTHESIS_PROFILE=...``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("quick", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "quick"))

# pytester runs inner pytest sessions: used to test runfsm's own pytest plugin (tests/test_pytest_plugin.py).
pytest_plugins = ["pytester"]


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio: the openai client, httpx2 and runfsm's async twins are asyncio code.

    anyio's plugin would otherwise also run them on every other installed backend (trio).
    """
    return "asyncio"
