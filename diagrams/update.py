"""Regenerate the committed diagrams and the README's lifecycle blocks from the declarations.

``<key>-lifecycle.{mmd,dot,svg}`` draw each preset (``run``, ``response``, ``batch``);
``samples-overlay.svg`` draws the bundled sample logs on the run's, with one run highlighted
(the README's example of an overlay). The README has one generated block per preset.

Run from the repository root after changing a table in ``runfsm/lifecycles/``, the model or the renderers::

    python diagrams/update.py

``tests/test_diagram.py`` fails while any of them is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from runfsm.commands.diagram import SAMPLES_OVERLAY_ARGS, diagram_stem, readme_block, readme_markers
from runfsm.commands.main import main
from runfsm.commands.validate import sample_paths
from runfsm.lifecycles import PRESETS

ROOT = Path(__file__).resolve().parents[1]


def update() -> int:
    """Write diagrams/<key>-lifecycle.{mmd,dot,svg}, diagrams/samples-overlay.svg and the README blocks."""
    for lifecycle in PRESETS.values():
        for suffix in ("mmd", "dot", "svg"):
            target = ROOT / "diagrams" / f"{diagram_stem(lifecycle)}.{suffix}"
            code = main(["diagram", "--lifecycle", lifecycle.key, "-o", str(target)])
            if code != 0:
                return code
    overlay = ["diagram", "--overlay", *sample_paths(), *SAMPLES_OVERLAY_ARGS]
    code = main([*overlay, "-o", str(ROOT / "diagrams" / "samples-overlay.svg")])
    if code != 0:
        return code
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    for lifecycle in PRESETS.values():
        begin, end_marker = readme_markers(lifecycle)
        start, end = text.find(begin), text.find(end_marker)
        if start < 0 or end < start:
            print(f"{readme}: markers not found; put {begin!r} and {end_marker!r} where the {lifecycle.key} goes")
            return 2
        text = text[:start] + readme_block(lifecycle) + text[end + len(end_marker) + 1 :]
    readme.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(update())
