r"""The standard streams, made to show any text: what their encoding cannot represent is written as an escape.

Under ``LC_ALL=C`` (``PYTHONUTF8=0``) or ``PYTHONIOENCODING=ascii``, standard output is ASCII, and
Python raises :class:`UnicodeEncodeError` at the first ``é`` of a run id or a file name, in the
middle of a report. :func:`escape_unencodable` reconfigures the standard streams whose encoding
is not a Unicode one to write such a character as a Python escape (``\xe9``, as standard error
already does), so that every report is written whole. The JSON reports are ASCII whatever the
input (``json.dumps`` writes ``\u00e9``); a JSON text received from elsewhere, such as a webhook
body, goes through :func:`json_for`, which puts it in JSON's own escapes for a stream that needs
them, so that it stays valid JSON with the same value.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["encodes_everything", "escape_unencodable", "json_for"]

_UNICODE_CODECS = frozenset(
    {"utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"}
)
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")


def encodes_everything(stream: TextIO | None) -> bool:
    """Whether ``stream`` can write any character: a Unicode encoding, or none at all (a ``StringIO``)."""
    encoding = getattr(stream, "encoding", None)
    if not isinstance(encoding, str):
        return True
    try:
        return codecs.lookup(encoding).name in _UNICODE_CODECS
    except LookupError:
        return False


def escape_unencodable(*streams: TextIO | None) -> None:
    r"""Make each stream that cannot write every character write the others as escapes (``\xe9``).

    Only text streams over a file (:class:`io.TextIOWrapper`, as Python opens the standard
    streams) can be reconfigured; any other (``None`` for a closed one, a test's capture) is left
    as it is, and so is one that is closed already.
    """
    for stream in streams:
        if isinstance(stream, io.TextIOWrapper) and not encodes_everything(stream):
            with contextlib.suppress(ValueError, OSError):  # closed, or its pending output cannot be written
                stream.reconfigure(errors="backslashreplace")


def json_for(stream: TextIO | None, text: str) -> str:
    r"""The JSON ``text`` to write to ``stream``: as it is, or with every non-ASCII character in JSON's escapes.

    Outside a string, JSON is ASCII; inside one, ``\u00e9`` is the same value as ``é``.

    >>> json_for(None, '{"id": "ré"}')
    '{"id": "ré"}'
    >>> import io
    >>> print(json_for(io.TextIOWrapper(io.BytesIO(), encoding="ascii"), '{"id": "ré"}'))
    {"id": "r\u00e9"}
    """
    if encodes_everything(stream):
        return text
    return _NOT_ASCII.sub(lambda found: json.dumps(found[0])[1:-1], text)
