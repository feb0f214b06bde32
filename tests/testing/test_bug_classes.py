"""The README's property test catches the bugs people write in run clients, fast, and passes correct clients.

Each bug class is the README's correct client with one bug put in (a few lines changed, shown
below as replacements), run under the README's own test, unchanged, in a pytest subprocess:
it must fail, within 30 s of wall time, on every seed; the correct clients (the README's and
one built on the SDK's ``poll`` helper) must pass on every seed. One subprocess per seed runs
them all, with the suite's quick profile (60 examples a test); the per-test times come from
its JUnit XML report.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "## Testing your client: strategies, a stateful machine, a fake Assistants API"
SEEDS = (1, 2, 3)
WALL_LIMIT_S = 30.0

BUGS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "never_answers_requires_action": (
        "never answers requires_action",
        [('        if run.status == "requires_action":', '        if run.status == "requires_action" and False:')],
    ),
    "cancelling_as_done": (
        "treats cancelling as done",
        [
            (
                "    while not RunStatus.parse(run.status).is_terminal:",
                '    while not RunStatus.parse(run.status).is_terminal and run.status != "cancelling":',
            )
        ],
    ),
    "loops_on_unknown_status": (
        "loops on an unknown status (incomplete)",
        [
            (
                "    while not RunStatus.parse(run.status).is_terminal:",
                '    while run.status not in ("completed", "failed", "cancelled", "expired"):',
            )
        ],
    ),
    "gives_up_on_live_run": (
        "gives up on a live run",
        [
            (
                "    while not RunStatus.parse(run.status).is_terminal:\n",
                "    for _ in range(20):\n        if RunStatus.parse(run.status).is_terminal:\n            break\n",
            )
        ],
    ),
    "polls_too_fast": (
        "polls faster than the server asks",
        [("        else:\n            sleep(hint)", "        else:\n            sleep(1.0)")],
    ),
    "resends_after_drop": (
        "re-sends tool outputs after a dropped connection",
        [
            (
                "                pass  # did the outputs arrive? look before sending them again",
                "                continue",
            )
        ],
    ),
    "crashes_on_429": (
        "crashes on a 429",
        [
            (
                "            except openai.RateLimitError as err:\n"
                '                sleep(float(err.response.headers.get("retry-after", hint)))\n',
                "",
            )
        ],
    ),
    "expired_as_success": (
        "returns expired as success",
        [('    if run.status != "completed":', '    if run.status in ("failed", "cancelled", "incomplete"):')],
    ),
    "answers_some_tool_calls": (
        "answers only some tool calls",
        [("for c in calls]", "for c in calls[:1]]")],
    ),
    "one_tool_round": (
        "handles only one tool round",
        [
            ("    hint = 1.0\n", "    hint, answered = 1.0, False\n"),
            (
                '        if run.status == "requires_action":',
                '        if run.status == "requires_action" and not answered:',
            ),
            (
                "tool_outputs=outputs)\n                continue",
                "tool_outputs=outputs)\n                answered = True\n                continue",
            ),
        ],
    ),
    "returns_while_cancelling": (
        "returns from a cancel while still cancelling",
        [
            (
                "run = runs.cancel(run.id, thread_id=thread_id)\n            continue",
                "run = runs.cancel(run.id, thread_id=thread_id)\n            break",
            )
        ],
    ),
    "completed_right_after_create": (
        "checks for completed right after create",
        [
            (
                "    hint = 1.0\n",
                '    hint = 1.0\n    if run.status != "completed":\n        raise RunFailed(run.status)\n',
            )
        ],
    ),
}
"""Bug class: (what it is, the replacements that put it into the README's correct client)."""

SDK_POLLER = '''
import openai

from runfsm import RunStatus


class RunFailed(Exception):
    """The run ended without completing."""


def ask(client, thread_id, *, sleep, cancelled=lambda: False):
    """A correct client built on the SDK's poll helper (which honours openai-poll-after-ms); never cancels."""
    del cancelled
    runs = client.beta.threads.runs
    once = client.with_options(max_retries=0).beta.threads.runs
    run = runs.create_and_poll(thread_id=thread_id, assistant_id="asst_1")
    while run.status == "requires_action":
        calls = run.required_action.submit_tool_outputs.tool_calls
        outputs = [{"tool_call_id": c.id, "output": "42"} for c in calls]
        try:
            once.submit_tool_outputs(run.id, thread_id=thread_id, tool_outputs=outputs)
        except openai.RateLimitError as err:
            sleep(float(err.response.headers.get("retry-after", 1)))
        except openai.APIConnectionError:
            pass  # polled below: still requires_action if the outputs did not arrive
        run = runs.poll(run.id, thread_id=thread_id)
    if run.status != "completed":
        raise RunFailed(run.status)
    return run
'''
"""A second correct client, shaped differently: the SDK's helpers do the waiting."""


def _blocks() -> tuple[str, str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(HEADING)
    end = text.find("\n## ", start + len(HEADING))
    blocks = re.findall(r"```python\n(.*?)```", text[start:end], flags=re.DOTALL)
    assert len(blocks) == 2, "the section shows the client, then its test"
    return str(blocks[0]), str(blocks[1])


def buggy(name: str) -> str:
    """The README's correct client with bug ``name`` put in (every replacement must apply exactly once)."""
    client, _ = _blocks()
    for old, new in BUGS[name][1]:
        assert client.count(old) == 1, f"{name}: {old!r} is not in the README's client exactly once"
        client = client.replace(old, new)
    return client


def _run_all(pytester: pytest.Pytester, seed: int) -> dict[str, tuple[str, float, str]]:
    client, test = _blocks()
    files = {f"test_bug_{name}": buggy(name) + test for name in BUGS}
    files["test_correct_readme"] = client + test
    files["test_correct_sdk_poller"] = SDK_POLLER + test
    pytester.makepyfile(**files)
    # the suite's quick profile (tests/conftest.py): 60 examples a test, not hypothesis's 100
    pytester.makeconftest(
        "from hypothesis import settings\n"
        "settings.register_profile('quick', max_examples=60)\n"
        "settings.load_profile('quick')\n"
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--hypothesis-seed={seed}", "--junitxml=report.xml", "-q")
    outcomes: dict[str, tuple[str, float, str]] = {}
    for case in ET.parse(pytester.path / "report.xml").getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        failure = case.find("failure")
        state = "failed" if failure is not None else "error" if case.find("error") is not None else "passed"
        message = (failure.get("message") or "") if failure is not None else ""
        outcomes[module] = (state, float(case.get("time", "nan")), message)
    return outcomes


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_each_bug_is_caught_and_correct_clients_pass(pytester: pytest.Pytester, seed: int) -> None:
    """On this seed, every buggy client fails the README's test within 30 s, and both correct clients pass."""
    outcomes = _run_all(pytester, seed)
    rows = []
    for name, (what, _) in BUGS.items():
        state, seconds, message = outcomes[f"test_bug_{name}"]
        rows.append(f"{what:52} {'caught' if state == 'failed' else state:8} {seconds:6.2f} s  {message[:90]!r}")
    for name in ("test_correct_readme", "test_correct_sdk_poller"):
        state, seconds, message = outcomes[name]
        rows.append(f"{name:52} {state:8} {seconds:6.2f} s  {message[:90]!r}")
    print(f"\nseed {seed}:\n" + "\n".join(rows))  # the table of the issue, shown with -s
    for name, (what, _) in BUGS.items():
        state, seconds, message = outcomes[f"test_bug_{name}"]
        assert state == "failed", f"{what}: not caught on seed {seed} ({state})"
        assert seconds < WALL_LIMIT_S, f"{what}: caught in {seconds:.1f} s on seed {seed}"
    for name in ("test_correct_readme", "test_correct_sdk_poller"):
        state, _, message = outcomes[name]
        assert state == "passed", f"{name} failed on seed {seed}: {message}"


def test_every_bug_applies_to_the_readme_client() -> None:
    """Each bug's replacements apply to the README's client as it is (the README cannot drift from the bugs)."""
    client, _ = _blocks()
    for name in BUGS:
        assert buggy(name) != client
        compile(buggy(name), name, "exec")
