"""Webhook ingest: receive OpenAI's signed webhooks for background responses and batches, durably and once.

- :class:`Receiver`: verify (Standard Webhooks), queue in SQLite, answer 2xx, then apply each
  event to the object's tracker in the object's own order and fire callbacks once per state
  entered. Use it as an ASGI app (:meth:`Receiver.asgi`, mountable in Starlette or FastAPI), as a
  framework-free handler (:meth:`Receiver.handle`), or as ``runfsm webhooks serve``.
- :class:`Reconciler`: poll, under a request budget, only the objects whose terminal event is overdue.
- :class:`WebhookStore`: the SQLite file (WAL; several processes may share it).

Needs ``pip install runfsm[webhooks]`` (standardwebhooks; starlette and uvicorn for the app and
the service). Importing this package imports neither.
"""

from runfsm.exceptions import BadSignature, MalformedWebhook, WebhookRejected
from runfsm.webhooks.events import EventTypes, WebhookEvent, read_event
from runfsm.webhooks.receiver import Receiver, WebhookAnswer, default_lifecycles
from runfsm.webhooks.reconcile import Pass, Reconciler, openai_retriever
from runfsm.webhooks.signature import OpenAIWebhooks, StandardWebhooks, Verifier
from runfsm.webhooks.store import WebhookStore
from runfsm.webhooks.timeline import Entered, Sample, Verdict

__all__ = [
    "BadSignature",
    "Entered",
    "EventTypes",
    "MalformedWebhook",
    "OpenAIWebhooks",
    "Pass",
    "Receiver",
    "Reconciler",
    "Sample",
    "StandardWebhooks",
    "Verdict",
    "Verifier",
    "WebhookAnswer",
    "WebhookEvent",
    "WebhookRejected",
    "WebhookStore",
    "default_lifecycles",
    "openai_retriever",
    "read_event",
]
