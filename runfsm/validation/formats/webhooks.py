r"""The webhook log reader: one delivered webhook event body per line, as a receiver logged them.

Each line is the JSON body of one delivery (``runfsm webhooks log`` writes such a log, and so
does a receiver that appends each body it was sent)::

    {"id": "evt_...", "object": "event", "type": "response.completed", "created_at": 1750000000,
     "data": {"id": "resp_..."}}

What a line says: the object ``data.id`` entered the status the event ``type`` announces, as
the lifecycle presets' webhook tables map them (``response.completed``, ``batch.expired``,
...; :meth:`~runfsm.lifecycle.Lifecycle.webhook_status`). A webhook carries no object, only
its id: each record is a poll-mode observation (a webhook reports where the object is, not
every status it went through) with no fields to check.

Webhooks are delivered at least once and in no guaranteed order, so the reader applies two
rules, documented here and counted in the input's line counts:

- **Redeliveries are skipped.** A line whose event ``id`` was read before in the same input,
  with the same ``type`` and ``data.id``, is the same event delivered again: it is *skipped*
  (``skipped`` in the line counts), not judged twice. The same ``id`` with another ``type`` or
  object is an input error naming the line it contradicts.
- **Events are judged in the object's own timeline.** Each object's events are ordered by the
  event's ``created_at`` (ties keep the file's order), not by the order they arrived: the
  reader holds the input in memory and yields each object's records together, in the order
  each object first appears.

Other lines: a blank line is skipped; an event whose type names no lifecycle preset
(``fine_tuning.job.succeeded``, ``eval.run.failed``: objects runfsm does not follow) is skipped;
an event of another preset than the one validated (``batch.completed`` while validating
responses) is an error naming the ``--lifecycle`` that reads it; a type under the preset's
prefix that it does not know (``response.canceled``) is a record with an unknown status (which
``--status-alias`` can name). Anything else that is not a well-formed event (not JSON, no
string ``id``, no ``type``, ``data`` without a string ``id``, ``created_at`` not a finite
number) is an error at its line. So every line is in a record, skipped by one of those rules,
or an error: ``lines = in_records + skipped + errors``.

The format is detected from the first non-blank line (a JSON object with ``"object":
"event"``), or chosen with ``--format webhooks``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from runfsm.exceptions import NotARunStatus
from runfsm.lifecycles import PRESETS, preset_for_webhook
from runfsm.validation.formats.base import Record, json_parser, loads_fallback, read_lines, short, status_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from runfsm.exceptions import InputError
    from runfsm.lifecycle import Lifecycle
    from runfsm.validation.formats.base import Item, Lines, Source

__all__ = ["is_webhook_event", "read_webhooks"]

_EXPECTED = (
    "expected a webhook event body ({'id': 'evt_...', 'object': 'event', 'type': 'response.completed', "
    "'created_at': ..., 'data': {'id': ...}})"
)


def is_webhook_event(obj: object) -> bool:
    """True for a JSON value shaped as a delivered webhook event body (``"object": "event"`` and a ``type``)."""
    return isinstance(obj, dict) and obj.get("object") == "event" and isinstance(obj.get("type"), str)


class _Pending:
    """A record read, with the event's time, waiting for its object's other events."""

    __slots__ = ("at", "order", "record")

    def __init__(self, record: Record, at: float, order: int) -> None:
        self.record = record
        self.at = at
        self.order = order


def read_webhooks(stream: Lines, src: Source, limit: int) -> Iterator[Item]:
    """Records of a webhook event log: redeliveries skipped, each object's events in ``created_at`` order.

    See the module docstring for the rules. Errors are yielded as their lines are read; the
    records come once the input is read (its events are ordered per object first).
    """
    _name, loads = json_parser()
    seen: dict[str, tuple[int, str, str]] = {}  # event id -> (line, type, object id)
    objects: dict[str, list[_Pending]] = {}
    order = 0
    for item in read_lines(stream, src, limit, "a webhook event body (JSON)"):
        if not isinstance(item, tuple):
            yield item  # an over-long or undecodable line, counted as an error
            continue
        line, text = item
        if not text.strip():
            src.skip(1)
            continue
        try:
            obj = loads(text)
        except ValueError:
            try:
                obj = loads_fallback(text)
            except ValueError as why:
                src.failed(1)
                yield src.error(f"malformed JSON ({why}); {_EXPECTED}", line)
                continue
        found = _event(obj, src, line, seen)
        if found is None:
            src.skip(1)
        elif isinstance(found, tuple):
            record, at = found
            src.took(1, record.run_id)
            objects.setdefault(record.run_id, []).append(_Pending(record, at, order))
            order += 1
        else:
            src.failed(1)
            yield found
    for pending in objects.values():
        pending.sort(key=lambda p: (p.at, p.order))
        for p in pending:
            yield p.record


def _preset_of_prefix(kind: str) -> Lifecycle[Any] | None:
    """The preset whose event prefix ``kind`` starts with (``response.canceled``: the response), if any."""
    lowered = kind.lower()
    return next((lc for lc in PRESETS.values() if lowered.startswith(lc.parser.event_prefixes)), None)


def _event(
    obj: object, src: Source, line: int, seen: dict[str, tuple[int, str, str]]
) -> tuple[Record, float] | InputError | None:
    """One line's record and time, an error, or None (skipped: a redelivery, an event of no preset)."""
    if not isinstance(obj, dict) or obj.get("object") != "event":
        return src.error(f"got {short(obj)}; {_EXPECTED}", line)
    event_id = obj.get("id")
    if not isinstance(event_id, str) or not event_id:
        return src.error(f"'id' is {short(event_id)}: expected the event id (evt_...) as a non-empty string", line)
    kind = obj.get("type")
    if not isinstance(kind, str) or not kind:
        return src.error(f"event {event_id}: 'type' is {short(kind)}: expected an event type", line)
    data = obj.get("data")
    object_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(object_id, str) or not object_id:
        return src.error(f"event {event_id}: 'data' is {short(data)}: expected {{'id': <the object's id>}}", line)
    created = obj.get("created_at")
    if isinstance(created, bool) or not isinstance(created, (int, float)) or not math.isfinite(created):
        return src.error(
            f"event {event_id}: 'created_at' is {short(created)}: expected the event's time (seconds since the epoch)",
            line,
        )
    before = seen.get(event_id)
    if before is not None:
        if before[1:] == (kind, object_id):
            return None  # a redelivery of an event already read
        return src.error(
            f"event {event_id} was read at line {before[0]} as {before[1]} of {before[2]}; here it is {kind} of "
            f"{object_id}: one event id, two events",
            line,
        )
    seen[event_id] = (line, kind, object_id)
    lifecycle = src.lifecycle
    try:
        status: Any = status_of(kind, lifecycle)
    except NotARunStatus:  # a deeper name under the preset's prefix: about no status of it
        return src.error(f"event {event_id}: {kind!r} announces no status of the {lifecycle.title} lifecycle", line)
    if status is None and not kind.lower().startswith(lifecycle.parser.event_prefixes):
        known = preset_for_webhook(kind)
        other = known[0] if known is not None else _preset_of_prefix(kind)
        if other is None:
            return None  # an event about objects no preset follows (fine-tuning jobs, evals, ...)
        return src.error(
            f"event {event_id}: {kind!r} is about a {other.title.lower()}: validate it with --lifecycle {other.key}",
            line,
        )
    try:
        stamp = src.sort_key(obj, data, line)
    except ValueError as err:
        return src.error(f"event {event_id}: {err}", line)
    record = Record(
        object_id,
        status,
        obj,
        source=src.name,
        line=line,
        mode="poll",
        timestamp=stamp if stamp is not None else float(created),
    )
    return record, float(created)
