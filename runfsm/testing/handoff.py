"""Run a blocking client function one stretch at a time: the stateful machine's hand-off between two threads.

The client runs in a thread of its own; at each request it makes (the fake's ``before_request``
hook) and each sleep it hands control back to the machine, which runs its rules and then lets
the client go on. Its sleeps end once the machine's virtual time has passed them.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from runfsm.testing.fake import VirtualClock

__all__ = ["HANDOFF_TIMEOUT_S", "Abandoned", "Handoff"]

HANDOFF_TIMEOUT_S = 30.0
"""Real seconds a client may run between two requests or sleeps."""


class Abandoned(BaseException):
    """Raised in a blocking client's thread when the machine's example is over."""


class Handoff:
    """Runs a blocking client function in its own thread, one stretch (up to its next request or sleep) per call."""

    def __init__(self, target: Callable[[], object], clock: VirtualClock) -> None:
        self._target = target
        self._clock = clock
        self._client_turn = threading.Semaphore(0)
        self._machine_turn = threading.Semaphore(0)
        self._thread: threading.Thread | None = None
        self._abandon = False
        self.finished = False
        self.result: object = None
        self.error: BaseException | None = None

    def _body(self) -> None:
        try:
            self._client_turn.acquire()
            if not self._abandon:
                self.result = self._target()
        except Abandoned:
            pass
        except BaseException as err:  # noqa: BLE001 - the client's exception, re-raised by the machine's step
            self.error = err
        finally:
            self.finished = True
            self._machine_turn.release()

    def in_client(self) -> bool:
        """True in the client's own thread."""
        return threading.current_thread() is self._thread

    def pause(self) -> None:
        """In the client's thread: hand control to the machine until its next client step."""
        self._machine_turn.release()
        self._client_turn.acquire()
        if self._abandon:
            raise Abandoned

    def sleep(self, seconds: float) -> None:
        """The client's sleep: returns once the machine's virtual time passed ``seconds`` (at least one step)."""
        wake = self._clock.now() + seconds
        self.pause()
        self._clock.advance_to(wake)

    def step(self) -> None:
        """In the machine: let the client run its next stretch."""
        if self.finished:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._body, name="runfsm-machine-client", daemon=True)
            self._thread.start()
        self._client_turn.release()
        if not self._machine_turn.acquire(timeout=HANDOFF_TIMEOUT_S):
            raise AssertionError(f"the client ran {HANDOFF_TIMEOUT_S:g} real seconds without a request or a sleep")

    def close(self) -> None:
        """Stop a client still running (its next request or sleep raises :class:`Abandoned`) and join it."""
        if self._thread is not None and not self.finished:
            self._abandon = True
            self._client_turn.release()
            self._thread.join(timeout=HANDOFF_TIMEOUT_S)
