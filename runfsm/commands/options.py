"""Option values checked as argparse reads them: :func:`ranged` makes a ``type=`` that converts, then bounds.

A value that does not convert, or falls outside what the option takes, is a usage error (exit 2)
said on the option's one ``error:`` line, before the command does anything.

>>> percent = ranged(int, lambda n: 0 <= n <= 100, kind="an integer", wanted="is not a percentage (0 to 100)")
>>> percent("42")
42
>>> percent("101")
Traceback (most recent call last):
  ...
argparse.ArgumentTypeError: 101 is not a percentage (0 to 100)
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ranged"]

T = TypeVar("T")


def ranged(convert: Callable[[str], T], accept: Callable[[T], bool], *, kind: str, wanted: str) -> Callable[[str], T]:
    """An argparse ``type=``: ``convert(text)``, kept when ``accept`` takes it.

    Text that ``convert`` refuses (ValueError) is ``'TEXT' is not KIND``; a value ``accept`` refuses
    is ``TEXT WANTED`` (``wanted`` says what to give instead).
    """

    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{text} {wanted}")
        return value

    return parse
