"""The webhook receiver: verify, queue durably, answer, then apply in the object's own order and call back once.

:meth:`Receiver.handle` is the framework-free entry: ``(headers, body) -> WebhookAnswer``. It
checks the signature, reads the body, and commits the event to the store; only then does it
answer 2xx. The work (judging the event against the object's tracker, firing callbacks) happens
after the answer: in the receiver's worker thread (:meth:`Receiver.start`, started by the ASGI
app on its first request), or when the caller runs :meth:`Receiver.drain` after sending the
answer. An event acknowledged before a crash is in the file and is applied when a receiver opens
it again.

Answers: 200 for a new event, a repeated ``webhook-id`` and an event type runfsm does not follow
(all recorded); 401 for a bad or stale signature; 400 for a body that is not an event; 413 for a
body over ``max_body`` bytes; 503 (``retry-after: 1``) when the store is locked by another
process for longer than its timeout. Nothing but a 200 changes the store.

Callbacks (:meth:`Receiver.on_enter`, :meth:`Receiver.on_change`) run once per state entered,
across duplicates, reorderings and restarts: the state entered is written in the transaction
that moves the tracker, claimed, run, then marked fired. A process killed while a callback runs
leaves it claimed; after ``callback_lease`` seconds another receiver runs it again, so a
callback may see the same :class:`~runfsm.webhooks.timeline.Entered` twice only across a crash in
the middle of it (its ``object_id``, ``state`` and ``index`` make a natural idempotency key).
"""

from __future__ import annotations

import collections
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runfsm.exceptions import BadSignature, MalformedWebhook
from runfsm.tracker import RunTracker
from runfsm.webhooks.events import EventTypes, read_event
from runfsm.webhooks.signature import StandardWebhooks, Verifier
from runfsm.webhooks.store import EnteredRow, ObjectRow, PendingRow, Processed, WebhookStore
from runfsm.webhooks.timeline import Entered, Sample, apply, new_tracker

if TYPE_CHECKING:
    import os

    from runfsm.lifecycle import Lifecycle
    from runfsm.vocabulary import LifecycleState

__all__ = ["EnterCallback", "Retriever", "Receiver", "WebhookAnswer", "default_lifecycles", "read_object"]

logger = logging.getLogger("runfsm.webhooks")

EnterCallback = Callable[[Entered], object]
"""Called with each state entered."""
Retriever = Callable[[str], Any]
"""Retrieves one object by id (a dict, or an SDK model with ``model_dump``)."""

DEFAULT_OVERDUE_S = 600.0
"""Without a deadline of its own, an object's terminal event is overdue this long after it was created."""
DEFAULT_GRACE_S = 60.0
"""An object with ``expires_at`` is overdue this long after it."""
MAX_BODY = 1 << 20


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    """What to answer the sender: a status code, a small JSON body, headers."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True for 2xx."""
        return 200 <= self.status < 300


def _answer(status: int, **data: object) -> WebhookAnswer:
    headers = {"content-type": "application/json"}
    if status == 503:
        headers["retry-after"] = "1"
    return WebhookAnswer(status, json.dumps(data, separators=(",", ":")).encode(), headers)


def default_lifecycles() -> tuple[Lifecycle[Any], ...]:
    """The lifecycles OpenAI sends webhooks for: the background response and the batch."""
    from runfsm.lifecycles.batch import BATCH_LIFECYCLE  # noqa: PLC0415
    from runfsm.lifecycles.response import RESPONSE_LIFECYCLE  # noqa: PLC0415

    return (RESPONSE_LIFECYCLE, BATCH_LIFECYCLE)


def read_object(obj: Any) -> dict[str, Any]:
    """An API object (dict, or SDK model) as a plain dict."""
    if isinstance(obj, Mapping):
        return dict(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        data = dump(mode="json")
        if isinstance(data, dict):
            return data
    raise TypeError(f"expected an API object (a dict or an openai model), got {type(obj).__name__}")


class Receiver:
    """Receives webhook deliveries into a :class:`~runfsm.webhooks.store.WebhookStore` and follows each object.

    ``store`` is a store or the path of its SQLite file. Give ``secret`` (``whsec_...``) or a
    ``verifier``. ``lifecycles`` default to :func:`default_lifecycles`. ``retrieve`` (object id ->
    object) lets the receiver fill an object's fields after its webhook (``fill=True``) and is
    what :class:`~runfsm.webhooks.reconcile.Reconciler` polls with. ``clock`` is injectable.
    """

    def __init__(
        self,
        store: WebhookStore | str | os.PathLike[str],
        *,
        secret: str | None = None,
        verifier: Verifier | None = None,
        lifecycles: Iterable[Lifecycle[Any]] | None = None,
        retrieve: Retriever | None = None,
        fill: bool = False,
        overdue_after: float = DEFAULT_OVERDUE_S,
        grace: float = DEFAULT_GRACE_S,
        callback_lease: float = 60.0,
        max_body: int = MAX_BODY,
        idle_wait: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if verifier is None:
            if secret is None:
                raise ValueError("give the endpoint's secret= (whsec_...) or a verifier=")
            verifier = StandardWebhooks(secret)
        elif secret is not None:
            raise ValueError("give secret= or verifier=, not both")
        if fill and retrieve is None:
            raise ValueError("fill=True needs retrieve= (object id -> object)")
        for name, value in (("overdue_after", overdue_after), ("grace", grace), ("callback_lease", callback_lease)):
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0 seconds, got {value!r}")
        self.store = store if isinstance(store, WebhookStore) else WebhookStore(store)
        self.verifier = verifier
        self.types = EventTypes(lifecycles if lifecycles is not None else default_lifecycles())
        self.retrieve = retrieve
        self.fill = fill
        self.overdue_after = float(overdue_after)
        self.grace = float(grace)
        self.callback_lease = float(callback_lease)
        self.max_body = max_body
        self.idle_wait = idle_wait
        self.clock = clock
        self.owner = uuid.uuid4().hex
        self._callbacks: dict[tuple[str, str], list[EnterCallback]] = {}
        self._any: list[EnterCallback] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._to_fill: set[str] = set()
        self._ran: collections.deque[tuple[EnteredRow, str | None]] = collections.deque()
        self._fire_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Receiver {self.store.path} {', '.join(self.types.lifecycles)}>"

    # -- callbacks

    def on_enter(self, state: LifecycleState, callback: EnterCallback) -> EnterCallback:
        """Call ``callback(entered)`` whenever an object enters ``state`` (a state of one of the lifecycles)."""
        owner = next((lc for lc in self.types.lifecycles.values() if isinstance(state, lc.state_type)), None)
        if owner is None:
            raise ValueError(f"{state!r} is not a state of {', '.join(self.types.lifecycles)}")
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        self._callbacks.setdefault((owner.name, state.name), []).append(callback)
        return callback

    def on_change(self, callback: EnterCallback) -> EnterCallback:
        """Call ``callback(entered)`` for every state any object enters."""
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        self._any.append(callback)
        return callback

    # -- receiving

    def handle(self, headers: Mapping[str, str], body: bytes) -> WebhookAnswer:
        """Verify and durably queue one delivery; the answer to send back. Applying it comes after (see the module)."""
        if len(body) > self.max_body:
            return _answer(413, error=f"body over {self.max_body} bytes")
        try:
            self.verifier.verify(body, headers)
        except BadSignature as err:
            return _answer(401, error=f"bad signature: {err}")
        webhook_id = next((v for k, v in headers.items() if k.lower() == "webhook-id"), None)
        try:
            event = read_event(body, webhook_id=webhook_id)
        except MalformedWebhook as err:
            return _answer(400, error=str(err))
        known = self.types.lookup(event.type)
        try:
            new = self.store.accept(
                event.webhook_id,
                source="webhook",
                object_id=event.object_id,
                at=event.created_at,
                received_at=self.clock(),
                lifecycle=known[0].name if known is not None else None,
                state=known[1].name if known is not None else None,
                event_id=event.event_id,
                type=event.type,
                body=event.body,
            )
        except sqlite3.OperationalError as err:  # locked by another process beyond the store's timeout
            logger.warning("webhook %s not stored, answering 503: %s", event.webhook_id, err)
            return _answer(503, error="store busy, retry")
        self._wake.set()
        return _answer(200, ok=True, duplicate=not new, ignored=known is None)

    def track(
        self,
        obj: Any,
        *,
        lifecycle: Lifecycle[Any] | str | None = None,
        deadline: float | None = None,
    ) -> bool:
        """Start following an object you just created (its create response); False if it was already known.

        Reconcile can then poll it if its terminal event never comes.

        ``deadline`` (Unix time) is when its terminal event is overdue; by default ``expires_at``
        plus ``grace`` if the object has one, else ``created_at`` plus ``overdue_after``.
        """
        data = read_object(obj)
        lc = self._lifecycle_for(data, lifecycle)
        object_id = data.get("id")
        if not isinstance(object_id, str):
            raise TypeError("the object has no string 'id'")
        now = self.clock()
        if deadline is None:
            expires = data.get("expires_at")
            created = data.get("created_at")
            if isinstance(expires, (int, float)) and not isinstance(expires, bool):
                deadline = float(expires) + self.grace
            else:
                start = float(created) if isinstance(created, (int, float)) else now
                deadline = start + self.overdue_after
        tracker = new_tracker(object_id, lc)
        row = ObjectRow(object_id, lc.name, deadline=deadline, due_at=deadline)
        new = self.store.register(row, tracker.to_json(), tracker.state.name, now=now)
        self.observe_polled(data, lifecycle=lc, source="track")
        return new

    def observe_polled(self, obj: Any, *, lifecycle: Lifecycle[Any] | str | None = None, source: str = "poll") -> bool:
        """Queue the status of a retrieved object as a sample (what reconcile does with each poll).

        Its time on the object's timeline is the object's ``<status>_at`` field when it has one
        (``completed_at``, ``in_progress_at``), else ``created_at`` for the first status, else now.
        """
        data = read_object(obj)
        lc = self._lifecycle_for(data, lifecycle)
        object_id, status = data.get("id"), data.get("status")
        if not isinstance(object_id, str):
            raise TypeError("the object has no string 'id'")
        now = self.clock()
        state = next((s for s in lc.states if s.wire is not None and s.wire == status), None)
        at_field = data.get(f"{status}_at") if isinstance(status, str) else None
        if isinstance(at_field, (int, float)) and not isinstance(at_field, bool):
            at = float(at_field)
        elif state in lc.successors(lc.initial) and isinstance(data.get("created_at"), (int, float)):
            at = float(data["created_at"])
        else:
            at = now
        key = f"{source}:{object_id}:{status}:{at:.3f}"
        new = self.store.accept(
            key,
            source=source,
            object_id=object_id,
            at=at,
            received_at=now,
            lifecycle=lc.name if state is not None else None,
            state=state.name if state is not None else None,
            type=f"status:{status}",
            body=json.dumps(data, separators=(",", ":"), default=str),
        )
        if state is None:
            logger.warning("object %s: status %r is not a %s status; recorded as ignored", object_id, status, lc.name)
        self._wake.set()
        return new

    def _lifecycle_for(self, data: Mapping[str, Any], lifecycle: Lifecycle[Any] | str | None) -> Lifecycle[Any]:
        if lifecycle is None:
            kind = data.get("object")
            found = [lc for lc in self.types.lifecycles.values() if lc.object_type == kind]
            if len(found) != 1:
                raise ValueError(f"cannot tell the lifecycle of an object {kind!r}: pass lifecycle=")
            return found[0]
        if isinstance(lifecycle, str):
            return self.types.lifecycle(lifecycle)
        if lifecycle.name not in self.types.lifecycles:
            raise ValueError(f"lifecycle {lifecycle.name!r} is not one this receiver follows")
        return lifecycle

    # -- processing

    def _judge(self, row: ObjectRow, pending: Sequence[PendingRow]) -> Processed:
        lc = self.types.lifecycle(row.lifecycle)
        if row.tracker is not None:
            tracker = RunTracker.from_json(row.tracker, clock=None, lifecycle=lc)
        else:
            tracker = new_tracker(row.object_id, lc)
        names = lc.by_name()
        samples = [Sample(p.key, names[p.state], p.at) for p in pending]
        timeline_at, judged, entered = apply(tracker, row.timeline_at, samples)
        deadline = row.deadline
        if deadline is None and timeline_at is not None:
            deadline = timeline_at + self.overdue_after
        terminal = tracker.is_terminal
        due = None if terminal else (row.due_at if row.due_at is not None else deadline)
        if self.fill and any(j.verdict.value == "applied" and not j.sample.key.startswith("poll:") for j in judged):
            self._to_fill.add(row.object_id)
        return Processed(
            tracker=tracker.to_json(),
            state=tracker.state.name,
            terminal=terminal,
            timeline_at=timeline_at,
            deadline=deadline,
            due_at=due,
            verdicts=[(j.sample.key, j.verdict.value, j.index) for j in judged],
            entered=[(e.index, e.state.name, e.previous.name, e.inferred, e.key, e.at) for e in entered],
        )

    def drain(self, *, limit: int = 200) -> int:
        """Apply every queued sample and fire the callbacks due; return how many samples were applied."""
        total = 0
        while True:
            n = self.store.process(self._judge, now=self.clock(), limit=limit)
            total += n
            if n < limit:
                break
        if self._fill():  # the retrieved objects were queued as polls
            total += self.store.process(self._judge, now=self.clock(), limit=limit)
        self._fire()
        return total

    def _fill(self) -> int:
        todo, self._to_fill = self._to_fill, set()
        if self.retrieve is None:
            return 0
        for object_id in sorted(todo):
            try:
                obj = self.retrieve(object_id)
            except Exception as err:  # noqa: BLE001 - the webhook's status stands; the fields stay unfilled
                logger.warning("object %s: retrieving it to fill its fields failed: %s", object_id, err)
                continue
            data = read_object(obj)
            self.store.set_fields(object_id, json.dumps(data, separators=(",", ":"), default=str))
            self.observe_polled(data, lifecycle=self._stored_lifecycle(object_id))
        return len(todo)

    def _stored_lifecycle(self, object_id: str) -> str | None:
        found = self.store.object(object_id)
        return found.get("lifecycle") if found is not None else None

    def _mark(self) -> None:
        """Record the callbacks that ran; on a locked store, what is left is retried before anything is claimed."""
        if self._ran:
            self.store.mark_fired(list(self._ran), now=self.clock())
            self._ran.clear()

    def _fire(self) -> None:
        with self._fire_lock:
            self._mark()
            while self._fire_round():
                pass

    def _fire_round(self) -> bool:
        rows = self.store.claim_entered(self.owner, now=self.clock(), lease=self.callback_lease)
        if not rows:
            return False
        for row in rows:
            lc = self.types.lifecycle(row.lifecycle)
            names = lc.by_name()
            entered = Entered(
                object_id=row.object_id,
                lifecycle=row.lifecycle,
                state=names[row.state],
                previous=names[row.previous],
                inferred=row.inferred,
                key=row.key,
                at=row.at,
                index=row.index,
            )
            callbacks = (*self._callbacks.get((row.lifecycle, row.state), ()), *self._any)
            errors: list[str] = []
            for callback in callbacks:
                try:
                    callback(entered)
                except Exception as err:
                    logger.exception("callback %r for %s entering %s raised", callback, row.object_id, row.state)
                    errors.append(f"{type(err).__name__}: {err}")
            self._ran.append((row, "; ".join(errors) or None))
            if callbacks:  # marked at once: a crash re-runs at most this one; rows with no callback share a commit
                self._mark()
        self._mark()
        return True

    # -- the worker thread

    def start(self) -> Receiver:
        """Start the worker thread that applies queued samples after each answer (idempotent); returns self."""
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._stop.clear()
                self._worker = threading.Thread(target=self._work, name="runfsm-webhooks", daemon=True)
                self._worker.start()
        return self

    def _work(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.drain()
            except sqlite3.OperationalError as err:  # the store stayed locked: try again on the next round
                logger.warning("webhook worker: store busy (%s); retrying", err)
            except Exception:  # the worker must outlive one bad round; it is logged, and retried next round
                logger.exception("webhook worker: processing failed; retrying")
            self._wake.wait(self.idle_wait)  # also picks up what other processes queued

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the worker thread after its current round (idempotent). Queued samples stay queued in the store."""
        with self._worker_lock:
            worker, self._worker = self._worker, None
        self._stop.set()
        self._wake.set()
        if worker is not None:
            worker.join(timeout)

    def close(self) -> None:
        """Stop the worker and close the store."""
        self.stop()
        self.store.close()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def asgi(self, *, path: str = "/") -> Any:
        """An ASGI application serving this receiver (see :func:`runfsm.webhooks.app.asgi_app`)."""
        from runfsm.webhooks.app import asgi_app  # noqa: PLC0415

        return asgi_app(self, path=path)
