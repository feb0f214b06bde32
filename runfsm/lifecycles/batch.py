"""The batch lifecycle (Batch API): its statuses, edge table and sources.

A batch is validated, run, finalized and completed over minutes to hours (a 24-hour
completion window). Cancelling is a client call answered by ``cancelling`` (up to ten
minutes) and then ``cancelled`` with partial results. Batches have no stream; the webhooks
announce the four final statuses.

>>> BATCH_LIFECYCLE.webhook_status("batch.expired")
<BatchStatus.Expired: 6>
>>> BATCH_LIFECYCLE.route(BatchStatus.Validating, BatchStatus.Completed).inferred
(<BatchStatus.InProgress: 3>, <BatchStatus.Finalizing: 4>)
"""

from __future__ import annotations

from runfsm.fields import FieldChecks, FieldRule
from runfsm.lifecycle import Edge, EdgeKind, Lifecycle, Source, edges_from_table
from runfsm.parsing import StatusParser
from runfsm.vocabulary import LifecycleState, StateKind, Trigger

__all__ = [
    "BATCH_CHECKS",
    "BATCH_EDGES",
    "BATCH_LIFECYCLE",
    "BATCH_PARSER",
    "BATCH_SOURCES",
    "BATCH_TIMESTAMPS",
    "BATCH_WEBHOOKS",
    "BatchStatus",
]


class BatchStatus(LifecycleState):
    """The status of a batch: ``(ordinal, wire value, kind, stream event)``; batches have no stream.

    ``Null`` is client-side: the batch does not exist yet. The other ordinals follow the
    order of the API's ``status`` enum, not lifecycle order.
    """

    Null = 0, None, StateKind.CLIENT, None
    Validating = 1, "validating", StateKind.ACTIVE, None
    Failed = 2, "failed", StateKind.TERMINAL, None
    InProgress = 3, "in_progress", StateKind.ACTIVE, None
    Finalizing = 4, "finalizing", StateKind.ACTIVE, None
    Completed = 5, "completed", StateKind.TERMINAL, None
    Expired = 6, "expired", StateKind.TERMINAL, None
    Cancelling = 7, "cancelling", StateKind.ACTIVE, None
    Cancelled = 8, "cancelled", StateKind.TERMINAL, None


BATCH_SOURCES: tuple[Source, ...] = (
    Source(
        "R1",
        "OpenAI OpenAPI specification: Batch object, createBatch, cancelBatch and the webhook event schemas",
        "https://github.com/openai/openai-openapi/blob/master/openapi.yaml",
    ),
    Source(
        "R4",
        "OpenAI guide: Batch API (batch statuses and what each means)",
        "https://developers.openai.com/api/docs/guides/batch",
    ),
    Source(
        "R5",
        "OpenAI guide: Webhooks (event types, delivery, retries, idempotency)",
        "https://developers.openai.com/api/docs/guides/webhooks",
    ),
)
"""The sources the batch table cites."""

_D = EdgeKind.DOCUMENTED
_L = EdgeKind.LENIENT
_B = BatchStatus

#: (source, destinations, kind, trigger, evidence).
_BATCH_TABLE: tuple[tuple[BatchStatus, tuple[BatchStatus, ...], EdgeKind, Trigger, str], ...] = (
    (_B.Null, (_B.Validating,), _D, Trigger.CREATE, "create returns validating [R1]"),
    (_B.Validating, (_B.Failed,), _D, Trigger.SERVER, "the input file has failed the validation process [R4]"),
    (_B.Validating, (_B.InProgress,), _D, Trigger.SERVER, "successfully validated and being run [R4]"),
    (_B.InProgress, (_B.Finalizing,), _D, Trigger.SERVER, "completed; the results are being prepared [R4]"),
    (_B.Finalizing, (_B.Completed,), _D, Trigger.SERVER, "the results are ready [R4]"),
    (
        _B.InProgress,
        (_B.Expired,),
        _D,
        Trigger.SERVER,
        "not completed within the 24-hour window; finished requests are still delivered [R4]",
    ),
    (
        _B.InProgress,
        (_B.Cancelling,),
        _D,
        Trigger.CANCEL,
        "cancels an in-progress batch [R1]; cancelling lasts up to 10 minutes [R4]",
    ),
    (_B.Cancelling, (_B.Cancelled,), _D, Trigger.SERVER, "cancelled, with partial results [R4]"),
    (_B.Validating, (_B.Cancelling,), _L, Trigger.CANCEL, "plausible: a cancel before validation ends [R1]"),
    (_B.Finalizing, (_B.Expired,), _L, Trigger.SERVER, "unknown either way: the window can end while finalizing"),
    (_B.Finalizing, (_B.Cancelling,), _L, Trigger.CANCEL, "unknown either way: a cancel while finalizing"),
)

BATCH_EDGES: tuple[Edge[BatchStatus], ...] = edges_from_table(_BATCH_TABLE)
"""Every legal direct edge of a batch."""

BATCH_WEBHOOKS: dict[str, BatchStatus] = {
    "batch.completed": _B.Completed,
    "batch.failed": _B.Failed,
    "batch.expired": _B.Expired,
    "batch.cancelled": _B.Cancelled,
}
"""The webhook event types of batches and the status each announces [R1, R5]."""

#: The timestamp each status sets when it is entered (the Batch object's ``*_at`` fields) [R1].
BATCH_TIMESTAMPS: dict[BatchStatus, str] = {
    _B.InProgress: "in_progress_at",
    _B.Finalizing: "finalizing_at",
    _B.Completed: "completed_at",
    _B.Failed: "failed_at",
    _B.Expired: "expired_at",
    _B.Cancelling: "cancelling_at",
    _B.Cancelled: "cancelled_at",
}

BATCH_PARSER: StatusParser[BatchStatus] = StatusParser(
    BatchStatus,
    object_type="batch",
    names=BATCH_WEBHOOKS,
    fields=("id", "object", "status", "created_at", "expires_at", "errors", *BATCH_TIMESTAMPS.values()),
)
"""Batch statuses as written: wire values, Batch objects, webhook payloads."""

BATCH_CHECKS: FieldChecks[BatchStatus] = FieldChecks(
    {status: FieldRule(must_set=(stamp,), must_be_null=()) for status, stamp in BATCH_TIMESTAMPS.items()}
)
"""Field invariants of a batch: each status entered has its timestamp set [R1]."""

BATCH_LIFECYCLE: Lifecycle[BatchStatus] = Lifecycle(
    "batch",
    BatchStatus,
    BATCH_EDGES,
    initial=BatchStatus.Null,
    key="batch",
    object_type="batch",
    title="Batch",
    sources=BATCH_SOURCES,
    webhooks=BATCH_WEBHOOKS,
    parser=BATCH_PARSER,
    field_checks=BATCH_CHECKS,
)
"""The batch lifecycle."""
