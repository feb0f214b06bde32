"""The server-sent events reader: ``event:`` / ``data:`` lines as captured from the wire."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runfsm.exceptions import NotARunStatus
from runfsm.validation.formats.base import event_record, json_parser, loads_fallback, read_lines, short, status_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from runfsm.exceptions import InputError
    from runfsm.validation.formats.base import Item, Lines, Record, Source

__all__ = ["read_sse"]


def _is_run_event(event: str, src: Source) -> bool:
    try:
        status_of(event, src.lifecycle)
    except NotARunStatus:
        return False
    return True


class _Event:
    """The event being read: its name, its data lines, where it starts and how many lines it has."""

    __slots__ = ("data", "lines", "name", "overflow", "size", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.name: str | None = None
        self.data: list[str] = []
        self.size = 0
        self.lines = 0
        self.overflow = False
        """Its data grew over the line limit: dropped (memory stays flat), reported once it ends."""


def read_sse(stream: Lines, src: Source, limit: int) -> Iterator[Item]:
    r"""Records of raw SSE text, each event located at its first line; non-run events skipped.

    An event ends at a blank line, at the end of the input, or (as tolerant SSE readers have
    it) at an ``event:`` line when it already has one: events captured without blank lines
    between them are read one by one. A line ends at ``\n``, ``\r\n`` or a lone ``\r``. An
    event whose data grows over the line limit is reported and dropped as it goes (memory
    stays flat). Every line is counted in ``src.counts``: an event's lines are in records, or
    skipped (a non-run event, ``done``), or errors (the event's error is at its first line);
    blank lines and comments are skipped.
    """
    _name, loads = json_parser()
    pending: _Event | None = None

    def dispatch(event: _Event) -> list[Record | InputError]:
        if event.overflow:
            return [src.error(f"an SSE event whose data is longer than {limit} bytes; skipped", event.start)]
        if event.name is None:
            message = "an SSE event without an 'event:' line: expected 'event: thread.run.<status>'"
            return [src.error(message, event.start)]
        text = "\n".join(event.data)
        if event.name == "done" or text == "[DONE]":
            return []
        if not event.data:
            if not _is_run_event(event.name, src):
                return []
            return [src.error(f"event {event.name!r} has no 'data:' line (the run object)", event.start)]
        try:
            payload = loads(text)
        except ValueError:
            if not _is_run_event(event.name, src):
                return []  # a non-run event whose payload we do not need
            try:
                payload = loads_fallback(text)
            except ValueError as err:
                return [src.error(f"event {event.name!r}: malformed JSON in its data ({err})", event.start)]
        rec = event_record({"event": event.name, "data": payload}, src, event.start)
        return [] if rec is None else [rec]

    def end(event: _Event) -> list[Record | InputError]:
        items = dispatch(event)
        src.settle(items, event.lines)
        return items

    try:
        for item in read_lines(stream, src, limit, "SSE lines ('event: ...', 'data: ...')"):
            if type(item) is not tuple:
                yield item  # type: ignore[misc]  # an InputError from the line reader (counted there)
                continue
            number, line_text = item
            text = line_text.rstrip("\r\n")
            if not text:
                src.skip(1)
                if pending is not None:
                    event, pending = pending, None
                    yield from end(event)
                continue
            if text.startswith(":"):
                src.skip(1)  # a comment
                continue
            field, sep, value = text.partition(":")
            if sep and value.startswith(" "):
                value = value[1:]
            if field not in ("event", "data", "id", "retry"):
                src.failed(1)
                yield src.error(f"{short(text)} is not an SSE line: expected 'event: ...' or 'data: ...'", number)
                continue
            if field == "event" and pending is not None and pending.name is not None:
                event, pending = pending, None  # no blank line before this event: the previous one ends here
                yield from end(event)
            if pending is None:
                pending = _Event(number)
            pending.lines += 1
            if field == "event":
                pending.name = value
            elif field == "data" and not pending.overflow:
                pending.size += len(value) + 1
                if pending.size > limit:
                    pending.overflow, pending.data = True, []
                else:
                    pending.data.append(value)
        if pending is not None:
            event, pending = pending, None
            if event.name is not None and not event.data and not event.overflow and _is_run_event(event.name, src):
                src.failed(event.lines)
                yield src.error(f"truncated last event {event.name!r}: no 'data:' line", event.start)
            else:
                yield from end(event)
    finally:
        if pending is not None:  # reading stopped (a read error): the event's lines go with that error
            src.failed(pending.lines)
