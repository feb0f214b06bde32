"""``parse_status``, ``read_run`` and the tracker read ``azure-ai-agents`` objects as the SDK hands them over.

Azure AI Foundry Agents keeps the Assistants run lifecycle; its Python SDK has its own
``RunStatus`` (eight members, no ``incomplete``), ``ThreadRun`` models (mappings of the JSON)
and stream items (``(event, data, handler's return)`` tuples from its event handlers). Each
reads as the same status, id and fields as the equivalent OpenAI JSON, including
``incomplete``, which the service sends although the enum lacks it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.ai.agents.models import AgentEventHandler, AgentStreamEvent, ThreadRun
from azure.ai.agents.models import RunStatus as AzureRunStatus
from hypothesis import given

from runfsm import RunStatus, RunTracker, parse_status, read_run
from runfsm.exceptions import NotARunStatus
from runfsm.testing.strategies import run_dicts, stream_events


@pytest.mark.parametrize("member", list(AzureRunStatus), ids=lambda m: m.name)
def test_every_azure_status_member_reads_as_the_same_wire_status(member: AzureRunStatus) -> None:
    """Each member of Azure's enum, and its ``str()`` (``RunStatus.IN_PROGRESS``), is runfsm's status of that name."""
    assert parse_status(member).wire == member.value
    assert parse_status(str(member)) is parse_status(member)


def test_azure_enum_lacks_only_incomplete() -> None:
    """Azure's Python enum has every wire status but ``incomplete``; ``"incomplete"`` still parses."""
    assert set(RunStatus.wire_values()) - {m.value for m in AzureRunStatus} == {"incomplete"}
    assert parse_status("incomplete") is RunStatus.Incomplete
    assert parse_status(AgentStreamEvent.THREAD_RUN_INCOMPLETE) is RunStatus.Incomplete


@pytest.mark.parametrize("event", list(AgentStreamEvent), ids=lambda e: e.value)
def test_azure_stream_event_names_are_run_statuses_or_not_run_events(event: AgentStreamEvent) -> None:
    """``thread.run.*`` event names give their status; step, message, thread, error and done events are not statuses."""
    name = event.value
    if name.startswith("thread.run.") and not name.startswith("thread.run.step."):
        assert parse_status(event).event == name
    else:
        with pytest.raises(NotARunStatus):
            parse_status(event)


@given(run=run_dicts())
def test_a_thread_run_reads_like_its_json(run: dict[str, Any]) -> None:
    """``read_run(ThreadRun(json))`` gives the status, id and fields ``read_run(json)`` gives."""
    model = ThreadRun(run)
    from_model, from_json = read_run(model), read_run(run)
    assert (from_model.status, from_model.run_id) == (from_json.status, from_json.run_id)
    assert from_model.fields is not None
    assert dict(from_model.fields) == run


def _sdk_items(events: list[dict[str, Any]]) -> list[Any]:
    """The items the SDK's own ``AgentEventHandler`` yields for these events sent as an SSE stream."""
    body = b"".join(f"event: {e['event']}\ndata: {json.dumps(e['data'])}\n\n".encode() for e in events)
    handler: AgentEventHandler[Any] = AgentEventHandler()
    handler.initialize(iter([body]), lambda run, handler, retry: [])  # no tool outputs: only reading
    return list(handler)


@given(events=stream_events(max_length=12))
def test_the_sdk_stream_items_read_like_the_logged_events(events: list[dict[str, Any]]) -> None:
    """The SDK's ``(event, ThreadRun, None)`` items read as the logged events do, and track to the same history."""
    items = _sdk_items(events)
    assert [i[0] for i in items] == [e["event"] for e in events]
    assert all(isinstance(i[1], ThreadRun) for i in items)
    assert [read_run(i).status for i in items] == [read_run(e).status for e in events]
    assert [read_run(i).run_id for i in items] == [read_run(e).run_id for e in events]
    as_sdk, as_logged = RunTracker(mode="stream"), RunTracker(mode="stream")
    for item, event in zip(items, events, strict=True):
        as_sdk.observe(item)
        as_logged.observe(event)
    assert [(o.state, o.outcome, o.warnings) for o in as_sdk.history] == [
        (o.state, o.outcome, o.warnings) for o in as_logged.history
    ]


def test_stream_items_as_json_lists_and_pairs_read_too() -> None:
    """A stream item logged as a JSON list, or a bare ``(event, data)`` pair, reads like the tuple."""
    data = {"id": "run_1", "object": "thread.run", "status": "cancelling"}
    for item in (["thread.run.cancelling", data, None], ("thread.run.cancelling", data)):
        snapshot = read_run(item)
        assert (snapshot.status, snapshot.run_id, snapshot.event) == (
            RunStatus.Cancelling,
            "run_1",
            "thread.run.cancelling",
        )
    with pytest.raises(NotARunStatus):
        read_run(("thread.message.delta", {"id": "msg_1"}, None))


def test_an_incomplete_thread_run_with_content_filter_reads_as_incomplete() -> None:
    """Azure's guardrail stop (``incomplete``, reason ``content_filter``) is ``Incomplete``, a terminal status."""
    run = ThreadRun(
        {
            "id": "run_1",
            "object": "thread.run",
            "status": "incomplete",
            "incomplete_details": {"reason": "content_filter"},
        }
    )
    snapshot = read_run(run)
    assert snapshot.status is RunStatus.Incomplete
    assert snapshot.status.is_terminal
    assert run.status not in {m.value for m in AzureRunStatus}
