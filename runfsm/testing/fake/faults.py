"""Fault injection for the fake: :class:`Fault`, and the methods that queue faults for the next requests."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from runfsm.testing.fake.wire import FakeResponse, Route, error_response

if TYPE_CHECKING:
    import threading

__all__ = ["CREATE_ROUTES", "Fault", "FaultInjection", "ObjectKind"]

ObjectKind = Literal["run", "response", "batch"]
"""The objects the fake creates, by lifecycle preset key: what :attr:`Fault.next_object` names."""

CREATE_ROUTES: dict[ObjectKind, Route] = {"run": "create_run", "response": "create_response", "batch": "create_batch"}
"""The route that creates each kind of object."""


@dataclass(slots=True)
class Fault:
    """A fault to inject into the next matching requests (see :meth:`FakeAssistants.inject`).

    ``kind``: ``"status"`` answers ``status_code`` with the API's error body (429 carries
    ``retry-after`` / ``retry-after-ms`` when given); ``"drop"`` closes the connection with no
    complete answer (``processed=True``: after the request took effect, as when a response is
    lost on the way back); ``"slow"`` lets ``seconds`` of virtual time pass (and
    ``real_seconds`` of real time, for client timeout tests) before answering normally;
    ``"garble"`` answers normally but with ``status`` in place of the run's status (a status
    the client does not know); ``"cut"`` ends an SSE stream after ``events`` events, with no
    ``done`` (a stream broken on the way).

    Which requests: those on ``route`` (None: any kind of request) about ``run_id`` (a run's,
    a background response's or a batch's id; None: any object, or none), the next ``times`` of
    them. ``next_object`` ties the fault to the next object of that lifecycle the client creates
    (``"run"``, ``"response"``, ``"batch"``), whatever its id: its create request
    (``create_run``, ``create_response``, ``create_batch``) and every request about it
    afterwards; ``next_run=True`` is ``next_object="run"``. A fault lives on the fake it was
    injected into, so a fresh fake per example (:func:`runfsm.testing.examples.fake_apis`)
    means no fault outlives its example.
    """

    kind: Literal["status", "drop", "slow", "garble", "cut"]
    route: Route | None = None
    run_id: str | None = None
    times: int = 1
    status_code: int = 500
    retry_after: float | None = None
    retry_after_ms: int | None = None
    seconds: float = 0.0
    real_seconds: float = 0.0
    processed: bool = False
    status: str = ""
    events: int = 0
    next_run: bool = False
    next_object: ObjectKind | None = None

    def __post_init__(self) -> None:
        if self.next_object is not None and self.next_object not in CREATE_ROUTES:
            raise ValueError(f"next_object must be one of {', '.join(CREATE_ROUTES)}, got {self.next_object!r}")
        if self.next_run:
            if self.next_object not in (None, "run"):
                raise ValueError(f"next_run=True ties the fault to a run, not to next_object={self.next_object!r}")
            self.next_object = "run"
        elif self.next_object == "run":
            self.next_run = True

    def matches(self, route: Route, run_id: str | None) -> bool:
        """True if this fault applies to a request on ``route`` about ``run_id``."""
        if self.times <= 0 or (self.route is not None and self.route != route):
            return False
        if self.next_object is not None and self.run_id is None:  # not bound yet: only the create of that object
            return route == CREATE_ROUTES[self.next_object]
        return self.run_id is None or self.run_id == run_id

    def describe(self) -> str:
        """A short name for the story of a counterexample: ``429 (retry-after 2) on retrieve_run``."""
        if self.kind == "status":
            what = str(self.status_code)
            if self.retry_after is not None:
                what += f" (retry-after {self.retry_after:g})"
            if self.retry_after_ms is not None:
                what += f" (retry-after-ms {self.retry_after_ms})"
        elif self.kind == "drop":
            what = "dropped connection" + (" after the request took effect" if self.processed else "")
        elif self.kind == "slow":
            what = f"slow answer (+{self.seconds:g} s)"
        elif self.kind == "garble":
            what = f"status garbled to {self.status!r}"
        else:
            what = f"stream cut after {self.events} events"
        return f"{what} on {self.route or 'any request'}"


class FaultInjection:
    """The fault-injection half of :class:`~runfsm.testing.fake.api.FakeAssistants`: queue faults, take them."""

    _lock: threading.RLock
    _faults: list[Fault]

    def inject(self, fault: Fault) -> Fault:
        """Apply ``fault`` to the next ``fault.times`` matching requests."""
        if not isinstance(fault, Fault):
            raise TypeError(f"inject takes a Fault, got {fault!r}")
        if fault.times < 1:
            raise ValueError(f"Fault.times must be >= 1, got {fault.times}")
        with self._lock:
            self._faults.append(fault)
        return fault

    def fail_next(
        self,
        status_code: int = 500,
        *,
        route: Route | None = None,
        run_id: str | None = None,
        times: int = 1,
        retry_after: float | None = None,
        retry_after_ms: int | None = None,
        next_run: bool = False,
        next_object: ObjectKind | None = None,
    ) -> Fault:
        """Answer the next matching requests with ``status_code`` (429: a rate limit, 5xx: a server error)."""
        if not 400 <= status_code <= 599:
            raise ValueError(f"status_code must be an HTTP error status (400-599), got {status_code}")
        return self.inject(
            Fault(
                "status",
                route=route,
                run_id=run_id,
                times=times,
                status_code=status_code,
                retry_after=retry_after,
                retry_after_ms=retry_after_ms,
                next_run=next_run,
                next_object=next_object,
            )
        )

    def drop_next(
        self,
        *,
        route: Route | None = None,
        run_id: str | None = None,
        times: int = 1,
        processed: bool = False,
        next_run: bool = False,
        next_object: ObjectKind | None = None,
    ) -> Fault:
        """Close the connection on the next matching requests (``processed``: after they took effect)."""
        return self.inject(
            Fault(
                "drop",
                route=route,
                run_id=run_id,
                times=times,
                processed=processed,
                next_run=next_run,
                next_object=next_object,
            )
        )

    def slow_next(
        self,
        seconds: float,
        *,
        route: Route | None = None,
        run_id: str | None = None,
        times: int = 1,
        real_seconds: float = 0.0,
        next_run: bool = False,
        next_object: ObjectKind | None = None,
    ) -> Fault:
        """Let ``seconds`` of virtual time (and ``real_seconds`` of real time) pass before answering."""
        if seconds < 0 or real_seconds < 0 or not math.isfinite(seconds) or not math.isfinite(real_seconds):
            raise ValueError("slow_next takes finite seconds >= 0")
        return self.inject(
            Fault(
                "slow",
                route=route,
                run_id=run_id,
                times=times,
                seconds=seconds,
                real_seconds=real_seconds,
                next_run=next_run,
                next_object=next_object,
            )
        )

    def garble_next(
        self,
        status: str,
        *,
        route: Route | None = "retrieve_run",
        run_id: str | None = None,
        times: int = 1,
        next_run: bool = False,
        next_object: ObjectKind | None = None,
    ) -> Fault:
        """Answer the next matching object answers with ``"status": status`` (e.g. a status no client knows).

        ``route`` is ``retrieve_run`` by default; ``retrieve_response`` or ``retrieve_batch`` garble the
        other lifecycles' objects.
        """
        return self.inject(
            Fault(
                "garble",
                route=route,
                run_id=run_id,
                times=times,
                status=status,
                next_run=next_run,
                next_object=next_object,
            )
        )

    def cut_stream_next(
        self, *, events: int = 1, route: Route | None = "create_run", run_id: str | None = None, times: int = 1
    ) -> Fault:
        """End the next matching SSE streams after ``events`` events, without ``done`` (the run goes on).

        ``route="create_response"`` or ``"retrieve_response"`` cut a background response's stream
        (it goes on too: resume it with ``starting_after``).
        """
        if events < 0:
            raise ValueError(f"cut_stream_next takes events >= 0, got {events}")
        return self.inject(Fault("cut", route=route, run_id=run_id, times=times, events=events))

    def pending_faults(self) -> list[Fault]:
        """Faults injected and not used up yet."""
        with self._lock:
            return list(self._faults)

    def _take_fault(self, route: Route, run_id: str | None) -> Fault | None:
        for fault in self._faults:
            if fault.matches(route, run_id):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _bind_next(self, kind: ObjectKind, object_id: str) -> None:
        """An object of ``kind`` was created: faults waiting for the next one now target it."""
        for fault in self._faults:
            if fault.next_object == kind and fault.run_id is None:
                fault.run_id = object_id


def status_fault(fault: Fault) -> FakeResponse:
    if fault.status_code == 429:
        response = error_response(
            429, "Rate limit reached for requests (runfsm fake). Please try again later.", type="requests"
        )
    elif fault.status_code >= 500:
        response = error_response(
            fault.status_code,
            "The server had an error while processing your request. Sorry about that!",
            type="server_error",
        )
    else:
        response = error_response(fault.status_code, f"runfsm fake: injected {fault.status_code}")
    if fault.retry_after is not None:
        response.headers["retry-after"] = f"{fault.retry_after:g}"
    if fault.retry_after_ms is not None:
        response.headers["retry-after-ms"] = str(fault.retry_after_ms)
    return response
