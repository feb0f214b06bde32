"""The README's watcher examples (openai, and Azure's ``AgentsClient``) run as written and print what it shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
HEADINGS = (
    "## Following runs cheaply: the watcher, the poller and the scheduler",
    "## Azure AI Foundry Agents",
)


@pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")
@pytest.mark.parametrize("heading", HEADINGS, ids=["openai", "azure"])
def test_readme_watcher_example_runs_and_prints_the_shown_output(heading: str) -> None:
    """The first python block of the section, executed, prints exactly the text block after it."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    match = re.search(r"```python\n(.*?)```\n\n```text\n(.*?)```", section, re.S)
    assert match is not None, "the section must hold a python block followed by its output"
    code, expected = match.groups()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    assert out.getvalue() == expected
