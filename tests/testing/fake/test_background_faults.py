"""Faults and the poll hint on the fake's background responses and batches, met by the real openai client.

The fake injects the same faults into ``client.responses`` and ``client.batches`` as into runs
(:mod:`runfsm.testing.fake.faults`: one machinery, aimed by ``route``, ``run_id`` or
``next_object``), sends ``openai-poll-after-ms`` on every answer that is one object, and judges
the client's conduct on those objects by the same rules (retry-after, poll hint, terminal
re-polls, abandoned and cancelling objects). Each test drives the real SDK, in process or over
loopback HTTP, sync and async; its retry sleeps run on the fake's virtual clock.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import openai
import pytest

from runfsm import BATCH_LIFECYCLE, RESPONSE_LIFECYCLE, BatchStatus, ResponseStatus
from runfsm.testing.fake import STUCK, FakeAssistants, FakeAssistantsServer, Fault
from runfsm.testing.fake.conduct import ClientBug

if TYPE_CHECKING:
    from runfsm.testing.fake import RecordedRequest

BATCH = {"input_file_id": "file_1", "endpoint": "/v1/responses", "completion_window": "24h"}
QUICK_BATCH = [("validating", 10.0), ("in_progress", 60.0), ("finalizing", 10.0), ("completed", 0.0)]


def _answers(fake: FakeAssistants, route: str) -> list[tuple[int, str | None, float]]:
    """(status code, fault, virtual time) of each request on ``route``."""
    return [(r.status_code, r.fault, r.at - fake.clock.start) for r in fake.requests if r.route == route]


def _polls(requests: list[RecordedRequest]) -> list[str | None]:
    return [r.run_status for r in requests if r.route in ("retrieve_batch", "retrieve_response")]


# ---------------------------------------------------------------------- faults, in process


def test_a_429_with_retry_after_on_a_batch_is_waited_out_by_the_sdk() -> None:
    """A 429 carrying retry-after on retrieve_batch: the SDK sleeps those seconds (virtual) and gets the batch."""
    fake = FakeAssistants()
    fake.background.queue(BATCH_LIFECYCLE, QUICK_BATCH)
    with fake.client(max_retries=2) as client:
        batch = client.batches.create(**BATCH)  # type: ignore[arg-type]
        fake.fail_next(429, route="retrieve_batch", retry_after=30)
        seen = client.batches.retrieve(batch.id)
    assert seen.status == "in_progress"  # 30 s later: past validating
    assert _answers(fake, "retrieve_batch") == [(429, "429", 0.0), (200, None, 30.0)]
    assert fake.violations == []


def test_server_errors_on_a_response_are_retried_or_raised() -> None:
    """Two 500s on retrieve_response: retried by a client with retries, raised as InternalServerError without."""
    fake = FakeAssistants()
    fake.background.queue(RESPONSE_LIFECYCLE, [("queued", STUCK)])
    with fake.client(max_retries=2) as client:
        response = client.responses.create(model="gpt-fake", input="hi", background=True)
        fake.fail_next(500, route="retrieve_response", run_id=response.id, times=2)
        assert client.responses.retrieve(response.id).status == "queued"
    assert [code for code, _, _ in _answers(fake, "retrieve_response")] == [500, 500, 200]
    fake.fail_next(503, route="retrieve_response")
    with fake.client(max_retries=0) as client, pytest.raises(openai.InternalServerError):
        client.responses.retrieve(response.id)


def test_a_dropped_cancel_that_took_effect_is_seen_on_the_next_retrieve() -> None:
    """drop_next(processed=True) on cancel_batch: the SDK gets no answer, yet the batch is cancelling."""
    fake = FakeAssistants()
    fake.background.queue(BATCH_LIFECYCLE, QUICK_BATCH)
    with fake.client(max_retries=0) as client:
        batch = client.batches.create(**BATCH)  # type: ignore[arg-type]
        fake.drop_next(route="cancel_batch", processed=True)
        with pytest.raises(openai.APIConnectionError):
            client.batches.cancel(batch.id)
        assert client.batches.retrieve(batch.id).status == "cancelling"
        fake.drop_next(route="retrieve_batch")  # a drop before the request took effect
        with pytest.raises(openai.APIConnectionError):
            client.batches.retrieve(batch.id)
    assert fake.background.history(batch.id) == [BatchStatus.Validating, BatchStatus.Cancelling]
    assert [fault for _, fault, _ in _answers(fake, "retrieve_batch")] == [None, "drop"]


def test_a_slow_answer_lets_virtual_time_pass_before_it_is_read() -> None:
    """slow_next(90) on retrieve_batch: the answer shows the batch as it is 90 virtual seconds later."""
    fake = FakeAssistants()
    fake.background.queue(BATCH_LIFECYCLE, QUICK_BATCH)
    with fake.client(max_retries=0) as client:
        batch = client.batches.create(**BATCH)  # type: ignore[arg-type]
        fake.slow_next(90, route="retrieve_batch")
        assert client.batches.retrieve(batch.id).status == "completed"
    assert fake.clock.now() - fake.clock.start == 90


def test_next_object_faults_wait_for_that_kind_of_object() -> None:
    """next_object="batch" faults skip the response made first; bound at the batch's create, they hit its requests."""
    fake = FakeAssistants()
    on_create = fake.fail_next(500, next_object="batch")
    on_retrieve = fake.fail_next(500, route="retrieve_batch", next_object="batch")
    with fake.client(max_retries=0) as client:
        response = client.responses.create(model="gpt-fake", input="hi", background=True)
        client.responses.retrieve(response.id)
        with pytest.raises(openai.InternalServerError):
            client.batches.create(**BATCH)  # type: ignore[arg-type]  # made nothing: the fault stays unbound
        batch = client.batches.create(**BATCH)  # type: ignore[arg-type]
        assert (on_create.times, on_retrieve.run_id) == (0, batch.id)
        with pytest.raises(openai.InternalServerError):
            client.batches.retrieve(batch.id)
        assert client.batches.retrieve(batch.id).status == "validating"
    assert fake.pending_faults() == []
    assert [(r.route, r.fault) for r in fake.requests if r.fault] == [
        ("create_batch", "500"),
        ("retrieve_batch", "500"),
    ]
    with pytest.raises(ValueError, match="next_object must be one of"):
        Fault("status", next_object="thread")  # type: ignore[arg-type]


def test_a_cut_response_stream_is_resumed_with_starting_after() -> None:
    """cut_stream_next on create_response: the stream stops after 2 events; the resume gets the rest, in order."""
    fake = FakeAssistants()
    fake.cut_stream_next(events=2, route="create_response")
    with fake.client(max_retries=0) as client:
        first = list(client.responses.create(model="gpt-fake", input="hi", background=True, stream=True))
        assert [e.sequence_number for e in first] == [0, 1]
        response_id = first[0].response.id  # type: ignore[union-attr]
        rest = list(client.responses.retrieve(response_id, stream=True, starting_after=first[-1].sequence_number))
    assert [e.type for e in first + rest] == [
        "response.created",
        "response.queued",
        "response.in_progress",
        "response.completed",
    ]


def test_a_garbled_status_reaches_the_client_as_sent() -> None:
    """garble_next on retrieve_response: the SDK hands over a status no preset knows; the fake's object is unharmed."""
    fake = FakeAssistants()
    fake.garble_next("paused", route="retrieve_response")
    with fake.client(max_retries=0) as client:
        response = client.responses.create(model="gpt-fake", input="hi", background=True)
        assert str(client.responses.retrieve(response.id).status) == "paused"
        assert client.responses.retrieve(response.id).status == "queued"
    with pytest.raises(ValueError, match="paused"):
        RESPONSE_LIFECYCLE.parse("paused")


# ---------------------------------------------------------------------- the poll hint


@pytest.mark.parametrize("hint", [250, 60_000, None])
def test_every_answer_that_is_one_object_carries_the_poll_hint(hint: int | None) -> None:
    """create, retrieve and cancel of responses and batches carry openai-poll-after-ms; lists and streams do not."""
    fake = FakeAssistants(poll_after_ms=hint)
    expected = None if hint is None else str(hint)
    with fake.client(max_retries=0) as client:
        raw = client.responses.with_raw_response.create(model="gpt-fake", input="hi", background=True)
        response_id = raw.parse().id
        hints = [
            a.headers.get("openai-poll-after-ms")
            for a in (
                raw,
                client.responses.with_raw_response.retrieve(response_id),
                client.responses.with_raw_response.cancel(response_id),
            )
        ]
        created = client.batches.with_raw_response.create(**BATCH)  # type: ignore[arg-type]
        batch_id = created.parse().id
        hints += [
            a.headers.get("openai-poll-after-ms")
            for a in (
                created,
                client.batches.with_raw_response.retrieve(batch_id),
                client.batches.with_raw_response.cancel(batch_id),
            )
        ]
        assert hints == [expected] * 6
        assert "openai-poll-after-ms" not in client.batches.with_raw_response.list().headers
        with client.responses.with_streaming_response.retrieve(response_id, stream=True, starting_after=0) as stream:
            assert "openai-poll-after-ms" not in stream.headers


# ---------------------------------------------------------------------- conduct on background objects


def test_a_batch_polled_faster_than_the_hint_breaks_the_poll_hint_rule() -> None:
    """Two polls of a batch 1 s apart under a 60 s hint: the fake names the poll_hint rule and the batch."""
    fake = FakeAssistants(poll_after_ms=60_000)
    fake.background.queue(BATCH_LIFECYCLE, QUICK_BATCH)
    with fake.client(max_retries=0) as client:
        batch = client.batches.create(**BATCH)  # type: ignore[arg-type]
        client.batches.retrieve(batch.id)
        fake.clock.advance(1)
        client.batches.retrieve(batch.id)
    assert [v.rule for v in fake.violations] == ["poll_hint"]
    assert f"batch {batch.id}" in fake.violations[0].message


def test_a_retry_sooner_than_retry_after_breaks_the_retry_after_rule() -> None:
    """A client that retries a 429 on a response at once, ignoring retry-after: 7, is caught."""
    fake = FakeAssistants()
    with fake.client(max_retries=0) as client:
        response = client.responses.create(model="gpt-fake", input="hi", background=True)
        fake.fail_next(429, route="retrieve_response", retry_after=7)
        with pytest.raises(openai.RateLimitError):
            client.responses.retrieve(response.id)
        client.responses.retrieve(response.id)
    assert [v.rule for v in fake.violations] == ["retry_after"]


def test_polling_a_finished_response_again_and_again_breaks_the_terminal_rule() -> None:
    """Shown completed, the client polls three more times: the terminal rule; resuming its stream is not a poll."""
    fake = FakeAssistants(poll_after_ms=0)
    with fake.client(max_retries=0) as client:
        response = client.responses.create(model="gpt-fake", input="hi", background=True)
        fake.clock.advance(10)
        assert client.responses.retrieve(response.id).status == "completed"
        list(client.responses.retrieve(response.id, stream=True, starting_after=0))
        assert fake.violations == []
        for _ in range(3):
            client.responses.retrieve(response.id)
    assert [v.rule for v in fake.violations] == ["terminal"]


def test_returning_while_a_batch_is_cancelling_or_live_is_judged_at_the_end() -> None:
    """check_client: a batch left cancelling breaks ``cancelling``, a response left queued ``abandon``."""
    fake = FakeAssistants()
    with fake.client(max_retries=0) as client:
        batch = client.batches.create(**BATCH)  # type: ignore[arg-type]
        client.batches.cancel(batch.id)
        response = client.responses.create(model="gpt-fake", input="hi", background=True)
    with pytest.raises(ClientBug) as caught:
        fake.check_client()
    assert [(v.rule, v.run_id) for v in caught.value.violations] == [
        ("cancelling", batch.id),
        ("abandon", response.id),
    ]
    story = caught.value.story
    assert f"batch {batch.id}: validating t+0s > cancelling t+0s > cancelled t+10s" in story
    assert f"response {response.id}: queued t+0s > in_progress t+1s > completed t+6s" in story


def test_a_client_that_waits_out_its_objects_passes() -> None:
    """Cancel a batch, then poll both objects at the hint until terminal: check_client finds nothing."""
    fake = FakeAssistants(poll_after_ms=5000)
    with fake.client(max_retries=2) as client:
        batch = client.batches.create(**BATCH)  # type: ignore[arg-type]
        client.batches.cancel(batch.id)
        response = client.responses.create(model="gpt-fake", input="hi", background=True)
        fake.fail_next(429, route="retrieve_batch", retry_after=3)
        while client.batches.retrieve(batch.id).status != "cancelled":
            fake.clock.advance(5)
        while client.responses.retrieve(response.id).status not in ("completed", "failed", "incomplete", "cancelled"):
            fake.clock.advance(5)
    fake.check_client()
    assert fake.object_status(batch.id) is BatchStatus.Cancelled
    assert fake.object_status(response.id) is ResponseStatus.Completed


# ---------------------------------------------------------------------- async, and over loopback HTTP


def test_the_async_client_meets_the_same_faults() -> None:
    """AsyncOpenAI: a 429 with retry-after-ms and a 500 on retrieve_batch are retried on the virtual clock."""
    fake = FakeAssistants()
    fake.background.queue(BATCH_LIFECYCLE, QUICK_BATCH)

    async def main() -> str:
        client = fake.async_client(max_retries=3)
        try:
            batch = await client.batches.create(**BATCH)  # type: ignore[arg-type]
            fake.fail_next(429, route="retrieve_batch", retry_after_ms=15_000)
            fake.fail_next(500, route="retrieve_batch")
            return (await client.batches.retrieve(batch.id)).status
        finally:
            await client.close()

    assert asyncio.run(main()) == "in_progress"
    codes = _answers(fake, "retrieve_batch")
    assert [c for c, _, _ in codes] == [429, 500, 200]
    assert codes[1][2] == 15.0  # the retry came when retry-after-ms allowed
    assert fake.violations == []


def test_over_loopback_http_a_drop_and_a_429_are_survived_by_the_sdk() -> None:
    """FakeAssistantsServer on 127.0.0.1: a dropped connection and a 429 on a response, retried by the real SDK."""
    with FakeAssistantsServer(poll_after_ms=2000) as server:
        server.background.queue(RESPONSE_LIFECYCLE, [("queued", 1.0), ("in_progress", STUCK)])
        with server.client(max_retries=3) as client:
            response = client.responses.create(model="gpt-fake", input="hi", background=True)
            server.drop_next(route="retrieve_response")
            server.fail_next(429, route="retrieve_response", retry_after=4)
            raw = client.responses.with_raw_response.retrieve(response.id)
            assert raw.headers["openai-poll-after-ms"] == "2000"
            assert raw.parse().status == "in_progress"
            client.responses.cancel(response.id)
        assert [r.fault for r in server.requests if r.route == "retrieve_response"] == ["drop", "429", None]
        assert _polls(server.requests)[-1] == "in_progress"
        server.check_client()


def test_over_loopback_http_the_async_client_meets_a_slow_batch() -> None:
    """AsyncOpenAI over loopback: slow_next on retrieve_batch, the batch read as it is after the delay."""
    with FakeAssistantsServer() as server:
        server.background.queue(BATCH_LIFECYCLE, QUICK_BATCH)

        async def main() -> str:
            client = server.async_client(max_retries=0)
            try:
                batch = await client.batches.create(**BATCH)  # type: ignore[arg-type]
                server.slow_next(75, route="retrieve_batch", run_id=batch.id)
                return (await client.batches.retrieve(batch.id)).status
            finally:
                await client.close()

        assert asyncio.run(main()) == "finalizing"
        assert [r.fault for r in server.requests if r.route == "retrieve_batch"] == ["slow"]
