"""runfsm.testing.fake.objects: the JSON the fake serves satisfies the field invariants and parses in the SDK."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.beta.threads import Message, Run
from openai.types.beta.threads.runs import RunStep

from runfsm import RunStatus, check_fields
from runfsm.testing.fake.objects import api_error, list_page, message_object, run_object, run_step_object, thread_object
from runfsm.testing.strategies import statuses


@given(statuses(wire_only=True), st.integers(0, 10**9), st.integers(0, 600))
def test_run_objects_meet_the_invariants(status: RunStatus, created: int, later: int) -> None:
    """For every status the API returns, run_object passes check_fields and the SDK's Run model."""
    run = run_object(status, run_id="run_1", thread_id="thread_1", created_at=created, entered_at=created + later)
    assert check_fields(status, run) == ()
    assert Run.model_validate(run).status == status.wire


def test_client_side_statuses_have_no_run_object() -> None:
    """Null and Created never appear in a run object: asking for one is a ValueError naming the member."""
    with pytest.raises(ValueError, match="created is a client-side status"):
        run_object(RunStatus.Created, run_id="r", thread_id="t", created_at=0)


def test_other_shapes_parse_in_the_sdk() -> None:
    """Threads, messages, run steps, pages and errors have the shapes the SDK reads."""
    assert thread_object("thread_1", created_at=1)["object"] == "thread"
    message = Message.model_validate(message_object("msg_1", thread_id="t", role="user", text="hi", created_at=1))
    assert message.content[0].text.value == "hi"  # type: ignore[union-attr]  # a text part
    step = run_step_object(
        "step_1",
        run_id="r",
        thread_id="t",
        created_at=1,
        status="completed",
        details={"type": "message_creation", "message_creation": {"message_id": "msg_1"}},
    )
    assert RunStep.model_validate(step).type == "message_creation"
    assert list_page([{"id": "a"}, {"id": "b"}], has_more=True) == {
        "object": "list",
        "data": [{"id": "a"}, {"id": "b"}],
        "first_id": "a",
        "last_id": "b",
        "has_more": True,
    }
    assert api_error("nope")["error"] == {
        "message": "nope",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
