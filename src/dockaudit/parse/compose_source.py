"""Where each key of a Compose service is written: ruamel.yaml positions across files, includes and extends.

Compose's canonical model (`config --format json`) says what a service is, not where it was written;
this index maps `services.<name>.<key>` back to a file and line for evidence and SARIF locations.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from dockaudit.model import Location

_MAX_DEPTH = 4
_MAX_BYTES = 4 * 1024 * 1024
# `KEY=value` lines of an env file (`export` allowed), as Compose's dotenv reader accepts them.
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*(=)?\s*(.*?)\s*$")


@dataclass(frozen=True)
class RawItem:
    """One entry of a list key as written (`ports[2]`), with its raw YAML value."""

    location: Location
    value: Any


@dataclass(frozen=True)
class Layer:
    """One written definition of a service: its own map in a file, or the base an `extends` reuses."""

    abs_path: str
    display: str
    node: CommentedMap
    own: bool
    """The service's own definition (in a `-f` or included file), not the base of an `extends`."""


@dataclass
class SourceIndex:
    """Key locations per service, and the raw list items of each list key."""

    services: dict[str, Location] = field(default_factory=dict)
    layers: dict[str, list[Layer]] = field(default_factory=dict)
    """Each service's definitions from lowest to highest priority (extends bases, then files in order)."""
    keys: dict[str, dict[str, Location]] = field(default_factory=dict)
    items: dict[str, dict[str, list[RawItem]]] = field(default_factory=dict)
    documents: dict[str, Any] = field(default_factory=dict)
    """Round-trip documents by absolute path, for the files that parsed."""

    def key_locations(self, service: str) -> tuple[tuple[str, Location], ...]:
        """Every recorded key of `service`, sorted by key path."""
        return tuple(sorted(self.keys.get(service, {}).items()))


def display_path(path: str, parent_display: str | None = None) -> str:
    """A path as reports show it: relative to the file that names it, as the user gave that file."""
    if parent_display is None:
        return os.path.normpath(path)
    return beside(parent_display, path)


def beside(file: str, path: str) -> str:
    """`path` taken relative to the directory of `file` (unchanged when absolute), normalised."""
    return os.path.normpath(Path(file).parent / path)


def load_yaml(path: Path) -> Any:
    """The round-trip document of a YAML file; None when it cannot be read or parsed."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            return None
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        return YAML(typ="rt").load(text)
    except (YAMLError, ValueError):
        return None


def position(container: CommentedMap, key: Any) -> tuple[CommentedMap, int] | None:
    """The map that really holds `key` (the service's own map or a merged anchor) and the key's line (0-based)."""
    try:
        line: int = container.lc.key(key)[0]
    except (KeyError, TypeError, AttributeError):
        line = -1
    if line >= 0:
        return container, line
    for merged in getattr(container, "merge", ()) or ():
        source = merged[1] if isinstance(merged, tuple) else merged
        if isinstance(source, CommentedMap) and key in source:
            found = position(source, key)
            if found is not None:
                return found
    return None


def _item_line(seq: CommentedSeq, index: int) -> int:
    try:
        line: int = seq.lc.item(index)[0]
    except (KeyError, TypeError, AttributeError, IndexError):
        return -1
    return line


class _Builder:
    """Walks the files in priority order; later writes of a key win, as later files override earlier ones."""

    def __init__(self) -> None:
        self.index = SourceIndex()
        self._loaded: dict[str, Any] = {}

    def document(self, abs_path: str) -> Any:
        if abs_path not in self._loaded:
            self._loaded[abs_path] = load_yaml(Path(abs_path))
            if self._loaded[abs_path] is not None:
                self.index.documents[abs_path] = self._loaded[abs_path]
        return self._loaded[abs_path]

    def services_of(self, abs_path: str) -> CommentedMap | None:
        doc = self.document(abs_path)
        if not isinstance(doc, CommentedMap):
            return None
        services = doc.get("services")
        return services if isinstance(services, CommentedMap) else None

    def add_file(self, abs_path: str, display: str, seen: frozenset[str] = frozenset()) -> None:
        """Index a file given with `-f`: its includes first (they have lower priority), then its services."""
        if abs_path in seen:
            return
        seen = seen | {abs_path}
        doc = self.document(abs_path)
        if not isinstance(doc, CommentedMap):
            return
        for inc_abs, inc_display in _includes(doc, abs_path, display):
            self.add_file(inc_abs, inc_display, seen)
        services = self.services_of(abs_path)
        if services is None:
            return
        for name in services:
            self.add_service(abs_path, display, str(name), str(name), seen)

    def add_service(self, abs_path: str, display: str, name: str, as_name: str, seen: frozenset[str]) -> None:
        services = self.services_of(abs_path)
        if services is None or name not in services:
            return
        node = services[name]
        if isinstance(node, CommentedMap):
            extends = node.get("extends")
            base_name = extends if isinstance(extends, str) else None
            base_file = None
            if isinstance(extends, Mapping):
                base_name = str(extends.get("service", "")) or None
                file_value = extends.get("file")
                base_file = str(file_value) if isinstance(file_value, str) else None
            if base_name is not None and "$" not in (base_file or ""):
                if base_file is None:
                    base_abs, base_display = abs_path, display
                else:
                    base_abs = beside(abs_path, base_file)
                    base_display = display_path(base_file, display)
                key = f"{base_abs}#{base_name}"
                if key not in seen:
                    self.add_service(base_abs, base_display, base_name, as_name, seen | {key})
        if name == as_name:
            # The first file that defines the service is where it is defined; overrides only add to it.
            line = services.lc.key(name)[0] if name in services.lc.data else -1
            self.index.services.setdefault(
                as_name,
                Location(path=display, line=line + 1 if line >= 0 else None, instruction=f"services.{as_name}"),
            )
        if isinstance(node, CommentedMap):
            self.index.layers.setdefault(as_name, []).append(Layer(abs_path, display, node, own=name == as_name))
            self._walk(node, as_name, display, "", 0)

    def _record(self, service: str, key: str, display: str, line: int) -> None:
        if line < 0:
            return
        loc = Location(path=display, line=line + 1, instruction=f"services.{service}.{key}")
        self.index.keys.setdefault(service, {})[key] = loc

    def _walk(self, node: CommentedMap, service: str, display: str, prefix: str, depth: int) -> None:
        for key in node:
            if key == "<<":
                continue
            found = position(node, key)
            if found is None:
                continue
            holder, line = found
            path = f"{prefix}{key}"
            self._record(service, path, display, line)
            value = holder[key]
            if depth + 1 >= _MAX_DEPTH:
                continue
            if isinstance(value, CommentedMap):
                self._walk(value, service, display, f"{path}.", depth + 1)
            elif isinstance(value, CommentedSeq):
                self._walk_seq(value, service, display, path, line)

    def _walk_seq(self, seq: CommentedSeq, service: str, display: str, path: str, key_line: int) -> None:
        items: list[RawItem] = []
        for i, value in enumerate(seq):
            line = _item_line(seq, i)
            if line < 0:
                line = key_line
            loc = Location(path=display, line=line + 1, instruction=f"services.{service}.{path}[{i}]")
            items.append(RawItem(loc, value))
            self.index.keys.setdefault(service, {})[f"{path}[{i}]"] = loc
            # `environment: [NAME=value]` and `depends_on: [db]` name their entries: index them by name too.
            if isinstance(value, str) and path in ("environment", "depends_on"):
                entry = value.split("=", 1)[0].strip()
                self.index.keys[service][f"{path}.{entry}"] = loc
        self.index.items.setdefault(service, {})[path] = items


def _includes(doc: CommentedMap, abs_path: str, display: str) -> Iterator[tuple[str, str]]:
    """The files an `include:` section names, as (absolute, display) paths."""
    entries = doc.get("include")
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        return
    for entry in entries:
        paths: list[Any] = []
        if isinstance(entry, str):
            paths = [entry]
        elif isinstance(entry, Mapping):
            value = entry.get("path")
            paths = [value] if isinstance(value, str) else list(value) if isinstance(value, Sequence) else []
        for rel in paths:
            if isinstance(rel, str) and "$" not in rel:
                yield beside(abs_path, rel), display_path(rel, display)


def build_index(files: Sequence[tuple[str, str]]) -> SourceIndex:
    """Index the Compose files given with `-f`, as (absolute path, display path) pairs in merge order."""
    builder = _Builder()
    for abs_path, display in files:
        builder.add_file(abs_path, display)
    return builder.index


_REFERENCE = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")
_MASK = "\x00"


def _number_matches(written: str, wanted: int) -> bool:
    """Whether a written port (`8080`, `8000-8010`, or one holding a `${...}`) can be `wanted`."""
    if _MASK in written:
        return True
    low, _, high = written.partition("-")
    if not low.isdecimal() or (high and not high.isdecimal()):
        return False
    return int(low) <= wanted <= int(high or low)


def port_matches(raw: Any, target: int, published: str = "") -> bool:
    """Whether a `ports:` item as written is the one Compose turned into (target, published)."""
    if isinstance(raw, Mapping):
        written_target = str(raw.get("target", ""))
        written_published = str(raw.get("published", "") or "")
        return _number_matches(_REFERENCE.sub(_MASK, written_target), target) and (
            not published
            or not written_published
            or _number_matches(_REFERENCE.sub(_MASK, written_published), int(published))
        )
    text = _REFERENCE.sub(_MASK, str(raw)).split("/", 1)[0]
    if text.startswith("["):
        # `[::1]:8080:80`: the address is bracketed because it holds colons itself.
        text = text[text.find("]") + 2 :] if "]" in text else text
    parts = text.split(":")
    if len(parts) > 3:
        parts = parts[-2:]
    if not _number_matches(parts[-1], target):
        return False
    written_published = parts[-2] if len(parts) >= 2 else ""
    if not published or not written_published:
        return not published or len(parts) == 1 or written_published == ""
    return published.isdecimal() and _number_matches(written_published, int(published))


def volume_matches(raw: Any, target: str) -> bool:
    """Whether a `volumes:` item as written mounts at `target` (`src:dst[:mode]`, `dst`, or the long form)."""
    if isinstance(raw, Mapping):
        return str(raw.get("target", "")).rstrip("/") == target.rstrip("/")
    parts = str(raw).split(":")
    if len(parts) >= 3 and len(parts[-1]) > 0 and "/" not in parts[-1]:
        parts = parts[:-1]
    written = parts[-1] if len(parts) >= 2 or parts[0].startswith("/") else ""
    return "$" in written or written.rstrip("/") == target.rstrip("/")


@dataclass(frozen=True)
class EnvFileLine:
    """A `NAME=value` line of an env file."""

    line: int
    value: str
    """Unquoted; escapes are left as written."""
    interpolates: bool
    """False for single-quoted values, which Compose takes literally."""


def read_env_file(path: Path) -> dict[str, EnvFileLine]:
    """The variables an env file sets, with their lines; later lines win, as in Compose."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            return {}
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return {}
    found: dict[str, EnvFileLine] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if match is None or match.group(2) is None:
            continue
        value = match.group(3)
        interpolates = True
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            interpolates = value[0] == '"'
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        found[match.group(1)] = EnvFileLine(number, value, interpolates)
    return found
