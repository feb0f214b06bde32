"""``runfsm webhooks``: ``serve`` receives webhooks into a SQLite store; ``state`` prints what the store knows.

``runfsm webhooks serve --secret-env OPENAI_WEBHOOK_SECRET --store hooks.sqlite [--host --port --path]``
runs the receiver under uvicorn until interrupted. ``--on-change MODULE:FUNCTION`` registers a
callback for every state entered; ``--reconcile SECONDS`` polls overdue objects with an
``openai.OpenAI()`` client built from the environment (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``),
under ``--budget`` requests a minute.

``runfsm webhooks state --store hooks.sqlite [ID]`` prints JSON: the store's counts, or one object
(state, tracker, every event with its verdict and deliveries, the states entered). Exit 1 if ID is
unknown, 2 if the store cannot be read. ``runfsm webhooks log --store hooks.sqlite`` prints every
event body received, once each, in arrival order: a JSON Lines log ``runfsm validate`` reads
(on a standard output that is not UTF-8, with non-ASCII characters in JSON's escapes).
"""

from __future__ import annotations

import importlib
import json
import os
import sqlite3
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runfsm.commands.main import EXIT_FAILURES, EXIT_OK, EXIT_USAGE
from runfsm.commands.streams import json_for

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` and ``state`` subcommands."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    serve = sub.add_parser("serve", help="receive webhooks (uvicorn) into a SQLite store", description=__doc__)
    serve.add_argument("--secret-env", required=True, metavar="NAME", help="environment variable holding whsec_...")
    serve.add_argument("--store", required=True, type=Path, metavar="FILE", help="the SQLite file (created if absent)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--path", default="/", help="URL path receiving the webhooks (default: /)")
    serve.add_argument(
        "--on-change",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="call FUNCTION(entered) for every state entered (repeatable)",
    )
    serve.add_argument(
        "--reconcile",
        type=float,
        metavar="SECONDS",
        help="every SECONDS, poll objects whose terminal event is overdue (openai client from the environment)",
    )
    serve.add_argument("--budget", type=int, default=60, help="reconcile requests per minute (default: 60)")
    serve.add_argument(
        "--synchronous",
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="SQLite's: FULL survives a power cut (default); NORMAL a crash of the process, at a higher rate",
    )
    serve.add_argument(
        "--callback-lease",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="a callback claimed by a process that died runs again after SECONDS (default: 60)",
    )
    state = sub.add_parser("state", help="print what a store knows (JSON)", description="print a store's state")
    state.add_argument("--store", required=True, type=Path, metavar="FILE", help="the SQLite file")
    state.add_argument("id", nargs="?", help="one object's id (default: counts for the whole store)")
    log = sub.add_parser(
        "log", help="print the event bodies received (JSON Lines)", description="print a store's events"
    )
    log.add_argument("--store", required=True, type=Path, metavar="FILE", help="the SQLite file")
    log.add_argument("--lifecycle", metavar="KEY", help="only the events of one lifecycle (response, batch)")


def _callback(spec: str) -> Callable[[Any], object]:
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise ValueError(f"--on-change {spec!r}: expected MODULE:FUNCTION")
    function = getattr(importlib.import_module(module_name), name, None)
    if not callable(function):
        raise ValueError(f"--on-change {spec!r}: {module_name} has no function {name!r}")
    return function  # type: ignore[no-any-return]


def _serve(args: argparse.Namespace) -> int:
    from runfsm.webhooks.receiver import Receiver  # noqa: PLC0415
    from runfsm.webhooks.reconcile import Reconciler, openai_retriever  # noqa: PLC0415
    from runfsm.webhooks.service import serve  # noqa: PLC0415
    from runfsm.webhooks.store import WebhookStore  # noqa: PLC0415

    secret = os.environ.get(args.secret_env)
    if not secret:
        print(
            f"runfsm webhooks serve: error: ${args.secret_env} is not set (the endpoint's whsec_ secret)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        callbacks = [_callback(spec) for spec in args.on_change]
        retrieve = None
        if args.reconcile is not None:
            import openai  # noqa: PLC0415

            retrieve = openai_retriever(openai.OpenAI())
        store = WebhookStore(args.store, synchronous=args.synchronous)
        receiver = Receiver(store, secret=secret, retrieve=retrieve, callback_lease=args.callback_lease)
    except (ValueError, ImportError, sqlite3.Error) as err:
        print(f"runfsm webhooks serve: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    for callback in callbacks:
        receiver.on_change(callback)
    stop = threading.Event()
    reconciling = None
    if args.reconcile is not None:
        reconciler = Reconciler(receiver, per_minute=args.budget)
        reconciling = threading.Thread(
            target=reconciler.run,
            kwargs={"stop": stop, "interval": args.reconcile},
            name="runfsm-reconcile",
            daemon=True,
        )
        reconciling.start()
    print(f"runfsm webhooks: receiving on http://{args.host}:{args.port}{args.path} into {args.store}", file=sys.stderr)
    try:
        serve(receiver, host=args.host, port=args.port, path=args.path)
    finally:
        stop.set()
        if reconciling is not None:
            reconciling.join(10)
        receiver.close()
    return EXIT_OK


def _state(args: argparse.Namespace) -> int:
    from runfsm.lifecycles import preset  # noqa: PLC0415
    from runfsm.webhooks.store import WebhookStore  # noqa: PLC0415

    if not args.store.is_file():
        print(f"runfsm webhooks {args.action}: error: no store at {args.store}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with WebhookStore(args.store) as store:
            if args.action == "log":
                name = preset(args.lifecycle).name if args.lifecycle is not None else None
                for body in store.bodies(lifecycle=name):
                    sys.stdout.write(json_for(sys.stdout, body) + "\n")  # valid JSON whatever the encoding
                return EXIT_OK
            data = store.summary() if args.id is None else store.object(args.id)
    except (sqlite3.Error, ValueError) as err:
        print(f"runfsm webhooks {args.action}: error: {args.store}: {err}", file=sys.stderr)
        return EXIT_USAGE
    if data is None:
        print(f"runfsm webhooks state: {args.id!r} is not in {args.store}", file=sys.stderr)
        return EXIT_FAILURES
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run ``serve``, ``state`` or ``log``."""
    return _serve(args) if args.action == "serve" else _state(args)
