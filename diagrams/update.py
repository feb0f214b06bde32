"""Regenerate the committed diagrams and the README's lifecycle block from the declaration.

``lifecycle.{mmd,dot,svg}`` draw the declaration; ``samples-overlay.svg`` draws the bundled
sample logs on it, with one run highlighted (the README's example of an overlay).

Run from the repository root after changing a table in ``runfsm/lifecycles/``, the model or the renderers::

    python diagrams/update.py

``tests/test_diagram.py`` fails while any of them is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from runfsm.commands.diagram import README_BEGIN, README_END, SAMPLES_OVERLAY_ARGS, readme_block
from runfsm.commands.main import main
from runfsm.commands.validate import sample_paths

ROOT = Path(__file__).resolve().parents[1]


def update() -> int:
    """Write diagrams/lifecycle.{mmd,dot,svg}, diagrams/samples-overlay.svg and the README block."""
    for suffix in ("mmd", "dot", "svg"):
        code = main(["diagram", "-o", str(ROOT / "diagrams" / f"lifecycle.{suffix}")])
        if code != 0:
            return code
    overlay = ["diagram", "--overlay", *sample_paths(), *SAMPLES_OVERLAY_ARGS]
    code = main([*overlay, "-o", str(ROOT / "diagrams" / "samples-overlay.svg")])
    if code != 0:
        return code
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        print(f"{readme}: markers not found; put {README_BEGIN!r} and {README_END!r} under '## The lifecycle'")
        return 2
    readme.write_text(text[:start] + readme_block() + text[end + len(README_END) + 1 :], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(update())
