"""Tests for runfsm.testing.fake.script: scripted histories are checked against the lifecycle when built."""

from __future__ import annotations

import pytest
from hypothesis import given

from runfsm import RunStatus
from runfsm.exceptions import ScriptError
from runfsm.testing.fake import STUCK, RunScript
from runfsm.testing.strategies import illegal_histories, stream_histories


@given(stream_histories(created=True))
def test_every_stream_history_is_a_playable_script(history: list[RunStatus]) -> None:
    """Histories drawn from the strategies are accepted as they are (the leading Created is dropped)."""
    script = RunScript(history)
    assert list(script.statuses) == [s for s in history if s is not RunStatus.Created]


@given(illegal_histories(mode="stream"))
def test_an_illegal_history_is_refused_at_its_index(case: tuple[list[RunStatus], int]) -> None:
    """A script with an illegal jump raises ScriptError (a ValueError) pointing at the offending step."""
    history, index = case
    with pytest.raises(ScriptError) as info:
        RunScript(history)
    assert info.value.index is not None
    assert info.value.index <= index


def test_durations_and_repeats() -> None:
    """(status, seconds) pairs set durations; a repeated status is more time in the same status."""
    script = RunScript(["queued", ("in_progress", 3), ("in_progress", 4), ("completed", 0)], seconds=2)
    assert [(s.status.wire, s.seconds) for s in script.steps] == [("queued", 2), ("in_progress", 7), ("completed", 0)]
    assert RunScript([("queued", STUCK)]).steps[0].seconds == STUCK


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([], "empty history"),
        (["in_progress", "completed"], "a run starts queued"),
        (["queued", "completed"], "completed cannot follow queued"),
        (["queued", "bogus"], "unknown run status 'bogus'"),
        (["queued", ("in_progress", -1)], "duration must be a number of seconds"),
        (["queued", ("in_progress", 1, 2)], "expected a status or"),
    ],
)
def test_bad_scripts_name_the_problem(history: list[object], message: str) -> None:
    """Each kind of bad script gets a ScriptError saying what is wrong."""
    with pytest.raises(ScriptError, match=message):
        RunScript(history)  # type: ignore[arg-type]  # bad input under test


def test_cancel_outcome_must_follow_cancelling() -> None:
    """cancel_outcome is checked against the lifecycle's successors of cancelling."""
    assert RunScript(["queued"], cancel_outcome="completed").cancel_outcome is RunStatus.Completed
    with pytest.raises(ScriptError, match="cannot follow cancelling"):
        RunScript(["queued"], cancel_outcome="queued")


def test_a_string_is_not_a_history() -> None:
    """coerce() refuses a bare string rather than reading it letter by letter."""
    with pytest.raises(ScriptError, match="list of statuses"):
        RunScript.coerce("queued")


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("history", "queued", r"history is one str \('queued'\): give a list"),
        ("tool_calls", "abc", r"tool_calls is one str \('abc'\): give a list"),
        ("tool_calls", {"id": "call_1"}, r"tool_calls is one dict"),
        ("tool_calls", ["call_1"], r"tool_calls is a list of tool calls \(mappings: see tool_calls\(\)\)"),
        ("tool_rounds", "ab", r"tool_rounds is one str"),
    ],
)
def test_one_value_where_a_list_belongs_is_a_script_error(keyword: str, value: object, message: str) -> None:
    """RunScript("queued") or tool_calls="abc" was read letter by letter; now it is refused by name."""
    arguments: dict[str, object] = {"history": ["queued", "requires_action"], keyword: value}
    with pytest.raises(ScriptError, match=message):
        RunScript(**arguments)  # type: ignore[arg-type]
