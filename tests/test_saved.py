"""Restoring a saved tracker: real ones round-trip exactly; a bad one gets one error naming the field."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runfsm import RunStatus, RunTracker, SavedTrackerError, Trigger
from runfsm.lifecycles import PRESETS
from runfsm.observation import Observation, Outcome
from runfsm.saved import OUTCOMES

_WIRES = [s.wire for s in RunStatus if s.wire is not None]


def _completed() -> dict[str, Any]:
    tracker = RunTracker("run_1", mode="stream", clock=None)
    for status in ("queued", "in_progress", "requires_action"):
        tracker.observe(status)
    tracker.submitted_tool_outputs()
    for status in ("queued", "in_progress", "completed"):
        tracker.observe(status)
    return tracker.to_dict()


def _restore(document: Any) -> RunTracker:
    return RunTracker.from_json(json.dumps(document), clock=None)


def _assert_refused_at(mutate: Callable[[dict[str, Any]], object], field: str) -> None:
    document = _completed()
    mutate(document)
    with pytest.raises(SavedTrackerError) as caught:
        _restore(document)
    assert caught.value.field == field


# ----------------------------------------------------------------------------- the documented error, field by field


def test_the_error_is_a_value_error_naming_the_field() -> None:
    """SavedTrackerError is a ValueError (and a RunfsmError) that carries the field it found wrong."""
    document = _completed()
    document["history"][2]["state"] = "Sleeping"
    with pytest.raises(SavedTrackerError) as caught:
        _restore(document)
    assert isinstance(caught.value, ValueError)
    assert caught.value.field == "history[2].state"
    assert "Sleeping" in str(caught.value)
    assert "history[2].state" in str(caught.value)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        pytest.param(lambda d: d.update(history=None), "history", id="history-null"),  # was TypeError
        pytest.param(lambda d: d.update(history=[1]), "history[0]", id="entry-not-object"),  # was TypeError
        pytest.param(lambda d: d["history"][0].pop("source"), "history[0].source", id="missing-key"),  # was KeyError
        pytest.param(lambda d: d.update(pending_calls=None), "pending_calls", id="pending-null"),  # was TypeError
        pytest.param(lambda d: d["history"][1].update(lenient=[1]), "history[1].lenient[0]", id="lenient-int"),
        pytest.param(lambda d: d["history"][1].update(lenient=[["Queued"]]), "history[1].lenient[0]", id="pair-short"),
        pytest.param(lambda d: d["history"][1].update(warnings=5), "history[1].warnings", id="warnings-int"),
        pytest.param(lambda d: d["history"][1].update(index="1"), "history[1].index", id="index-text"),
        pytest.param(lambda d: d["history"][1].update(time="noon"), "history[1].time", id="time-text"),
        pytest.param(lambda d: d["history"][1].update(outcome="won"), "history[1].outcome", id="outcome-unknown"),
        pytest.param(lambda d: d["history"][1].update(calls=["server"]), "history[1].calls[0]", id="call-server"),
        pytest.param(lambda d: d.update(mode="sometimes"), "mode", id="mode-unknown"),
        pytest.param(lambda d: d.update(keep_raw="yes"), "keep_raw", id="keep-raw-text"),
        pytest.param(lambda d: d.update(run_id=7), "run_id", id="run-id-int"),
        pytest.param(lambda d: d.update(colour="red"), "colour", id="unknown-key"),
        pytest.param(lambda d: d.update(round_calls="call_1"), "round_calls", id="round-calls-text"),
        pytest.param(lambda d: d.update(answered_calls=[1]), "answered_calls[0]", id="answered-calls-int"),
        pytest.param(lambda d: d["history"][1].update(colour="red"), "history[1].colour", id="unknown-entry-key"),
    ],
)
def test_malformed_fields_are_named(mutate: Any, field: str) -> None:
    """Wrong types, missing keys and unknown names: each raised AttributeError/KeyError/TypeError before."""
    _assert_refused_at(mutate, field)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        pytest.param(lambda d: d.update(state="Null"), "state", id="null-state-completed-history"),
        pytest.param(lambda d: d.update(pending_calls=["server"]), "pending_calls[0]", id="pending-server"),
        pytest.param(lambda d: d.update(pending_calls=["cancel"]), "pending_calls", id="pending-never-recorded"),
        pytest.param(lambda d: d["history"][3].update(index=7), "history[3].index", id="index-out-of-place"),
        pytest.param(lambda d: d["history"].pop(2), "history[2].source", id="entry-dropped"),
        pytest.param(
            lambda d: d["history"][1].update(status="Completed", state="Completed"),
            "history[1].status",
            id="no-such-edge",
        ),
        pytest.param(lambda d: d["history"][1].update(state="Failed"), "history[1].state", id="state-not-status"),
        pytest.param(lambda d: d["history"][4].update(outcome="repeated"), "history[4].state", id="repeat-that-moves"),
        pytest.param(lambda d: d["history"][3].update(raw="cancel"), "history[3].calls", id="call-raw-differs"),
        pytest.param(lambda d: d["history"][4].update(calls=[]), "history[4].calls", id="used-call-dropped"),
        pytest.param(
            lambda d: d["history"][5].update(outcome="illegal", state="Queued"),
            "history[5].outcome",
            id="legal-called-illegal",
        ),
    ],
)
def test_inconsistent_documents_are_refused(mutate: Any, field: str) -> None:
    """A document whose parts contradict each other or the lifecycle is refused, not restored as it says."""
    _assert_refused_at(mutate, field)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[" * 100_000, id="deep-nesting"),  # was RecursionError
        pytest.param('{"format": "runfsm.tracker/1", "history": [', id="truncated"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param("1" * 10_000, id="integer-too-long"),
        pytest.param("[]", id="not-an-object"),
        pytest.param("null", id="null"),
    ],
)
def test_text_that_is_no_document_is_named_as_a_whole(text: str | bytes) -> None:
    """Text that does not decode into a saved tracker: one SavedTrackerError about the document."""
    with pytest.raises(SavedTrackerError) as caught:
        RunTracker.from_json(text)
    assert caught.value.field == "<document>"


def test_a_single_entry_is_checked_too() -> None:
    """Observation.from_dict reads one entry with the same checks."""
    entry = _completed()["history"][1]
    assert Observation.from_dict(entry).outcome is Outcome.ACCEPTED
    entry["inferred"] = ["Nowhere"]
    with pytest.raises(SavedTrackerError, match=r"entry\.inferred\[0\]"):
        Observation.from_dict(entry)


def test_the_format_names_every_outcome() -> None:
    """The reader knows exactly the tracker's outcomes."""
    assert set(OUTCOMES) == {o.value for o in Outcome}


# ----------------------------------------------------------------------------- properties


def _paused(ids: list[str]) -> dict[str, Any]:
    calls = [{"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}} for i in ids]
    action = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": calls}}
    return {"object": "thread.run", "status": "requires_action", "required_action": action}


_ACTIONS = st.one_of(
    st.sampled_from(_WIRES),
    st.sampled_from(["bogus", "thread.run.created"]),
    st.sampled_from([Trigger.SUBMIT_TOOL_OUTPUTS, Trigger.CANCEL]),
    st.lists(st.sampled_from(["call_1", "call_2"]), min_size=1, max_size=2, unique=True).map(_paused),
)


@st.composite
def trackers(draw: st.DrawFn) -> RunTracker:
    """A real tracker, any settings, fed statuses (legal, illegal, unknown), client calls and times."""
    tracker = RunTracker(
        draw(st.none() | st.text(max_size=8)),
        mode=draw(st.sampled_from(["stream", "poll"])),
        on_illegal="record",
        on_missing_call=draw(st.sampled_from(["reject", "assume"])),
        keep_raw=draw(st.booleans()),
        clock=None,
    )
    for action in draw(st.lists(_ACTIONS, max_size=30)):
        at = draw(st.none() | st.floats(allow_nan=False) | st.integers(-(2**40), 2**40))
        if isinstance(action, Trigger):
            tracker.record_call(action, at=at)
        else:
            tracker.observe(action, at=at)
    tracker.on_illegal = draw(st.sampled_from(["log", "raise", "record"]))
    return tracker


@given(trackers())
def test_real_trackers_round_trip_exactly(tracker: RunTracker) -> None:
    """Whatever a tracker went through, restoring its JSON gives an equal tracker that continues alike."""
    restored = RunTracker.from_json(tracker.to_json(), clock=None)
    assert restored.to_dict() == tracker.to_dict()
    assert restored.history == tracker.history
    assert (restored.state, restored.pending_calls) == (tracker.state, tracker.pending_calls)
    assert restored.to_dict()["answered_calls"] == tracker.to_dict()["answered_calls"]


@given(st.sampled_from(sorted(PRESETS)), st.data())
def test_trackers_of_every_preset_round_trip(key: str, data: st.DataObject) -> None:
    """Responses and batches too: a tracker of any preset lifecycle, restored into that lifecycle, is equal."""
    lifecycle = PRESETS[key]
    tracker = RunTracker(
        "obj_1",
        mode=data.draw(st.sampled_from(["stream", "poll"])),
        on_illegal="record",
        lifecycle=lifecycle,
        clock=None,
    )
    for state in data.draw(st.lists(st.sampled_from(lifecycle.states[1:]), max_size=20)):
        tracker.observe(state.name)  # a raw member is saved by its name: observe the name, to compare raws
    restored = RunTracker.from_json(tracker.to_json(), lifecycle=lifecycle, clock=None)
    assert restored.to_dict() == tracker.to_dict()
    assert restored.history == tracker.history


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_NAMES = st.sampled_from([*(s.name for s in RunStatus), *OUTCOMES, "server", "cancel", "submit_tool_outputs"])


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            paths.extend(_paths(item, (*prefix, i)))
    return paths


@given(trackers(), st.data())
def test_mutated_documents_raise_only_the_documented_error(tracker: RunTracker, data: st.DataObject) -> None:
    """Replace, delete or add anything anywhere in a real document: it restores, or raises SavedTrackerError.

    What it restores is itself a consistent tracker: saving and restoring it again changes nothing.
    """
    document: Any = copy.deepcopy(tracker.to_dict())
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(document)))
        new = data.draw(_JSON | _NAMES)
        how = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if not path:
            document = new if how == "replace" else document
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        if how == "replace":
            parent[path[-1]] = new
        elif how == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.text(max_size=8))] = new
        else:
            parent.insert(path[-1], new)
        if not isinstance(document, (dict, list)):
            break
    try:
        restored = RunTracker.from_json(json.dumps(document), clock=None)
    except SavedTrackerError:
        return
    again = RunTracker.from_json(restored.to_json(), clock=None)
    assert again.to_dict() == restored.to_dict()


@given(trackers(), st.data())
def test_damaged_text_raises_only_the_documented_error(tracker: RunTracker, data: st.DataObject) -> None:
    """Truncated text, or text with bytes put in, restores or raises SavedTrackerError: never another error."""
    text = tracker.to_json().encode()
    cut = data.draw(st.integers(0, len(text)))
    junk = data.draw(st.binary(max_size=4))
    damaged = text[:cut] + junk + text[cut + data.draw(st.integers(0, 3)) :]
    with contextlib.suppress(SavedTrackerError):
        RunTracker.from_json(damaged, clock=None)
