"""The errors that end following a run: :class:`WatchError` and its kinds.

They live above the tracker they carry (a core module cannot import the tracker without an
import circle), and under the one root, :class:`~runfsm.exceptions.RunfsmError`; the tree
is drawn in :mod:`runfsm.exceptions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runfsm.exceptions import RunfsmError

if TYPE_CHECKING:
    from runfsm.tracker import RunTracker

__all__ = [
    "HandlerFailed",
    "HandlerTimeout",
    "RequestsFailed",
    "SubmitInDoubt",
    "ToolOutputsRejected",
    "UnexpectedRunStatus",
    "WatchError",
    "WatchTimeout",
]


class WatchError(RunfsmError):
    """Following an object ended without a result; ``run_id``, ``thread_id`` and ``tracker`` say where it stood.

    ``run_id`` is the followed object's id (a run's, a background response's, a batch's);
    ``thread_id`` is None for objects that have no thread. The object itself is not lost: resume
    with ``Watcher.poll(err.run_id, thread_id=err.thread_id, tracker=err.tracker)``.
    """

    def __init__(
        self, message: str, *, run_id: str | None, thread_id: str | None, tracker: RunTracker[Any] | None
    ) -> None:
        self.run_id = run_id
        self.thread_id = thread_id
        self.tracker = tracker
        state = f", last seen {tracker.state}" if tracker is not None else ""
        if thread_id is not None:
            where = f"run {run_id or '<not created>'} on thread {thread_id}"
        else:
            what = tracker.lifecycle.title.lower() if tracker is not None else "object"
            where = f"{what} {run_id or '<not created>'}"
        super().__init__(f"{where}{state}: {message}")


class WatchTimeout(WatchError, TimeoutError):
    """The deadline (the caller's, or the run's ``expires_at`` plus a grace period) passed first."""


class UnexpectedRunStatus(WatchError, ValueError):
    """The API returned a status runfsm does not know: the watch stops instead of looping on it."""


class ToolOutputsRejected(WatchError):
    """The API refused the tool outputs and the run was not found in a terminal status afterwards.

    The API's words are in the message: ``400 Runs in status "expired" do not accept tool outputs.``
    """


class RequestsFailed(WatchError):
    """Too many requests failed in a row (``RetryPolicy.max_consecutive``); the last ``ApiError`` is the cause."""


class HandlerFailed(WatchError):
    """The tool handler raised, returned something that is not a list of tool outputs, or its future failed.

    The handler's own exception is the ``__cause__``. The run is left as it was on the server
    (waiting for tool outputs until it expires): resume it, or cancel it, with its ``run_id``.
    """


class HandlerTimeout(HandlerFailed, TimeoutError):
    """The handler's future (or coroutine) did not complete within its timeout, or before the run's deadline."""


class SubmitInDoubt(WatchError):
    """A submit's answer was lost and runfsm could not tell whether the server applied it: the watch stops there.

    The run waits for tool outputs with the same call ids as the round just submitted. That is
    the same round (the submit never arrived: send it again) or the next round reusing the ids
    (the submit was applied: it needs new outputs), and the run object looks the same in both
    cases. runfsm lists the run's steps to tell them apart
    (:meth:`~runfsm.following.client.RunsAPI.list_run_steps`); this error means the listing
    failed (the last ``ApiError`` is the ``__cause__``) or did not settle it. Rather than guess,
    the watch ends: sending the outputs again could answer a new round with the last round's
    outputs, handing the run to the handler again could run its tools twice, and cancelling
    would throw the run away. The run is left as it is (waiting until it expires): look at
    its steps and answer it, or cancel it, with ``run_id`` and ``call_ids``.
    """

    def __init__(
        self,
        message: str,
        *,
        run_id: str | None,
        thread_id: str | None,
        tracker: RunTracker[Any] | None,
        call_ids: tuple[str, ...] = (),
    ) -> None:
        self.call_ids = call_ids
        super().__init__(message, run_id=run_id, thread_id=thread_id, tracker=tracker)
