"""`.dockerignore` semantics as BuildKit applies them: which context paths a pattern list excludes.

As BuildKit's patternmatcher: `**` spans directories, `*` and `?` stay within one, a pattern also
excludes everything below a directory it matches, `!` re-includes, and the last matching line wins.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence


@functools.lru_cache(maxsize=512)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if i < len(pattern) and pattern[i] == "/":
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i)
            if end == -1:
                out.append(re.escape(c))
            else:
                out.append(_char_class(pattern[i : end + 1]))
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + "(?:/.*)?")


def _char_class(text: str) -> str:
    """`[abc]` as a regex class; an empty or reversed class (`[]`, `[z-a]`) matches itself literally."""
    regex = "[" + text[1:-1].replace("\\", "\\\\") + "]"
    try:
        re.compile(regex)
    except re.error:
        return re.escape(text)
    return regex


def _clean(pattern: str) -> str:
    pattern = re.sub(r"/+", "/", pattern.strip()).strip("/")
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern or "."


def is_ignored(path: str, patterns: Sequence[str]) -> bool:
    """Whether `.dockerignore` `patterns` exclude the context path `path` from the build context."""
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = _clean(raw[1:] if negate else raw)
        if _pattern_regex(pattern).fullmatch(path):
            ignored = not negate
    return ignored
