"""Small text edits to a YAML file, placed by ruamel.yaml's round-trip node positions.

ruamel.yaml reads the file (comments, order, anchors and merge keys included) and says where each key and
item is; the edits splice new or changed lines there, so every line hardening does not touch stays byte for
byte as the author wrote it (a full re-dump would re-indent lists and re-wrap lines).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dockaudit.parse.compose_source import position
from dockaudit.rules.fixes import yaml_scalar

Node = CommentedMap | CommentedSeq
PathStep = tuple[Node, Any]
"""A container and a key (or item index) in it; a list of steps leads from the document root to a value."""

_COMMENT_OR_BLANK = re.compile(r"^\s*(#.*)?$")


@dataclass(frozen=True)
class Splice:
    """Replace the text from (line, col) to (end_line, end_col) by `text`; equal ends insert."""

    line: int
    col: int
    end_line: int
    end_col: int
    text: str
    indent: int = 0
    """For insertions at the same place: deeper lines go first, as they close the inner block."""


class YamlText:
    """One YAML file's text, its round-trip document, and the splices queued against it."""

    def __init__(self, text: str, doc: Any) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.doc = doc
        self.splices: list[Splice] = []
        self.seq_offset = self._detect_seq_offset()

    # ------------------------------------------------------------------------------------ geometry

    def _detect_seq_offset(self) -> int:
        """How far this file indents `- item` under its key (0 or 2), from the first block list it has."""
        stack: list[Any] = [self.doc]
        while stack:
            node = stack.pop(0)
            if isinstance(node, CommentedMap):
                for key in node:
                    value = node[key]
                    if isinstance(value, CommentedSeq) and value and not value.fa.flow_style():
                        found = position(node, key)
                        try:
                            item_col = int(value.lc.item(0)[1])
                        except (KeyError, TypeError, AttributeError, IndexError):
                            continue
                        if found is not None:
                            key_col = int(found[0].lc.key(key)[1])
                            # ruamel gives the column of the item's value, two past its dash.
                            return max(0, item_col - 2 - key_col)
                    if isinstance(value, CommentedMap | CommentedSeq):
                        stack.append(value)
            elif isinstance(node, CommentedSeq):
                stack.extend(v for v in node if isinstance(v, CommentedMap | CommentedSeq))
        return 2

    @staticmethod
    def key_col(container: CommentedMap) -> int | None:
        """The column the keys of a block map start at."""
        for key in container:
            try:
                return int(container.lc.key(key)[1])
            except (KeyError, TypeError, AttributeError):
                continue
        return None

    def _line_of(self, container: Node, key: Any) -> int | None:
        try:
            if isinstance(container, CommentedSeq):
                return int(container.lc.item(key)[0])
            return int(container.lc.key(key)[0])
        except (KeyError, TypeError, AttributeError, IndexError):
            return None

    def end_of(self, path: Sequence[PathStep]) -> int:
        """The last line (0-based) of the value at `path`: before the next sibling, trailing comments excluded."""
        container, key = path[-1]
        start = self._line_of(container, key)
        if start is None:
            return len(self.lines) - 1
        following = [
            line
            for other in (range(len(container)) if isinstance(container, CommentedSeq) else list(container))
            if (line := self._line_of(container, other)) is not None and line > start
        ]
        if following:
            end = min(following) - 1
        elif len(path) > 1:
            end = self.end_of(path[:-1])
        else:
            end = len(self.lines) - 1
        while end > start and _COMMENT_OR_BLANK.match(self.lines[end]):
            end -= 1
        return end

    def scalar_end(self, line: int, col: int) -> int:
        """The column just past the scalar that starts at (line, col) on a single line."""
        text = self.lines[line]
        if col < len(text) and text[col] in "\"'":
            quote = text[col]
            i = col + 1
            while i < len(text):
                if quote == "'" and text[i] == "'" and text[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                if quote == '"' and text[i] == "\\":
                    i += 2
                    continue
                if text[i] == quote:
                    return i + 1
                i += 1
            return len(text)
        rest = text[col:]
        cut = re.search(r"\s#", rest)
        if cut is not None:
            rest = rest[: cut.start()]
        return col + len(rest.rstrip())

    # ------------------------------------------------------------------------------------ edits

    def insert_after(self, line: int, new_lines: Sequence[str]) -> None:
        """Insert whole lines after line `line` (0-based)."""
        indent = len(new_lines[0]) - len(new_lines[0].lstrip()) if new_lines else 0
        self.splices.append(Splice(line + 1, 0, line + 1, 0, "".join(f"{x}\n" for x in new_lines), indent))

    def replace(self, line: int, col: int, end_col: int, text: str) -> None:
        """Replace a span of one line."""
        self.splices.append(Splice(line, col, line, end_col, text))

    def replace_lines(self, start: int, end: int, new_lines: Sequence[str]) -> None:
        """Replace lines `start`..`end` (inclusive) by `new_lines`."""
        self.splices.append(Splice(start, 0, end + 1, 0, "".join(f"{x}\n" for x in new_lines)))

    def _offset(self, line: int, col: int) -> int:
        if line >= len(self.lines):
            return len(self.text)
        return sum(len(x) + 1 for x in self.lines[:line]) + col

    def render(self) -> str:
        """The text with every queued splice applied (identical splices once; ties: deeper first, then queue order)."""
        text = self.text
        unique = list(dict.fromkeys(self.splices))
        ordered = sorted(
            enumerate(unique), key=lambda p: (self._offset(p[1].line, p[1].col), -p[1].indent, p[0]), reverse=True
        )
        for _, splice in ordered:
            start = self._offset(splice.line, splice.col)
            end = self._offset(splice.end_line, splice.end_col)
            insert = splice.text
            # At the end of a file without a final newline, every insertion there starts its own line.
            if start == len(self.text) and self.text and not self.text.endswith("\n") and insert:
                insert = "\n" + insert.rstrip("\n")
            text = text[:start] + insert + text[end:]
        return text


def render_value(key: str, value: object, indent: int, seq_offset: int, step: int = 2) -> list[str]:
    """`key: value` as block YAML lines at `indent`, lists indented by `seq_offset` like the rest of the file."""
    pad = " " * indent
    if value is None:
        return [f"{pad}{key}:"]
    if isinstance(value, Mapping):
        lines = [f"{pad}{key}:"]
        for k, v in value.items():
            lines.extend(render_value(str(k), v, indent + step, seq_offset, step))
        return lines
    if isinstance(value, list | tuple):
        lines = [f"{pad}{key}:"]
        lines.extend(render_items(value, indent + seq_offset, seq_offset, step))
        return lines
    return [f"{pad}{key}: {yaml_scalar(value)}"]


def render_items(items: Sequence[object], indent: int, seq_offset: int, step: int = 2) -> list[str]:
    """`- item` lines at `indent`; map items put their first key on the dash line."""
    pad = " " * indent
    lines: list[str] = []
    for item in items:
        if isinstance(item, Mapping):
            inner: list[str] = []
            for k, v in item.items():
                inner.extend(render_value(str(k), v, indent + 2, seq_offset, step))
            if inner:
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines.extend(inner[1:])
        else:
            lines.append(f"{pad}- {yaml_scalar(item)}")
    return lines


def plain(value: Any) -> Any:
    """A round-trip node as plain Python data (ruamel's own types dropped, merges resolved)."""
    if isinstance(value, Mapping):
        return {str(k): plain(value[k]) for k in value if k != "<<"}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)
