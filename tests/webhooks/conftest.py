"""Shared fixture of the webhook tests: a receiver on a fresh SQLite file, signed with the fake's test secret."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from runfsm.testing.fake.webhooks import TEST_SECRET
from runfsm.webhooks import Receiver

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


@pytest.fixture
def make_receiver(tmp_path: Path) -> Iterator[Callable[..., Receiver]]:
    """``make_receiver(**options)``: a receiver on ``tmp_path/hooks.sqlite`` (the same file each call), closed after."""
    made: list[Receiver] = []

    def make(**options: Any) -> Receiver:
        options.setdefault("secret", TEST_SECRET)
        receiver = Receiver(tmp_path / "hooks.sqlite", **options)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()
