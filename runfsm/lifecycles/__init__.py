"""The lifecycle presets: one module per lifecycle table, each built into a :class:`~runfsm.lifecycle.Lifecycle`.

- ``run`` (:data:`RUN_LIFECYCLE`, the default everywhere): the Assistants run, eleven statuses;
- ``response`` (:data:`RESPONSE_LIFECYCLE`): a background response of the Responses API;
- ``batch`` (:data:`BATCH_LIFECYCLE`): a batch of the Batch API.

:data:`PRESETS` holds them by key; :func:`preset` looks one up by key (or full name),
:func:`preset_for_object` by an API object's ``object`` field and :func:`preset_for_webhook`
by a webhook event type.

>>> preset("batch") is BATCH_LIFECYCLE
True
>>> preset_for_object("thread.run").key, preset_for_webhook("response.failed")[1]
('run', <ResponseStatus.Failed: 4>)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runfsm.exceptions import LifecycleError
from runfsm.lifecycles.batch import BATCH_EDGES, BATCH_LIFECYCLE, BatchStatus
from runfsm.lifecycles.response import RESPONSE_EDGES, RESPONSE_LIFECYCLE, ResponseStatus
from runfsm.lifecycles.run import RUN_EDGES, RUN_LIFECYCLE

if TYPE_CHECKING:
    from collections.abc import Mapping

    from runfsm.lifecycle import Lifecycle

__all__ = [
    "BATCH_EDGES",
    "BATCH_LIFECYCLE",
    "PRESETS",
    "RESPONSE_EDGES",
    "RESPONSE_LIFECYCLE",
    "RUN_EDGES",
    "RUN_LIFECYCLE",
    "BatchStatus",
    "ResponseStatus",
    "preset",
    "preset_for_object",
    "preset_for_webhook",
]

PRESETS: Mapping[str, Lifecycle[Any]] = {
    lifecycle.key: lifecycle for lifecycle in (RUN_LIFECYCLE, RESPONSE_LIFECYCLE, BATCH_LIFECYCLE)
}
"""The presets by key, the default (``run``) first."""

_BY_OBJECT: Mapping[str, Lifecycle[Any]] = {
    lifecycle.object_type: lifecycle for lifecycle in PRESETS.values() if lifecycle.object_type is not None
}


def preset(name: str) -> Lifecycle[Any]:
    """The preset called ``name``: its key (``run``, ``response``, ``batch``) or its full name.

    Raises :class:`~runfsm.exceptions.LifecycleError` (a ``ValueError``) naming the presets otherwise.
    """
    found = PRESETS.get(name)
    if found is not None:
        return found
    for lifecycle in PRESETS.values():
        if name == lifecycle.name:
            return lifecycle
    raise LifecycleError(f"no lifecycle preset {name!r}; the presets are {', '.join(PRESETS)}")


def preset_for_object(object_type: object) -> Lifecycle[Any] | None:
    """The preset whose API objects carry ``"object": object_type``, or None (also for a value that is no string).

    >>> preset_for_object("batch").key, preset_for_object({"nested": 1})
    ('batch', None)
    """
    return _BY_OBJECT.get(object_type) if isinstance(object_type, str) else None


def preset_for_webhook(event_type: str) -> tuple[Lifecycle[Any], Any] | None:
    """The preset and status a webhook event type announces (``"batch.completed"``), or None."""
    for lifecycle in PRESETS.values():
        status = lifecycle.webhook_status(event_type)
        if status is not None:
            return lifecycle, status
    return None
