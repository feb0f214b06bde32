"""A fake OpenAI Assistants API for tests: the real ``openai`` client talks to it, runs play scripts on a virtual clock.

Quick start (loopback HTTP, the real SDK)::

    from runfsm.testing.fake import FakeAssistantsServer, STUCK

    with FakeAssistantsServer(poll_after_ms=500) as server:
        client = server.client()             # openai.OpenAI(base_url=server.url, api_key="test"),
                                             # its poll/retry sleeps bound to server.clock
        server.queue_run(["queued", ("in_progress", 30), "requires_action", "queued", "in_progress", "completed"])
        thread = client.beta.threads.create()
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id="asst_1")
        assert run.status == "requires_action"         # 31 virtual seconds later, no real wait
        server.count("retrieve_run", run_id=run.id)    # how many polls it took

Or build your own client: ``openai.OpenAI(base_url=server.url, api_key="test")`` works too; then
pass ``sleep=server.clock.sleep`` to your own polling code (the SDK's ``create_and_poll`` would
sleep for real unless you call :func:`use_virtual_sleep`).

In-process (no socket): ``fake = FakeAssistants()``, then ``fake.client()`` / ``fake.async_client()``,
or ``httpx2.Client(transport=fake_transport(fake))`` as the openai client's ``http_client``.

The pieces
----------
- :class:`VirtualClock` (``fake.clock``): ``now()``, ``advance(s)``, ``sleep(s)`` (advances),
  ``async_sleep(s)``. Runs move on only when virtual time passes.
- Scripts: ``fake.queue_run(history, **options)`` makes the next created run play ``history``,
  a list of statuses or ``(status, seconds)`` pairs (default 1 s each; ``STUCK`` = never moves
  on by itself); see :class:`RunScript` for submit/cancel/expiry rules and ``cancel_outcome``.
  Unqueued runs play ``FakeAssistants(script=...)``: a history, a ``RunScript``, or a callable
  returning one per run (default: queued 1 s, in_progress 2 s, completed). Histories drawn from
  :mod:`runfsm.testing.strategies` can be queued as they are.
- Step by step: ``fake.server_moves(run_id)`` lists the server edges open now; ``fake.move(run_id,
  status)`` takes one (use ``STUCK`` scripts so nothing else moves the run).
- Real API behaviour: ``expires_at = created_at + 600`` (runs expire when the clock passes it; a
  submit does not extend it); the API's 400 errors for submit outside requires_action, cancel of
  a finished run, a message or run on a thread with an active run; ``openai-poll-after-ms`` on
  every answer that is one run, background response or batch (``poll_after_ms=None`` to omit);
  SSE streams (``stream=True`` on create and submit_tool_outputs) in the lifecycle's event order,
  ending ``event: done`` / ``data: [DONE]`` when the run pauses or ends; a stream plays in
  virtual time (the clock advances to each event).
- Faults: ``fake.fail_next(429, retry_after=2)``, ``fake.fail_next(500, route="retrieve_run")``,
  ``fake.drop_next(processed=True)``, ``fake.slow_next(5.0)``; each takes ``route=``, ``run_id=``,
  ``times=``, ``next_object=`` (``"run"``, ``"response"``, ``"batch"``: the next one created).
  They hit background responses and batches as they hit runs (``route="retrieve_batch"``), and
  the conduct rules judge those objects too. A run stuck in a status is a script step
  ``("in_progress", STUCK)``.
  For watchers: ``fake.garble_next("paused")`` answers a status no client knows;
  ``fake.cut_stream_next(events=3)`` ends an SSE stream early, with no ``done``.
- Records: ``fake.requests`` (:class:`RecordedRequest`: method, path, route, status_code, at,
  thread_id, run_id, stream, fault, run_status: what the run was once answered),
  ``fake.count(route, run_id=...)``, ``fake.status(run_id)``,
  ``fake.history(run_id)`` (every status the run went through),
  ``fake.trackers`` (one ``RunTracker(mode="stream", on_illegal="raise")`` per run: the fake
  cannot serve an illegal lifecycle), ``fake.warnings()`` (field invariants; should be empty).
- ``max_requests`` (default 10 000 per run) bounds runaway clients: past it, 500 with
  ``x-should-retry: false`` and ``fake.budget_exceeded``.
- Azure AI Foundry Agents: the same fake serves the agents REST surface under
  ``server.azure_endpoint`` (``/api/projects/<project>``; bearer token and ``api-version``
  required; see :mod:`runfsm.testing.fake.azure`). ``server.agents_client()`` /
  ``server.async_agents_client()`` are the real ``azure-ai-agents`` clients of it
  (:mod:`runfsm.testing.fake.azure_clients`, needs ``runfsm[azure]``; not imported here).
- Webhooks: :class:`~runfsm.testing.fake.webhooks.WebhookSender` delivers signed Standard
  Webhooks events to a loopback receiver with duplicates, reordering, delays, lost attempts and
  answers and bad signatures, retrying any non-2xx (not imported here).

Route names: create_thread, retrieve_thread, delete_thread, create_message, list_messages, create_run,
list_runs, retrieve_run, submit_tool_outputs, cancel_run, list_run_steps; create_response,
retrieve_response, cancel_response, create_batch, list_batches, retrieve_batch, cancel_batch.
"""

from __future__ import annotations

from runfsm.testing.fake.api import DEFAULT_SCRIPT, FakeAssistants
from runfsm.testing.fake.clock import VirtualClock
from runfsm.testing.fake.faults import Fault
from runfsm.testing.fake.script import STUCK, RunScript, Step
from runfsm.testing.fake.server import FakeAssistantsServer, asgi_app
from runfsm.testing.fake.transport import (
    FAKE_BASE_URL,
    async_openai_client,
    fake_transport,
    openai_client,
    use_virtual_sleep,
)
from runfsm.testing.fake.wire import FakeResponse, RecordedRequest, Route

__all__ = [
    "DEFAULT_SCRIPT",
    "FAKE_BASE_URL",
    "STUCK",
    "FakeAssistants",
    "FakeAssistantsServer",
    "FakeResponse",
    "Fault",
    "RecordedRequest",
    "Route",
    "RunScript",
    "Step",
    "VirtualClock",
    "asgi_app",
    "async_openai_client",
    "fake_transport",
    "openai_client",
    "use_virtual_sleep",
]
