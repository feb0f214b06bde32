"""The ``runfsm`` command line: ``main(argv) -> int``, one subcommand per capability.

Exit codes: 0 success; 1 the input was read but something in it failed (an illegal run);
2 unusable input or a usage error. Each subcommand lives in its own module exposing
``add_arguments(parser)`` and ``run(args) -> int``; they are imported only when needed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import TYPE_CHECKING, Protocol, cast

from runfsm.exceptions import RunfsmError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["EXIT_FAILURES", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
"""Everything was fine."""
EXIT_FAILURES = 1
"""The input was read, and some of it failed (an illegal run, for example)."""
EXIT_USAGE = 2
"""Unusable input or a usage error."""

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
    )
    parser.add_argument("--version", action="version", version=f"runfsm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        _load(name).add_arguments(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help, --version and usage errors
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return _load(args.command).run(args)
    except RunfsmError as err:
        print(f"runfsm {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"runfsm {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
