"""The shared state of Compose hardening: the records of a run (changes, moved secrets) and `ServiceEditor`, what
is known of one service (its image, its definitions) and the helpers the edit passes queue their edits with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap

from dockaudit.facts.compose import ComposeProject, ComposeService
from dockaudit.facts.image import ImageFacts
from dockaudit.harden.compose_edit import NodeEditor, owns_key
from dockaudit.harden.yamltext import YamlText, render_value
from dockaudit.model import Finding, Location
from dockaudit.parse.compose_source import Layer, SourceIndex, position
from dockaudit.rules.container import is_root_user
from dockaudit.rules.known_images import KnownImage, known_image

_DROPPERS = frozenset({"gosu", "su-exec", "setpriv", "runuser", "chpst", "s6-setuidgid", "su"})
VARIABLE_REFERENCE = re.compile(r"\$\{[^}]*\}")
"""A `${...}` variable reference written in a Compose value."""


@dataclass(frozen=True)
class ComposeChange:
    """One edit, with the rules it fixes and where it is."""

    rule_ids: tuple[str, ...]
    service: str
    summary: str
    path: str
    """The file edited, as reports show it."""
    line: int | None
    """1-based line in that file's original text the edit is at; None for whole-file additions."""


@dataclass(frozen=True)
class MovedSecret:
    """A literal secret moved out of `environment:` into a Compose secret; its value never appears here."""

    service: str
    variable: str
    secret: str
    file: str
    """The secret file to create, relative to the Compose file that declares it."""
    was: Location
    """Where the literal value was written."""
    declared_in: str = ""
    """The Compose file (absolute path) whose top-level `secrets:` declares it."""


@dataclass
class HardeningRun:
    """State shared by the per-service planners of one project."""

    project: ComposeProject
    index: SourceIndex
    texts: dict[str, YamlText]
    changes: list[ComposeChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    secrets: list[MovedSecret] = field(default_factory=list)
    secret_values: dict[str, str] = field(default_factory=dict)
    raw_secrets: list[str] = field(default_factory=list)
    top_secrets: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Per file, the top-level `secrets:` entries to add as (name, file)."""


def add_top_level_secrets(run: HardeningRun) -> None:
    """Declare the secrets the planners created, under the top-level `secrets:` of their file."""
    for abs_path, entries in run.top_secrets.items():
        text = run.texts[abs_path]
        doc = text.doc
        if not isinstance(doc, CommentedMap):
            continue
        wanted = {name: {"file": file} for name, file in entries}
        if "secrets" in doc and isinstance(doc["secrets"], CommentedMap) and owns_key(doc, "secrets"):
            NodeEditor(text).merge(doc["secrets"], wanted)
        else:
            lines = render_value("secrets", wanted, 0, text.seq_offset)
            last = len(text.lines) - 1
            while last > 0 and not text.lines[last].strip():
                last -= 1
            text.insert_after(last, lines)


def command_words_of(*commands: Sequence[str] | None) -> list[str]:
    words: list[str] = []
    for command in commands:
        for part in command or ():
            words.extend(w.rsplit("/", 1)[-1] for w in str(part).split())
    return words


class ServiceEditor:
    """One service's edits in the making: what is known of it, and the helpers that queue and record an edit."""

    def __init__(
        self, run: HardeningRun, svc: ComposeService, image: ImageFacts | None, failing: Mapping[str, Finding]
    ) -> None:
        self.run = run
        self.svc = svc
        self.image = image
        self.failing = failing
        self.known: KnownImage | None = known_image(svc.image) if svc.image else None
        self.layers: list[Layer] = [
            layer for layer in run.index.layers.get(svc.name, []) if layer.abs_path in run.texts
        ]
        own = [layer for layer in self.layers if layer.own]
        self.base = own[0] if own else None
        self.new_user: str | None = None
        self.pending: dict[str, list[Any]] = {}

    # ---------------------------------------------------------------- helpers

    def note(self, rule_id: str, text: str) -> None:
        self.run.notes.append(f"{self.svc.name}: {text} ({rule_id})")

    def changed(self, rules: tuple[str, ...], summary: str, layer: Layer, line: int | None) -> None:
        self.run.changes.append(ComposeChange(rules, self.svc.name, summary, layer.display, line))

    def _service_line(self, layer: Layer) -> int | None:
        services = self.run.texts[layer.abs_path].doc.get("services")
        try:
            return int(services.lc.key(self.svc.name)[0]) + 1
        except (KeyError, TypeError, AttributeError):
            return None

    def editor(self, layer: Layer) -> NodeEditor:
        return NodeEditor(self.run.texts[layer.abs_path])

    def where_written(self, key: str) -> tuple[Layer, CommentedMap] | None:
        """The highest-priority definition that writes `key` (own or through a merge key), and the map holding it."""
        for layer in reversed(self.layers):
            found = position(layer.node, key)
            if found is not None:
                return layer, found[0]
        return None

    def scalar_target(self, key: str) -> Layer | None:
        """Where a scalar key takes effect: the last own definition that writes it, else the base definition."""
        for layer in reversed(self.layers):
            if layer.own and owns_key(layer.node, key):
                return layer
        return self.base

    def set_value(self, rules: tuple[str, ...], key: str, value: Any, summary: str) -> bool:
        layer = self.scalar_target(key)
        if layer is None or not self.editor(layer).merge(layer.node, {key: value}):
            return False
        line = self.run.index.keys.get(self.svc.name, {}).get(key)
        self.changed(
            rules,
            summary,
            layer,
            line.line if line is not None and line.path == layer.display else self._service_line(layer),
        )
        return True

    def add_items(self, rules: tuple[str, ...], key: str, items: Sequence[Any], summary: str) -> bool:
        """Queue items for a list key of the base definition; one list gets one edit, whatever adds to it."""
        if self.base is None:
            return False
        queued = self.pending.setdefault(key, [])
        queued.extend(i for i in items if i not in queued)
        self.changed(rules, summary, self.base, self._service_line(self.base))
        return True

    def flush(self) -> None:
        """Write the queued list items."""
        for key, items in self.pending.items():
            if self.base is not None and not self.editor(self.base).append(self.base.node, key, items):
                self.run.notes.append(f"{self.svc.name}: {key} could not be extended in this definition")

    def runs_as_root(self) -> bool:
        user = self.new_user or self.svc.user
        if user is not None:
            return is_root_user(user)
        if self.image is not None:
            return is_root_user(self.image.config.user)
        return not (self.known is not None and self.known.user)

    def drops_privileges(self) -> bool | None:
        """Whether the entrypoint starts as root and drops to a user itself; None when that cannot be told."""
        if self.known is not None and (self.known.drops_to or self.known.root_server):
            return True
        entry = (
            self.svc.entrypoint
            if self.svc.entrypoint is not None
            else (self.image.config.entrypoint if self.image is not None else None)
        )
        cmd = (
            self.svc.command
            if self.svc.command is not None
            else (self.image.config.cmd if self.image is not None else None)
        )
        words = command_words_of(entry, cmd)
        if any(w in _DROPPERS for w in words):
            return True
        if self.image is None:
            return None
        if any(w.endswith(".sh") or w.startswith("docker-entrypoint") for w in words):
            # A script can switch users itself; without reading it, that cannot be ruled out.
            return None
        return False

    def container_ports(self) -> set[int]:
        ports = {p.target for p in self.svc.ports}
        ports |= {int(e.split("/")[0]) for e in self.svc.expose if e.split("/")[0].isdecimal()}
        if self.image is not None:
            ports |= {int(e.split("/")[0]) for e in self.image.config.exposed_ports if e.split("/")[0].isdecimal()}
        return ports
