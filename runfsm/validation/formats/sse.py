"""The server-sent events reader: ``event:`` / ``data:`` lines as captured from the wire."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runfsm.exceptions import NotARunStatus
from runfsm.validation.formats.base import event_record, json_parser, read_lines, short, status_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from runfsm.exceptions import InputError
    from runfsm.validation.formats.base import Item, Lines, Record, Source

__all__ = ["read_sse"]


def read_sse(stream: Lines, src: Source, limit: int) -> Iterator[Item]:
    """Records of raw SSE text, each event located at its first line; non-run events skipped."""
    _name, loads = json_parser()
    event: str | None = None
    data: list[str] = []
    start: int | None = None

    def dispatch(line: int) -> Iterator[Record | InputError]:
        if event is None:
            yield src.error("an SSE event without an 'event:' line: expected 'event: thread.run.<status>'", line)
            return
        text = "\n".join(data)
        if event == "done" or text == "[DONE]":
            return
        try:
            payload = loads(text)
        except ValueError as err:
            try:
                status_of(event, src.lifecycle)
            except NotARunStatus:
                return  # a non-run event whose payload we do not need
            yield src.error(f"event {event!r}: malformed JSON in its data ({err})", line)
            return
        rec = event_record({"event": event, "data": payload}, src, line)
        if rec is not None:
            yield rec

    for item in read_lines(stream, src, limit, "SSE lines ('event: ...', 'data: ...')"):
        if type(item) is not tuple:
            yield item  # type: ignore[misc]  # an InputError from the line reader
            continue
        number, line_text = item
        text = line_text.rstrip("\r\n")
        if not text:
            if start is not None:
                yield from dispatch(start)
            event, data, start = None, [], None
            continue
        if text.startswith(":"):
            continue  # a comment
        field, sep, value = text.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if start is None:
            start = number
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        elif field in ("id", "retry"):
            pass
        else:
            yield src.error(f"{short(text)} is not an SSE line: expected 'event: ...' or 'data: ...'", number)
    if start is not None:
        if event is not None and not data:
            yield src.error(f"truncated last event {event!r}: no 'data:' line", start)
        else:
            yield from dispatch(start)
