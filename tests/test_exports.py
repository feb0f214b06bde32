"""The public surface: ``runfsm.__all__`` is pinned and sorted, and ``import runfsm`` stays cheap."""

from __future__ import annotations

import subprocess
import sys

import runfsm


def test_all_is_sorted_and_every_name_exists() -> None:
    """``__all__`` is sorted (constants first, as isort does) and names only real attributes."""
    assert runfsm.__all__ == sorted(runfsm.__all__, key=lambda n: (not n.isupper(), n.startswith("_"), n))
    for name in runfsm.__all__:
        assert hasattr(runfsm, name), name


def test_every_public_name_is_exported_on_purpose() -> None:
    """Public module attributes that are not modules are all in ``__all__`` (nothing leaks, nothing is missed)."""
    public = {
        name for name, value in vars(runfsm).items() if not name.startswith("_") and type(value).__name__ != "module"
    }
    assert public == {n for n in runfsm.__all__ if not n.startswith("_")}


def test_import_runfsm_imports_nothing_heavy() -> None:
    """``import runfsm`` never imports openai, azure, hypothesis, graphviz, a web server, tqdm, or even transitions."""
    heavy = [
        "openai",
        "azure",
        "aiohttp",
        "hypothesis",
        "graphviz",
        "starlette",
        "uvicorn",
        "tqdm",
        "httpx",
        "httpx2",
        "transitions",
    ]
    code = f"import sys, runfsm; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
