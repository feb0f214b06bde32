"""Signature checks: the standardwebhooks package and the openai SDK agree, and refuse what they should."""

from __future__ import annotations

import time

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runfsm.exceptions import BadSignature, WebhookRejected
from runfsm.testing.fake.webhooks import TEST_SECRET as SECRET
from runfsm.testing.fake.webhooks import sign
from runfsm.webhooks import OpenAIWebhooks, StandardWebhooks

OTHER = "whsec_" + "b3RoZXItc2VjcmV0LW9mLTMyLWJ5dGVzLi4uLi4uLg=="


def verifiers() -> list[StandardWebhooks | OpenAIWebhooks]:
    """Both implementations, for the endpoint secret."""
    client = openai.OpenAI(api_key="test", base_url="http://127.0.0.1:9/v1", webhook_secret=SECRET)
    return [StandardWebhooks(SECRET), OpenAIWebhooks(client)]


def verdict(verifier: StandardWebhooks | OpenAIWebhooks, body: bytes, headers: dict[str, str]) -> bool:
    """True if accepted; False if refused with BadSignature (any other exception fails the test)."""
    try:
        verifier.verify(body, headers)
    except BadSignature:
        return False
    return True


@given(
    body=st.binary(max_size=200).map(lambda b: b.hex().encode()),
    webhook_id=st.from_regex(r"msg_[A-Za-z0-9]{1,20}", fullmatch=True),
    skew=st.integers(-400, 400),
    signed_with=st.sampled_from([SECRET, OTHER]),
    tamper=st.sampled_from(["none", "body", "id", "timestamp", "signature"]),
)
def test_both_verifiers_give_the_same_answers(
    body: bytes, webhook_id: str, skew: int, signed_with: str, tamper: str
) -> None:
    """Both verifiers give the same answers.

    For signed deliveries, tampered or not, fresh or stale (up to 400 s either way), with the right
    key or another: the two implementations accept exactly the same ones: untampered, right key,
    within 300 s (a few seconds of margin are left out, so the test cannot race the clock).
    """
    if abs(abs(skew) - 300) <= 2:
        skew += 5 if skew > 0 else -5
    headers = sign(signed_with, webhook_id, time.time() + skew, body)
    if tamper == "body":
        body += b"x"
    elif tamper == "id":
        headers["webhook-id"] += "x"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    elif tamper == "signature":
        headers["webhook-signature"] = "v1," + "A" * 44
    answers = {verdict(v, body, headers) for v in verifiers()}
    assert answers == {signed_with == SECRET and tamper == "none" and abs(skew) < 300}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"webhook-id": "msg_1", "webhook-timestamp": "now", "webhook-signature": "v1,AAAA"},
        {"webhook-id": "msg_1", "webhook-timestamp": str(int(time.time())), "webhook-signature": "garbage"},
        {"webhook-id": "msg_1", "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1,not base64!"},
    ],
)
def test_unreadable_headers_are_a_bad_signature_not_a_crash(headers: dict[str, str]) -> None:
    """Unreadable headers are a bad signature not a crash.

    Missing headers, a timestamp that is not a number, a signature without version or not base64:
    BadSignature (a WebhookRejected, a ValueError) from both implementations, never another exception.
    """
    for verifier in verifiers():
        with pytest.raises(BadSignature) as info:
            verifier.verify(b"{}", headers)
        assert isinstance(info.value, WebhookRejected)
        assert isinstance(info.value, ValueError)


def test_a_body_that_is_not_utf8_is_refused() -> None:
    """Bytes that are not UTF-8 cannot have been signed as text: refused by both."""
    body = b"\xff\xfe{}"
    headers = sign(SECRET, "msg_1", time.time(), "{}")
    for verifier in verifiers():
        with pytest.raises(BadSignature):
            verifier.verify(body, headers)


def test_secrets_are_checked_when_the_verifier_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty secret, a secret that is not base64, or a client without a secret fail at once."""
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ValueError, match="non-empty"):
        StandardWebhooks("")
    with pytest.raises(ValueError, match="base64"):
        StandardWebhooks("whsec_***")
    with pytest.raises(ValueError, match="no webhook secret"):
        OpenAIWebhooks(openai.OpenAI(api_key="test", base_url="http://127.0.0.1:9/v1", webhook_secret=None))
