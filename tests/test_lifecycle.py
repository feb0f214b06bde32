"""The one declaration: structural properties, the derived views, and their agreement with transitions."""

from __future__ import annotations

import json
import typing

import pytest

from runfsm import RUN_EDGES, RUN_LIFECYCLE, Edge, EdgeKind, Lifecycle, LifecycleError, RunStatus, StateKind, Trigger
from runfsm.lifecycle import DOCUMENTED, ILLEGAL, LENIENT, SAME

R = RunStatus


def test_every_non_terminal_state_can_reach_a_terminal_one() -> None:
    """No state is a dead end: from every non-terminal state some terminal status is reachable."""
    for state in RUN_LIFECYCLE.states:
        if state not in RUN_LIFECYCLE.terminal:
            assert RUN_LIFECYCLE.reachable(state) & RUN_LIFECYCLE.terminal, state


def test_terminal_states_have_no_way_out() -> None:
    """Leaving a terminal status is never legal."""
    for state in RUN_LIFECYCLE.terminal:
        assert RUN_LIFECYCLE.successors(state) == ()
        assert not any(e.source is state for e in RUN_EDGES)


def test_every_wire_status_is_a_state_and_every_state_but_null_is_entered() -> None:
    """All nine API statuses are states, and every state except the initial one has an edge into it."""
    wires = {s.wire for s in RUN_LIFECYCLE.states if s.wire is not None}
    assert wires == set(RunStatus.wire_values())
    entered = {e.dest for e in RUN_EDGES}
    assert entered == set(RunStatus) - {RunStatus.Null}


def test_terminal_set_is_the_kind_terminal() -> None:
    """The lifecycle's terminal set is derived from the states' kinds."""
    assert RUN_LIFECYCLE.terminal == RunStatus.terminal_states()


def test_documented_edges_are_those_of_lifecycle_md() -> None:
    """The documented edges are exactly the D rows of LIFECYCLE.md; cancel paths beyond in_progress are lenient."""
    documented = {(e.source, e.dest) for e in RUN_EDGES if e.kind is EdgeKind.DOCUMENTED}
    assert documented == {
        (R.Null, R.Created),
        (R.Null, R.Queued),
        (R.Created, R.Queued),
        (R.Queued, R.InProgress),
        (R.InProgress, R.RequiresAction),
        (R.InProgress, R.Completed),
        (R.InProgress, R.Failed),
        (R.InProgress, R.Incomplete),
        (R.InProgress, R.Expired),
        (R.InProgress, R.Cancelling),
        (R.RequiresAction, R.Queued),
        (R.RequiresAction, R.Expired),
        (R.Cancelling, R.Cancelled),
    }
    lenient = {(e.source, e.dest) for e in RUN_EDGES if e.kind is EdgeKind.LENIENT}
    assert (R.Queued, R.Cancelling) in lenient
    assert (R.Cancelling, R.Completed) in lenient
    assert len(lenient) == 9


def test_client_triggered_edges() -> None:
    """Submitting tool outputs leads RequiresAction to Queued; every cancel edge leads to Cancelling."""
    submit = [(e.source, e.dest) for e in RUN_EDGES if e.trigger is Trigger.SUBMIT_TOOL_OUTPUTS]
    assert submit == [(R.RequiresAction, R.Queued)]
    cancel = {(e.source, e.dest) for e in RUN_EDGES if e.trigger is Trigger.CANCEL}
    assert cancel == {(R.Queued, R.Cancelling), (R.InProgress, R.Cancelling), (R.RequiresAction, R.Cancelling)}


def test_machine_and_lookup_table_agree_on_every_pair() -> None:
    """For every (state, observed status) the transitions machine accepts exactly what the lookup table allows."""
    from transitions.core import MachineError

    machine = RUN_LIFECYCLE.machine

    class Model:
        def __init__(self, state: RunStatus) -> None:
            self.state = state
            self.entered: list[RunStatus] = []

        def _runfsm_entered(self, event_data: typing.Any) -> None:
            self.entered.append(self.state)

    for source in RUN_LIFECYCLE.states:
        for dest in RUN_LIFECYCLE.states:
            if dest is RUN_LIFECYCLE.initial:
                assert RUN_LIFECYCLE.lookup[source][dest] in (ILLEGAL, SAME)
                continue
            model = Model(source)
            trigger = machine.events[RUN_LIFECYCLE.trigger_name(dest)]
            try:
                moved = trigger.trigger(model)
            except MachineError:
                moved = False
            code = RUN_LIFECYCLE.lookup[source][dest]
            legal = code in (DOCUMENTED, LENIENT)
            assert moved == legal, (source, dest, code)
            assert model.state is (dest if legal else source)
            assert model.entered == ([dest] if legal else [])
            assert RUN_LIFECYCLE.is_legal(source, dest) == legal


def test_lookup_codes_mark_repeats_documented_and_lenient() -> None:
    """The frozen table says SAME on the diagonal, DOCUMENTED or LENIENT on edges, ILLEGAL elsewhere."""
    table = RUN_LIFECYCLE.lookup
    assert table[R.InProgress][R.InProgress] == SAME
    assert table[R.Queued][R.InProgress] == DOCUMENTED
    assert table[R.Queued][R.Failed] == LENIENT
    assert table[R.Completed][R.InProgress] == ILLEGAL
    assert isinstance(table, tuple)
    assert all(isinstance(row, tuple) for row in table)


def test_machine_is_shared_and_has_no_models() -> None:
    """One machine per lifecycle, built once, with no models added to it."""
    assert RUN_LIFECYCLE.machine is RUN_LIFECYCLE.machine
    assert RUN_LIFECYCLE.machine.models == []


@pytest.mark.parametrize(
    ("source", "dest", "calls", "inferred"),
    [
        (R.Queued, R.Completed, (), (R.InProgress,)),
        (R.Queued, R.RequiresAction, (), (R.InProgress,)),
        (R.Queued, R.Expired, (), ()),
        (R.InProgress, R.Queued, (Trigger.SUBMIT_TOOL_OUTPUTS,), (R.RequiresAction,)),
        (R.RequiresAction, R.InProgress, (Trigger.SUBMIT_TOOL_OUTPUTS,), (R.Queued,)),
        (R.RequiresAction, R.Completed, (Trigger.SUBMIT_TOOL_OUTPUTS,), (R.Queued, R.InProgress)),
        (R.InProgress, R.Cancelled, (Trigger.CANCEL,), (R.Cancelling,)),
        (R.Queued, R.Cancelled, (Trigger.CANCEL,), (R.Cancelling,)),
        (R.RequiresAction, R.RequiresAction, (Trigger.SUBMIT_TOOL_OUTPUTS,), (R.Queued, R.InProgress)),
    ],
)
def test_poll_routes(
    source: RunStatus, dest: RunStatus, calls: tuple[Trigger, ...], inferred: tuple[RunStatus, ...]
) -> None:
    """A polled jump is explained by the shortest path of server edges plus the recorded client calls."""
    route = RUN_LIFECYCLE.route(source, dest, calls=calls)
    assert route is not None
    assert route.inferred == inferred
    assert route.calls <= set(calls)


@pytest.mark.parametrize(
    ("source", "dest"),
    [
        (R.InProgress, R.Queued),
        (R.RequiresAction, R.InProgress),
        (R.InProgress, R.Cancelled),
        (R.Completed, R.InProgress),
        (R.Cancelled, R.Completed),
        (R.InProgress, R.Created),
    ],
)
def test_no_route_without_the_needed_call(source: RunStatus, dest: RunStatus) -> None:
    """Without a recorded submit or cancel there is no path back to queued, or into cancelling; none out of terminal."""
    assert RUN_LIFECYCLE.route(source, dest) is None


def test_route_prefers_documented_edges_among_shortest() -> None:
    """Among equally short paths the one with fewer lenient edges is chosen."""
    route = RUN_LIFECYCLE.route(R.Queued, R.Incomplete)
    assert route is not None
    assert route.inferred == (R.InProgress,)
    assert route.lenient == ()


def test_json_export_is_complete_and_serializable() -> None:
    """The JSON export lists every state with ordinal, wire value, kind, event, and every edge."""
    data = json.loads(json.dumps(RUN_LIFECYCLE.to_dict()))
    assert [s["ordinal"] for s in data["states"]] == list(range(11))
    assert data["initial"] == "Null"
    assert len(data["edges"]) == len(RUN_EDGES)
    assert {"source": "RequiresAction", "dest": "Queued"}.items() <= next(
        e for e in data["edges"] if e["trigger"] == "submit_tool_outputs"
    ).items()


def test_another_lifecycle_is_another_table() -> None:
    """A second lifecycle (a cut-down Batch) works through the same code: table, routes, machine."""
    from runfsm.vocabulary import LifecycleState

    class BatchStatus(LifecycleState):
        Null = 0, None, StateKind.CLIENT, None
        Validating = 1, "validating", StateKind.ACTIVE, None
        InProgress = 2, "in_progress", StateKind.ACTIVE, None
        Finalizing = 3, "finalizing", StateKind.ACTIVE, None
        Completed = 4, "completed", StateKind.TERMINAL, None
        Failed = 5, "failed", StateKind.TERMINAL, None

    b = BatchStatus
    edges = [
        Edge(b.Null, b.Validating, EdgeKind.DOCUMENTED, Trigger.CREATE, "create"),
        Edge(b.Validating, b.InProgress, EdgeKind.DOCUMENTED, Trigger.SERVER, ""),
        Edge(b.Validating, b.Failed, EdgeKind.DOCUMENTED, Trigger.SERVER, ""),
        Edge(b.InProgress, b.Finalizing, EdgeKind.DOCUMENTED, Trigger.SERVER, ""),
        Edge(b.Finalizing, b.Completed, EdgeKind.DOCUMENTED, Trigger.SERVER, ""),
    ]
    batch = Lifecycle("batch", BatchStatus, edges, initial=b.Null)
    assert batch.terminal == {b.Completed, b.Failed}
    route = batch.route(b.Validating, b.Completed)
    assert route is not None
    assert route.inferred == (b.InProgress, b.Finalizing)
    assert batch.machine.get_state(b.Finalizing).name == "Finalizing"
    assert batch.to_dict()["name"] == "batch"


def test_inconsistent_declarations_are_refused() -> None:
    """Edges out of terminal states, into the initial state, self-loops and duplicates raise LifecycleError."""
    bad = [
        [Edge(R.Completed, R.Failed, EdgeKind.LENIENT, Trigger.SERVER, "")],
        [Edge(R.Queued, R.Null, EdgeKind.LENIENT, Trigger.SERVER, "")],
        [Edge(R.Queued, R.Queued, EdgeKind.LENIENT, Trigger.SERVER, "")],
        [Edge(R.Queued, R.InProgress, EdgeKind.DOCUMENTED, Trigger.SERVER, "")] * 2,
    ]
    for edges in bad:
        with pytest.raises(LifecycleError) as info:
            Lifecycle("bad", RunStatus, edges, initial=R.Null)
        assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("query", ["edge", "route", "is_legal", "successors", "reachable"])
def test_a_query_given_a_spelling_or_another_lifecycles_state_is_a_type_error(query: str) -> None:
    """edge("queued", "in_progress") was None, an edge missing in silence; a batch's state was read by its ordinal."""
    from runfsm import BatchStatus

    method = getattr(RUN_LIFECYCLE, query)
    two = query in ("edge", "route", "is_legal")
    for wrong, named in (("queued", "str 'queued': parse_status"), (BatchStatus.InProgress, "BatchStatus")):
        arguments = (wrong, RunStatus.Completed) if two else (wrong,)
        with pytest.raises(TypeError, match=rf"{query} takes RunStatus members, got {named}"):
            method(*arguments)
    # the lifecycle's own members, and their ordinals, are answered as before
    own = (RunStatus.InProgress, RunStatus.Completed) if two else (RunStatus.InProgress,)
    assert method(*own) == method(*(int(s) for s in own))
