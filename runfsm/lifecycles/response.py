"""The background response lifecycle (Responses API, ``background=true``): its statuses, edge table and sources.

A background response has six API statuses and no pause: a tool call ends the response, and
the client continues with a new response that carries the tool outputs. Cancelling is a
client call (``POST /responses/{id}/cancel``, background responses only) that ends the
response at once: there is no ``cancelling`` status. The stream announces every status but
``cancelled`` (the event union has no ``response.cancelled``); the webhooks announce the four
final ones.

>>> RESPONSE_LIFECYCLE.webhook_status("response.cancelled")
<ResponseStatus.Cancelled: 5>
>>> [s.wire for s in RESPONSE_LIFECYCLE.successors(ResponseStatus.Queued)]
['in_progress', 'failed', 'cancelled']
"""

from __future__ import annotations

from runfsm.fields import FieldChecks, FieldRule, incomplete_reason
from runfsm.lifecycle import Edge, EdgeKind, Lifecycle, Source, edges_from_table
from runfsm.parsing import StatusParser
from runfsm.vocabulary import LifecycleState, StateKind, Trigger

__all__ = [
    "RESPONSE_CHECKS",
    "RESPONSE_EDGES",
    "RESPONSE_LIFECYCLE",
    "RESPONSE_PARSER",
    "RESPONSE_SOURCES",
    "RESPONSE_WEBHOOKS",
    "ResponseStatus",
]


class ResponseStatus(LifecycleState):
    """The status of a background response: ``(ordinal, wire value, kind, stream event)``.

    ``Null`` is client-side: the response does not exist yet. The ordinals are identities in
    the order of the SDK's ``ResponseStatus`` literal's documentation, not lifecycle order.
    """

    Null = 0, None, StateKind.CLIENT, None
    Queued = 1, "queued", StateKind.ACTIVE, "response.queued"
    InProgress = 2, "in_progress", StateKind.ACTIVE, "response.in_progress"
    Completed = 3, "completed", StateKind.TERMINAL, "response.completed"
    Failed = 4, "failed", StateKind.TERMINAL, "response.failed"
    Cancelled = 5, "cancelled", StateKind.TERMINAL, None
    Incomplete = 6, "incomplete", StateKind.TERMINAL, "response.incomplete"


RESPONSE_SOURCES: tuple[Source, ...] = (
    Source(
        "R1",
        "OpenAI OpenAPI specification: Response, ResponseStreamEvent and the webhook event schemas",
        "https://github.com/openai/openai-openapi/blob/master/openapi.yaml",
    ),
    Source(
        "R2",
        "OpenAI guide: Background mode (polling, cancelling, resuming streams)",
        "https://developers.openai.com/api/docs/guides/background",
    ),
    Source(
        "R3",
        "openai-python: types/responses/response_status.py, resources/responses, resources/webhooks",
        "https://github.com/openai/openai-python/tree/main/src/openai",
    ),
    Source(
        "R5",
        "OpenAI guide: Webhooks (event types, delivery, retries, idempotency)",
        "https://developers.openai.com/api/docs/guides/webhooks",
    ),
    Source(
        "O-qa",
        "Microsoft Q&A 2339607: a cancelled response later reported completed (Azure OpenAI)",
        "https://learn.microsoft.com/answers/questions/2339607",
    ),
)
"""The sources the response table cites."""

_D = EdgeKind.DOCUMENTED
_L = EdgeKind.LENIENT
_S = ResponseStatus

#: (source, destinations, kind, trigger, evidence).
_RESPONSE_TABLE: tuple[tuple[ResponseStatus, tuple[ResponseStatus, ...], EdgeKind, Trigger, str], ...] = (
    (_S.Null, (_S.Queued,), _D, Trigger.CREATE, "create with background=true returns queued [R2]"),
    (_S.Queued, (_S.InProgress,), _D, Trigger.SERVER, "response.queued then response.in_progress stream events [R1]"),
    (
        _S.InProgress,
        (_S.Completed, _S.Failed, _S.Incomplete),
        _D,
        Trigger.SERVER,
        "response.completed / response.failed / response.incomplete stream events [R1]",
    ),
    (
        _S.Queued,
        (_S.Cancelled,),
        _D,
        Trigger.CANCEL,
        "cancel an in-flight background response; cancelling twice returns the final object [R2]",
    ),
    (
        _S.InProgress,
        (_S.Cancelled,),
        _D,
        Trigger.CANCEL,
        "cancel an in-flight background response; cancelling twice returns the final object [R2]",
    ),
    (_S.Queued, (_S.Failed,), _L, Trigger.SERVER, "plausible (a server error before work starts), not stated [R2]"),
)

RESPONSE_EDGES: tuple[Edge[ResponseStatus], ...] = edges_from_table(_RESPONSE_TABLE)
"""Every legal direct edge of a background response. A final status never changes [O-qa: report it]."""

RESPONSE_WEBHOOKS: dict[str, ResponseStatus] = {
    "response.completed": _S.Completed,
    "response.failed": _S.Failed,
    "response.cancelled": _S.Cancelled,
    "response.incomplete": _S.Incomplete,
}
"""The webhook event types of responses and the status each announces [R1, R5]."""

RESPONSE_PARSER: StatusParser[ResponseStatus] = StatusParser(
    ResponseStatus,
    object_type="response",
    names=RESPONSE_WEBHOOKS,
    # response.created carries the new response: its status (queued in background mode) is the news
    snapshot_events=frozenset({"response.created"}),
    ignored_events=frozenset({"error"}),
    ignored_prefixes=("response.",),  # output items, text deltas, tool call progress: not the status
    payload_key="response",
    fields=("id", "object", "status", "background", "created_at", "completed_at", "error", "incomplete_details"),
)
"""Response statuses as written: wire values, stream events (``{"type": ..., "response": {...}}``), webhook types."""

_NO_ERROR = ("error",)
RESPONSE_CHECKS: FieldChecks[ResponseStatus] = FieldChecks(
    {
        _S.Null: FieldRule(must_be_null=()),
        _S.Queued: FieldRule(must_be_null=_NO_ERROR),
        _S.InProgress: FieldRule(must_be_null=_NO_ERROR),
        _S.Completed: FieldRule(must_set=("completed_at",), must_be_null=_NO_ERROR),
        _S.Failed: FieldRule(must_set=("error",), must_be_null=()),
        _S.Cancelled: FieldRule(must_be_null=()),
        _S.Incomplete: FieldRule(must_be_null=_NO_ERROR, extra=incomplete_reason),
    }
)
"""Field invariants of a response [R1]: ``completed_at`` only once completed, ``error`` only when failed,
``incomplete_details.reason`` when incomplete."""

RESPONSE_LIFECYCLE: Lifecycle[ResponseStatus] = Lifecycle(
    "background-response",
    ResponseStatus,
    RESPONSE_EDGES,
    initial=ResponseStatus.Null,
    key="response",
    object_type="response",
    title="Background response",
    sources=RESPONSE_SOURCES,
    webhooks=RESPONSE_WEBHOOKS,
    parser=RESPONSE_PARSER,
    field_checks=RESPONSE_CHECKS,
)
"""The background response lifecycle."""
