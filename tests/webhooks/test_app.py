"""The receiver as an ASGI app: mounted in a Starlette application, served by uvicorn on loopback."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING

import httpx2
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from runfsm.testing.fake.webhooks import signed_event

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
