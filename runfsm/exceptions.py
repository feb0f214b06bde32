"""Every exception runfsm raises, under one root.

The tree::

    RunfsmError
    ├── UnknownStatus (also ValueError)       a status runfsm does not know
    ├── NotARunStatus (also ValueError)       a run-step, message or thread event, not a run status
    ├── WrongRun (also ValueError)            a tracker was fed another run's object
    ├── LifecycleError (also ValueError)      a lifecycle declaration that is not consistent
    ├── IllegalTransition                     an observed jump the lifecycle forbids
    │   └── MissingClientCall                 a jump that needs a client call nobody recorded
    ├── CallbackError                         a user's on-enter callback raised
    ├── InputError (also ValueError)          unusable input: names the source, the line and what was expected
    ├── SavedTrackerError (also ValueError)   a saved tracker that is malformed or inconsistent: names the field
    ├── DiagramError                          a diagram could not be drawn
    │   └── GraphvizMissing (also RuntimeError)   SVG/PNG asked for, Graphviz (package or `dot`) not installed
    ├── ScriptError (also ValueError)         testing kit: a scripted run history the fake API cannot play
    ├── ApiError                              one request to the API failed (kind, status code, retry-after)
    ├── WebhookRejected (also ValueError)     a webhook delivery refused before it changed anything
    │   ├── BadSignature                      no valid signature, or a timestamp too old or too new
    │   └── MalformedWebhook                  the body is not a webhook event (names what is wrong)
    └── WatchError                            following a run ended without a result: in runfsm.following.errors,
                                              above the tracker it carries (run id, thread id, tracker)
        ├── WatchTimeout (also TimeoutError)  the deadline passed while the run could still change
        ├── UnexpectedRunStatus (also ValueError)  the API returned a status runfsm does not know
        ├── ToolOutputsRejected               the API refused the tool outputs and the run did not end
        ├── RequestsFailed                    too many failed requests in a row (the last ApiError is the cause)
        ├── SubmitInDoubt                     a submit's answer was lost and the run steps could not tell if it applied
        └── HandlerFailed                     the tool handler raised, returned no tool outputs, or its future failed
            └── HandlerTimeout (also TimeoutError)  the handler's future did not complete in time

Catch ``RunfsmError`` for everything, or the builtin base where one is listed.
``transitions.MachineError`` never escapes runfsm: it is translated at the boundary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from runfsm.vocabulary import LifecycleState, Trigger

__all__ = [
    "ApiError",
    "BadSignature",
    "CallbackError",
    "DiagramError",
    "EngineError",
    "GraphvizMissing",
    "IllegalTransition",
    "InputError",
    "LifecycleError",
    "MalformedWebhook",
    "MissingClientCall",
    "NotARunStatus",
    "RunfsmError",
    "SavedTrackerError",
    "ScriptError",
    "UnknownStatus",
    "WebhookRejected",
    "WrongRun",
]


class RunfsmError(Exception):
    """The root of every error runfsm raises."""


class UnknownStatus(RunfsmError, ValueError):
    """A value that names no known status.

    ``value`` is what was given; ``known`` lists the accepted spellings' canonical forms.
    """

    def __init__(self, value: object, known: Iterable[str], *, where: str | None = None) -> None:
        self.value = value
        self.known = tuple(known)
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(
            f"{prefix}unknown run status {value!r}; expected one of {', '.join(self.known)} "
            "(wire value, member name, ordinal 0-10 or stream event name)"
        )


class NotARunStatus(RunfsmError, ValueError):
    """An event that carries no run status: run steps, messages, threads, errors, ``done``."""

    def __init__(self, event: str) -> None:
        self.event = event
        super().__init__(
            f"{event!r} is not a run status event: run-step, message and thread events "
            "describe other objects; only 'thread.run.*' events change a run's status"
        )


class WrongRun(RunfsmError, ValueError):
    """A tracker following one run was given an object of another run."""

    def __init__(self, expected: str, got: str) -> None:
        self.expected = expected
        self.got = got
        super().__init__(f"this tracker follows run {expected!r} but was given run {got!r}")


class LifecycleError(RunfsmError, ValueError):
    """A lifecycle declaration that contradicts itself (an edge out of a terminal state, ...)."""


class IllegalTransition(RunfsmError):
    """An observed jump the lifecycle does not allow.

    Carries the run id, the state the run was in (``source``), the observed status
    (``target``), the observation's position in the run's history (``index``), the
    observation mode and the statuses that would have been accepted (``allowed``).
    """

    def __init__(
        self,
        *,
        run_id: str | None,
        source: LifecycleState,
        target: LifecycleState,
        index: int,
        mode: str,
        allowed: Sequence[LifecycleState],
        reason: str = "",
    ) -> None:
        self.run_id = run_id
        self.source = source
        self.target = target
        self.index = index
        self.mode = mode
        self.allowed = tuple(allowed)
        self.reason = reason
        names = ", ".join(s.label for s in self.allowed) or "nothing (terminal)"
        run = run_id if run_id is not None else "<unnamed run>"
        extra = f"; {reason}" if reason else ""
        super().__init__(
            f"run {run}: illegal jump {source.label} -> {target.label} at observation {index} "
            f"({mode} mode); allowed from {source.label}: {names}{extra}"
        )


class MissingClientCall(IllegalTransition):
    """A polled jump that only a client call (submit tool outputs, cancel) explains, and none was recorded."""

    def __init__(
        self,
        *,
        run_id: str | None,
        source: LifecycleState,
        target: LifecycleState,
        index: int,
        mode: str,
        allowed: Sequence[LifecycleState],
        missing: Sequence[Trigger],
    ) -> None:
        self.missing = tuple(missing)
        calls = " and ".join(t.value for t in self.missing)
        super().__init__(
            run_id=run_id,
            source=source,
            target=target,
            index=index,
            mode=mode,
            allowed=allowed,
            reason=f"explained only by a {calls} call that was not recorded",
        )


class CallbackError(RunfsmError):
    """One or more on-enter callbacks raised.

    The tracker's state and history were already updated when the callbacks ran; the
    first exception is the ``__cause__``, all of them are in ``errors``.
    """

    def __init__(self, errors: Sequence[BaseException]) -> None:
        self.errors = tuple(errors)
        first = self.errors[0]
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"an on-enter callback raised {type(first).__name__}: {first}{more}")


class InputError(RunfsmError, ValueError):
    """Input that cannot be used, located precisely: source name, 1-based line, what was expected."""

    def __init__(self, message: str, *, source: str = "<input>", line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.detail = message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


class SavedTrackerError(RunfsmError, ValueError):
    """A saved tracker (``RunTracker.from_json`` / ``from_dict``) that is malformed or contradicts itself.

    ``field`` names where, as a path into the document (``"history[12].state"``, ``"pending_calls"``;
    ``"<document>"`` for the whole text); ``detail`` says what was expected.
    """

    def __init__(self, message: str, *, field: str) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"saved tracker: {field}: {message}")


# ----------------------------------------------------------------------------- engines (issue 12)


class EngineError(RunfsmError, RuntimeError):
    """An engine could not do its work: Spark could not be started or reached at the master given."""


# ----------------------------------------------------------------------------- diagrams (issue 4)


class DiagramError(RunfsmError):
    """A diagram could not be drawn (Graphviz failed, or the overlay names a run that is not there)."""


class GraphvizMissing(DiagramError, RuntimeError):
    """SVG or PNG was asked for and Graphviz is missing; the message says what to install.

    ``what`` is ``"package"`` (the ``graphviz`` Python package: ``pip install 'runfsm[diagrams]'``)
    or ``"program"`` (the ``dot`` executable: ``apt-get install graphviz``). Mermaid and DOT
    output need neither.
    """

    def __init__(self, message: str, *, what: str) -> None:
        self.what = what
        super().__init__(f"{message} (Mermaid and DOT output need nothing installed)")


# -- testing kit (runfsm.testing.fake, runfsm.testing.strategies) ----------------------------------------------


class ScriptError(RunfsmError, ValueError):
    """A scripted run history the fake Assistants API cannot play (an illegal step, a bad duration).

    ``index`` is the position of the offending step in the script (None when the whole
    script is at fault).
    """

    def __init__(self, message: str, *, index: int | None = None) -> None:
        self.index = index
        self.detail = message
        where = f"script step {index}: " if index is not None else "script: "
        super().__init__(where + message)


# ----------------------------------------------------------------------------- following runs (watcher, scheduler)


class ApiError(RunfsmError):
    """One request to the Assistants API failed.

    ``kind`` is one of ``"rate_limited"`` (429), ``"server_error"`` (5xx), ``"timeout"``,
    ``"connection"`` (refused, dropped, broken stream) and ``"rejected"`` (any other 4xx);
    ``retry_after`` is the server's ``retry-after-ms`` / ``retry-after`` in seconds, if given.
    """

    TRANSIENT: frozenset[str] = frozenset({"rate_limited", "server_error", "timeout", "connection"})

    def __init__(
        self, message: str, *, kind: str, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        self.kind = kind
        self.status_code = status_code
        self.retry_after = retry_after
        self.message = message
        code = f" {status_code}" if status_code is not None else ""
        wait = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
        super().__init__(f"{kind}{code}: {message}{wait}")

    @property
    def transient(self) -> bool:
        """True if retrying the same request later may succeed."""
        return self.kind in self.TRANSIENT


class WebhookRejected(RunfsmError, ValueError):
    """A webhook delivery the receiver refuses (answered 4xx); nothing was stored."""


class BadSignature(WebhookRejected):
    """The delivery has no valid Standard Webhooks signature, or its timestamp is too old or too new."""


class MalformedWebhook(WebhookRejected):
    """The body is not a webhook event: not JSON, or a field missing or of the wrong type (the message says which)."""
