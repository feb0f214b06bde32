"""``runfsm simulate``: write a corpus of realistic run histories in one of the input formats."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Literal, cast

from runfsm.commands.options import ranged
from runfsm.commands.target import claim
from runfsm.testing.simulate import CORPUS_FORMATS, CorpusFormat, simulate_runs, write_corpus

if TYPE_CHECKING:
    import argparse

__all__ = ["add_arguments", "run"]


_fraction = ranged(float, lambda v: 0.0 <= v <= 1.0, kind="a number", wanted="is not a fraction between 0 and 1")
_positive = ranged(int, lambda n: n >= 1, kind="an integer", wanted="must be at least 1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``runfsm simulate``."""
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--runs", type=_positive, help="number of runs to write (default: 100)")
    size.add_argument("--events", type=_positive, metavar="N", help="write runs until the file has N lines")
    parser.add_argument(
        "--format",
        dest="corpus_format",
        choices=CORPUS_FORMATS,
        default="jsonl",
        help="jsonl: run objects (poll); events: stream events as JSON Lines; sse: raw SSE text; "
        "compact: one run per line; csv: run_id,status,timestamp (default: jsonl)",
    )
    parser.add_argument("--illegal", type=_fraction, default=0.0, help="fraction of runs with one illegal jump")
    parser.add_argument("--unfinished", type=_fraction, default=0.0, help="fraction of runs cut before their end")
    parser.add_argument(
        "--record-calls", type=_fraction, default=1.0, help="chance a client call is logged (poll formats; default 1)"
    )
    parser.add_argument("--concurrency", type=_positive, default=50, help="runs interleaved at once (default: 50)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same file)")
    parser.add_argument("-o", "--output", default="-", help="output file (default: standard output)")


def run(args: argparse.Namespace) -> int:
    """Write the corpus."""
    fmt = cast("CorpusFormat", args.corpus_format)
    mode: Literal["stream", "poll"] = "stream" if fmt in ("events", "sse") else "poll"
    count = -1 if args.events is not None else (args.runs if args.runs is not None else 100)
    runs = simulate_runs(
        count,
        seed=args.seed,
        mode=mode,
        illegal=args.illegal,
        unfinished=args.unfinished,
        record_calls=args.record_calls,
        fmt=fmt,
    )
    if args.output == "-":
        write_corpus(sys.stdout, runs, fmt=fmt, concurrency=args.concurrency, seed=args.seed, max_lines=args.events)
        return 0
    target = claim(args.output)
    try:
        with target.text() as out:
            written = write_corpus(
                out, runs, fmt=fmt, concurrency=args.concurrency, seed=args.seed, max_lines=args.events
            )
        target.commit(command="simulate", what=f"{written:,} lines")
    finally:
        target.abandon()
    return 0
