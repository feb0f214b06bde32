"""The client protocol's helpers: the poll hint header and the translation of openai/httpx2 errors."""

from __future__ import annotations

import httpx2
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runfsm.following.client import OpenAIRuns, parse_hint, translate_error


@given(st.text(max_size=12))
def test_parse_hint_never_raises(text: str) -> None:
    """Any header text gives None or a non-negative number of seconds."""
    value = parse_hint(text)
    assert value is None or value >= 0


def test_parse_hint_reads_milliseconds() -> None:
    """openai-poll-after-ms is in milliseconds."""
    assert parse_hint("1500") == 1.5
    assert parse_hint(None) is None
    assert parse_hint("soon") is None


def _status_error(code: int, headers: dict[str, str]) -> openai.APIStatusError:
    request = httpx2.Request("GET", "http://127.0.0.1/v1/threads/t/runs/r")
    response = httpx2.Response(code, headers=headers, request=request, json={"error": {"message": "no"}})
    cls = {429: openai.RateLimitError, 500: openai.InternalServerError, 400: openai.BadRequestError}[code]
    return cls("no", response=response, body={"message": "no"})


def test_translate_error_kinds_and_retry_after() -> None:
    """429 -> rate_limited with retry-after-ms preferred; 5xx -> server_error; 400 -> rejected; timeouts, drops."""
    limited = translate_error(_status_error(429, {"retry-after-ms": "2500", "retry-after": "9"}))
    assert limited is not None
    assert limited.kind == "rate_limited"
    assert limited.retry_after == 2.5
    assert limited.transient
    server = translate_error(_status_error(500, {"retry-after": "3"}))
    assert server is not None
    assert server.kind == "server_error"
    assert server.retry_after == 3.0
    rejected = translate_error(_status_error(400, {}))
    assert rejected is not None
    assert rejected.kind == "rejected"
    assert not rejected.transient
    request = httpx2.Request("GET", "http://127.0.0.1/")
    timeout = translate_error(openai.APITimeoutError(request))
    assert timeout is not None
    assert timeout.kind == "timeout"
    dropped = translate_error(httpx2.RemoteProtocolError("gone", request=request))
    assert dropped is not None
    assert dropped.kind == "connection"
    assert translate_error(KeyError("x")) is None


def test_adapter_refuses_other_objects() -> None:
    """OpenAIRuns takes an openai.OpenAI, and says so."""
    with pytest.raises(TypeError, match=r"openai\.OpenAI client"):
        OpenAIRuns(object())
