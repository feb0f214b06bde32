"""Shared test configuration: hypothesis profiles, fixtures that read text as a log, a webhook receiver.

``quick`` (default) keeps the suite fast while developing; ``ci`` (chosen when ``CI`` is set)
explores more examples. Pick one explicitly with ``HYPOTHESIS_PROFILE=...``.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from runfsm.exceptions import InputError
    from runfsm.validation.records import Record
    from runfsm.webhooks import Receiver

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


def _read_log(text: str | bytes, **kwargs: object) -> list[Record | InputError]:
    from runfsm.validation.records import read_records

    data = text.encode() if isinstance(text, str) else text
    return list(read_records(io.BytesIO(data), name="log", **kwargs))  # type: ignore[arg-type]


@pytest.fixture
def read_log() -> Callable[..., list[Record | InputError]]:
    """``read_log(text, **options)``: what ``read_records`` gives for ``text`` (or bytes) as a log named ``log``.

    The reader tests share it (tests/test_records.py and tests/formats/), and its two filters below.
    """
    return _read_log


@pytest.fixture
def log_records() -> Callable[..., list[Record]]:
    """``log_records(text, **options)``: the records ``read_log`` gives, asserting it gives no errors."""
    from runfsm.exceptions import InputError
    from runfsm.validation.records import Record

    def records(text: str | bytes, **kwargs: object) -> list[Record]:
        items = _read_log(text, **kwargs)
        assert not [i for i in items if isinstance(i, InputError)], items
        return [i for i in items if isinstance(i, Record)]

    return records


@pytest.fixture
def log_errors() -> Callable[..., list[tuple[int | None, str]]]:
    """``log_errors(text, **options)``: the ``(line, detail)`` of each error ``read_log`` gives."""
    from runfsm.exceptions import InputError

    def errors(text: str | bytes, **kwargs: object) -> list[tuple[int | None, str]]:
        return [(i.line, i.detail) for i in _read_log(text, **kwargs) if isinstance(i, InputError)]

    return errors


@pytest.fixture
def make_receiver(tmp_path: Path) -> Iterator[Callable[..., Receiver]]:
    """``make_receiver(**options)``: a webhook receiver on ``tmp_path/hooks.sqlite`` (the same file each call).

    Signed with the fake's ``TEST_SECRET`` unless ``secret=`` is given; every receiver made is closed after the test.
    """
    from runfsm.testing.fake.webhooks import TEST_SECRET
    from runfsm.webhooks import Receiver

    made: list[Receiver] = []

    def make(**options: Any) -> Receiver:
        options.setdefault("secret", TEST_SECRET)
        receiver = Receiver(tmp_path / "hooks.sqlite", **options)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()
