r"""Text safe to show: control characters taken from the input are written as visible escapes.

Run ids, file names, raw statuses and messages come from logs that anyone may have written.
Printed raw, an id can carry ANSI escape sequences (recolour or clear the terminal), a carriage
return (overwrite the line) or a newline (forge a ``FAIL`` line of its own); written into SVG or
HTML, a control character makes the document invalid XML. :func:`printable` replaces every
such character with a Python-style escape (``\n``, ``\x1b``, ``\u202e``), so that what is
shown is one line, looks like what is in the input, and is valid in any XML document.

Escaped: C0 and C1 controls and DEL (``Cc``), invisible format characters such as bidi
overrides and zero-width spaces (``Cf``), line and paragraph separators (``Zl``, ``Zp``), lone
surrogates (``Cs``, as ``surrogateescape`` decoding leaves them) and the noncharacters U+FFFE
and U+FFFF, which XML forbids. Everything else (letters of any script, symbols, emoji) is shown as
it is; emoji joined by a zero-width joiner (U+200D) show the joiner as an escape.
"""

from __future__ import annotations

import unicodedata

__all__ = ["printable"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NONCHARACTERS = frozenset({"\ufffe", "\uffff"})


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    r"""``text`` with every control, format or separator character written as an escape.

    >>> printable("run_1")
    'run_1'
    >>> print(printable("run_1\nFAIL run_2\x1b[31m"))
    run_1\nFAIL run_2\x1b[31m
    """
    if text.isprintable():  # the common case: nothing to do (isprintable is stricter than needed)
        return text
    return "".join(
        _escape(c) if unicodedata.category(c) in _ESCAPED_CATEGORIES or c in _NONCHARACTERS else c for c in text
    )
