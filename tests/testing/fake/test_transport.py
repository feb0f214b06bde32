"""Tests for runfsm.testing.fake.transport: the real SDK in-process (sync and async), sleeping on the virtual clock."""

from __future__ import annotations

import asyncio

import httpx2
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runfsm.testing.fake import FakeAssistants, FakeAssistantsServer, fake_transport, use_virtual_sleep
from runfsm.testing.strategies import stream_histories

pytestmark = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")


def test_async_client_in_process() -> None:
    """AsyncOpenAI on the in-process transport: create_and_poll waits in virtual time, retries too."""
    fake = FakeAssistants()
    fake.queue_run(["queued", ("in_progress", 45), "completed"])

    async def main() -> str:
        client = fake.async_client()
        fake.fail_next(429, route="retrieve_run", retry_after=3)
        thread = await client.beta.threads.create()
        run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id="asst_1")
        await client.close()
        return run.status

    assert asyncio.run(main()) == "completed"
    polls = [r for r in fake.requests if r.route == "retrieve_run"]
    assert (polls[0].status_code, polls[1].status_code) == (429, 200)
    assert polls[1].at - polls[0].at == pytest.approx(3)  # the SDK's retry waited retry-after, virtually
    assert fake.clock.slept == pytest.approx(46)  # ... and the run ended at 46 s as scripted


def test_bring_your_own_http_client() -> None:
    """fake_transport plugs into any httpx2 client; use_virtual_sleep binds the SDK's waits to the clock."""
    fake = FakeAssistants(poll_after_ms=5000)
    client = openai.OpenAI(
        api_key="test", base_url="http://anything.invalid/v1", http_client=httpx2.Client(transport=fake_transport(fake))
    )
    use_virtual_sleep(client, fake.clock)
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id="asst_1")
    assert (run.status, fake.clock.slept) == ("completed", 5.0)
    with pytest.raises(TypeError, match="FakeAssistants"):
        fake_transport(object())  # type: ignore[arg-type]  # the bad input under test


@settings(max_examples=10)
@given(st.data())
def test_drawn_scripts_as_the_default(data: st.DataObject) -> None:
    """script= may be a callable: each run without a queued script plays a fresh history (here drawn by hypothesis)."""
    fake = FakeAssistants(script=lambda: data.draw(stream_histories(cancel=False)))
    client = fake.client()
    for _ in range(3):
        thread = client.beta.threads.create()
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    fake.clock.advance(700)
    assert all(fake.status(rid).is_terminal for rid in fake.run_ids())
    assert all(not t.violations for t in fake.trackers.values())


def test_a_slow_answer_times_out_a_client() -> None:
    """slow_next(real_seconds=...) really delays the answer: a client with a short timeout gives up."""
    with FakeAssistantsServer() as server:
        client = server.client(max_retries=0, timeout=0.05)
        server.slow_next(0, real_seconds=0.3)  # real time on purpose: a client timeout is about real time
        with pytest.raises(openai.APITimeoutError):
            client.beta.threads.create()
        client.close()
