"""The JSON Lines reader: run objects, runs.list pages, recorded stream events, compact runs, client calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final
from zlib import crc32

from runfsm.exceptions import InputError, NotARunStatus
from runfsm.validation.formats.base import (
    BOM,
    CALLS,
    Record,
    UniversalLines,
    event_record,
    exact_fields,
    inexact,
    json_parser,
    loads_fallback,
    lone_cr,
    needs_exact,
    object_error,
    owns,
    short,
    status_of,
    too_long,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from runfsm.validation.formats.base import Item, Lines, Source

__all__ = ["parse_jsonl_line", "read_jsonl"]

_EXPECTED_LINE = (
    "expected a run object ({'object': 'thread.run', 'id': ..., 'status': ...}), a stream event "
    "({'event': ..., 'data': {...}}, or an azure-ai-agents stream item [event, {...}, null]), "
    "a compact run ([statuses] or {'run_id': ..., 'statuses': [...]}) "
    "or a client call ({'run_id': ..., 'call': 'submit_tool_outputs' | 'cancel'})"
)


def _compact(
    items: object, run_id: str, src: Source, line: int, timestamp: float | None
) -> Iterator[Record | InputError]:
    if not isinstance(items, list):
        yield src.error(f"'statuses' must be a list of statuses, got {short(items)}", line)
        return
    for position, item in enumerate(items, 1):
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            yield src.error(
                f"entry {position} of the statuses is {short(item)}: expected a status string or ordinal "
                f"(0-{len(src.lifecycle.states) - 1}), or a client call ('submit_tool_outputs', 'cancel')",
                line,
            )
            continue
        if isinstance(item, str) and item in CALLS:
            yield Record(run_id, None, item, source=src.name, line=line, mode=None, call=CALLS[item])
            continue
        try:
            status = status_of(item, src.lifecycle)
        except NotARunStatus as err:
            yield src.error(f"entry {position} of the statuses: {err}", line)
            continue
        yield Record(run_id, status, item, source=src.name, line=line, timestamp=timestamp)


def _sdk_stream_item(obj: list[object]) -> bool:
    """An ``azure-ai-agents`` stream item as JSON: ``[event, {data}, handler's return]`` (or ``[event, {data}]``).

    A compact run lists statuses only, so a list whose second entry is an object, or a logged
    ``["done", "[DONE]", null]``, is a stream item.
    """
    if len(obj) not in (2, 3) or not isinstance(obj[0], str):
        return False
    return isinstance(obj[1], dict) or (len(obj) == 3 and obj[0] in ("done", "error") and obj[2] is None)


def _json_records(obj: object, src: Source, line: int) -> Iterator[Record | InputError]:
    """Records from one parsed JSON line that is not a plain run object (the fast path handles those)."""
    if isinstance(obj, list):
        if _sdk_stream_item(obj):
            rec = event_record({"event": obj[0], "data": obj[1]}, src, line)
            if rec is not None:
                yield rec
            return
        yield from _compact(obj, f"{src.name}:{line}", src, line, None)
        return
    if not isinstance(obj, dict):
        yield src.error(f"got {short(obj)}; {_EXPECTED_LINE}", line)
        return
    lc = src.lifecycle
    # a key that tells a line's kind counts when it has a value: JSON null reads as absent (logs of
    # a fixed schema write every key), as DuckDB's reader and the fast path of read_jsonl read it
    if obj.get("event") is not None:
        rec = event_record(obj, src, line)
        if rec is not None:
            yield rec
        return
    kind = obj.get("object")
    if _typed_event(obj, kind, lc.object_type, lc.parser.payload_key):
        # a webhook payload, or a Responses stream event as the SDK gives it
        data_key = "data" if kind == "event" else lc.parser.payload_key or "data"
        rec = event_record(obj, src, line, name_key="type", data_key=data_key)
        if rec is not None:
            yield rec
        return
    if kind == "list" and isinstance(obj.get("data"), list):
        for item in obj["data"]:
            yield from _run_object(item, src, line)
        return
    if kind is not None and kind != lc.object_type:
        if isinstance(kind, str) and kind.startswith(lc.parser.related_objects):
            return  # other objects of the same API (run steps, messages): not about a status
        yield src.error(object_error(kind, lc), line)
        return
    if obj.get("type") is not None and obj.get("status") is None:
        rec = event_record(obj, src, line, name_key="type", data_key=lc.parser.payload_key or "data")
        if rec is not None:
            yield rec
        return
    if obj.get("status") is not None or kind == lc.object_type:
        yield from _run_object(obj, src, line)
        return
    if "run_id" in obj:
        run_id = obj["run_id"]
        if not isinstance(run_id, str) or not run_id:
            yield src.error(f"'run_id' is {short(run_id)}: expected a non-empty string", line)
            return
        try:
            stamp = src.sort_key(obj, None, line)
        except ValueError as err:
            yield src.error(str(err), line)
            return
        if obj.get("statuses") is not None:
            yield from _compact(obj["statuses"], run_id, src, line, stamp)
            return
        if obj.get("call") is not None:
            call = obj["call"]
            if not isinstance(call, str) or call not in CALLS:
                yield src.error(f"'call' is {short(call)}: expected 'submit_tool_outputs' or 'cancel'", line)
                return
            yield Record(run_id, None, call, source=src.name, line=line, mode=None, call=CALLS[call], timestamp=stamp)
            return
        yield src.error("a record with 'run_id' needs 'statuses' (a list) or 'call'", line)
        return
    yield src.error(_EXPECTED_LINE, line)


def _typed_event(obj: dict[str, Any], kind: object, object_type: str | None, payload_key: str | None) -> bool:
    """True for an object the python reader reads as an event named by its ``type``.

    A webhook payload (``"object": "event"``), or a stream event carrying its object under the
    lifecycle's payload key (a Responses stream event as the SDK gives it).
    """
    if obj.get("type") is None or kind == object_type:
        return False
    return kind == "event" or (payload_key is not None and obj.get(payload_key) is not None)


def _run_object(obj: object, src: Source, line: int) -> Iterator[Record | InputError]:
    if not isinstance(obj, dict):
        yield src.error(f"a runs.list page entry is {short(obj)}: expected a run object", line)
        return
    kind = obj.get("object")
    if kind is not None and kind != src.lifecycle.object_type:  # a list page of other objects
        if not (isinstance(kind, str) and kind.startswith(src.lifecycle.parser.related_objects)):
            yield src.error(object_error(kind, src.lifecycle), line)
        return  # run steps, messages (the same API's other objects): not about a status
    run_id = obj.get("id")
    if not isinstance(run_id, str) or not run_id:
        what = "has no 'id'" if run_id is None else f"has 'id' {short(run_id)}"
        yield src.error(f"run object {what}: expected the run id as a non-empty string", line)
        return
    if "status" not in obj:
        yield src.error(f"run {run_id} has no 'status' field", line)
        return
    raw = obj["status"]
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        yield src.error(f"run {run_id}: 'status' is {short(raw)}: expected a status string", line)
        return
    try:
        status = status_of(raw, src.lifecycle)
        stamp = src.sort_key(obj, None, line)
    except (NotARunStatus, ValueError) as err:
        yield src.error(f"run {run_id}: {err}", line)
        return
    yield Record(run_id, status, obj, source=src.name, line=line, fields=obj, timestamp=stamp)


def _unparsable(chunk: bytes, err: ValueError, src: Source, line: int) -> InputError:
    """The error of a line that is not JSON (a last line without its newline is told apart)."""
    if not chunk.endswith((b"\n", b"\r")):
        return src.error(f"truncated last line (no newline at the end, and not complete JSON: {err})", line)
    return src.error(f"malformed JSON ({err}); {_EXPECTED_LINE}", line)


def _is_blank(chunk: bytes) -> bool:
    """True for a line of white space (a byte-order mark opening it aside): skipped."""
    return not chunk.strip() or not chunk.removeprefix(BOM).strip()


def parse_jsonl_line(chunk: bytes, src: Source, line: int) -> Iterator[Record | InputError]:
    """The items of one JSON Lines line (newline included when it had one), as :func:`read_jsonl` reads it.

    Other engines read most lines themselves and hand the rest to this (see
    :mod:`runfsm.validation.engines.staging`); the fast path of :func:`read_jsonl` gives the same records.
    Nothing for a blank line; a byte-order mark opening the line is dropped, and JSON the fast
    parser refuses is read by the standard one, as :func:`read_jsonl` does.
    """
    _name, loads = json_parser()
    if _is_blank(chunk):
        return
    try:
        obj = loads(chunk)
    except ValueError:
        try:
            obj = loads_fallback(chunk)
        except ValueError as why:
            yield _unparsable(chunk, why, src, line)
            return
        yield from _json_records(obj, src, line)
        return
    yield from _exact_records(obj, chunk, src, line)


def _exact_records(obj: object, chunk: bytes, src: Source, line: int) -> list[Record | InputError]:
    """The items of a line orjson parsed; read again by the standard parser if orjson may have rounded a value used.

    orjson turns integers beyond 64 bits into floats (see :func:`~runfsm.validation.formats.base.exact_fields`).
    """
    found = list(_json_records(obj, src, line))
    if needs_exact(found, exact_fields(src.lifecycle)):
        exact = _exact(chunk)
        if exact is not None:
            found = list(_json_records(exact, src, line))
    return found


def _exact(chunk: bytes) -> Any:
    """The line read by the standard parser (exact integers), or None if it refuses what orjson read.

    It refuses nesting deeper than about 1,000 levels (less the caller's depth); orjson reads 1,024.
    """
    try:
        return loads_fallback(chunk)
    except ValueError:
        return None


def read_jsonl(stream: Lines, src: Source, limit: int) -> Iterator[Item]:
    """Items of a JSON Lines input: a plain run object takes the fast path (the hot loop of ``runfsm validate``).

    Every line is counted in ``src.counts``: a blank line is skipped, as is an object of the
    Assistants API that is not about a run's status (a run step, a message, a thread, their
    events and ``done``); a line giving a record is in records; any other line is an error. A
    byte-order mark opening a line is dropped. JSON the fast parser refuses is read by the
    standard one (see :func:`~runfsm.validation.formats.base.loads_fallback`).
    """
    _name, loads = json_parser()
    name = src.name
    fast = src.fast
    object_type = src.lifecycle.object_type
    payload = src.lifecycle.parser.payload_key
    plain = src.sort_by is None  # no sort field to read: a run object can take the fast path
    readline = stream.readline
    size = limit + 1
    line = 0
    part, parts = src.partition or (0, 1)
    partition = src.partition
    shared = parts > 1  # other workers read this input too
    reporter = part == 0
    compact = src.compact
    position = src.position  # each record's slot (see ReadPosition)
    counts = src.counts
    taken = 0  # lines that gave a record this worker yields (counted at the end: the hot loop)
    exacts = exact_fields(src.lifecycle)  # per status: the values an invariant uses (exact integers)
    universal = False
    try:
        while True:
            chunk = readline(size)
            if not chunk:
                return
            if not universal and b"\r" in chunk and lone_cr(chunk):
                # a lone carriage return ends a line too: from here on, read lines that way
                stream = UniversalLines(stream, chunk)
                readline = stream.readline
                universal = True
                continue
            line += 1
            if len(chunk) == size and not chunk.endswith((b"\n", b"\r")):
                error = too_long(stream, src, line, limit, len(chunk))
                if reporter:
                    counts.errors += 1
                    yield error
                continue
            owner = not shared
            if shared and chunk.startswith(_ID_PREFIX):
                # a run object whose id comes first (as the API writes them): other workers' runs stay unparsed
                end = chunk.find(b'"', 7)
                if end > 7 and _routed_by_prefix(chunk):
                    if crc32(chunk[7:end]) % parts != part:
                        continue
                    owner = True
            exact = False  # read by the standard parser (exact integers)
            try:
                obj = loads(chunk)
            except ValueError:
                if _is_blank(chunk):
                    if reporter:
                        counts.skipped += 1
                    continue
                try:
                    obj = loads_fallback(chunk)
                except ValueError as why:
                    if owner or reporter:
                        counts.errors += 1
                        yield _unparsable(chunk, why, src, line)
                    continue
                exact = True
            # the fast path: a run object with a wire status and a string id
            if plain and type(obj) is dict:
                text = obj.get("status")
                run_id = obj.get("id")
                if type(text) is str and type(run_id) is str and run_id:
                    status = fast.get(text)
                    if (
                        status is not None
                        and obj.get("object", object_type) == object_type
                        and obj.get("event") is None  # else a stream event, as _json_records reads it
                        and (payload is None or not _typed_event(obj, obj.get("object"), object_type, payload))
                    ):
                        spec = exacts[status]
                        if spec and inexact(obj, spec):
                            obj = _exact(chunk) or obj  # orjson rounded an integer an invariant uses
                        if owner or owns(run_id, partition):
                            taken += 1
                            if compact:
                                yield (run_id, status, obj, line, name)
                            else:
                                yield Record(run_id, status, obj, source=name, line=line, fields=obj)
                            # let the run object go before the next line is parsed: its memory is then
                            # reused while still in the cache (fewer cache misses in bulk validation)
                            obj = None
                        continue
                elif len(obj) == 2:  # the fast path of a client call: {"run_id": ..., "call": ...}
                    call = obj.get("call")
                    run_id = obj.get("run_id")
                    if type(call) is str and type(run_id) is str and run_id:
                        trigger = CALLS.get(call)
                        if trigger is not None:
                            if owner or owns(run_id, partition):
                                taken += 1
                                if compact:
                                    yield (run_id, trigger, None, line, name)
                                else:
                                    yield Record(run_id, None, call, source=name, line=line, mode=None, call=trigger)
                            continue
            found = list(_json_records(obj, src, line)) if exact else _exact_records(obj, chunk, src, line)
            several = position is not None and len(found) > 1 and sum(type(i) is Record for i in found) > 1
            if owner:
                if any(type(item) is InputError for item in found):
                    counts.errors += 1
                elif found:
                    taken += 1
                else:
                    counts.skipped += 1
                if several:
                    assert position is not None
                    yield from position.several(found, _every)
                else:
                    yield from found
                continue
            src.settle(found, 1)

            def mine(item: Item) -> bool:
                return owns(item.run_id, partition) if type(item) is Record else reporter

            if several:
                assert position is not None
                yield from position.several(found, mine)
            else:
                yield from filter(mine, found)
    finally:
        counts.lines = line
        counts.in_records += taken


def _every(item: Item) -> bool:
    return True


def _routed_by_prefix(chunk: bytes) -> bool:
    """True if a line opening with ``{"id":"X"`` can only be about run X (else it is parsed to know).

    It must hold no other ``"id"`` key (a stream event's run is in its ``data``; with duplicate
    keys the last one counts), no ``"run_id"`` key (a client call or compact run names its run
    there) and no backslash (a key may be spelled with escapes).
    """
    return chunk.count(b'"id"') == 1 and b"\\" not in chunk and b'"run_id"' not in chunk


_ID_PREFIX: Final = b'{"id":"'
