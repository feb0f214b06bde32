"""printable: control, format and separator characters from the input become visible escapes; the rest stays."""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from hypothesis import given
from hypothesis import strategies as st

from runfsm.printable import printable


def test_plain_text_is_unchanged() -> None:
    """Ids, file names and messages without control characters are shown as they are, any script included."""
    for text in ("run_abc123", "logs/2026-12-01 runs.jsonl", "état: échoué ✓ 実行", "👩‍💻"[:1]):
        assert printable(text) == text


def test_terminal_controls_are_escaped() -> None:
    """ANSI escapes, carriage returns, newlines, C1 CSI and bidi overrides become Python-style escapes."""
    assert printable("a\x1b[31mb") == "a\\x1b[31mb"
    assert printable("ok\rFAIL") == "ok\\rFAIL"
    assert printable("run_1\nFAIL run_2") == "run_1\\nFAIL run_2"
    assert printable("\x9b2J") == "\\x9b2J"
    assert printable("abc\u202edef") == "abc\\u202edef"
    assert printable("x\u2028y\x00z\x7f") == "x\\u2028y\\x00z\\x7f"
    assert printable("lone \udc80 surrogate") == "lone \\udc80 surrogate"


@given(st.text())
def test_the_result_is_one_safe_line(text: str) -> None:
    """Whatever the input: no control, format or separator character is left, and it is valid XML text."""
    shown = printable(text)
    assert not any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for c in shown)
    assert len(shown.splitlines()) <= 1
    assert ET.fromstring(f"<t>{escape(shown)}</t>").text == (shown or None)
