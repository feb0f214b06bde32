"""The exit codes of ``runfsm``: what each number means, for scripts, ``--help`` and the README."""

from __future__ import annotations

__all__ = ["EXIT_CODES", "EXIT_FAILURES", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_OUTPUT", "EXIT_USAGE", "epilog"]

EXIT_OK = 0
"""Everything was fine (``validate``: every run legal)."""
EXIT_FAILURES = 1
"""The input was read, and some of it failed (an illegal run, for example)."""
EXIT_USAGE = 2
"""Unusable input (an unreadable file or line, an unknown status) or a usage error.

Also a webhook store that cannot be read, and an address ``webhooks serve`` cannot listen on: what
was given cannot be used, as for an unreadable input file.
"""
EXIT_OUTPUT = 3
"""The output could not be written: a full disk, a closed standard output, a reader that stopped early.

The verdict did not reach its reader, so it is never reported as 0.
"""
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C), as shells report SIGINT: 128 + 2."""

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success (validate: every run legal)",
    EXIT_FAILURES: "some run failed: illegal (with --strict also unfinished, or an unrecorded client call)",
    EXIT_USAGE: "unusable input (unreadable file or line, unknown status) or a usage error",
    EXIT_OUTPUT: "the output could not be written (disk full, standard output closed, reader stopped early)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}
"""Each exit code and its meaning, as ``--help`` lists them."""


def epilog(codes: tuple[int, ...] = tuple(EXIT_CODES)) -> str:
    """The ``exit codes:`` block of a subcommand's ``--help`` (``codes``: the ones it can return)."""
    return "exit codes:\n" + "".join(f"  {code:<5}{EXIT_CODES[code]}\n" for code in codes)
