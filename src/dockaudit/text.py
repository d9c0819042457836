"""Untrusted text made safe to show: control characters become visible escapes.

Labels, env, history lines and file names are chosen by whoever built the image. Facts keep them raw;
every presentation that reaches a terminal or a plain-text document (table, Markdown, the TUI, stderr)
passes them through `printable` so an escape sequence (`ESC ]52;` clipboard writes, `ESC [2J`, OSC 8
links) or a bidi override is shown as text and never acted on.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI), line/paragraph separators,
# bidi embeddings, overrides and isolates ("Trojan Source"), and lone surrogates (which cannot be encoded).
_UNSAFE = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"


# Compiled at first use: these classes reach past U+00FF, which costs `re` about a millisecond each to compile,
# and most runs print nothing that needs them.
@cache
def _unsafe(multiline: bool) -> re.Pattern[str]:
    return re.compile(_UNSAFE if multiline else "[\n\t]|" + _UNSAFE)


@cache
def _surrogate() -> re.Pattern[str]:
    return re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if 0xDC80 <= code <= 0xDCFF:
        # A byte that `surrogateescape` smuggled out of undecodable input: show the byte.
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, *, multiline: bool = True) -> str:
    """`text` with every control or bidi character shown as `\\xNN` / `\\uNNNN`; newlines kept when `multiline`."""
    return _unsafe(multiline).sub(_escape, text)


def is_printable(text: str) -> bool:
    """Whether `printable(text)` would leave `text` unchanged."""
    return _unsafe(True).search(text) is None


def without_surrogates(value: Any) -> Any:
    """`value` (parsed JSON) with lone surrogates (`"\\ud800"`) replaced by U+FFFD, as Go's JSON decoder does.

    JSON may spell a lone surrogate, which no UTF-8 report can encode; the engine and Trivy never write one.
    """
    if isinstance(value, str):
        if value.isascii():
            return value
        return _surrogate().sub("\ufffd", value) if _surrogate().search(value) else value
    if isinstance(value, list):
        return [without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    return value
