"""The fake's background responses and batches, driven by the real openai client's ``responses`` and ``batches``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm import BATCH_LIFECYCLE, RESPONSE_LIFECYCLE, BatchStatus, ResponseStatus, RunTracker, ScriptError
from runfsm.following import poll_object
from runfsm.testing.fake import FakeAssistants
from runfsm.testing.strategies import stream_histories


def test_a_background_response_is_created_polled_and_completed() -> None:
    """create(background=True) answers queued; retrieve shows the script's statuses as virtual time passes."""
    fake = FakeAssistants()
    fake.background.queue(RESPONSE_LIFECYCLE, [("queued", 2), ("in_progress", 10), ("completed", 0)])
    with fake.client(max_retries=0) as client:
        response = client.responses.create(model="gpt-fake", input="hi", background=True)
        assert (response.object, response.status, response.background) == ("response", "queued", True)
        fake.clock.advance(3)
        assert client.responses.retrieve(response.id).status == "in_progress"
        fake.clock.advance(10)
        done = client.responses.retrieve(response.id)
    assert done.status == "completed"
    assert done.output_text == "done (runfsm fake)"
    assert fake.background.history(response.id) == [
        ResponseStatus.Queued,
        ResponseStatus.InProgress,
        ResponseStatus.Completed,
    ]


def test_a_cancel_is_immediate_and_idempotent() -> None:
    """cancel() of an in-flight response answers cancelled; a second cancel returns the same final object."""
    fake = FakeAssistants()
    with fake.client(max_retries=0) as client:
        response = client.responses.create(model="gpt-fake", input="hi", background=True)
        first = client.responses.cancel(response.id)
        second = client.responses.cancel(response.id)
    assert (first.status, second.status) == ("cancelled", "cancelled")
    assert fake.background.objects[response.id].tracker.state is ResponseStatus.Cancelled


def test_a_streamed_response_is_resumed_with_starting_after() -> None:
    """stream=True gives numbered events; retrieve(stream=True, starting_after=N) replays those after N."""
    fake = FakeAssistants()
    with fake.client(max_retries=0) as client:
        events = list(client.responses.create(model="gpt-fake", input="hi", background=True, stream=True))
        assert [e.type for e in events] == [
            "response.created",
            "response.queued",
            "response.in_progress",
            "response.completed",
        ]
        assert [e.sequence_number for e in events] == [0, 1, 2, 3]
        first = events[0]
        assert first.type == "response.created"
        response_id = first.response.id
        resumed = list(client.responses.retrieve(response_id, stream=True, starting_after=1))
    assert [e.sequence_number for e in resumed] == [2, 3]
    tracker = RunTracker(mode="stream", on_illegal="raise", lifecycle=RESPONSE_LIFECYCLE)
    tracker.observe_all(events)  # the real SDK's event models, read by the preset's parser
    assert tracker.state is ResponseStatus.Completed


def test_batches_are_created_listed_cancelled_and_timestamped() -> None:
    """create, retrieve, list (newest first) and cancel (cancelling, then cancelled) with each status's *_at set."""
    fake = FakeAssistants()
    with fake.client(max_retries=0) as client:
        params = {"input_file_id": "file_1", "endpoint": "/v1/responses", "completion_window": "24h"}
        first = client.batches.create(**params)  # type: ignore[arg-type]
        second = client.batches.create(**params)  # type: ignore[arg-type]
        assert first.status == "validating"
        fake.clock.advance(60)
        running = client.batches.retrieve(first.id)
        start = first.created_at
        assert (running.status, running.in_progress_at) == ("in_progress", start + 30)
        assert [b.id for b in client.batches.list(limit=10)] == [second.id, first.id]
        cancelling = client.batches.cancel(first.id)
        assert (cancelling.status, cancelling.cancelling_at) == ("cancelling", start + 60)
        fake.clock.advance(10)
        cancelled = client.batches.retrieve(first.id)
    assert (cancelled.status, cancelled.cancelled_at) == ("cancelled", start + 70)
    assert fake.background.history(first.id)[-2:] == [BatchStatus.Cancelling, BatchStatus.Cancelled]


def test_errors_as_the_api_words_them() -> None:
    """An unknown id is a 404, a foreground response and a finished batch's cancel are 400s, as the SDK raises them."""
    import openai

    fake = FakeAssistants()
    fake.background.queue(BATCH_LIFECYCLE, [("validating", 1), ("failed", 0)])
    with fake.client(max_retries=0) as client:
        with pytest.raises(openai.NotFoundError):
            client.batches.retrieve("batch_nope")
        with pytest.raises(openai.BadRequestError, match="background"):
            client.responses.create(model="gpt-fake", input="hi")
        batch = client.batches.create(input_file_id="f", endpoint="/v1/responses", completion_window="24h")
        fake.clock.advance(5)
        with pytest.raises(openai.BadRequestError, match="status 'failed'"):
            client.batches.cancel(batch.id)


def test_a_script_the_lifecycle_forbids_is_refused() -> None:
    """Queuing a batch that goes from validating straight to completed raises at once."""
    with pytest.raises(ScriptError, match="script step 1: validating -> completed is not an edge of the Batch"):
        FakeAssistants().background.queue(BATCH_LIFECYCLE, [("validating", 1), ("completed", 0)])


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_drawn_batches_are_followed_to_their_end_by_the_real_client(data: st.DataObject) -> None:
    """Any batch history the strategies draw, served by the fake, polled with poll_object: the same statuses seen."""
    history = data.draw(stream_histories(lifecycle=BATCH_LIFECYCLE, cancel=False))
    seconds = data.draw(st.lists(st.integers(1, 7200), min_size=len(history), max_size=len(history)))
    fake = FakeAssistants()
    fake.background.queue(BATCH_LIFECYCLE, [(s.name, float(t)) for s, t in zip(history, seconds, strict=True)])
    with fake.client(max_retries=0) as client:
        batch = client.batches.create(input_file_id="f", endpoint="/v1/responses", completion_window="24h")
        result = poll_object(
            lambda: client.batches.retrieve(batch.id),
            lifecycle=BATCH_LIFECYCLE,
            clock=fake.clock.now,
            sleep=fake.clock.advance,
        )
    assert result.tracker.state is history[-1]
    assert result.tracker.violations == []
    assert result.tracker.history[-1].warnings == ()  # the fake's batch satisfies the preset's field invariants


def test_the_async_client_follows_a_batch_with_apoll_object() -> None:
    """``AsyncOpenAI.batches`` against the fake, followed by apoll_object: the async twin with a real async client."""
    import asyncio

    from runfsm.following import apoll_object

    fake = FakeAssistants()
    fake.background.queue(
        BATCH_LIFECYCLE, [("validating", 30), ("in_progress", 600), ("finalizing", 60), ("expired", 0)]
    )

    async def advance(seconds: float) -> None:
        fake.clock.advance(seconds)

    async def follow() -> str:
        client = fake.async_client(max_retries=0)
        try:
            batch = await client.batches.create(input_file_id="f", endpoint="/v1/responses", completion_window="24h")
            result = await apoll_object(
                lambda: client.batches.retrieve(batch.id),
                lifecycle=BATCH_LIFECYCLE,
                clock=fake.clock.now,
                sleep=advance,
            )
            assert result.tracker.violations == []
            return str(result.tracker.state)
        finally:
            await client.close()

    assert asyncio.run(follow()) == "expired"
    assert [s.label for s in fake.background.history(next(iter(fake.background.objects)))][-2:] == [
        "finalizing",
        "expired",
    ]
