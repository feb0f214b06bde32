r"""Hypothesis strategies for whole logs of any lifecycle: the lines a JSON Lines file of observations holds.

:func:`log_lines` draws a log of several objects of one lifecycle (a preset or any
:class:`~runfsm.lifecycle.Lifecycle`), interleaved as a real log interleaves them: each object's
history comes from :func:`~runfsm.testing.strategies.poll_histories`,
:func:`~runfsm.testing.strategies.stream_histories` or
:func:`~runfsm.testing.strategies.illegal_histories`, and each observation is written the ways
that lifecycle's API writes it (an object with its ``object`` type and fields, a stream event,
a snapshot event, a thin webhook payload, a client call). With ``odd``, the lines real logs also
hold are slipped in: blank lines, malformed JSON, unknown statuses, objects of another lifecycle,
unknown client calls, calls no edge needs; with ``late``, copies of earlier lines come after the
objects ended. Everything is derived from the lifecycle (spellings, fields, events, webhooks), so
one strategy serves every preset. Use it to check that a log pipeline (or one of runfsm's
engines) reads every preset's logs as the reference does::

    @given(lines=log_lines(BATCH_LIFECYCLE))
    def test_my_reader_agrees(tmp_path_factory, lines):
        path = tmp_path_factory.mktemp("log") / "batches.jsonl"
        path.write_text("".join(line + "\n" for line in lines))
        assert my_reader(path) == summarize_paths([path], lifecycle=BATCH_LIFECYCLE)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from runfsm.fields import NestedCheck
from runfsm.lifecycles import PRESETS
from runfsm.testing.strategies import illegal_histories, poll_histories, stream_histories
from runfsm.vocabulary import LifecycleState, Trigger

if TYPE_CHECKING:
    from runfsm.fields import FieldRule
    from runfsm.lifecycle import Lifecycle

__all__ = ["log_lines"]

_ODD_VALUES: tuple[object, ...] = (None, 0, 7, "x", {}, {"reason": "max_output_tokens"}, {"type": "odd"})
"""Values a broken field takes (each breaks some invariant of some status, or none)."""


def _field_names(lc: Lifecycle[Any]) -> tuple[str, ...]:
    names: list[str] = []
    for rule in lc.field_checks.rules.values():
        names += [*rule.must_set, *rule.must_be_null, *(rule.window[:2] if rule.window else ())]
        if isinstance(rule.extra, NestedCheck):
            names.append(rule.extra.field)
    return tuple(dict.fromkeys(names))


def _clean(rule: FieldRule | None) -> dict[str, Any]:
    """Fields that break none of ``rule``'s invariants."""
    fields: dict[str, Any] = {}
    if rule is None:
        return fields
    for name in rule.must_set:
        fields[name] = 1
    if rule.window is not None:
        start, end, seconds = rule.window
        fields[start], fields[end] = 100, 100 + seconds
    if isinstance(rule.extra, NestedCheck):
        check = rule.extra
        fields[check.field] = {check.key: sorted(check.allowed)[0] if check.allowed else "given"}
    return fields


@st.composite
def _fields(draw: st.DrawFn, lc: Lifecycle[Any], status: LifecycleState) -> dict[str, Any]:
    """An object's fields for ``status``: mostly clean, sometimes with a field missing or odd."""
    fields = _clean(lc.field_checks.rules.get(status))
    names = _field_names(lc)
    if names and draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from(names))
        if draw(st.booleans()):
            fields.pop(name, None)
        else:
            fields[name] = draw(st.sampled_from(_ODD_VALUES))
    return fields


def _spellings(status: LifecycleState) -> list[str]:
    wire = [status.wire] * 3 if status.wire is not None else []  # mostly as the API writes it
    return [*wire, status.name, str(int(status))]


@st.composite
def _observation(draw: st.DrawFn, lc: Lifecycle[Any], object_id: str, status: LifecycleState, stream: bool) -> str:
    """One observation of ``status`` as a log line, in one of the ways ``lc``'s API writes it."""
    obj: dict[str, Any] = {"id": object_id}
    if lc.object_type is not None and draw(st.integers(0, 4)):
        obj["object"] = lc.object_type
    obj["status"] = draw(st.sampled_from(_spellings(status)))
    obj.update(draw(_fields(lc, status)))
    ways = ["object"]
    if stream and status.event is not None:
        ways += ["event", "event"]
    if lc.parser.snapshot_events and status.wire is not None:
        ways.append("snapshot")
    webhooks = [name for name, announced in lc.webhooks.items() if announced is status]
    if webhooks:
        ways.append("webhook")
    way = draw(st.sampled_from(ways))
    payload = lc.parser.payload_key
    line: dict[str, Any]
    if way == "event":
        snapshot = {**obj, "status": status.wire or obj["status"]}
        if payload is not None and draw(st.booleans()):
            line = {"type": status.event, "sequence_number": draw(st.integers(0, 99)), payload: snapshot}
        else:
            line = {"event": status.event, "data": {"type": status.event, payload: snapshot} if payload else snapshot}
    elif way == "snapshot":
        assert payload is not None  # a lifecycle with snapshot events carries objects under a payload key
        event = draw(st.sampled_from(sorted(lc.parser.snapshot_events)))
        line = {"type": event, "sequence_number": draw(st.integers(0, 99)), payload: {**obj, "status": status.wire}}
    elif way == "webhook":
        event_id = f"evt_{draw(st.integers(0, 10**6))}"
        line = {"object": "event", "id": event_id, "type": draw(st.sampled_from(webhooks)), "data": {"id": object_id}}
    else:
        line = obj
    return json.dumps(line)


def _odd_lines(lc: Lifecycle[Any], object_id: str) -> list[str]:
    """Lines a real log of ``lc`` also holds: each is skipped, reported as FILE:LINE, or judged as odd."""
    some = next(s for s in lc.states if s.wire is not None)
    others = [p.object_type for p in PRESETS.values() if p.object_type not in (None, lc.object_type)]
    kind = {"object": lc.object_type} if lc.object_type else {}
    return [
        "",
        "   ",
        "not json at all",
        "{oops",
        json.dumps({**kind, "id": object_id, "status": "warp"}),
        json.dumps({"id": 7, "status": some.wire}),
        json.dumps({"id": object_id}),
        json.dumps({"run_id": object_id, "call": "retry"}),
        *(json.dumps({"run_id": object_id, "call": t.value}) for t in Trigger if t.is_client_call),
        *(json.dumps({"object": other, "id": object_id, "status": some.wire}) for other in others[:1]),
        json.dumps({"run_id": object_id, "statuses": [some.wire, "warp"]}),
        json.dumps({"object": "list", "data": [{**kind, "id": object_id, "status": some.wire}]}),
        json.dumps({"event": "done", "data": "[DONE]"}),
        # lines that look like one thing and are another: a webhook with an event name, a call with a type
        json.dumps({"object": "event", "event": _event_of(lc), "data": {"id": object_id}}),
        json.dumps({"run_id": object_id, "call": "cancel", "type": "note"}),
        *_payload_lines(lc, object_id),
    ]


def _event_of(lc: Lifecycle[Any]) -> str:
    return next((s.event for s in lc.states if s.event is not None), next(iter(lc.webhooks), "event"))


def _payload_lines(lc: Lifecycle[Any], object_id: str) -> list[str]:
    """Objects and events that also carry an object under the lifecycle's payload key (``response``)."""
    payload = lc.parser.payload_key
    if payload is None:
        return []
    inner = {"id": f"{object_id}_inner", "status": next(s.wire for s in reversed(lc.states) if s.wire is not None)}
    some = next(s for s in lc.states if s.wire is not None)
    return [
        json.dumps({"id": object_id, "status": some.name, "type": _event_of(lc), payload: inner}),
        json.dumps({"event": _event_of(lc), "data": {"id": object_id, "status": some.wire, payload: inner}}),
    ]


@st.composite
def _log(draw: st.DrawFn, lc: Lifecycle[Any], max_objects: int, odd: bool, late: bool) -> list[str]:
    runs: list[list[str]] = []
    for n in range(draw(st.integers(1, max_objects), label="objects")):
        object_id = f"{lc.key}_{n}"
        stream = draw(st.booleans(), label="stream")
        history: list[Any] = draw(
            st.one_of(
                poll_histories(lifecycle=lc, depth=2, max_length=8),
                stream_histories(lifecycle=lc, terminal=False, depth=2, max_length=8),
                illegal_histories(mode="stream" if stream else "poll", max_length=8, lifecycle=lc).map(lambda p: p[0]),
            )
        )
        lines = []
        for entry in history:
            if isinstance(entry, Trigger):
                lines.append(json.dumps({"run_id": object_id, "call": entry.value}))
            else:
                lines.append(draw(_observation(lc, object_id, entry, stream)))
        for line in draw(st.lists(st.sampled_from(_odd_lines(lc, object_id)), max_size=2 if odd else 0)):
            lines.insert(draw(st.integers(0, len(lines))), line)
        runs.append(lines)
    # interleaved: each object's lines in their order, the objects' turns drawn
    out: list[str] = []
    cursors = [0] * len(runs)
    while any(c < len(r) for c, r in zip(cursors, runs, strict=True)):
        open_runs = [k for k, r in enumerate(runs) if cursors[k] < len(r)]
        k = draw(st.sampled_from(open_runs))
        out.append(runs[k][cursors[k]])
        cursors[k] += 1
    if late and out:
        out += draw(st.lists(st.sampled_from(out), max_size=3), label="late")
    return out


def log_lines(
    lifecycle: Lifecycle[Any], *, max_objects: int = 6, odd: bool = True, late: bool = True
) -> st.SearchStrategy[list[str]]:
    """The lines (without line ends) of a JSON Lines log of up to ``max_objects`` objects of ``lifecycle``.

    ``odd``: slip in the lines real logs also hold (blank, malformed, unknown statuses, other
    lifecycles' objects, unknown or needless client calls); ``late``: append copies of earlier
    lines, as late records. See the module docstring for the ways an observation is written.
    """
    return _log(lifecycle, max_objects, odd, late)
