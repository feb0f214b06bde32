"""The README's testing section is real: its property test passes on its client, with no warning filter.

The bug classes it catches are pinned in test_bug_classes.py; here, the one failure the README
prints is the one the test reports.
"""

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
    assert len(blocks) == 2, "the section shows the client, then its test"
    return str(blocks[0]) + str(blocks[1])


@pytest.mark.slow
def test_the_example_passes(pytester: pytest.Pytester) -> None:
    """The README's property test of its client passes against the fake, warnings as errors."""
    pytester.makepyfile(test_my_client=_example())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error", "--hypothesis-seed=0")
    result.assert_outcomes(passed=1)


def test_the_claimed_counterexample(pytester: pytest.Pytester) -> None:
    """Returning from the cancel (``continue`` becomes ``break``) fails with the story the README shows."""
    code = _example()
    old = "run = runs.cancel(run.id, thread_id=thread_id)\n            continue"
    assert code.count(old) == 1
    pytester.makepyfile(test_buggy=code.replace(old, old.replace("continue", "break")))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error", "--hypothesis-seed=0")
    result.assert_outcomes(failed=1)
    shown = re.search(r"```console\n(E .*?)```", _section(), flags=re.DOTALL)
    assert shown is not None
    lines = [line.removeprefix("E").strip() for line in shown.group(1).splitlines()]
    result.stdout.fnmatch_lines([f"*{line.replace('(...)', '*')}*" for line in lines if line])
