"""Stack layer entries like overlayfs does: whiteouts and rewrites become deleted/replaced flags."""

from __future__ import annotations

import posixpath
from array import array
from typing import NamedTuple

from dockaudit.facts.filesystem import FileFact, FileType
from dockaudit.secrets import SecretMatch

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


# The records of this module are NamedTuples and a plain class, not dataclasses: they are internal to reading
# layers, and a dataclass costs about a millisecond of start-up to create (CPython 3.11 compiles its methods).


class RawEntry(NamedTuple):
    """One tar entry of a layer, before its layer index and later-layer flags are known."""

    path: str
    type: FileType
    mode: int
    uid: int
    gid: int
    size: int
    link_target: str | None = None
    content: bytes | None = None
    secret: SecretMatch | None = None


class LayerScan:
    """What one layer tar holds: its entries, the paths it whites out and its opaque directories."""

    __slots__ = ("content_bytes", "entries", "opaque_dirs", "whiteouts")

    def __init__(self) -> None:
        self.entries: list[RawEntry] = []
        self.whiteouts: list[str] = []
        """Paths this layer deletes from the layers below (`dir/.wh.name` → `dir/name`)."""
        self.opaque_dirs: list[str] = []
        """Directories whose lower contents this layer hides (`dir/.wh..wh..opq`)."""
        self.content_bytes = 0
        """Sum of the regular files' sizes."""


class Stacked(NamedTuple):
    """The merged view: every entry with its flags, and the bytes later layers made dead."""

    files: tuple[FileFact, ...]
    wasted_bytes: int


class _Overlay:
    """Live paths with a child index, so deleting a directory subtree never scans every path."""

    def __init__(self) -> None:
        self.live: dict[str, int] = {}
        self.children: dict[str, set[str]] = {}

    def add(self, path: str, ref: int) -> None:
        self.live[path] = ref
        # Tars may omit parent directories; link every ancestor so a subtree walk still reaches `path`.
        child, parent = path, posixpath.dirname(path)
        while parent != child:
            siblings = self.children.setdefault(parent, set())
            if child in siblings:
                break
            siblings.add(child)
            child, parent = parent, posixpath.dirname(parent)

    def remove(self, path: str) -> int | None:
        ref = self.live.pop(path, None)
        parent = posixpath.dirname(path)
        siblings = self.children.get(parent)
        if siblings is not None:
            siblings.discard(path)
        return ref

    def subtree(self, path: str) -> list[str]:
        """Live paths strictly below `path`."""
        out: list[str] = []
        stack = [path]
        while stack:
            for child in self.children.pop(stack.pop(), ()):
                out.append(child)
                stack.append(child)
        return out


_DELETED = 1
_REPLACED = 2


def stack_layers(layers: list[LayerScan]) -> Stacked:
    """Apply each layer's whiteouts and rewrites to the layers below it, bottom first.

    Consumes `layers` (the list is emptied) so that raw entries are freed as file facts are made.
    """
    entries: list[RawEntry | None] = []
    layer_of = array("H")
    flags = bytearray()
    overlay = _Overlay()

    def mark(ref: int | None, flag: int) -> None:
        if ref is not None:
            flags[ref] |= flag

    def kill(path: str, *, replace: bool) -> None:
        mark(overlay.remove(path), _REPLACED if replace else _DELETED)
        for below in overlay.subtree(path):
            mark(overlay.live.pop(below, None), _DELETED)

    for index, layer in enumerate(layers):
        # A layer's whiteouts hide lower layers only, never the entries of the same layer.
        for opaque in layer.opaque_dirs:
            for below in overlay.subtree(opaque):
                mark(overlay.live.pop(below, None), _DELETED)
        for path in layer.whiteouts:
            kill(path, replace=False)
        for entry in layer.entries:
            previous = overlay.live.get(entry.path)
            if previous is not None:
                lower = entries[previous]
                # A directory written again keeps its children; anything else replacing a path hides them.
                if lower is not None and lower.type is FileType.DIR and entry.type is FileType.DIR:
                    flags[previous] |= _REPLACED
                    overlay.live[entry.path] = len(entries)
                else:
                    kill(entry.path, replace=True)
                    overlay.add(entry.path, len(entries))
            else:
                overlay.add(entry.path, len(entries))
            entries.append(entry)
            layer_of.append(index)
            flags.append(0)
    overlay.live.clear()
    overlay.children.clear()
    layers.clear()

    files: list[FileFact] = []
    wasted = 0
    for ref, e in enumerate(entries):
        if e is None:
            continue
        entries[ref] = None
        deleted = bool(flags[ref] & _DELETED)
        replaced = bool(flags[ref] & _REPLACED) and not deleted
        if (deleted or replaced) and e.type is FileType.FILE:
            wasted += e.size
        files.append(
            FileFact(
                path=e.path,
                type=e.type,
                mode=e.mode,
                uid=e.uid,
                gid=e.gid,
                size=e.size,
                layer_index=layer_of[ref],
                deleted_later=deleted,
                replaced_later=replaced,
                link_target=e.link_target,
                content=e.content,
                secret=e.secret,
            )
        )
    return Stacked(tuple(files), wasted)
