"""RunStatus and the one parser: every spelling of a status gives the same member, anything else a clear error."""

from __future__ import annotations

import contextlib
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runfsm import NotARunStatus, RunStatus, StateKind, UnknownStatus, parse_status, read_run
from runfsm.lifecycles import PRESETS


def test_eleven_members_with_the_published_ordinals() -> None:
    """The enum has exactly the eleven members, with the ordinals of the published RunStatus enum."""
    assert {m.name: int(m) for m in RunStatus} == {
        "Null": 0,
        "Created": 1,
        "Queued": 2,
        "InProgress": 3,
        "Completed": 4,
        "RequiresAction": 5,
        "Expired": 6,
        "Cancelling": 7,
        "Cancelled": 8,
        "Failed": 9,
        "Incomplete": 10,
    }


def test_wire_values_match_the_installed_openai_sdk() -> None:
    """The wire strings are exactly the installed openai SDK's RunStatus literal: a new status fails here."""
    from openai.types.beta.threads.run_status import RunStatus as SdkRunStatus

    assert set(RunStatus.wire_values()) == set(typing.get_args(SdkRunStatus))


def test_client_side_members_have_no_wire_value() -> None:
    """Null and Created exist only on the client; Created still has its stream event."""
    assert RunStatus.Null.wire is None
    assert RunStatus.Null.event is None
    assert RunStatus.Created.wire is None
    assert RunStatus.Created.event == "thread.run.created"


def test_predicates_partition_the_statuses() -> None:
    """Five terminal statuses, one paused, the rest active or client-side."""
    assert RunStatus.terminal_states() == {
        RunStatus.Completed,
        RunStatus.Expired,
        RunStatus.Cancelled,
        RunStatus.Failed,
        RunStatus.Incomplete,
    }
    assert [m for m in RunStatus if m.is_paused] == [RunStatus.RequiresAction]
    assert {m for m in RunStatus if m.is_active} == {RunStatus.Queued, RunStatus.InProgress, RunStatus.Cancelling}
    assert not RunStatus.Cancelling.is_terminal, "cancelling is not done"
    assert {m for m in RunStatus if m.kind is StateKind.CLIENT} == {RunStatus.Null, RunStatus.Created}


def _spellings(member: RunStatus) -> list[object]:
    out: list[object] = [member, int(member), str(int(member)), member.name, member.name.upper(), member.name.lower()]
    out.append(f"RunStatus.{member.name}")
    if member.wire is not None:
        out += [member.wire, member.wire.upper(), member.wire.replace("_", "-"), f"  {member.wire} "]
    if member.event is not None:
        out.append(member.event)
    return out


@given(st.sampled_from(list(RunStatus)), st.data())
def test_every_spelling_parses_to_its_member(member: RunStatus, data: st.DataObject) -> None:
    """Wire values, member names in the usual spellings, ordinals and event names all give the member."""
    spelling = data.draw(st.sampled_from(_spellings(member)))
    assert parse_status(spelling) is member


def test_created_event_gives_created_and_in_progress_event_in_progress() -> None:
    """Stream event names map to the status they announce."""
    assert parse_status("thread.run.created") is RunStatus.Created
    assert parse_status("thread.run.in_progress") is RunStatus.InProgress


@pytest.mark.parametrize(
    "event",
    ["thread.run.step.created", "thread.run.step.delta", "thread.message.delta", "thread.created", "done", "error"],
)
def test_run_step_and_message_events_are_not_run_statuses(event: str) -> None:
    """Events about other objects raise NotARunStatus (a ValueError) that says why."""
    with pytest.raises(NotARunStatus, match="not a run status") as info:
        parse_status(event)
    assert isinstance(info.value, ValueError)
    assert info.value.event == event


@pytest.mark.parametrize(
    "value", ["finished", "in progress please", 11, -1, "", 3.0, None, True, b"queued", "-1", "1_0", "1 0"]
)
def test_unknown_values_raise_unknown_status_naming_value_and_known(value: object) -> None:
    """An unknown status is a ValueError that names the value and lists the known statuses."""
    with pytest.raises(UnknownStatus) as info:
        parse_status(value)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.value == value
    assert "in_progress" in err.known
    assert "incomplete" in str(err)
    assert repr(value) in str(err)


@pytest.mark.parametrize("lifecycle", sorted(PRESETS), ids=str)
def test_an_ordinal_is_spelled_by_its_digits_alone(lifecycle: str) -> None:
    """``"3"`` and ``" 3 "`` are the ordinal 3; ``"-3"``, ``"3_"`` or ``"+3"`` are none (``"-3"`` once read as 3)."""
    lc = PRESETS[lifecycle]
    for member in lc.states:
        assert parse_status(str(int(member)), lc) is member
        assert parse_status(f" {int(member)} ", lc) is member
        for odd in (f"-{int(member)}", f"{int(member)}_", f"+{int(member)}"):
            with pytest.raises(UnknownStatus):
                parse_status(odd, lc)


@given(st.text(max_size=30))
def test_parse_never_fails_other_than_with_its_own_errors(text: str) -> None:
    """Arbitrary text gives a member, UnknownStatus or NotARunStatus: never another exception."""
    with contextlib.suppress(UnknownStatus, NotARunStatus):
        assert isinstance(parse_status(text), RunStatus)


def test_plain_dicts_as_logged() -> None:
    """Run objects and stream events as JSON dicts carry status, id and fields."""
    run = {"id": "run_1", "object": "thread.run", "status": "requires_action", "required_action": None}
    snap = read_run(run)
    assert (snap.status, snap.run_id, snap.fields) == (RunStatus.RequiresAction, "run_1", run)
    event = {"event": "thread.run.completed", "data": {"id": "run_2", "object": "thread.run", "status": "completed"}}
    snap = read_run(event)
    assert (snap.status, snap.run_id, snap.event) == (RunStatus.Completed, "run_2", "thread.run.completed")
    assert parse_status({"event": "thread.run.created", "data": {"id": "run_3", "status": "queued"}}) is (
        RunStatus.Created
    )


def test_dicts_of_other_objects_are_refused() -> None:
    """A run-step object is not a run, even though it has a status; a dict without status is unknown."""
    with pytest.raises(NotARunStatus):
        read_run({"object": "thread.run.step", "status": "in_progress"})
    with pytest.raises(UnknownStatus, match="without a 'status'"):
        read_run({"object": "thread.run", "id": "run_1"})
    with pytest.raises(UnknownStatus, match="'status' field"):
        read_run({"object": "thread.run", "status": 3})
    with pytest.raises(NotARunStatus):
        read_run({"event": "thread.run.step.completed", "data": {}})


def _sdk_run(status: str) -> typing.Any:
    from openai.types.beta.threads import Run

    return Run.model_validate(
        {
            "id": "run_sdk",
            "object": "thread.run",
            "assistant_id": "asst_1",
            "thread_id": "thread_1",
            "created_at": 1_700_000_000,
            "status": status,
            "instructions": "",
            "model": "gpt-4o",
            "tools": [],
            "parallel_tool_calls": True,
            "started_at": 1_700_000_001,
            "expires_at": None,
            "cancelled_at": None,
            "completed_at": 1_700_000_009,
            "failed_at": None,
            "incomplete_details": None,
            "last_error": None,
            "max_completion_tokens": None,
            "max_prompt_tokens": None,
            "metadata": {},
            "required_action": None,
            "response_format": "auto",
            "tool_choice": "auto",
            "truncation_strategy": None,
            "usage": None,
        }
    )


def test_openai_run_objects_and_stream_events() -> None:
    """The SDK's Run model and its stream event objects parse without being converted first."""
    from openai.types.beta import AssistantStreamEvent
    from pydantic import TypeAdapter

    run = _sdk_run("completed")
    snap = read_run(run)
    assert (snap.status, snap.run_id) == (RunStatus.Completed, "run_sdk")
    assert snap.fields is not None
    assert snap.fields["completed_at"] == 1_700_000_009
    assert "status" in set(snap.fields)
    assert len(snap.fields) > 5

    adapter: TypeAdapter[AssistantStreamEvent] = TypeAdapter(AssistantStreamEvent)
    event = adapter.validate_python({"event": "thread.run.in_progress", "data": _sdk_run("in_progress").model_dump()})
    assert parse_status(event) is RunStatus.InProgress
    assert read_run(event).run_id == "run_sdk"


def test_str_is_the_wire_value_and_repr_names_the_member() -> None:
    """str() gives what the API says (the label: client-side states in lower case too); repr() what the enum is."""
    assert str(RunStatus.InProgress) == "in_progress"
    assert str(RunStatus.Null) == RunStatus.Null.label == "null"
    assert str(RunStatus.Created) == "created"
    assert repr(RunStatus.Queued) == "<RunStatus.Queued: 2>"
