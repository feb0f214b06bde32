"""The stream watch of a background response: created with background and stream, resumed after a drop, then polled.

``Watcher(client, lifecycle=RESPONSE_LIFECYCLE).watch(model=..., input=...)`` follows the
response through its SSE events with no retrieve. A stream that breaks after events is opened
again with ``starting_after`` the last ``sequence_number`` seen; one that breaks before giving
anything is not tried again: the watch goes on by polling. The real openai client talks to the fake.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm import RESPONSE_LIFECYCLE, ResponseStatus, RunTracker
from runfsm.following import AsyncWatcher, Watcher, WatchError
from runfsm.testing.fake import FakeAssistants, FakeAssistantsServer

SCRIPT: list[tuple[str, float]] = [("queued", 2), ("in_progress", 30), ("completed", 0)]


def watcher(fake: FakeAssistants) -> Watcher[ResponseStatus]:
    """A response watcher on the fake's virtual clock."""
    return Watcher(fake.client(), lifecycle=RESPONSE_LIFECYCLE, clock=fake.clock.now, sleep=fake.clock.sleep)


def statuses(result: Any) -> list[ResponseStatus]:
    """Every status the tracker was fed, in order (one per status event the watch read)."""
    return [o.status for o in result.tracker.history if o.status is not None]


UNCUT = [ResponseStatus.Queued, ResponseStatus.Queued, ResponseStatus.InProgress, ResponseStatus.Completed]
"""What one whole stream feeds: response.created (queued), response.queued, in_progress, completed."""


def test_a_streamed_response_needs_no_retrieve() -> None:
    """One create stream, every status from it, each state entered once, no retrieve."""
    fake = FakeAssistants()
    fake.background.queue(RESPONSE_LIFECYCLE, SCRIPT)
    tracker: RunTracker[ResponseStatus] = RunTracker(mode="stream", on_illegal="raise", lifecycle=RESPONSE_LIFECYCLE)
    entered: list[ResponseStatus] = []
    for state in ResponseStatus:
        tracker.on_enter(state, lambda event: entered.append(event.state))
    result = watcher(fake).watch(model="gpt-fake", input="hi", tracker=tracker)
    assert result.status is ResponseStatus.Completed
    assert entered == [ResponseStatus.Queued, ResponseStatus.InProgress, ResponseStatus.Completed]
    assert (result.streams, result.retrieves, result.fell_back) == (1, 0, False)
    assert [r.route for r in fake.requests] == ["create_response"]
    assert fake.requests[0].stream


def test_a_dropped_stream_is_resumed_after_the_last_sequence_number() -> None:
    """Cut after two events (numbers 0 and 1): reopened after number 1, so each event is read once; no retrieve."""
    fake = FakeAssistants()
    fake.background.queue(RESPONSE_LIFECYCLE, SCRIPT)
    fake.cut_stream_next(events=2, route="create_response")
    result = watcher(fake).watch(model="gpt-fake", input="hi")
    assert result.status is ResponseStatus.Completed
    assert statuses(result) == UNCUT  # from the start again would feed created and queued twice
    assert [(r.route, r.stream) for r in fake.requests] == [("create_response", True), ("retrieve_response", True)]
    assert (result.streams, result.retrieves, result.fell_back) == (2, 0, False)
    assert result.notes == ["stream ended (closed early); resuming after event 1"]
    assert result.tracker.violations == []


def test_a_resume_that_gives_nothing_falls_back_to_polling() -> None:
    """The resumed stream breaks at once: the watch polls on and ends where the server says."""
    fake = FakeAssistants()
    fake.background.queue(RESPONSE_LIFECYCLE, SCRIPT)
    fake.cut_stream_next(events=2, route="create_response")
    fake.cut_stream_next(events=0, route="retrieve_response")
    result = watcher(fake).watch(model="gpt-fake", input="hi")
    assert result.status is ResponseStatus.Completed
    assert result.fell_back
    assert (result.streams, result.retrieves) == (2, fake.count("retrieve_response") - 1)
    assert result.retrieves >= 1


def test_a_create_answered_429_is_sent_again_and_others_are_not() -> None:
    """A 429 on the create means nothing was created: sent again. A drop may have created it: a clear error."""
    fake = FakeAssistants()
    fake.fail_next(429, retry_after=3, route="create_response")
    result = watcher(fake).watch(model="gpt-fake", input="hi")
    assert result.status is ResponseStatus.Completed
    creates = [r for r in fake.requests if r.route == "create_response"]
    assert [r.fault for r in creates] == ["429", None]
    assert creates[1].at - creates[0].at >= 3
    fake.drop_next(route="create_response")
    with pytest.raises(WatchError, match="may exist; not creating another"):
        watcher(fake).watch(model="gpt-fake", input="hi")


def test_create_parameters_are_checked() -> None:
    """``background`` and ``stream`` are the watch's; a run's thread and assistant are refused with a clear error."""
    fake = FakeAssistants()
    with pytest.raises(ValueError, match="background=True"):
        watcher(fake).watch(model="gpt-fake", input="hi", background=False)
    with pytest.raises(TypeError, match="no thread or assistant"):
        watcher(fake).watch("thread_1", assistant_id="asst_1")


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(0, 4), max_size=3), seconds=st.floats(0.5, 120))
def test_the_async_twin_watches_alike(cuts: list[int], seconds: float) -> None:
    """Same script, same cuts: the twins open the same streams, resume at the same numbers and end alike."""

    def prepare() -> FakeAssistants:
        fake = FakeAssistants()
        fake.background.queue(RESPONSE_LIFECYCLE, [("queued", 1), ("in_progress", seconds), ("completed", 0)])
        for events in cuts:
            fake.cut_stream_next(events=events, route=None)
        return fake

    def log(fake: FakeAssistants) -> list[tuple[str, float, bool]]:
        return [(r.route, round(r.at, 6), r.stream) for r in fake.requests]

    def outcome(result: Any) -> tuple[Any, ...]:
        return (result.status, result.streams, result.retrieves, statuses(result), result.notes)

    fake = prepare()
    try:
        done: tuple[Any, ...] = outcome(watcher(fake).watch(model="gpt-fake", input="hi"))
    except WatchError as err:  # a create stream cut before its first event: the response may exist
        done = (str(err),)
    twin_fake = prepare()
    twin = AsyncWatcher(
        twin_fake.async_client(),
        lifecycle=RESPONSE_LIFECYCLE,
        clock=twin_fake.clock.now,
        sleep=twin_fake.clock.async_sleep,
    )
    try:
        twin_done: tuple[Any, ...] = outcome(asyncio.run(twin.watch(model="gpt-fake", input="hi")))
    except WatchError as err:
        twin_done = (str(err),)
    assert log(twin_fake) == log(fake)
    assert twin_done == done
    assert done[0] is ResponseStatus.Completed or cuts[0] == 0


def test_over_loopback_http_a_cut_stream_is_resumed_sync_and_async() -> None:
    """Over real HTTP (SSE on 127.0.0.1): a stream cut after two events is resumed, by both twins."""
    with FakeAssistantsServer() as server:
        with server.client(max_retries=0) as client:
            server.background.queue(RESPONSE_LIFECYCLE, SCRIPT)
            server.cut_stream_next(events=2, route="create_response")
            watcher = Watcher(client, lifecycle=RESPONSE_LIFECYCLE, clock=server.clock.now, sleep=server.clock.sleep)
            done = watcher.watch(model="gpt-fake", input="hi")

        async def follow() -> Any:
            async with server.async_client(max_retries=0) as aclient:
                server.background.queue(RESPONSE_LIFECYCLE, SCRIPT)
                server.cut_stream_next(events=2, route="create_response")
                twin = AsyncWatcher(
                    aclient, lifecycle=RESPONSE_LIFECYCLE, clock=server.clock.now, sleep=server.clock.async_sleep
                )
                return await twin.watch(model="gpt-fake", input="hi")

        twin_done = asyncio.run(follow())
    for result in (done, twin_done):
        assert result.status is ResponseStatus.Completed
        assert statuses(result) == UNCUT
        assert (result.streams, result.retrieves) == (2, 0)
