"""``runfsm diagram``: draw the lifecycle, or observed run histories on it."""

from __future__ import annotations

import dataclasses
import sys
from typing import TYPE_CHECKING, Any, cast

from runfsm.commands.target import claim
from runfsm.drawing.diagram import EXTENSIONS, FORMATS, format_for, lifecycle_diagram, render
from runfsm.exceptions import DiagramError
from runfsm.lifecycles import PRESETS, RUN_LIFECYCLE, preset
from runfsm.printable import printable

if TYPE_CHECKING:
    import argparse

    from runfsm.drawing.diagram import Diagram, Format
    from runfsm.lifecycle import Lifecycle

__all__ = [
    "README_BEGIN",
    "README_END",
    "SAMPLES_OVERLAY_ARGS",
    "add_arguments",
    "diagram_stem",
    "readme_block",
    "readme_markers",
    "run",
]


def readme_markers(lifecycle: Lifecycle[Any] = RUN_LIFECYCLE) -> tuple[str, str]:
    """The comments around a lifecycle's generated block in the README."""
    return (
        f"<!-- BEGIN generated from the {lifecycle.key} declaration by `python diagrams/update.py`: do not edit -->",
        f"<!-- END generated {lifecycle.key} -->",
    )


README_BEGIN, README_END = readme_markers()
"""The markers of the default lifecycle's block (the Assistants run's)."""
SAMPLES_OVERLAY_ARGS = ("--run", "run_late4")
"""How ``diagrams/samples-overlay.svg`` is drawn from the bundled samples (after ``--overlay SAMPLES...``)."""


def diagram_stem(lifecycle: Lifecycle[Any] = RUN_LIFECYCLE) -> str:
    """The name of a lifecycle's committed diagrams: ``diagrams/<stem>.{mmd,dot,svg}``."""
    return f"{lifecycle.key}-lifecycle"


def readme_block(lifecycle: Lifecycle[Any] = RUN_LIFECYCLE) -> str:
    """A lifecycle's README block: the Mermaid diagram, the transition table and the sources, between markers."""
    from runfsm.commands.lifecycle import markdown_table  # noqa: PLC0415

    begin, end = readme_markers(lifecycle)
    mermaid = render(lifecycle_diagram(lifecycle), format="mermaid").decode("utf-8")
    return f"{begin}\n```mermaid\n{mermaid}```\n\n{markdown_table(lifecycle)}{end}\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``runfsm diagram``."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="mermaid (default), dot, svg or png; svg and png need Graphviz. Default: from -o's extension "
        "(.mmd, .dot, .gv, .svg, .png; any other needs --format, and one naming another format is an error)",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    parser.add_argument(
        "--lifecycle",
        choices=("auto", *PRESETS),
        default="auto",
        help="which lifecycle to draw: Assistants run, background response or batch; auto: the run, or with "
        "--overlay the one the logs' first records name (default: auto)",
    )
    parser.add_argument(
        "--overlay",
        nargs="+",
        metavar="FILE",
        help="draw the runs in these logs on the lifecycle (the text logs `runfsm validate` reads, plain, .gz or "
        ".zst; directories and globs; - for stdin)",
    )
    parser.add_argument(
        "--mode",
        choices=("auto", "poll", "stream"),
        default="auto",
        help="with --overlay: how the statuses were observed (default: auto, from the input format)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="with --overlay: count unrecorded client calls as illegal"
    )
    parser.add_argument("--run", metavar="ID", help="with --overlay: highlight this run's path")
    parser.add_argument(
        "--aggregate",
        choices=("auto", "never", "always"),
        default="auto",
        help="with --overlay: draw illegal jumps (and first sightings) one edge per pair of states (never), "
        "or as a count in each state (always); auto: per pair up to a few pairs (default: auto)",
    )
    parser.add_argument("--title", help="the diagram's title")


def _overlay(args: argparse.Namespace) -> tuple[Diagram, int]:
    from runfsm.drawing.overlay import Overlay  # noqa: PLC0415  (only overlays need it)
    from runfsm.validation import validate_paths  # noqa: PLC0415

    errors = 0

    def on_error(err: Exception) -> None:
        nonlocal errors
        errors += 1
        print(f"runfsm diagram: {printable(str(err))}", file=sys.stderr)

    from runfsm.validation.engines.inputs import expand_paths  # noqa: PLC0415
    from runfsm.validation.records import resolve_lifecycle  # noqa: PLC0415

    # directories and globs stand for their files, as for validate (standard input stays itself)
    paths = [path for entry in args.overlay for path in (["-"] if entry == "-" else expand_paths([entry]))]
    lifecycle = resolve_lifecycle(args.lifecycle, paths)
    overlay = Overlay(highlight=args.run, lifecycle=lifecycle)
    verdicts = validate_paths(paths, mode=args.mode, strict=args.strict, on_error=on_error, lifecycle=lifecycle)
    overlay.update(verdicts)
    if args.run is not None and overlay.highlighted is None:
        raise DiagramError(f"--run {args.run}: no run with this id in {', '.join(args.overlay)}")
    return overlay.diagram(title=args.title, aggregate=args.aggregate), errors


def _format(args: argparse.Namespace) -> Format:
    """The output format: from ``-o``'s extension, or ``--format``; they must agree when both say one.

    An unknown extension needs ``--format`` (``-o lifecycle.txt --format dot``); a known one that
    names another format (``-o x.png --format svg``) is an error, never SVG in a ``.png``.
    """
    if args.output is None or args.output == "-":
        return cast("Format", args.format or "mermaid")
    named = format_for(args.output, default=None)
    if named is None and args.format is None:
        known = ", ".join(EXTENSIONS)
        raise DiagramError(f"-o {args.output}: unknown extension; use one of {known}, or say the format with --format")
    if named is not None and args.format is not None and named != args.format:
        raise DiagramError(
            f"-o {args.output}: the extension says {named}, --format says {args.format}; "
            f"name the file for {args.format} ({_extensions(args.format)}), or leave --format out"
        )
    return cast("Format", args.format or named)


def _extensions(fmt: str) -> str:
    """The extensions a format is written under: ``.dot or .gv``."""
    return " or ".join(suffix for suffix, named in EXTENSIONS.items() if named == fmt)


def run(args: argparse.Namespace) -> int:
    """Render the diagram; exit 2 on unusable input (some records could not be read)."""
    if args.overlay is None and (
        args.run is not None or args.strict or args.mode != "auto" or args.aggregate != "auto"
    ):
        print("runfsm diagram: error: --run, --mode, --strict and --aggregate need --overlay FILE...", file=sys.stderr)
        return 2
    fmt = _format(args)
    if fmt == "png" and args.output is None and sys.stdout.isatty():
        print("runfsm diagram: error: PNG is binary; write it to a file with -o FILE.png", file=sys.stderr)
        return 2
    to_file = args.output is not None and args.output != "-"
    target = claim(args.output) if to_file else None  # an unwritable -o fails before any input is read
    try:
        errors = 0
        if args.overlay is not None:
            diagram, errors = _overlay(args)
        else:
            diagram = lifecycle_diagram(RUN_LIFECYCLE if args.lifecycle == "auto" else preset(args.lifecycle))
            if args.title:
                diagram = dataclasses.replace(diagram, title=args.title)
        data = render(diagram, format=fmt)
        if target is None:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            target.write(data, command="diagram", what=fmt)
    finally:
        if target is not None:
            target.abandon()
    return 2 if errors else 0
