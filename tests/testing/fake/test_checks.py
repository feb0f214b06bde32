"""The fake refuses malformed requests as the API does (400 in its error shape, 413 past the limit), and logs them all.

Checked with the real openai client (in-process and over loopback HTTP) for what an SDK can send,
and with a raw HTTP client over loopback for bodies no SDK would produce.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runfsm.testing.fake import FakeAssistants, FakeAssistantsServer

pytestmark = pytest.mark.filterwarnings("ignore:The Assistants API is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAssistantsServer]:
    """One fake on loopback HTTP with a small body limit (1,000 bytes), shared by this module's tests."""
    with FakeAssistantsServer(max_body_bytes=1000) as srv:
        yield srv


@pytest.fixture(params=["in-process", "loopback"])
def fake(request: pytest.FixtureRequest, server: FakeAssistantsServer) -> FakeAssistants:
    """The fake reached through the in-process transport, or the same kind of fake over loopback HTTP."""
    return FakeAssistants(max_body_bytes=1000) if request.param == "in-process" else server


def _refused(fake: FakeAssistants, call: Any, *, status: int = 400) -> dict[str, Any]:
    """Run ``call(client)``; it must fail with ``status``; return the error body, and check the request is logged."""
    logged = len(fake.requests)
    with pytest.raises(openai.APIStatusError) as caught:
        call(fake.client(max_retries=0))
    assert caught.value.status_code == status
    body = caught.value.body
    assert isinstance(body, dict)
    assert set(body) == {"message", "type", "param", "code"}  # the SDK unwraps {"error": {...}}
    assert len(fake.requests) > logged
    assert fake.requests[-1].status_code == status  # the refused request is in the log, last
    return body


def _thread(client: openai.OpenAI) -> str:
    return client.beta.threads.create().id


@pytest.mark.parametrize(
    ("call", "param"),
    [
        pytest.param(
            lambda c: c.beta.threads.runs.create(_thread(c), assistant_id="a", extra_body={"stream": "false"}),
            "stream",
            id="stream-as-text",
        ),
        pytest.param(
            lambda c: c.beta.threads.runs.create(_thread(c), assistant_id="a", extra_body={"metadata": ["x"]}),
            "metadata",
            id="metadata-as-array",
        ),
        pytest.param(
            lambda c: c.beta.threads.runs.create(_thread(c), assistant_id="a", metadata={"n": 3}),
            "metadata.n",
            id="metadata-value-not-text",
        ),
        pytest.param(
            lambda c: c.beta.threads.create(extra_body={"messages": 5}),
            "messages",
            id="messages-as-number",
        ),
        pytest.param(
            lambda c: c.beta.threads.create(extra_body={"messages": [{"role": "user", "content": 7}]}),
            "messages[0].content",
            id="message-content-as-number",
        ),
        pytest.param(
            lambda c: c.beta.threads.runs.submit_tool_outputs(
                "run_x",
                thread_id=_thread(c),
                tool_outputs=[{"tool_call_id": "call_1", "output": 42}],
            ),
            "tool_outputs[0].output",
            id="tool-output-as-number",
        ),
    ],
)
def test_a_field_of_the_wrong_type_is_a_400_naming_it(fake: FakeAssistants, call: Any, param: str) -> None:
    """Wrong JSON types get the API's invalid_type 400 with the field as ``param``; "stream": "false" is no stream."""
    runs_before = len(fake.run_ids())
    body = _refused(fake, call)
    assert body["code"] == "invalid_type"
    assert body["param"] == param
    assert f"'{param}'" in body["message"]
    assert len(fake.run_ids()) == runs_before


@pytest.mark.parametrize(
    ("query", "code"),
    [
        pytest.param({"limit": 0}, "integer_below_min_value", id="limit-0"),
        pytest.param({"limit": 101}, "integer_above_max_value", id="limit-101"),
        pytest.param({"order": "sideways"}, "invalid_value", id="order-unknown"),
    ],
)
def test_list_parameters_out_of_range_are_refused(fake: FakeAssistants, query: dict[str, Any], code: str) -> None:
    """limit=0 is a 400 (the API does not round it up to 1), as are limit=101 and an unknown order."""
    body = _refused(fake, lambda c: c.beta.threads.runs.list(_thread(c), **query))
    assert body["code"] == code
    assert body["param"] == next(iter(query))


def test_a_body_over_the_limit_is_a_413(fake: FakeAssistants) -> None:
    """A message longer than the fake's body limit is refused with 413, logged, and nothing is added."""
    client = fake.client(max_retries=0)
    thread = _thread(client)
    with pytest.raises(openai.APIStatusError) as caught:
        client.beta.threads.messages.create(thread, role="user", content="x" * 5000)
    assert caught.value.status_code == 413
    assert fake.requests[-1].status_code == 413
    assert fake.requests[-1].route == "create_message"
    assert client.beta.threads.messages.list(thread).data == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 100_000, id="deeply-nested"),
        pytest.param(b'{"assistant_id": ' + b"[" * 900 + b"]" * 900 + b"}", id="nested-under-the-limit"),
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b'{"assistant_id": NaN}', id="nan"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b'{"limit": ' + b"9" * 5000 + b"}", id="integer-too-long"),
    ],
)
def test_raw_malformed_bodies_get_the_apis_400_over_http(server: FakeAssistantsServer, body: bytes) -> None:
    """Over loopback HTTP: a body that is no JSON object (or too deep to read) gets a 400 error body, not 500/reset."""
    client = openai.OpenAI(api_key="test", base_url=server.url, max_retries=0)
    thread = client.beta.threads.create().id
    logged = len(server.requests)
    with httpx2.Client() as http:
        answer = http.post(f"{server.url}/threads/{thread}/runs", content=body[:999])
    assert answer.status_code in (400, 413)
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert len(server.requests) == logged + 1
    assert server.requests[-1].status_code == answer.status_code
    assert server.errors == []


def test_deep_nesting_in_process_is_a_logged_400() -> None:
    """The same through the in-process entry point: a RecursionError in the JSON reader is a 400, logged."""
    fake = FakeAssistants(max_body_bytes=10**7)
    answer = fake.handle("POST", "/v1/threads", body=b"[" * 100_000)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "We could not parse the JSON body of your request."
    assert [(r.route, r.status_code) for r in fake.requests] == [("create_thread", 400)]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
_ROUTES = {
    "/threads": ["metadata", "messages"],
    "/threads/T/messages": ["role", "content", "metadata"],
    "/threads/T/runs": ["assistant_id", "stream", "metadata", "model", "instructions", "additional_messages"],
    "/threads/T/runs/R/submit_tool_outputs": ["tool_outputs", "stream"],
}


@st.composite
def _requests(draw: st.DrawFn) -> tuple[str, Any]:
    """A POST route and a body: mostly objects of that route's own fields with any JSON values, sometimes any JSON."""
    path = draw(st.sampled_from(sorted(_ROUTES)))
    fields = st.sampled_from(_ROUTES[path])
    items = st.dictionaries(st.sampled_from(["role", "content", "tool_call_id", "output"]), _JSON, max_size=3)
    values = _JSON | st.lists(items, max_size=2)
    return path, draw(st.dictionaries(fields, values, max_size=3) | _JSON)


@given(_requests())
def test_any_json_body_gets_an_api_answer_and_a_log_entry(request: tuple[str, Any]) -> None:
    """Whatever JSON reaches a POST route: a 2xx or the API's 4xx error shape, never a 500, and one log entry."""
    path, body = request
    fake = FakeAssistants()
    thread = fake.handle("POST", "/v1/threads").json()["id"]
    fake.queue_run(["queued", ("in_progress", 1), "requires_action", "queued", "in_progress", "completed"])
    run = fake.handle("POST", f"/v1/threads/{thread}/runs", body=b'{"assistant_id": "a"}').json()["id"]
    fake.clock.advance(5)
    logged = len(fake.requests)
    answer = fake.handle("POST", "/v1" + path.replace("T", thread).replace("R", run), body=json.dumps(body).encode())
    assert answer.status_code < 500, answer.body
    if answer.status_code >= 400:
        assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
    assert len(fake.requests) == logged + 1
    assert fake.errors == []
