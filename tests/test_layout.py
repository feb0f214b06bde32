"""The package's shape: a core that imports nothing above it, one folder per use, the CLI on top, no import circle.

The import graph is read from the source with ``ast`` (every import: module level, inside
functions, and under ``TYPE_CHECKING``), so an upward or circular import fails here even when
it would never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import runfsm

PACKAGE = Path(runfsm.__file__).parent

CORE_FOLDERS = {"lifecycles"}
"""Folders that belong to the core: the lifecycle tables are data the core builds on."""

WINGS = {"validation", "drawing", "testing", "following", "webhooks"}
"""One folder per use."""

WING_USES: dict[str, set[str]] = {
    "validation": set(),
    "drawing": {"validation"},  # overlays and the report draw validation results
    "testing": set(),
    "following": set(),
    "webhooks": {"following"},  # reconcile polls through the watcher's policy, under the scheduler's budget
}
"""Which wings a wing may import: only where one truly uses the other."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The runfsm modules ``name`` imports (``from pkg import submodule`` counts as the submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "runfsm")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "runfsm":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    return {m for m in found if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _layer(module: str) -> str:
    """``core``, a wing's name, or ``commands`` (``runfsm.__main__`` runs the CLI, so it sits with it)."""
    parts = module.split(".")
    if len(parts) == 1 or (len(parts) == 2 and parts[1] not in WINGS | {"commands"} | CORE_FOLDERS):
        return "commands" if parts[-1] == "__main__" else "core"
    return "core" if parts[1] in CORE_FOLDERS else parts[1]


def test_every_module_is_in_a_known_layer() -> None:
    """Each module is core, in one of the wings, or in the CLI: a new top-level folder must be placed on purpose."""
    for module in _graph():
        assert _layer(module) in {"core", "commands", *WINGS}, module


def test_dependencies_point_one_way() -> None:
    """Core <- wings <- commands: the core imports no wing, a wing imports no CLI, wings import only what they use."""
    upward = []
    for module, targets in _graph().items():
        layer = _layer(module)
        for target in targets:
            to = _layer(target)
            if to in (layer, "core") or layer == "commands":
                continue
            if layer == "core" or to == "commands" or to not in WING_USES[layer]:
                upward.append(f"{module} ({layer}) imports {target} ({to})")
    assert upward == []


def test_no_import_circle() -> None:
    """No module reaches itself through its imports, type-only imports included."""
    graph = _graph()
    circles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert circles == [], " ; ".join(" -> ".join(c) for c in circles)


def test_the_graph_reader_sees_type_only_and_local_imports(tmp_path: Path) -> None:
    """The reader counts imports under TYPE_CHECKING and inside functions (else a circle could hide there)."""
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from runfsm.tracker import RunTracker\n"
        "def f():\n    from runfsm.testing import fake\n",
        encoding="utf-8",
    )
    known = set(_modules())
    assert _imports("runfsm.probe", source, known) == {"runfsm.tracker", "runfsm.testing.fake"}
