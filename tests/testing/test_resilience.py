"""Tests for runfsm.testing.resilience: one call judges a client property by property, naming what it breaks.

Small batteries (a few examples each, in-process) keep these quick; the README's client is the
correct one, and one bug put into it fails exactly the property it breaks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runfsm.testing.resilience import BATTERIES, check_resilience

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_client(replace: tuple[str, str] | None = None) -> Callable[..., Any]:
    text = README.read_text(encoding="utf-8")
    start = text.index("def ask(")
    source = (
        "import openai\nfrom runfsm import RunStatus\nclass RunFailed(Exception): pass\n"
        + text[start : text.index("```", start)]
    )
    if replace is not None:
        assert source.count(replace[0]) == 1
        source = source.replace(*replace)
    namespace: dict[str, Any] = {}
    exec(compile(source, "ask", "exec"), namespace)  # the README's client, as users write it
    return namespace["ask"]  # type: ignore[no-any-return]


@pytest.mark.slow
def test_the_readme_client_is_resilient() -> None:
    """Every property passes for the README's careful client (cancelling exercised: it honours the user's stop)."""
    report = check_resilience(_readme_client(), examples=8)
    assert report.passed, str(report)
    assert [r.name for r in report.results] == [
        "answers tools in time",
        "honours retry-after",
        "honours the poll hint",
        "never re-sends outputs",
        "waits out cancelling",
        "stops on every terminal status",
        "never abandons a live run",
    ]
    assert "pass  honours the poll hint (8 examples)" in str(report)


def test_a_client_polling_too_fast_fails_that_property_with_its_story() -> None:
    """A fixed one-second sleep breaks 'honours the poll hint' only; the report carries the shrunk story."""
    client = _readme_client(("            sleep(hint)", "            sleep(1.0)"))
    report = check_resilience(client, examples=8, properties=("poll_hint", "terminal"))
    assert report.failed == ["honours the poll hint"]
    story = report["honours the poll hint"].counterexample or ""
    assert "the server asked for" in story
    assert "what happened" in story
    with pytest.raises(AssertionError, match="not resilient"):
        report.check()


def test_a_client_that_never_cancels_is_not_exercised_on_cancelling() -> None:
    """A property whose situation never arose is reported as not exercised, not as a pass."""

    def never_cancels(client: Any, thread_id: str, *, sleep: Callable[[float], None], cancelled: object) -> Any:
        del cancelled
        return _readme_client()(client, thread_id, sleep=sleep)

    report = check_resilience(never_cancels, examples=5, properties=("cancelling",))
    assert report.passed
    assert not report["waits out cancelling"].exercised
    assert "n/a   waits out cancelling" in str(report)


def test_unknown_properties_are_refused() -> None:
    """The properties are the batteries' names."""
    with pytest.raises(ValueError, match="unknown properties"):
        check_resilience(lambda *a, **k: None, properties=("vibes",))  # type: ignore[arg-type]
    assert set(BATTERIES) == {"tools", "retry_after", "poll_hint", "resend", "cancelling", "terminal", "abandon"}
