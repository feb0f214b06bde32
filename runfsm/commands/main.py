"""The ``runfsm`` command line: ``main(argv) -> int``, one subcommand per capability.

Exit codes (:mod:`runfsm.commands.exits`): 0 success; 1 the input was read but something in it
failed (an illegal run); 2 unusable input or a usage error; 3 the output could not be written;
130 interrupted. Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; they are imported only when needed. Every failure is one line on standard
error, never a traceback; a character the standard streams' encoding cannot represent (``é``
under ``LC_ALL=C``) is written as an escape (:mod:`runfsm.commands.streams`).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import sys
from typing import TYPE_CHECKING, Protocol, cast

from runfsm.commands.exits import EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_OK, EXIT_OUTPUT, EXIT_USAGE, epilog
from runfsm.commands.streams import escape_unencodable
from runfsm.commands.target import TargetError
from runfsm.exceptions import RunfsmError
from runfsm.printable import printable

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["EXIT_FAILURES", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_OUTPUT", "EXIT_USAGE", "main"]

_OUTPUT_ERRNOS = frozenset(
    {errno.EPIPE, errno.ENOSPC, errno.EBADF, errno.EIO, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.ECONNRESET}
)
"""An OSError without a file name and with one of these is a failed write to standard output."""

#: subcommand -> (module, one-line help). Modules are imported lazily.
COMMANDS: dict[str, tuple[str, str]] = {
    "lifecycle": ("runfsm.commands.lifecycle", "print the lifecycle declaration (markdown table or JSON)"),
    "validate": ("runfsm.commands.validate", "validate observed run histories (run objects, stream events, CSV)"),
    "simulate": ("runfsm.commands.simulate", "write a corpus of realistic run histories in any input format"),
    "diagram": ("runfsm.commands.diagram", "draw the lifecycle, or observed runs on it (Mermaid, DOT, SVG, PNG)"),
    "webhooks": (
        "runfsm.commands.webhooks",
        "receive webhooks into a SQLite store (serve); show what it knows (state)",
    ),
}


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(name: str) -> _Command:
    return cast("_Command", importlib.import_module(COMMANDS[name][0]))


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (imports every subcommand module)."""
    from runfsm import __version__  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="runfsm",
        description="The OpenAI Assistants run lifecycle as one explicit state machine.",
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"runfsm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=epilog(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _load(name).add_arguments(command_parser)
    return parser


def _silence_stdout() -> None:
    """Point standard output at the null device, so that nothing fails again at exit's flush."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # None, closed, or not a file (captured)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _is_output_failure(err: OSError) -> bool:
    return err.filename is None and err.errno in _OUTPUT_ERRNOS


def _fail(command: str, message: str, code: int) -> int:
    with contextlib.suppress(AttributeError, OSError, ValueError):  # stderr gone too: the exit code tells
        print(f"runfsm {command}: {printable(message)}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    escape_unencodable(sys.stdout, sys.stderr)  # before anything is written, usage errors included
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help, --version and usage errors
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    command = str(args.command)
    if sys.stdout is None:  # started with standard output closed (``>&-``)
        return _fail(command, "error: standard output is closed; nothing can be reported", EXIT_OUTPUT)
    try:
        code = _load(command).run(args)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
    except TargetError as err:  # -o or --report cannot be written
        return _fail(command, f"error: {err}", EXIT_OUTPUT)
    except RunfsmError as err:
        return _fail(command, f"error: {err}", EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail(command, "interrupted", EXIT_INTERRUPTED)
    except OSError as err:
        if not _is_output_failure(err):  # a file the command opened: its name is in the error
            return _fail(command, f"error: {err.filename or 'I/O'}: {err.strerror or err}", EXIT_USAGE)
        _silence_stdout()
        if isinstance(err, BrokenPipeError):
            return _fail(command, "error: standard output was closed before the report ended", EXIT_OUTPUT)
        return _fail(command, f"error: cannot write to standard output: {err.strerror or err}", EXIT_OUTPUT)
    return code
