"""Webhook event payloads: the thin ``{"id", "type", "created_at", "data": {"id"}}`` body, read and judged.

OpenAI's webhook bodies name an event type (``response.completed``, ``batch.expired``) and the
object's id only. :class:`EventTypes` maps each type to a lifecycle and the state it announces,
reading the names from the lifecycle presets (no event name is spelled out in this wing);
:func:`read_event` turns a verified body into a :class:`WebhookEvent` or raises
:class:`~runfsm.exceptions.MalformedWebhook` naming what is wrong.

>>> event = read_event(b'{"id": "evt_1", "object": "event", "type": "x.done", "created_at": 17, '
...                    b'"data": {"id": "x_1"}}', webhook_id="msg_1")
>>> event.type, event.object_id, event.created_at
('x.done', 'x_1', 17.0)
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runfsm.exceptions import MalformedWebhook

if TYPE_CHECKING:
    from runfsm.lifecycle import Lifecycle
    from runfsm.vocabulary import LifecycleState

__all__ = ["EventTypes", "WebhookEvent", "read_event"]


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One delivered event, as the receiver stores it."""

    webhook_id: str
    """The ``webhook-id`` header: the idempotency key, stable across retries."""
    event_id: str
    """The body's ``id`` (``evt_...``)."""
    type: str
    """The event type (``response.completed``)."""
    object_id: str
    """``data.id``: the response or batch the event is about."""
    created_at: float
    """The body's ``created_at``: when the object reached the state, on the object's own timeline."""
    body: str
    """The body as received (UTF-8 text), kept for ``runfsm webhooks state`` and re-reading."""


_KINDS: dict[str, tuple[type, ...]] = {"a string": (str,), "a number": (int, float), "an object": (dict,)}


def _required(data: Mapping[str, Any], key: str, kind: str, where: str) -> Any:
    value = data.get(key)
    if value is None:
        raise MalformedWebhook(f"{where} has no {key!r}")
    if not isinstance(value, _KINDS[kind]) or isinstance(value, bool):
        raise MalformedWebhook(f"{where}: {key!r} must be {kind}, got {type(value).__name__}")
    return _text(value, f"{where}: {key!r}") if isinstance(value, str) else value


def _text(value: str, what: str) -> str:
    r"""``value``, if it is Unicode text: JSON's ``"\udc80"`` reads as a lone surrogate, which no UTF-8 holds."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise MalformedWebhook(f"{what} is not Unicode text: it holds a lone surrogate {value[err.start]!r}") from None
    return value


def _json(convert: Callable[[Any], Any], value: Any) -> Any:
    """``convert(value)`` (JSON read or written), MalformedWebhook for what Python's JSON cannot convert."""
    try:
        return convert(value)
    except json.JSONDecodeError as err:
        raise MalformedWebhook(f"the body is not JSON: {err}") from None
    except RecursionError:
        raise MalformedWebhook("the body is nested too deeply to be a webhook event") from None
    except ValueError:  # an integer of more digits than Python converts
        limit = sys.get_int_max_str_digits()
        raise MalformedWebhook(
            f"the body holds a number runfsm cannot read: an integer of over {limit} digits"
        ) from None


def _unix_time(value: float, where: str) -> float:
    try:
        at = float(value)
    except OverflowError:  # an integer too large for any float
        raise MalformedWebhook(f"{where} must be a Unix time, got a number too large for one") from None
    if not math.isfinite(at) or at < 0:
        raise MalformedWebhook(f"{where} must be a Unix time, got {value!r}")
    return at


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def read_event(body: bytes | str | Mapping[str, Any], *, webhook_id: str | None = None) -> WebhookEvent:
    """Read one webhook body (bytes, text, or already-parsed JSON).

    ``webhook_id`` is the ``webhook-id`` header; without one (a log of bodies), the body's
    ``id`` stands in. Raises :class:`~runfsm.exceptions.MalformedWebhook` when the body is not
    a JSON object with a string ``id`` and ``type``, a numeric ``created_at`` and a ``data``
    object with a string ``id``.
    """
    if isinstance(body, Mapping):
        data: object = body
        text = _json(_compact, body)
    else:
        try:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
        except UnicodeDecodeError as err:
            raise MalformedWebhook(f"the body is not JSON: {err}") from None
        data = _json(json.loads, text)
    if not isinstance(data, Mapping):
        raise MalformedWebhook(f"the body must be a JSON object, got {type(data).__name__}")
    event_id = _required(data, "id", "a string", "the event")
    kind = _required(data, "type", "a string", "the event")
    created = _unix_time(_required(data, "created_at", "a number", "the event"), "the event's 'created_at'")
    payload = _required(data, "data", "an object", "the event")
    object_id = _required(payload, "id", "a string", "the event's 'data'")
    if data.get("object", "event") != "event":
        raise MalformedWebhook(f"the body's 'object' must be 'event', got {data.get('object')!r}")
    return WebhookEvent(
        webhook_id=_text(webhook_id, "the webhook-id header") if webhook_id is not None else event_id,
        event_id=event_id,
        type=kind,
        object_id=object_id,
        created_at=created,
        body=text,
    )


class EventTypes:
    """Event type -> ``(lifecycle, state)``, from the lifecycles' own webhook names.

    Each lifecycle preset declares which webhook event announces which of its states
    (:attr:`~runfsm.lifecycle.Lifecycle.webhooks`); types of lifecycles not given here are
    *ignored* events (acknowledged and recorded, never applied).
    """

    def __init__(self, lifecycles: Iterable[Lifecycle[Any]]) -> None:
        self.lifecycles: dict[str, Lifecycle[Any]] = {}
        self._types: dict[str, tuple[Lifecycle[Any], LifecycleState]] = {}
        for lifecycle in lifecycles:
            if lifecycle.name in self.lifecycles:
                raise ValueError(f"lifecycle {lifecycle.name!r} given twice")
            self.lifecycles[lifecycle.name] = lifecycle
            for name, state in lifecycle.webhooks.items():
                if name in self._types:
                    raise ValueError(f"webhook event {name!r} is declared by two lifecycles")
                self._types[name] = (lifecycle, state)
        if not self._types:
            raise ValueError("none of the lifecycles given declares a webhook event")

    def __repr__(self) -> str:
        return f"<EventTypes {sorted(self._types)}>"

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._types

    def names(self) -> tuple[str, ...]:
        """The known event types, sorted."""
        return tuple(sorted(self._types))

    def lookup(self, event_type: str) -> tuple[Lifecycle[Any], LifecycleState] | None:
        """The lifecycle and the state ``event_type`` announces, or None for a type runfsm does not follow."""
        return self._types.get(event_type)

    def lifecycle(self, name: str) -> Lifecycle[Any]:
        """The lifecycle called ``name``, or whose key is ``name`` (``response``); KeyError names the known ones."""
        found = self.lifecycles.get(name)
        if found is None:
            found = next((lc for lc in self.lifecycles.values() if lc.key == name), None)
        if found is None:
            raise KeyError(f"no lifecycle {name!r} here (known: {', '.join(sorted(self.lifecycles))})")
        return found
