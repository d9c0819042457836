"""Edits to a Compose file's YAML nodes as splices of its text, so comments, order and anchors stay as written.

Every edit says when it cannot be made safely (a flow-style map, a node it cannot place) instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dockaudit.harden.yamltext import Node, PathStep, YamlText, plain, render_items, render_value
from dockaudit.parse.compose_source import position


def owns_key(node: CommentedMap, key: str) -> bool:
    found = position(node, key)
    return found is not None and found[0] is node


def find_path(doc: Any, target: Node) -> list[PathStep] | None:
    """The steps from the document root to `target` (its definition, for an anchored node)."""

    def walk(node: Any, steps: list[PathStep]) -> list[PathStep] | None:
        if isinstance(node, CommentedMap):
            for key in node:
                if not owns_key(node, key):
                    continue
                child = node[key]
                here = [*steps, (node, key)]
                if child is target:
                    return here
                found = walk(child, here)
                if found is not None:
                    return found
        elif isinstance(node, CommentedSeq):
            for i, child in enumerate(node):
                here = [*steps, (node, i)]
                if child is target:
                    return here
                found = walk(child, here)
                if found is not None:
                    return found
        return None

    return walk(doc, [])


def is_shared(node: Any) -> bool:
    """Whether a node is an anchor that other places reuse."""
    anchor = getattr(node, "anchor", None)
    return bool(getattr(anchor, "value", None))


def _deep_merge(base: Any, extra: Mapping[str, Any]) -> Any:
    if not isinstance(base, dict):
        return dict(extra)
    merged = dict(base)
    for k, v in extra.items():
        merged[k] = _deep_merge(merged.get(k), v) if isinstance(v, Mapping) else v
    return merged


class NodeEditor:
    """Edits to one file's nodes, as splices; every method returns False when it cannot edit safely."""

    def __init__(self, text: YamlText) -> None:
        self.text = text

    def _step(self, node: CommentedMap) -> int:
        path = find_path(self.text.doc, node)
        if not path or not isinstance(path[-1][0], CommentedMap):
            return 2
        parent_col = self.text.key_col(path[-1][0])
        own_col = self.text.key_col(node)
        return max(2, own_col - parent_col) if parent_col is not None and own_col is not None else 2

    def merge(self, node: CommentedMap, value: Mapping[str, Any]) -> bool:
        """Set keys of `node` (nested maps merged, scalars replaced, missing keys added at its end)."""
        text = self.text
        path = find_path(text.doc, node)
        col = text.key_col(node)
        if path is None or col is None or node.fa.flow_style():
            return False
        step = self._step(node)
        adds: list[str] = []
        for key, wanted in value.items():
            found = position(node, key)
            if found is not None and found[0] is node:
                current = node[key]
                if isinstance(wanted, Mapping) and isinstance(current, CommentedMap) and not current.fa.flow_style():
                    if not self.merge(current, wanted):
                        return False
                    continue
                line = found[1]
                if isinstance(wanted, Mapping) or isinstance(current, CommentedMap | CommentedSeq) or current is None:
                    merged = _deep_merge(plain(current), wanted) if isinstance(wanted, Mapping) else wanted
                    end = text.end_of([*path, (node, key)])
                    text.replace_lines(line, end, render_value(key, merged, col, text.seq_offset, step))
                    continue
                vline, vcol = node.lc.value(key)
                if vline != line:
                    return False
                text.replace(vline, vcol, text.scalar_end(vline, vcol), scalar_text(wanted))
            elif found is not None:
                merged_value = plain(found[0][key])
                restated = _deep_merge(merged_value, wanted) if isinstance(wanted, Mapping) else wanted
                adds.extend(render_value(key, restated, col, text.seq_offset, step))
            else:
                adds.extend(render_value(key, wanted, col, text.seq_offset, step))
        if adds:
            text.insert_after(text.end_of(path), adds)
        return True

    def append(self, node: CommentedMap, key: str, items: Sequence[Any]) -> bool:
        """Add items to the list at `node[key]`, creating the key (or restating a merged list) when needed."""
        text = self.text
        path = find_path(text.doc, node)
        col = text.key_col(node)
        if path is None or col is None or node.fa.flow_style():
            return False
        found = position(node, key)
        if found is None:
            return self.merge(node, {key: list(items)})
        if found[0] is not node:
            current = plain(found[0][key])
            existing = current if isinstance(current, list) else [current]
            return self.merge(node, {key: [*existing, *items]})
        seq = node[key]
        line = found[1]
        if isinstance(seq, CommentedSeq) and seq and not seq.fa.flow_style():
            last = len(seq) - 1
            item_line, item_col = seq.lc.item(last)
            end = text.end_of([*path, (node, key), (seq, last)])
            text.insert_after(max(end, item_line), render_items(list(items), item_col - 2, text.seq_offset))
            return True
        vline, vcol = node.lc.value(key)
        if isinstance(seq, CommentedSeq) and vline == line and text.end_of([*path, (node, key)]) == line:
            close = text.lines[line].rfind("]")
            if close > vcol:
                sep = ", " if seq else ""
                text.replace(line, close, close, sep + ", ".join(scalar_text(i) for i in items))
                return True
        existing_items = plain(seq) if isinstance(seq, CommentedSeq) else ([] if seq is None else [plain(seq)])
        end = text.end_of([*path, (node, key)])
        step = self._step(node)
        text.replace_lines(line, end, render_value(key, [*existing_items, *items], col, text.seq_offset, step))
        return True

    def replace_item(self, seq: CommentedSeq, index: int, new: str) -> bool:
        """Replace a scalar list item written on one line."""
        try:
            line, col = seq.lc.item(index)
        except (KeyError, TypeError, AttributeError, IndexError):
            return False
        self.text.replace(line, col, self.text.scalar_end(line, col), new)
        return True

    def replace_key_block(self, node: CommentedMap, key: str, value: Any) -> bool:
        """Rewrite `key:` and its whole value as block YAML."""
        path = find_path(self.text.doc, node)
        col = self.text.key_col(node)
        if path is None or col is None or not owns_key(node, key):
            return False
        line = node.lc.key(key)[0]
        end = self.text.end_of([*path, (node, key)])
        self.text.replace_lines(line, end, render_value(key, value, col, self.text.seq_offset, self._step(node)))
        return True


def scalar_value(value: Any) -> str:
    """A YAML scalar as Compose reads it into an environment value (`true`, not Python's `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def scalar_text(value: Any) -> str:
    from dockaudit.rules.fixes import yaml_scalar

    return yaml_scalar(value)
