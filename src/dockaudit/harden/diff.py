"""Unified diffs of hardened text: plain for files and reports, coloured with rich for terminals."""

from __future__ import annotations

import difflib

from rich.text import Text

_STYLES = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))


def _lines(text: str) -> list[str]:
    """Lines ending in `\n`, as patch tools count them (`str.splitlines` also breaks at `\r` and friends)."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def unified_diff(before: str | None, after: str, path: str) -> str:
    """A `git apply`-compatible unified diff; `before=None` means the file is new."""
    old = _lines(before or "")
    new = _lines(after)
    lines = list(difflib.unified_diff(old, new, "/dev/null" if before is None else f"a/{path}", f"b/{path}", n=3))
    out: list[str] = []
    for line in lines:
        if line.endswith("\n"):
            out.append(line)
        else:
            # difflib leaves a missing final newline unmarked; patch tools expect this marker.
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def colour_diff(diff: str) -> Text:
    """The diff as rich `Text`: additions green, removals red, hunk headers cyan."""
    text = Text()
    for line in _lines(diff):
        style = next((s for prefix, s in _STYLES if line.startswith(prefix)), "")
        text.append(line, style=style)
    return text
