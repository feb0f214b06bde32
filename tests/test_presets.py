"""The lifecycle presets (run, background response, batch): each table is consistent, sourced and as documented."""

from __future__ import annotations

from typing import Any

import pytest

from runfsm import (
    BATCH_LIFECYCLE,
    PRESETS,
    RESPONSE_LIFECYCLE,
    RUN_LIFECYCLE,
    BatchStatus,
    EdgeKind,
    Lifecycle,
    LifecycleError,
    ResponseStatus,
    StateKind,
    Trigger,
    preset,
    preset_for_object,
    preset_for_webhook,
)
from runfsm.lifecycle import cited_keys

ALL = pytest.mark.parametrize("lifecycle", list(PRESETS.values()), ids=list(PRESETS))


def test_the_three_presets_by_key_with_run_first() -> None:
    """PRESETS holds run (the default), response and batch; preset() finds each by key or by full name."""
    assert list(PRESETS) == ["run", "response", "batch"]
    assert PRESETS["run"] is RUN_LIFECYCLE
    for lifecycle in PRESETS.values():
        assert preset(lifecycle.key) is lifecycle
        assert preset(lifecycle.name) is lifecycle


def test_an_unknown_preset_is_a_clear_error() -> None:
    """preset() names the presets it knows when asked for another one."""
    with pytest.raises(LifecycleError, match="run, response, batch"):
        preset("fine_tuning")


def test_auto_detection_by_object_type() -> None:
    """An API object's ``object`` field picks its preset; anything else picks none."""
    assert preset_for_object("thread.run") is RUN_LIFECYCLE
    assert preset_for_object("response") is RESPONSE_LIFECYCLE
    # an object's "object" field as an API (or a damaged log) may hold it: anything but a string names no preset
    odd_values: list[object] = [{}, ["batch"], None, 3]
    for odd in odd_values:
        assert preset_for_object(odd) is None
    assert preset_for_object("batch") is BATCH_LIFECYCLE
    assert preset_for_object("thread.run.step") is None


@ALL
def test_every_non_terminal_state_can_reach_a_terminal_one(lifecycle: Lifecycle[Any]) -> None:
    """No dead ends: from every non-terminal state some terminal status is reachable."""
    for state in lifecycle.states:
        if state not in lifecycle.terminal:
            assert lifecycle.reachable(state) & lifecycle.terminal, state


@ALL
def test_every_state_but_the_initial_one_is_entered(lifecycle: Lifecycle[Any]) -> None:
    """Each state other than the client-side start has an edge into it, and the start is client-side."""
    assert {e.dest for e in lifecycle.edges} == set(lifecycle.states) - {lifecycle.initial}
    assert lifecycle.initial.kind is StateKind.CLIENT
    assert lifecycle.initial.wire is None


@ALL
def test_every_cited_source_has_a_title_and_an_https_url(lifecycle: Lifecycle[Any]) -> None:
    """Each ``[KEY]`` an edge's evidence cites is a shipped source with a title and a URL."""
    cited = {key for edge in lifecycle.edges for key in cited_keys(edge.evidence)}
    assert cited
    for key in cited:
        source = lifecycle.sources[key]
        assert source.title
        assert source.url.startswith("https://"), source


def test_a_citation_without_a_source_is_refused() -> None:
    """A lifecycle given sources refuses an edge that cites a key they do not list."""
    (edge, *_) = RESPONSE_LIFECYCLE.edges
    bad = type(edge)(edge.source, edge.dest, edge.kind, edge.trigger, "somewhere [X9]")
    with pytest.raises(LifecycleError, match="X9"):
        Lifecycle(
            "bad",
            ResponseStatus,
            [bad],
            initial=ResponseStatus.Null,
            sources=RESPONSE_LIFECYCLE.sources.values(),
        )


@ALL
def test_webhooks_announce_terminal_states_of_their_own_object(lifecycle: Lifecycle[Any]) -> None:
    """Webhook types are ``<object>.<status>`` and map to terminal statuses; preset_for_webhook finds them."""
    for event, status in lifecycle.webhooks.items():
        assert status in lifecycle.terminal
        assert event == f"{lifecycle.object_type}.{status.wire}"
        assert preset_for_webhook(event) == (lifecycle, status)
    assert preset_for_webhook("thread.run.completed") is None


def test_there_are_no_run_webhooks_and_the_other_two_announce_every_end() -> None:
    """Assistants runs have no webhooks; responses and batches have one per terminal status."""
    assert RUN_LIFECYCLE.webhooks == {}
    presets: tuple[Lifecycle[Any], ...] = (RESPONSE_LIFECYCLE, BATCH_LIFECYCLE)
    for lifecycle in presets:
        assert set(lifecycle.webhooks.values()) == lifecycle.terminal


def test_response_table_is_that_of_lifecycles_md() -> None:
    """The documented and lenient response edges are those of LIFECYCLES.md; cancel is a client call; no pause."""
    s = ResponseStatus
    documented = {(e.source, e.dest) for e in RESPONSE_LIFECYCLE.edges if e.kind is EdgeKind.DOCUMENTED}
    assert documented == {
        (s.Null, s.Queued),
        (s.Queued, s.InProgress),
        (s.InProgress, s.Completed),
        (s.InProgress, s.Failed),
        (s.InProgress, s.Incomplete),
        (s.Queued, s.Cancelled),
        (s.InProgress, s.Cancelled),
    }
    assert {(e.source, e.dest) for e in RESPONSE_LIFECYCLE.edges if e.is_lenient} == {(s.Queued, s.Failed)}
    assert {e.dest for e in RESPONSE_LIFECYCLE.edges if e.trigger is Trigger.CANCEL} == {s.Cancelled}
    assert RESPONSE_LIFECYCLE.paused == frozenset()
    assert RESPONSE_LIFECYCLE.client_calls == {Trigger.CANCEL}
    assert s.Cancelled.event is None  # the stream event union has no response.cancelled
    assert RESPONSE_LIFECYCLE.events["response.in_progress"] is s.InProgress


def test_batch_table_is_that_of_lifecycles_md() -> None:
    """The documented and lenient batch edges are those of LIFECYCLES.md; batches have no stream events."""
    b = BatchStatus
    documented = {(e.source, e.dest) for e in BATCH_LIFECYCLE.edges if e.kind is EdgeKind.DOCUMENTED}
    assert documented == {
        (b.Null, b.Validating),
        (b.Validating, b.Failed),
        (b.Validating, b.InProgress),
        (b.InProgress, b.Finalizing),
        (b.Finalizing, b.Completed),
        (b.InProgress, b.Expired),
        (b.InProgress, b.Cancelling),
        (b.Cancelling, b.Cancelled),
    }
    assert {(e.source, e.dest) for e in BATCH_LIFECYCLE.edges if e.is_lenient} == {
        (b.Validating, b.Cancelling),
        (b.Finalizing, b.Expired),
        (b.Finalizing, b.Cancelling),
    }
    assert BATCH_LIFECYCLE.events == {}
    assert BATCH_LIFECYCLE.paused == frozenset()


@ALL
def test_polled_jumps_through_a_cancel_need_the_recorded_call(lifecycle: Lifecycle[Any]) -> None:
    """Every cancel edge's destination is reachable from its source only when the cancel is recorded."""
    for edge in lifecycle.edges:
        if edge.trigger is Trigger.CANCEL and lifecycle.lookup[edge.source][edge.dest]:
            route = lifecycle.route(edge.source, edge.dest, calls=[Trigger.CANCEL])
            assert route is not None
            assert Trigger.CANCEL in route.calls or route.edges == (edge,)


@ALL
def test_the_shared_machine_has_one_trigger_per_entered_state(lifecycle: Lifecycle[Any]) -> None:
    """The ``transitions`` machine of each preset knows every edge under the destination's trigger."""
    machine = lifecycle.machine
    for edge in lifecycle.edges:
        event = machine.events[lifecycle.trigger_name(edge.dest)]
        assert edge.source.name in event.transitions


@ALL
def test_to_dict_carries_key_object_webhooks_and_sources(lifecycle: Lifecycle[Any]) -> None:
    """The JSON export says which preset it is, its object type, its webhooks and its sources."""
    data = lifecycle.to_dict()
    assert data["key"] == lifecycle.key
    assert data["object"] == lifecycle.object_type
    assert set(data["webhooks"]) == set(lifecycle.webhooks)
    assert {s["key"] for s in data["sources"]} == set(lifecycle.sources)


@ALL
def test_a_lifecycle_survives_pickling(lifecycle: Lifecycle[Any]) -> None:
    """Worker processes (``--jobs``) receive lifecycles by pickle: the copy parses and checks the same."""
    import pickle

    copy = pickle.loads(pickle.dumps(lifecycle))
    for state in lifecycle.states:
        assert copy.parse(state.name) is state
        assert copy.check_fields(state, {}) == lifecycle.check_fields(state, {})


@pytest.mark.parametrize(
    "module_name",
    [
        "runfsm.lifecycles",
        "runfsm.lifecycles.response",
        "runfsm.lifecycles.batch",
        "runfsm.parsing",
        "runfsm.following.objects",
    ],
)
def test_preset_module_doctests(module_name: str) -> None:
    """Every example in the preset modules' docstrings is true."""
    import doctest
    import importlib

    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
