"""Lazy exports for a package whose names need heavy imports (PEP 562 ``__getattr__``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(package: str, homes: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each name in ``homes`` is imported from its module on first use.

    ``homes`` maps a public name to the module that defines it. An unknown name raises the
    usual ``AttributeError``; a known one is cached in the package's namespace after its import.
    """

    def __getattr__(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(homes) | set(vars(importlib.import_module(package))))

    return __getattr__, __dir__
