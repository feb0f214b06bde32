"""``runfsm webhooks``: ``serve`` receives webhooks into a SQLite store; ``state`` prints what the store knows.

``runfsm webhooks serve --secret-env OPENAI_WEBHOOK_SECRET --store hooks.sqlite [--host --port --path]``
binds ``HOST:PORT``, says where it receives, and runs the receiver under uvicorn until
interrupted. ``--on-change MODULE:FUNCTION`` registers a callback for every state entered;
``--reconcile SECONDS`` polls overdue objects with an ``openai.OpenAI()`` client built from the
environment (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``), under ``--budget`` requests a minute. Exit 2,
before anything is served, for an option out of range, a callback that cannot be imported, a
missing secret or API key, or an address it cannot listen on (taken, not this host's, no address).

``runfsm webhooks state --store hooks.sqlite [ID]`` prints JSON: the store's counts, or one object
(state, tracker, every event with its verdict and deliveries, the states entered). Exit 1 if ID is
unknown, 2 if the store cannot be read (missing, not SQLite, not a runfsm store, another schema).
``runfsm webhooks log --store hooks.sqlite`` prints every event body received, once each, in
arrival order: a JSON Lines log ``runfsm validate`` reads (on a standard output that is not
UTF-8, with non-ASCII characters in JSON's escapes). Both only read: the store is opened
read-only, never created nor changed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sqlite3
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runfsm.commands.main import EXIT_FAILURES, EXIT_OK, EXIT_USAGE
from runfsm.commands.options import ranged
from runfsm.commands.streams import json_for
from runfsm.printable import printable

if TYPE_CHECKING:
    from collections.abc import Callable

    from runfsm.webhooks.receiver import Retriever

__all__ = ["MAX_BUDGET", "MAX_RECONCILE_S", "add_arguments", "run"]

MAX_PORT = 65535
MAX_RECONCILE_S = 86400.0
"""The longest ``--reconcile`` interval: one day (overdue objects are polled at least that often)."""
MAX_BUDGET = 1_000_000
"""The largest ``--budget``, in requests a minute (far above any API rate limit)."""


_port = ranged(
    int,
    lambda port: 0 <= port <= MAX_PORT,
    kind=f"a port number (an integer from 0 to {MAX_PORT})",
    wanted=f"is not a port number (0 to {MAX_PORT}; 0 picks a free one)",
)
_interval = ranged(
    float,
    lambda seconds: math.isfinite(seconds) and 0 < seconds <= MAX_RECONCILE_S,
    kind="a number of seconds",
    wanted=f"is not an interval: give seconds more than 0 and at most {MAX_RECONCILE_S:g} (one day)",
)
_budget = ranged(
    int,
    lambda budget: 2 <= budget <= MAX_BUDGET,
    kind="an integer",
    wanted=f"is not a budget: give 2 to {MAX_BUDGET} requests a minute",
)

_lease = ranged(
    float, lambda seconds: seconds >= 0, kind="a number of seconds", wanted="is not a lease: give seconds, 0 or more"
)


def _path(text: str) -> str:
    if not text.startswith("/"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL path: it must start with '/' (such as /hooks)")
    return text


def _object_id(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8, which the command line decodes to lone surrogates
        raise argparse.ArgumentTypeError(f"{os.fsencode(text)!r} is not UTF-8 text, as object ids are") from None
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve``, ``state`` and ``log`` subcommands."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    serve = sub.add_parser("serve", help="receive webhooks (uvicorn) into a SQLite store", description=__doc__)
    serve.add_argument("--secret-env", required=True, metavar="NAME", help="environment variable holding whsec_...")
    serve.add_argument("--store", required=True, type=Path, metavar="FILE", help="the SQLite file (created if absent)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument(
        "--port", type=_port, default=8000, help=f"port, 0 to {MAX_PORT} (0: a free one, said at start; default: 8000)"
    )
    serve.add_argument(
        "--path", type=_path, default="/", help="URL path receiving the webhooks, starting with / (default: /)"
    )
    serve.add_argument(
        "--on-change",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="call FUNCTION(entered) for every state entered (repeatable)",
    )
    serve.add_argument(
        "--reconcile",
        type=_interval,
        metavar="SECONDS",
        help=(
            "every SECONDS (more than 0, at most 86400: one day), poll objects whose terminal event is overdue"
            " (openai client from the environment: OPENAI_API_KEY)"
        ),
    )
    serve.add_argument(
        "--budget", type=_budget, default=60, help=f"reconcile requests per minute, 2 to {MAX_BUDGET} (default: 60)"
    )
    serve.add_argument(
        "--synchronous",
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="SQLite's: FULL survives a power cut (default); NORMAL a crash of the process, at a higher rate",
    )
    serve.add_argument(
        "--callback-lease",
        type=_lease,
        default=60.0,
        metavar="SECONDS",
        help="a callback claimed by a process that died runs again after SECONDS (default: 60)",
    )
    state = sub.add_parser("state", help="print what a store knows (JSON)", description="print a store's state")
    state.add_argument("--store", required=True, type=Path, metavar="FILE", help="the SQLite file")
    state.add_argument("id", nargs="?", type=_object_id, help="one object's id (default: counts for the whole store)")
    log = sub.add_parser(
        "log", help="print the event bodies received (JSON Lines)", description="print a store's events"
    )
    log.add_argument("--store", required=True, type=Path, metavar="FILE", help="the SQLite file")
    log.add_argument("--lifecycle", metavar="KEY", help="only the events of one lifecycle (response, batch)")


def _error(action: str, message: str) -> int:
    """Say what went wrong in one line (input shown with its control characters escaped); the usage exit code."""
    print(f"runfsm webhooks {action}: error: {printable(message)}", file=sys.stderr)
    return EXIT_USAGE


def _callback(spec: str) -> Callable[[Any], object]:
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise ValueError(f"--on-change {spec!r}: expected MODULE:FUNCTION")
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as err:  # noqa: BLE001 - the module's own code ran: whatever it raised is said
        raise ValueError(f"--on-change {spec!r}: cannot import {module_name!r}: {type(err).__name__}: {err}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"--on-change {spec!r}: {module_name} has no function {name!r}")
    return function  # type: ignore[no-any-return]


def _retriever() -> Retriever:
    """Retrieval through an ``openai.OpenAI()`` client configured by the environment, for ``--reconcile``."""
    try:
        import openai  # noqa: PLC0415
    except ImportError:
        raise ValueError("--reconcile polls with the openai package: pip install 'runfsm[openai]'") from None
    from runfsm.webhooks.reconcile import openai_retriever  # noqa: PLC0415

    try:
        client = openai.OpenAI()
    except openai.OpenAIError as err:
        if not os.environ.get("OPENAI_API_KEY"):
            raise ValueError(
                "--reconcile polls the OpenAI API and needs its key: $OPENAI_API_KEY is not set"
                " (export OPENAI_API_KEY=sk-...; OPENAI_BASE_URL for another endpoint)"
            ) from None
        raise ValueError(f"--reconcile: the openai client cannot be made: {err}") from None
    return openai_retriever(client)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _serve(args: argparse.Namespace) -> int:
    from runfsm.webhooks.receiver import Receiver  # noqa: PLC0415
    from runfsm.webhooks.reconcile import Reconciler  # noqa: PLC0415
    from runfsm.webhooks.service import listen, serve  # noqa: PLC0415
    from runfsm.webhooks.store import WebhookStore  # noqa: PLC0415

    secret = os.environ.get(args.secret_env)
    if not secret:
        return _error("serve", f"${args.secret_env} is not set (the endpoint's whsec_ secret)")
    try:
        callbacks = [_callback(spec) for spec in args.on_change]
        retrieve = _retriever() if args.reconcile is not None else None
    except ValueError as err:
        return _error("serve", str(err))
    try:
        sock = listen(args.host, args.port)
    except OSError as err:
        return _error("serve", f"cannot listen on {_address(args.host, args.port)}: {err.strerror or err}")
    try:
        store = WebhookStore(args.store, synchronous=args.synchronous)
    except sqlite3.Error as err:  # SQLite's messages do not name the file
        sock.close()
        return _error("serve", f"{args.store}: {err}")
    except ValueError as err:  # the store's name it
        sock.close()
        return _error("serve", str(err))
    try:
        receiver = Receiver(store, secret=secret, retrieve=retrieve, callback_lease=args.callback_lease)
    except ValueError as err:  # a secret that is not whsec_ and base64
        store.close()
        sock.close()
        return _error("serve", f"${args.secret_env}: {err}")
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
    url = f"http://{_address(args.host, sock.getsockname()[1])}{args.path}"
    print(f"runfsm webhooks: receiving on {printable(url)} into {printable(str(args.store))}", file=sys.stderr)
    try:
        serve(receiver, path=args.path, sock=sock)
    finally:
        stop.set()
        if reconciling is not None:
            reconciling.join(10)
        receiver.close()
    return EXIT_OK


def _lifecycle_name(key: str | None) -> str | None:
    from runfsm.lifecycles import preset  # noqa: PLC0415

    return preset(key).name if key is not None else None


def _state(args: argparse.Namespace) -> int:
    from runfsm.webhooks.store import WebhookStore  # noqa: PLC0415

    try:
        lifecycle = _lifecycle_name(args.lifecycle) if args.action == "log" else None
    except ValueError as err:
        return _error(args.action, f"--lifecycle: {err}")
    if not args.store.is_file():
        return _error(args.action, f"no store at {args.store}")
    try:
        with WebhookStore(args.store, read_only=True) as store:
            if args.action == "log":
                for body in store.bodies(lifecycle=lifecycle):
                    # one line each: a line break in a JSON body is white space between its tokens
                    # (one inside a string is escaped), so a space stands for it and the JSON is the same
                    line = body.replace("\r", " ").replace("\n", " ")
                    sys.stdout.write(json_for(sys.stdout, line) + "\n")  # valid JSON whatever the encoding
                return EXIT_OK
            data = store.summary() if args.id is None else store.object(args.id)
    except sqlite3.Error as err:  # SQLite's messages do not name the file
        return _error(args.action, f"{args.store}: {err}")
    except ValueError as err:  # the store's name it
        return _error(args.action, str(err))
    if data is None:
        print(
            f"runfsm webhooks state: {printable(repr(args.id))} is not in {printable(str(args.store))}", file=sys.stderr
        )
        return EXIT_FAILURES
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run ``serve``, ``state`` or ``log``."""
    return _serve(args) if args.action == "serve" else _state(args)
