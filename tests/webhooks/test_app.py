"""The receiver as an ASGI app: mounted in Starlette, served by uvicorn on loopback, bad bodies refused as 400."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING

import httpx2
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from runfsm.testing.fake.webhooks import TEST_SECRET, sign, signed_event
from runfsm.webhooks.service import ReceiverServer

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

    from runfsm.webhooks import Receiver


def test_mounted_in_starlette_it_receives_and_applies(make_receiver: Callable[..., Receiver]) -> None:
    """An application with its own routes mounts the receiver under ``/hooks/openai``.

    A signed delivery there gets 200 and is applied by the worker the first request started; a GET
    gets 405; the application's own route still answers.
    """
    receiver = make_receiver()

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("home")

    app = Starlette(routes=[Route("/", home), Mount("/hooks/openai", app=receiver.asgi())])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.005)  # real time: waiting for uvicorn to listen
        base = f"http://127.0.0.1:{port}"
        with httpx2.Client(base_url=base) as client:
            headers, body = signed_event("msg_1", "response.completed", "resp_1", 100)
            answer = client.post("/hooks/openai/", content=body, headers=headers)
            assert answer.status_code == 200
            assert answer.json() == {"ok": True, "duplicate": False, "ignored": False}
            assert client.get("/hooks/openai/").status_code == 405
            assert client.get("/").text == "home"
        for _ in range(400):
            known = receiver.store.object("resp_1")
            if known is not None and known.get("state") == "Completed":
                break
            time.sleep(0.005)  # real time: the worker applies after the answer
        else:
            raise AssertionError("the mounted receiver's worker did not apply the event")
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


_EVENT = b'"object":"event","type":"response.completed","created_at":100,"data":{"id":"resp_1"}'
MALFORMED = {
    "nested 100,000 levels deep": (
        b'{"id":"evt_1",' + _EVENT + b',"extra":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "the body is nested too deeply to be a webhook event",
    ),
    "an integer of 5,000 digits": (
        b'{"id":"evt_1",' + _EVENT + b',"extra":' + b"9" * 5000 + b"}",
        "the body holds a number runfsm cannot read: an integer of over 4300 digits",
    ),
    "a created_at too large for a float": (
        b'{"id":"evt_1","object":"event","type":"response.completed","created_at":1'
        + b"0" * 400
        + b',"data":{"id":"resp_1"}}',
        "the event's 'created_at' must be a Unix time, got a number too large for one",
    ),
    "an id holding a lone surrogate": (
        b'{"id":"\\udc80",' + _EVENT + b"}",
        "the event: 'id' is not Unicode text: it holds a lone surrogate '\\udc80'",
    ),
    "a data.id holding a lone surrogate": (
        b'{"id":"evt_1","object":"event","type":"response.completed","created_at":100,"data":{"id":"resp_\\ud800"}}',
        "the event's 'data': 'id' is not Unicode text: it holds a lone surrogate '\\ud800'",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_signed_body_python_cannot_read_is_malformed_not_a_server_error(
    make_receiver: Callable[..., Receiver], case: str
) -> None:
    r"""A correctly signed body that Python's JSON or SQLite cannot take is answered 400, as a malformed event.

    Over loopback HTTP to the real server: bodies nested 100,000 levels deep, an integer of 5,000 digits
    (over Python's 4,300), a ``created_at`` no float holds, an id that is a lone surrogate (``"\udc80"``,
    which no UTF-8 text can store). Nothing is stored, and the server still takes the next good event.
    """
    body, error = MALFORMED[case]
    receiver = make_receiver()
    with ReceiverServer(receiver) as server, httpx2.Client() as client:
        answer = client.post(server.url, content=body, headers=sign(TEST_SECRET, "msg_bad", time.time(), body))
        assert (answer.status_code, answer.json()) == (400, {"error": error})
        assert receiver.store.summary()["distinct_events"] == 0
        headers, good = signed_event("msg_good", "response.completed", "resp_1", 100)
        assert client.post(server.url, content=good, headers=headers).status_code == 200
