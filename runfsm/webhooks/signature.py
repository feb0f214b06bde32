"""Webhook signature checks (Standard Webhooks), done by the libraries made for it, never by hand.

A :class:`Verifier` takes the raw body and the request headers and raises
:class:`~runfsm.exceptions.BadSignature` unless ``webhook-signature`` holds a valid ``v1``
HMAC of ``"{webhook-id}.{webhook-timestamp}.{body}"`` and the timestamp is within five minutes
of now, either way. Two implementations:

:class:`StandardWebhooks` (the default)
    The ``standardwebhooks`` package. The secret is the ``whsec_...`` string OpenAI shows
    (base64 after the prefix).
:class:`OpenAIWebhooks`
    The ``openai`` SDK's ``client.webhooks.verify_signature``, for code that already holds a
    client (``OpenAI(webhook_secret=...)`` or ``OPENAI_WEBHOOK_SECRET``). The SDK takes a secret
    without the ``whsec_`` prefix as raw bytes where ``standardwebhooks`` base64-decodes it: with
    a ``whsec_`` secret both give the same answers (``tests/webhooks/test_signature.py`` proves it).

Both packages are imported when a verifier is built, not when this module is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from runfsm.exceptions import BadSignature

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["TOLERANCE_S", "OpenAIWebhooks", "StandardWebhooks", "Verifier"]

TOLERANCE_S = 300
"""How far ``webhook-timestamp`` may be from now, either way (both libraries' default)."""


class Verifier(Protocol):
    """Checks one delivery's signature; raises :class:`~runfsm.exceptions.BadSignature` if it is not valid."""

    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise unless ``body`` was signed with the secret, recently."""
        ...


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _check_secret(secret: object) -> str:
    if not isinstance(secret, str) or not secret.strip():
        raise ValueError("the webhook secret must be a non-empty string (the whsec_... value of your endpoint)")
    return secret


class StandardWebhooks:
    """Verifies with the ``standardwebhooks`` package (``pip install runfsm[webhooks]``).

    >>> StandardWebhooks("")
    Traceback (most recent call last):
      ...
    ValueError: the webhook secret must be a non-empty string (the whsec_... value of your endpoint)
    """

    __slots__ = ("_webhook",)

    def __init__(self, secret: str) -> None:
        from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook  # noqa: PLC0415  (not in `import runfsm`)

        checked = _check_secret(secret)  # its own ValueError: no secret at all
        try:
            self._webhook = Webhook(checked)
        except (ValueError, EmptyWebhookSecretError) as err:  # binascii.Error, or nothing left after decoding
            raise ValueError(f"the webhook secret is not base64 after its whsec_ prefix: {err}") from None

    def __repr__(self) -> str:
        return "<StandardWebhooks verifier>"

    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise :class:`~runfsm.exceptions.BadSignature` unless the delivery is signed and recent."""
        from standardwebhooks.webhooks import WebhookVerificationError  # noqa: PLC0415

        try:
            self._webhook.verify(body, _lower(headers), json_parse=False)
        except WebhookVerificationError as err:
            raise BadSignature(str(err)) from None
        except ValueError as err:  # a signature entry without a comma, bad base64, a body that is not UTF-8
            raise BadSignature(f"unreadable signature headers or body: {err}") from None


class OpenAIWebhooks:
    """Verifies with an ``openai`` client's ``webhooks.verify_signature``.

    ``secret`` overrides the client's ``webhook_secret``; one of the two must be set.
    """

    __slots__ = ("_client", "_secret", "_tolerance")

    def __init__(self, client: Any, *, secret: str | None = None, tolerance: int = TOLERANCE_S) -> None:
        if secret is None and not getattr(client, "webhook_secret", None):
            raise ValueError("no webhook secret: pass secret=, or build the client with webhook_secret=")
        self._client = client
        self._secret = _check_secret(secret) if secret is not None else None
        self._tolerance = tolerance

    def __repr__(self) -> str:
        return "<OpenAIWebhooks verifier>"

    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise :class:`~runfsm.exceptions.BadSignature` unless the delivery is signed and recent."""
        from openai import InvalidWebhookSignatureError  # noqa: PLC0415

        try:
            self._client.webhooks.verify_signature(
                body, _lower(headers), secret=self._secret, tolerance=self._tolerance
            )
        except InvalidWebhookSignatureError as err:
            raise BadSignature(str(err)) from None
        except ValueError as err:  # a missing header, a body that is not UTF-8, a secret that is not base64
            raise BadSignature(f"unreadable signature headers or body: {err}") from None
