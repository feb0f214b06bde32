"""Status aliases for every lifecycle preset: a misspelled status event or webhook name is read as the status meant.

The event prefix an alias is read without comes from the lifecycle's own stream event and
webhook names (``thread.run.``, ``response.``, ``batch.``), so ``response.canceled`` and
``batch.canceled`` alias as ``thread.run.canceled`` always did. A name one level under that
prefix is a status event; a deeper one (``response.output_text.delta``) is about another object.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runfsm import NotARunStatus, RunTracker, UnknownStatus
from runfsm.commands.main import main
from runfsm.lifecycles import PRESETS, RESPONSE_LIFECYCLE, RUN_LIFECYCLE
from runfsm.status import alias_key, status_aliases
from runfsm.validation import validate
from runfsm.verdict import RunResult

if TYPE_CHECKING:
    from pathlib import Path

    from runfsm.lifecycle import Lifecycle

LIFECYCLES = list(PRESETS.values())
IDS = list(PRESETS)
PREFIX = {"run": "thread.run.", "response": "response.", "batch": "batch."}
BEFORE_CANCELLED = {"run": ["queued", "cancelling"], "response": ["queued"], "batch": ["validating", "cancelling"]}
"""What each preset goes through before a cancel ends it (a response is cancelled at once)."""


def _names(lifecycle: Lifecycle[Any]) -> dict[str, Any]:
    """Every status event and webhook name of the preset, with the status it announces."""
    return {**lifecycle.events, **lifecycle.webhooks}


def _misspelled(lifecycle: Lifecycle[Any], status: str, object_id: str) -> dict[str, Any]:
    """``<prefix>canceled`` (American spelling) in the shape the preset's logs carry it."""
    name = PREFIX[lifecycle.key] + status
    if lifecycle is RUN_LIFECYCLE:  # an SSE log line of the Assistants stream
        return {"event": name, "data": {"id": object_id, "object": "thread.run", "status": status}}
    return {"id": "evt_1", "object": "event", "type": name, "created_at": 100, "data": {"id": object_id}}


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=IDS)
def test_the_prefix_comes_from_the_presets_event_names(lifecycle: Lifecycle[Any]) -> None:
    """Each preset's event and webhook names are looked up without that preset's own prefix, and only it."""
    assert lifecycle.parser.event_prefixes == (PREFIX[lifecycle.key],)
    for name in _names(lifecycle):
        assert alias_key(f" {name.upper()} ", lifecycle) == name.removeprefix(PREFIX[lifecycle.key])
    others = [p for key, p in PREFIX.items() if key != lifecycle.key]
    assert [alias_key(p + "canceled", lifecycle) for p in others] == [p + "canceled" for p in others]


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=IDS)
def test_a_misspelled_cancelled_event_is_read_through_its_alias(lifecycle: Lifecycle[Any]) -> None:
    """``<prefix>.canceled``: unknown by default; with ``canceled=cancelled`` the tracker enters cancelled."""
    cancelled = lifecycle.parse("cancelled")
    history = BEFORE_CANCELLED[lifecycle.key]
    event = _misspelled(lifecycle, "canceled", "obj_1")
    plain = RunTracker("obj_1", lifecycle=lifecycle, on_illegal="record")
    plain.observe_all(history)
    assert plain.observe(event).status is None  # unknown, recorded, the state unchanged
    aliases = status_aliases([f"{PREFIX[lifecycle.key]}canceled=cancelled"], lifecycle)
    assert aliases == {"canceled": cancelled}
    tracker = RunTracker("obj_1", lifecycle=lifecycle, on_illegal="raise", aliases=aliases)
    tracker.observe_all(history)
    tracker.observe(event)
    assert tracker.state is cancelled
    assert tracker.run_id == "obj_1"  # a webhook's object is data.id, not the event's own id


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=IDS)
@given(data=st.data())
def test_any_typo_of_any_event_name_is_aliased_to_its_status(lifecycle: Lifecycle[Any], data: st.DataObject) -> None:
    """A name of the preset with a letter doubled is unknown, and its alias reads it as that name's status."""
    name, status = data.draw(st.sampled_from(sorted(_names(lifecycle).items())))
    typo = name + name[-1]
    with pytest.raises(UnknownStatus):
        lifecycle.parse(typo)
    aliases = status_aliases({typo: status.wire or status.name}, lifecycle)
    assert aliases[alias_key(typo, lifecycle)] is status
    tracker = RunTracker(lifecycle=lifecycle, on_illegal="record", aliases=aliases)
    assert tracker.observe(typo).status is status


def test_deeper_response_events_stay_about_other_objects() -> None:
    """``response.output_text.delta`` is no status (NotARunStatus); ``response.canceled`` is an unknown one."""
    with pytest.raises(NotARunStatus):
        RESPONSE_LIFECYCLE.parse("response.output_text.delta")
    with pytest.raises(UnknownStatus):
        RESPONSE_LIFECYCLE.parse("response.canceled")
    with pytest.raises(NotARunStatus):
        RUN_LIFECYCLE.parse("thread.run.step.created")


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=IDS)
def test_validation_reads_the_alias_for_each_preset(lifecycle: Lifecycle[Any]) -> None:
    """validate(..., lifecycle=, aliases=): unknown status without the alias, legal and cancelled with it."""
    history: list[object] = [*BEFORE_CANCELLED[lifecycle.key], _misspelled(lifecycle, "canceled", "obj_1")]
    assert validate(history, lifecycle=lifecycle).result is RunResult.UNKNOWN_STATUS
    aliases = status_aliases(["canceled=cancelled"], lifecycle)
    verdict = validate(history, lifecycle=lifecycle, aliases=aliases)
    assert (verdict.result, verdict.final, verdict.run_id) == (RunResult.LEGAL, lifecycle.parse("cancelled"), "obj_1")


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=IDS)
def test_the_cli_takes_aliases_of_the_lifecycle_it_validates(lifecycle: Lifecycle[Any], tmp_path: Path) -> None:
    """``runfsm validate --lifecycle K --status-alias <prefix>canceled=cancelled``: exit 2 without it, 0 with it."""
    first = "validating" if lifecycle.key == "batch" else "queued"
    obj = lifecycle.object_type
    lines: list[dict[str, Any]] = [{"object": obj, "id": "obj_1", "status": first, "created_at": 1}]
    if lifecycle.key == "run":
        lines = [{"event": "thread.run.queued", "data": {"id": "obj_1", "object": obj, "status": "queued"}}]
        lines.append({"event": "thread.run.cancelling", "data": {"id": "obj_1", "object": obj, "status": "cancelling"}})
    elif lifecycle.key == "batch":
        lines.append({"object": obj, "id": "obj_1", "status": "cancelling", "created_at": 1, "cancelling_at": 2})
    lines.append(_misspelled(lifecycle, "canceled", "obj_1"))
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    args = ["validate", "--lifecycle", lifecycle.key, "--no-field-checks"]
    assert main([*args, str(log)]) == 2
    alias = f"{PREFIX[lifecycle.key]}canceled=cancelled"
    assert main([*args, "--status-alias", alias, str(log)]) == 0


def test_one_pair_given_as_a_string_is_a_type_error() -> None:
    """status_aliases("canceled=cancelled") read its letters as pairs ("status alias 'c': expected ALIAS=STATUS")."""
    with pytest.raises(TypeError, match=r"takes a list of pairs, such as \['canceled=cancelled'\], or a mapping"):
        status_aliases("canceled=cancelled")
