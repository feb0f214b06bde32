"""``runfsm lifecycle``: print the declaration as a markdown table or as JSON."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from runfsm.lifecycle import cited_keys
from runfsm.lifecycles import PRESETS, RUN_LIFECYCLE

if TYPE_CHECKING:
    import argparse

    from runfsm.lifecycle import Lifecycle


__all__ = ["add_arguments", "markdown_table", "run"]


def markdown_table(lifecycle: Lifecycle[Any] = RUN_LIFECYCLE) -> str:
    """The edges as a markdown table (from, to, kind, trigger, evidence), then the webhooks and the sources cited.

    Every key an edge cites (``[S1]``, ``[O-rmcp19]``) is listed under the table with its title
    and URL, in order of first citation, so a reader can follow the evidence.
    """
    lines = [
        "| from | to | kind | trigger | evidence |",
        "|---|---|---|---|---|",
    ]
    for edge in lifecycle.edges:
        lines.append(
            f"| {edge.source.label} | {edge.dest.label} | {edge.kind.value} | {edge.trigger.value} | {edge.evidence} |"
        )
    terminal = ", ".join(s.label for s in lifecycle.states if s in lifecycle.terminal)
    lines.append("")
    lines.append(f"Terminal: {terminal}. Anything not listed is illegal; repeating a status is not a transition.")
    if lifecycle.webhooks:
        hooks = ", ".join(f"`{event}` ({state.label})" for event, state in lifecycle.webhooks.items())
        lines += ["", f"Webhooks: {hooks}."]
    cited = dict.fromkeys(key for edge in lifecycle.edges for key in cited_keys(edge.evidence))
    listed = [lifecycle.sources[key] for key in cited if key in lifecycle.sources]
    if listed:
        lines.append("")
        lines.append("Sources:")
        lines.append("")
        lines.extend(f"- **{s.key}**: [{s.title}]({s.url})" for s in listed)
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``runfsm lifecycle``."""
    parser.add_argument(
        "--format", choices=("markdown", "json"), default="markdown", help="output format (default: markdown)"
    )
    parser.add_argument(
        "--lifecycle",
        choices=tuple(PRESETS),
        default="run",
        help="which preset: Assistants run, background response or batch (default: run)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the lifecycle declaration."""
    lifecycle = PRESETS[args.lifecycle]
    if args.format == "json":
        sys.stdout.write(json.dumps(lifecycle.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(markdown_table(lifecycle))
    return 0
