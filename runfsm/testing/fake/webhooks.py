"""The fake's webhook sender: signed Standard Webhooks deliveries to a loopback URL, with delivery faults.

OpenAI delivers each event at least once, in no guaranteed order, retrying a non-2xx answer
with backoff; the ``webhook-id`` stays the same across retries, the timestamp and the signature
change per attempt. :class:`WebhookSender` does the same on a small scale, and injects the
faults a receiver must survive (:class:`DeliveryFaults`):

- ``duplicate``: an event is delivered again after it was acknowledged;
- ``reorder``: the events go out shuffled, not in the order they happened;
- ``delay``: each attempt waits a random real delay first (deliveries overlap and cross);
- ``lose``: an attempt never reaches the receiver (a dropped connection), and is retried;
- ``lose_ack``: the receiver got it, the answer is lost: the sender retries what was stored;
- ``bad_signature``: an attempt is signed with the wrong key (the receiver must refuse it), then retried.

:meth:`WebhookSender.events_of` reads the fake's background responses and batches
(``FakeAssistants.background``) and gives one ``(event type, object)`` pair per object that has
reached a status with a webhook, each object once: ``sender.send(sender.deliveries_of(fake))``
delivers what happened since the last call.

Any non-2xx answer (a 5xx, a 401 for a bad signature) is retried after a backoff, up to
``max_attempts``; every attempt is recorded in the :class:`DeliveryReport`. Loops are bounded by
the attempts and by ``deadline`` seconds; nothing leaves loopback.

>>> WebhookSender("http://example.com/hooks", "whsec_a2V5")
Traceback (most recent call last):
  ...
ValueError: the fake sends webhooks to loopback only (127.0.0.1, ::1, localhost), got 'example.com'
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx2

if TYPE_CHECKING:
    from runfsm.testing.fake.api import FakeAssistants

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "TEST_SECRET",
    "Attempt",
    "Delivery",
    "DeliveryFaults",
    "DeliveryReport",
    "WebhookSender",
    "event_body",
    "sign",
    "signed_event",
]

TEST_SECRET = "whsec_cnVuZnNtLXRlc3Qtd2ViaG9vay1zZWNyZXQtMzJiISE="
"""A fixed endpoint secret for tests (the ``whsec_`` form OpenAI shows; base64 of 32 bytes)."""

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _probability(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"DeliveryFaults.{name} must be a probability in [0, 1], got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class DeliveryFaults:
    """What goes wrong, per event or per attempt (probabilities), and the random real delay per attempt."""

    duplicate: float = 0.0
    reorder: bool = False
    delay: tuple[float, float] = (0.0, 0.0)
    lose: float = 0.0
    lose_ack: float = 0.0
    bad_signature: float = 0.0

    def __post_init__(self) -> None:
        for name in ("duplicate", "lose", "lose_ack", "bad_signature"):
            _probability(name, getattr(self, name))
        low, high = self.delay
        if not 0.0 <= low <= high:
            raise ValueError(
                f"DeliveryFaults.delay must be (low, high) seconds with 0 <= low <= high, got {self.delay}"
            )


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to deliver: its ``webhook-id`` and the body (the same bytes on every attempt)."""

    webhook_id: str
    type: str
    object_id: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt: what was sent and what came back (``status`` None: lost before the receiver)."""

    webhook_id: str
    number: int
    status: int | None
    fault: str | None
    """``lose``, ``lose_ack``, ``bad_signature`` or ``duplicate`` when one was injected."""


@dataclass(slots=True)
class DeliveryReport:
    """Every attempt, and which events were acknowledged (by a 2xx the sender saw)."""

    attempts: list[Attempt] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)
    given_up: set[str] = field(default_factory=set)

    def statuses(self) -> dict[int | None, int]:
        """Attempts by answer status (None: lost)."""
        out: dict[int | None, int] = {}
        for a in self.attempts:
            out[a.status] = out.get(a.status, 0) + 1
        return out

    def faults(self) -> dict[str, int]:
        """Injected faults by kind."""
        out: dict[str, int] = {}
        for a in self.attempts:
            if a.fault is not None:
                out[a.fault] = out.get(a.fault, 0) + 1
        return out


def sign(secret: str, webhook_id: str, timestamp: float, body: bytes | str) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt, signed by the ``standardwebhooks`` package."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from standardwebhooks.webhooks import Webhook  # noqa: PLC0415

    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": Webhook(secret).sign(webhook_id, datetime.fromtimestamp(int(timestamp), tz=UTC), text),
    }


def signed_event(
    webhook_id: str,
    event_type: str,
    object_id: str,
    created_at: float,
    *,
    secret: str = TEST_SECRET,
    timestamp: float | None = None,
) -> tuple[dict[str, str], bytes]:
    """The headers and body of one signed delivery, as OpenAI sends it (``timestamp`` defaults to now)."""
    body = event_body(f"evt_{webhook_id}", event_type, object_id, created_at)
    return sign(secret, webhook_id, time.time() if timestamp is None else timestamp, body), body


def event_body(event_id: str, event_type: str, object_id: str, created_at: float) -> bytes:
    """The thin OpenAI event body: ``{"id", "object": "event", "type", "created_at", "data": {"id"}}``."""
    body = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created_at": int(created_at),
        "data": {"id": object_id},
    }
    return json.dumps(body, separators=(",", ":")).encode()


class WebhookSender:
    """Delivers signed events to ``url`` (loopback only) with :class:`DeliveryFaults`; seeded, bounded."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        faults: DeliveryFaults | None = None,
        seed: int = 0,
        max_attempts: int = 10,
        backoff: tuple[float, float] = (0.01, 0.2),
        workers: int = 8,
        timeout: float = 5.0,
        deadline: float = 60.0,
    ) -> None:
        host = urlsplit(url).hostname
        if host not in _LOOPBACK:
            raise ValueError(f"the fake sends webhooks to loopback only (127.0.0.1, ::1, localhost), got {host!r}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts!r}")
        self.url = url
        self.secret = secret
        self.faults = faults if faults is not None else DeliveryFaults()
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.workers = workers
        self.timeout = timeout
        self.deadline = deadline
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._announced: set[str] = set()
        self._wrong_secret = "whsec_" + "d3Jvbmcta2V5LW5vdC10aGUtZW5kcG9pbnQncw=="  # base64 of another key

    def __repr__(self) -> str:
        return f"<WebhookSender {self.url} {self.faults}>"

    def delivery(self, event_type: str, obj: Mapping[str, Any], *, created_at: float | None = None) -> Delivery:
        """The delivery announcing ``obj`` (a response or batch object) with ``event_type``.

        ``created_at`` defaults to the object's ``<status>_at`` field, else its ``created_at``.
        """
        object_id = str(obj["id"])
        status = obj.get("status")
        when = created_at
        if when is None:
            stamp = obj.get(f"{status}_at") if isinstance(status, str) else None
            when = float(stamp) if isinstance(stamp, (int, float)) else float(obj.get("created_at") or 0)
        n = next(self._ids)
        return Delivery(
            f"msg_fake_{n:06d}", event_type, object_id, event_body(f"evt_fake_{n:06d}", event_type, object_id, when)
        )

    def _announce(self, fake: FakeAssistants) -> list[tuple[str, dict[str, Any], float]]:
        background = fake.background
        now = fake.clock.now()
        found: list[tuple[str, dict[str, Any], float]] = []
        for object_id, obj in sorted(background.objects.items()):
            if object_id in self._announced:
                continue
            status = background.status(object_id)
            event_type = next((name for name, state in obj.lifecycle.webhooks.items() if state is status), None)
            if event_type is None:
                continue
            self._announced.add(object_id)
            body = background.response(obj) if obj.lifecycle.object_type == "response" else background.batch(obj)
            found.append((event_type, body, obj.steps[obj.at(now)][1]))
        return found

    def events_of(self, fake: FakeAssistants) -> list[tuple[str, dict[str, Any]]]:
        """One ``(event type, object JSON)`` per background response or batch of ``fake`` whose status has a webhook.

        The status is the one the object is in by the fake's clock; each object is given once across calls.
        """
        return [(event_type, body) for event_type, body, _ in self._announce(fake)]

    def deliveries_of(self, fake: FakeAssistants) -> list[Delivery]:
        """The deliveries of what :meth:`events_of` finds, each event dated when its object entered the status."""
        return [self.delivery(kind, body, created_at=at) for kind, body, at in self._announce(fake)]

    def _chance(self, p: float) -> bool:
        with self._lock:
            return p > 0 and self._rng.random() < p

    def _uniform(self, low: float, high: float) -> float:
        with self._lock:
            return self._rng.uniform(low, high) if high > low else low

    def send(self, deliveries: Iterable[Delivery]) -> DeliveryReport:
        """Deliver every event (faults included) until each is acknowledged or out of attempts."""
        todo = list(deliveries)
        if self.faults.reorder:
            with self._lock:
                self._rng.shuffle(todo)
        report = DeliveryReport()
        start = time.monotonic()
        # (due, order, delivery, attempt number, is a duplicate)
        queue: list[tuple[float, int, Delivery, int, bool]] = []
        order = itertools.count()
        for d in todo:
            heapq.heappush(queue, (start, next(order), d, 1, False))
        pending: set[Any] = set()
        with httpx2.Client(timeout=self.timeout) as client, ThreadPoolExecutor(self.workers) as pool:
            while queue or pending:
                if time.monotonic() - start > self.deadline:
                    report.given_up.update(d.webhook_id for _, _, d, _, _ in queue)
                    break
                now = time.monotonic()
                while queue and queue[0][0] <= now and len(pending) < self.workers * 2:
                    _, _, d, number, copy = heapq.heappop(queue)
                    pending.add(pool.submit(self._attempt, client, d, number, copy))
                done = {f for f in pending if f.done()}
                pending -= done
                for f in done:
                    attempt, d, copy = f.result()
                    report.attempts.append(attempt)
                    ok = attempt.status is not None and 200 <= attempt.status < 300 and attempt.fault != "lose_ack"
                    if ok:
                        if not copy:
                            report.acknowledged.add(d.webhook_id)
                            if self._chance(self.faults.duplicate):
                                due = time.monotonic() + self._uniform(0.0, 0.05)
                                heapq.heappush(queue, (due, next(order), d, attempt.number + 1, True))
                    elif attempt.number >= self.max_attempts:
                        if not copy:
                            report.given_up.add(d.webhook_id)
                    else:
                        low, high = self.backoff
                        wait = min(high, low * 2 ** (attempt.number - 1)) * self._uniform(0.5, 1.0)
                        heapq.heappush(queue, (time.monotonic() + wait, next(order), d, attempt.number + 1, copy))
                if not done:
                    time.sleep(0.001)  # real time: waiting for in-flight attempts
        return report

    def _attempt(self, client: httpx2.Client, d: Delivery, number: int, copy: bool) -> tuple[Attempt, Delivery, bool]:
        low, high = self.faults.delay
        if high > 0:
            time.sleep(self._uniform(low, high))  # real time: the injected delivery delay
        fault: str | None = "duplicate" if copy else None
        if self._chance(self.faults.lose):
            return Attempt(d.webhook_id, number, None, "lose"), d, copy
        secret = self.secret
        if self._chance(self.faults.bad_signature):
            secret, fault = self._wrong_secret, "bad_signature"
        headers = sign(secret, d.webhook_id, time.time(), d.body)
        headers["content-type"] = "application/json"
        try:
            answer = client.post(self.url, content=d.body, headers=headers)
        except httpx2.HTTPError:
            return Attempt(d.webhook_id, number, None, fault), d, copy
        if fault is None and self._chance(self.faults.lose_ack):
            fault = "lose_ack"
        return Attempt(d.webhook_id, number, answer.status_code, fault), d, copy
