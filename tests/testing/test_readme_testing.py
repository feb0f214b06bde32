"""The README's testing section is real: its property test passes; its counterexample is what hypothesis finds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "## Testing your client: strategies, a stateful machine, a fake Assistants API"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(HEADING)
    end = text.find("\n## ", start + len(HEADING))
    return text[start : end if end != -1 else len(text)]


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", _section(), flags=re.DOTALL)
    assert len(blocks) == 1, "the section shows one python example"
    return str(blocks[0])


def test_the_example_passes(pytester: pytest.Pytester) -> None:
    """The README's property test of a correct polling loop passes against the fake server."""
    pytester.makepyfile(test_my_poller=_example())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=1)


@pytest.mark.slow  # the buggy loop polls every unanswered run until it expires (600 virtual seconds)
def test_the_claimed_counterexample(pytester: pytest.Pytester) -> None:
    """Without the requires_action branch, hypothesis reports the four-status history the README shows."""
    code = _example()
    branch = re.search(r"        if run.status == \"requires_action\":\n(?:            .*\n)+", code)
    assert branch is not None
    buggy = code.replace(branch.group(0), "").replace("        elif RunStatus.parse", "        if RunStatus.parse")
    pytester.makepyfile(test_buggy=buggy)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(failed=1)
    shown = re.search(r"```console\n(E .*?)```", _section(), flags=re.DOTALL)
    assert shown is not None
    result.stdout.fnmatch_lines([f"*{line.removeprefix('E').strip()}*" for line in shown.group(1).splitlines()])
