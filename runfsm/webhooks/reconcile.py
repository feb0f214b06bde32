"""Reconcile: poll only the objects whose terminal webhook is overdue. Webhooks first, polling as the fallback.

Webhooks get lost (an endpoint down for longer than the sender's 72 hours of retries, a
misconfigured event list). Each object the receiver follows has a deadline (``expires_at`` plus
a grace period, or ``created_at`` plus ``overdue_after``; see :meth:`Receiver.track`). A
:class:`Reconciler` pass retrieves every object past its due time **once**, spending one token
of the scheduler's :class:`~runfsm.following.scheduler.TokenBucket` per request (objects left
when the budget is spent wait for the next pass), queues what it saw through the receiver (so
ordering, callbacks and the store work exactly as for webhooks), and sets the object's next due
time from the watcher's polling policy. An object whose terminal status is seen, by a poll or a
late webhook, is never polled again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from runfsm.following.backoff import Jitter, PollContext, PollPolicy, Schedule
from runfsm.following.budget import TokenBucket
from runfsm.webhooks.receiver import read_object

if TYPE_CHECKING:
    import threading

    from runfsm.webhooks.receiver import Receiver, Retriever

__all__ = ["OVERDUE_POLICY", "Pass", "Reconciler", "openai_retriever"]

logger = logging.getLogger("runfsm.webhooks")

_RESOURCES = {"resp_": "responses", "batch_": "batches"}

OVERDUE_POLICY: PollPolicy = Jitter(Schedule(((0, 5.0), (300, 30.0), (3600, 300.0))), fraction=0.05)
"""How often an overdue object is polled again: every 5 s while its status is younger than 5 minutes,
then every 30 s, every 5 minutes after an hour (``since_change`` is on the object's own timeline)."""


def openai_retriever(client: Any, *, resources: Mapping[str, str] = _RESOURCES) -> Retriever:
    """``object_id -> object`` through an ``openai.OpenAI`` client, the resource chosen by the id's prefix.

    ``resp_...`` is retrieved with ``client.responses.retrieve``, ``batch_...`` with
    ``client.batches.retrieve``; ``resources`` maps other prefixes to other resources.
    """

    def retrieve(object_id: str) -> Any:
        for prefix, resource in resources.items():
            if object_id.startswith(prefix):
                return getattr(client, resource).retrieve(object_id)
        raise ValueError(f"no resource for {object_id!r}: known prefixes {', '.join(resources)}")

    return retrieve


@dataclass(frozen=True, slots=True)
class Pass:
    """What one reconcile pass did."""

    due: int
    """Objects past their due time when the pass began."""
    polled: int
    """Retrieved (one request each)."""
    failed: int
    """Retrieves that raised (logged; retried at the next due time)."""
    deferred: int
    """Left for a later pass: the request budget was spent."""


class Reconciler:
    """Polls overdue objects through ``policy`` under a ``per_minute`` request budget.

    ``policy`` is a polling policy (:mod:`runfsm.following.backoff`), or one per lifecycle (by key or name):
    :data:`OVERDUE_POLICY` by default; give batches, which take hours, a policy in minutes, such
    as the batch watcher's own: ``policy={"response": OVERDUE_POLICY, "batch": BATCH_DEFAULT}``
    (:func:`runfsm.following.profile.profile` gives each lifecycle's). A ``ByStatus`` policy
    names the states of the lifecycle it was built for (``lifecycle=``).
    ``retrieve`` defaults to the receiver's. ``clock`` defaults to the receiver's.
    """

    def __init__(
        self,
        receiver: Receiver,
        retrieve: Retriever | None = None,
        *,
        policy: PollPolicy | Mapping[str, PollPolicy] = OVERDUE_POLICY,
        per_minute: int = 60,
        burst: int | None = None,
        clock: Callable[[], float] | None = None,
        batch: int = 100,
    ) -> None:
        fetch = retrieve if retrieve is not None else receiver.retrieve
        if fetch is None:
            raise ValueError("reconcile needs retrieve= (object id -> object), here or on the receiver")
        if isinstance(policy, Mapping):  # keyed by lifecycle name or key ("batch"): stored by name
            policy = {receiver.types.lifecycle(name).name: p for name, p in policy.items()}
            missing = sorted(set(receiver.types.lifecycles) - set(policy))
            if missing:
                raise ValueError(f"no reconcile policy for lifecycle {', '.join(missing)} (given: {', '.join(policy)})")
        self.receiver = receiver
        self.retrieve: Retriever = fetch
        self.policy = policy
        self.clock = clock if clock is not None else receiver.clock
        self.bucket = TokenBucket(per_minute, burst=burst, now=self.clock())
        self.batch = batch
        self.requests = 0

    def _policy(self, lifecycle: str) -> PollPolicy:
        return self.policy[lifecycle] if isinstance(self.policy, Mapping) else self.policy

    def next_due(self) -> float | None:
        """When the next object falls due (None if none is waiting)."""
        return self.receiver.store.next_due()

    def run_once(self) -> Pass:
        """Poll every object due now, once each, while the budget lasts; apply what was seen."""
        now = self.clock()
        due = self.receiver.store.overdue(now, limit=self.batch)
        polled = failed = 0
        for index, row in enumerate(due):
            now = self.clock()
            if not self.bucket.take(now):
                self.receiver.drain()
                return Pass(len(due), polled, failed, len(due) - index)
            self.requests += 1
            fields: str | None = None
            data: dict[str, Any] | None = None
            status = None
            try:
                data = read_object(self.retrieve(row.object_id))
            except Exception as err:  # noqa: BLE001 - any client error: logged, the object stays due
                failed += 1
                logger.warning("reconcile: retrieving %s failed: %s", row.object_id, err)
            else:
                polled += 1
                status = data.get("status")
                fields = json.dumps(data, separators=(",", ":"), default=str)
            lifecycle = self.receiver.types.lifecycle(row.lifecycle)
            state = next((s for s in lifecycle.states if s.wire == status), None)
            ctx = PollContext(
                status=cast("Any", state if state is not None else lifecycle.initial),
                polls=row.polls,
                since_change=max(0.0, now - (row.timeline_at if row.timeline_at is not None else now)),
                elapsed=max(0.0, now - (row.deadline if row.deadline is not None else now)),
            )
            terminal = state is not None and state.is_terminal
            self.receiver.store.polled(
                row.object_id, due_at=None if terminal else now + self._policy(row.lifecycle)(ctx), fields=fields
            )
            if data is not None:  # counted first, then queued: what the poll saw is applied after
                self.receiver.observe_polled(data, lifecycle=row.lifecycle)
        self.receiver.drain()
        return Pass(len(due), polled, failed, 0)

    def run(
        self, *, stop: threading.Event, interval: float = 5.0, sleep: Callable[[float], object] | None = None
    ) -> None:
        """Reconcile until ``stop`` is set: a pass, then wait ``interval`` seconds (or until the next due time)."""
        while not stop.is_set():
            deferred = 0
            try:
                deferred = self.run_once().deferred
            except Exception:  # a failed pass is logged and tried again; the loop must outlive it
                logger.exception("reconcile pass failed")
            now = self.clock()
            upcoming = self.next_due()
            wait = interval if upcoming is None else min(interval, max(0.0, upcoming - now))
            if deferred:  # the budget is spent: nothing to do before its next token
                wait = max(wait, self.bucket.ready_at(now) - now)
            if sleep is not None:
                sleep(max(wait, 0.01))
            else:
                stop.wait(max(wait, 0.01))
