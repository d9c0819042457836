"""Harden a Compose project: edits to its files that keep comments, order and anchors, each naming its rule.

Only what the scan flags is edited, and only where the edit cannot break a working service; otherwise the
finding gets advice saying why. The hardened files are read back through Compose (`config`) and rescanned
before they are handed out: a file Compose rejects, or an edit that did not remove its finding, is withdrawn.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dockaudit.facts import ComposePort, ComposeProject, ComposeService, EnvOrigin, ImageFacts, ServiceFacts
from dockaudit.harden.diff import unified_diff
from dockaudit.harden.runtime import writable_dirs
from dockaudit.harden.yamltext import Node, PathStep, YamlText, plain, render_items, render_value
from dockaudit.model import Finding, Location, Severity, Status
from dockaudit.parse.compose import ComposeBinary, ComposeFileError, load_project, written_text
from dockaudit.parse.compose_source import Layer, SourceIndex, build_index, port_matches, position
from dockaudit.rules.compose import evaluate_service
from dockaudit.rules.container import ALL_INTERFACES, capability_name, is_root_user
from dockaudit.rules.fixes import APP_UID
from dockaudit.rules.known_images import KnownImage, is_datastore, known_image, repository_name
from dockaudit.rules.registry import RuleContext
from dockaudit.secrets import classify_pair, redact, redact_text

DEFAULT_MEMORY = "512m"
DEFAULT_PIDS = 1024
"""Generous enough for thread-heavy runtimes (threads count as PIDs), small enough to stop a fork bomb."""
LOG_OPTIONS = {"max-size": "10m", "max-file": "3"}
LOOPBACK = "127.0.0.1"
# Images sized by their workload or running many threads: a default memory or PIDs limit could break them.
_HEAVY = frozenset(
    {
        "elasticsearch", "opensearch", "cassandra", "scylla", "kafka", "zookeeper", "clickhouse", "clickhouse-server",
        "neo4j", "solr", "sonarqube", "jenkins", "keycloak", "couchbase", "mssql", "oracle", "db2",
    }
)  # fmt: skip
_DROPPERS = frozenset({"gosu", "su-exec", "setpriv", "runuser", "chpst", "s6-setuidgid", "su"})
_SETUID_TOOLS = frozenset({"sudo", "su", "doas"})
_DROP_CAPS = ("CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID")
_NNP_FALSE = re.compile(r"^no-new-privileges[:=]false$", re.IGNORECASE)
_REF = re.compile(r"\$\{[^}]*\}")


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


@dataclass(frozen=True)
class HardenedFile:
    """One Compose file before and after hardening."""

    path: str
    abs_path: str
    original: str
    hardened: str


@dataclass(frozen=True)
class ComposeHardening:
    """The hardened files of a project, what changed and why, and the advice that could not be applied."""

    files: tuple[HardenedFile, ...]
    """Only the files that changed."""
    changes: tuple[ComposeChange, ...]
    notes: tuple[str, ...]
    secrets: tuple[MovedSecret, ...] = ()
    validated: bool = False
    """The hardened files passed `docker compose config` and the rescan."""
    redacted_diff: str = ""
    secret_values: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    """The moved values by secret name, only for writing the secret files (`harden -o`); never shown."""

    @property
    def changed(self) -> bool:
        """Whether any file changed."""
        return bool(self.files)

    def diff(self) -> str:
        """Unified diff of every changed file, secret values redacted (the written files hold no moved secret)."""
        return self.redacted_diff


ImageLookup = Callable[[ComposeService], ImageFacts | None]


def _no_image(service: ComposeService) -> ImageFacts | None:
    return None


@dataclass
class _Run:
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


def harden_compose(
    project: ComposeProject,
    *,
    image_lookup: ImageLookup = _no_image,
    ctx: RuleContext | None = None,
    binary: ComposeBinary | None = None,
    environ: Mapping[str, str] | None = None,
) -> ComposeHardening:
    """Hardened versions of the project's Compose files, validated by Compose and a rescan."""
    from dockaudit.config import Settings

    ctx = ctx or RuleContext(settings=Settings())
    index = build_index(list(zip(project.file_paths, project.files, strict=True)))
    texts = {}
    for abs_path, doc in index.documents.items():
        try:
            texts[abs_path] = YamlText(Path(abs_path).read_text(encoding="utf-8-sig"), doc)
        except (OSError, UnicodeDecodeError):
            continue
    run = _Run(project, index, texts)
    run.raw_secrets.extend(_written_secrets(index))
    images = {svc.name: image_lookup(svc) for svc in project.services}
    targeted: dict[str, set[str]] = {}
    for svc in project.services:
        facts = ServiceFacts(svc, images[svc.name])
        findings, _ = evaluate_service(facts, ctx)
        failing = {f.rule_id: f for f in findings if f.status is Status.FAIL and f.severity > Severity.INFO}
        before = len(run.changes)
        _ServicePlan(run, svc, images[svc.name], failing).apply()
        targeted[svc.name] = {r for c in run.changes[before:] for r in c.rule_ids}
    _add_top_level_secrets(run)
    files = []
    for abs_path, text in texts.items():
        hardened = text.render()
        if hardened != text.text:
            display = next(
                (layer.display for ls in index.layers.values() for layer in ls if layer.abs_path == abs_path), abs_path
            )
            files.append(HardenedFile(display, abs_path, text.text, hardened))
    result = ComposeHardening(
        tuple(files),
        tuple(run.changes),
        tuple(dict.fromkeys(run.notes)),
        tuple(run.secrets),
        secret_values=dict(run.secret_values),
    )
    if not files:
        return _with_diff(result, run.raw_secrets, validated=True)
    problem = _validate(project, result, targeted, images, ctx, binary, environ)
    if problem is not None:
        # Never hand out a file Compose rejects or an edit that did not take: the advice stays, the edits go.
        notes = (*result.notes, f"The hardened files were withdrawn: {problem}")
        return _with_diff(ComposeHardening((), (), notes, ()), run.raw_secrets, validated=False)
    return _with_diff(result, run.raw_secrets, validated=True)


def _with_diff(result: ComposeHardening, raw_secrets: Sequence[str], *, validated: bool) -> ComposeHardening:
    """The result with its display diff, every secret value written in the files redacted."""
    text = "".join(unified_diff(f.original, f.hardened, f.path) for f in result.files)
    for value in sorted(set(raw_secrets), key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, redact(value))
    text = "\n".join(redact_text(line)[0] for line in text.split("\n"))
    return ComposeHardening(
        result.files, result.changes, result.notes, result.secrets, validated, text, result.secret_values
    )


def _written_secrets(index: SourceIndex) -> list[str]:
    """Every secret value written under a service's `environment:`, as written (defaults of references too)."""
    found: list[str] = []
    for layers in index.layers.values():
        for layer in layers:
            env = layer.node.get("environment")
            pairs: list[tuple[str, str]] = []
            if isinstance(env, Mapping):
                pairs = [(str(k), str(v)) for k, v in env.items() if v is not None]
            elif isinstance(env, list):
                pairs = [(str(e).partition("=")[0], str(e).partition("=")[2]) for e in env if "=" in str(e)]
            for name, raw in pairs:
                written = written_text(raw)[0]
                if written and classify_pair(name, written) is not None:
                    found.append(written)
                    found.extend(part for part in _REF.split(raw) if written.find(part) >= 0 and len(part) >= 4)
    return found


# ------------------------------------------------------------------------------------------ node editing


def _own(node: CommentedMap, key: str) -> bool:
    found = position(node, key)
    return found is not None and found[0] is node


def _find_path(doc: Any, target: Node) -> list[PathStep] | None:
    """The steps from the document root to `target` (its definition, for an anchored node)."""

    def walk(node: Any, steps: list[PathStep]) -> list[PathStep] | None:
        if isinstance(node, CommentedMap):
            for key in node:
                if not _own(node, key):
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


def _shared(node: Any) -> bool:
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


class _Editor:
    """Edits to one file's nodes, as splices; every method returns False when it cannot edit safely."""

    def __init__(self, text: YamlText) -> None:
        self.text = text

    def _step(self, node: CommentedMap) -> int:
        path = _find_path(self.text.doc, node)
        if not path or not isinstance(path[-1][0], CommentedMap):
            return 2
        parent_col = self.text.key_col(path[-1][0])
        own_col = self.text.key_col(node)
        return max(2, own_col - parent_col) if parent_col is not None and own_col is not None else 2

    def merge(self, node: CommentedMap, value: Mapping[str, Any]) -> bool:
        """Set keys of `node` (nested maps merged, scalars replaced, missing keys added at its end)."""
        text = self.text
        path = _find_path(text.doc, node)
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
                text.replace(vline, vcol, text.scalar_end(vline, vcol), _scalar_text(wanted))
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
        path = _find_path(text.doc, node)
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
                text.replace(line, close, close, sep + ", ".join(_scalar_text(i) for i in items))
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
        path = _find_path(self.text.doc, node)
        col = self.text.key_col(node)
        if path is None or col is None or not _own(node, key):
            return False
        line = node.lc.key(key)[0]
        end = self.text.end_of([*path, (node, key)])
        self.text.replace_lines(line, end, render_value(key, value, col, self.text.seq_offset, self._step(node)))
        return True


def _scalar_value(value: Any) -> str:
    """A YAML scalar as Compose reads it into an environment value (`true`, not Python's `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _scalar_text(value: Any) -> str:
    from dockaudit.rules.fixes import yaml_scalar

    return yaml_scalar(value)


def _add_top_level_secrets(run: _Run) -> None:
    """Declare the secrets the planners created, under the top-level `secrets:` of their file."""
    for abs_path, entries in run.top_secrets.items():
        text = run.texts[abs_path]
        doc = text.doc
        if not isinstance(doc, CommentedMap):
            continue
        wanted = {name: {"file": file} for name, file in entries}
        if "secrets" in doc and isinstance(doc["secrets"], CommentedMap) and _own(doc, "secrets"):
            _Editor(text).merge(doc["secrets"], wanted)
        else:
            lines = render_value("secrets", wanted, 0, text.seq_offset)
            last = len(text.lines) - 1
            while last > 0 and not text.lines[last].strip():
                last -= 1
            text.insert_after(last, lines)


# ------------------------------------------------------------------------------------------ planning


def _port_item_text(item: Any) -> str:
    return item if isinstance(item, str) else str(item)


def _loopback_port(raw: str) -> str | None:
    """`127.0.0.1:` put in front of (or in place of an all-interfaces address in) a short port spec."""
    if any(":" in ref.group(0).partition("-")[2] for ref in _REF.finditer(raw)):
        # A default holding a colon (`${PORT-:2283:2283}`) may carry its own address: leave it to the user.
        return None
    masked = _REF.sub("X", raw)
    for address in ALL_INTERFACES:
        if address and masked.startswith(f"{address}:"):
            return LOOPBACK + raw[len(address) :]
    colons = masked.split("/", 1)[0].count(":")
    if colons == 0:
        return f"{LOOPBACK}::{raw}"
    if colons == 1:
        return f"{LOOPBACK}:{raw}"
    return None


def _passwd_user(image: ImageFacts) -> str | None:
    """A regular non-root account (UID 1000-65533) the image ships, as `uid:gid`."""
    if image.filesystem is None:
        return None
    passwd = image.filesystem.get("/etc/passwd")
    if passwd is None or passwd.content is None:
        return None
    for line in passwd.content.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[2].isdigit() and fields[3].isdigit() and 1000 <= int(fields[2]) < 65534:
            return f"{fields[2]}:{fields[3]}"
    return None


def _words(*commands: Sequence[str] | None) -> list[str]:
    words: list[str] = []
    for command in commands:
        for part in command or ():
            words.extend(w.rsplit("/", 1)[-1] for w in str(part).split())
    return words


class _ServicePlan:
    """Decides and queues the edits for one service."""

    def __init__(
        self, run: _Run, svc: ComposeService, image: ImageFacts | None, failing: Mapping[str, Finding]
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

    def editor(self, layer: Layer) -> _Editor:
        return _Editor(self.run.texts[layer.abs_path])

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
            if layer.own and _own(layer.node, key):
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
        words = _words(entry, cmd)
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
        ports |= {int(e.split("/")[0]) for e in self.svc.expose if e.split("/")[0].isdigit()}
        if self.image is not None:
            ports |= {int(e.split("/")[0]) for e in self.image.config.exposed_ports if e.split("/")[0].isdigit()}
        return ports

    # ---------------------------------------------------------------- passes

    def apply(self) -> None:
        if self.base is None or self.base.node.fa.flow_style():
            if self.failing:
                self.note(
                    ", ".join(sorted(self.failing)),
                    "not edited: the service is written in flow style or in a file that could not be read",
                )
            return
        if _shared(self.base.node):
            self.note(
                ", ".join(sorted(self.failing)) or "-",
                "not edited: the service's definition is an anchor other services reuse; harden them one by one",
            )
            return
        steps: tuple[Callable[[], None], ...] = (
            self.user,
            self.read_only,
            self.capabilities,
            self.no_new_privileges,
            self.limits,
            self.logging,
            self.depends_on,
            self.datastore_ports,
            self.secrets,
            self.advice,
        )
        for step in steps:
            step()
        self.flush()

    def user(self) -> None:
        if "DA408" not in self.failing:
            return
        svc = self.svc
        if svc.user is not None:
            self.note("DA408", f"user: {svc.user} is set explicitly to root; not changed (the service may need it)")
            return
        drops = self.drops_privileges()
        if drops:
            self.note("DA408", f"{svc.image} starts as root and drops privileges itself: no user: set")
            return
        uid: str | None = None
        if self.image is not None and drops is False:
            uid = _passwd_user(self.image) or f"{APP_UID}:{APP_UID}"
        elif self.image is None and self.known is not None and self.known.app_user:
            uid = self.known.app_user
        if uid is None:
            why = "its image is not present locally" if self.image is None else "its entrypoint script may switch users"
            self.note("DA408", f"no user: set because {why}; run it as a non-root UID once you know it works")
            return
        if self.set_value(("DA408",), "user", uid, f"user: {uid}"):
            self.new_user = uid

    def read_only(self) -> None:
        if "DA409" not in self.failing:
            return
        known_paths = self.known is not None and bool(self.known.writable)
        if not known_paths and (self.image is None or self.image.filesystem is None):
            why = "it is not present locally" if self.image is None else "its layers were not read"
            self.note("DA409", f"read_only not set: the paths the image writes to are unknown ({why})")
            return
        paths = ["/tmp"]
        if self.known is not None:
            paths += list(self.known.writable)
        user = self.new_user or self.svc.user or (self.image.config.user if self.image is not None else "")
        paths += list(writable_dirs(self.image, user or ""))
        mounted = {m.target for m in self.svc.volumes} | {t.split(":", 1)[0] for t in self.svc.tmpfs}
        if self.image is not None:
            mounted |= set(self.image.config.volumes)
        tmpfs = [p for p in dict.fromkeys(paths) if p not in mounted]
        if not self.set_value(("DA409",), "read_only", True, "read_only: true"):
            self.note("DA409", "read_only could not be added to this definition")
            return
        if tmpfs and self.add_items(("DA409",), "tmpfs", tmpfs, f"tmpfs for {', '.join(tmpfs)}"):
            self.note(
                "DA409",
                f"read_only: if the app writes anywhere besides {', '.join(tmpfs)} and its volumes, add a tmpfs there",
            )

    def capabilities(self) -> None:
        if "DA410" not in self.failing:
            return
        needed: list[str] = []
        if self.runs_as_root():
            drops = self.drops_privileges()
            if self.known is not None and self.known.caps:
                needed += list(self.known.caps)
            elif drops:
                needed += list(_DROP_CAPS)
            else:
                self.note(
                    "DA410", "cap_drop not set: the service runs as root and which capabilities it uses is unknown"
                )
                return
        if any(0 < p < 1024 for p in self.container_ports()):
            needed.append("NET_BIND_SERVICE")
        have = {capability_name(c) for c in self.svc.cap_add}
        add = [c for c in dict.fromkeys(needed) if c not in have]
        if not self.add_items(("DA410",), "cap_drop", ["ALL"], "cap_drop: [ALL]"):
            return
        if add:
            self.add_items(("DA410",), "cap_add", add, f"cap_add: {', '.join(add)} (needed once ALL is dropped)")

    def no_new_privileges(self) -> None:
        if "DA412" not in self.failing:
            return
        words = _words(
            self.svc.entrypoint, self.svc.command, self.svc.healthcheck.test if self.svc.healthcheck else None
        )
        if not self.runs_as_root() and any(w in _SETUID_TOOLS for w in words):
            self.note(
                "DA412",
                "no-new-privileges not set: the service runs as non-root and calls sudo/su, which it would break",
            )
            return
        found = self.where_written("security_opt")
        if found is not None:
            layer, holder = found
            seq = holder["security_opt"]
            if isinstance(seq, CommentedSeq):
                for i, opt in enumerate(seq):
                    if _NNP_FALSE.match(str(opt).strip()):
                        if (
                            _shared(seq)
                            or holder is not layer.node
                            or not self.editor(layer).replace_item(seq, i, '"no-new-privileges:true"')
                        ):
                            self.note(
                                "DA412",
                                "security_opt sets no-new-privileges:false in a shared definition: change it there",
                            )
                            return
                        self.changed(("DA412",), "no-new-privileges:false -> true", layer, int(seq.lc.item(i)[0]) + 1)
                        return
        self.add_items(("DA412",), "security_opt", ["no-new-privileges:true"], "security_opt: no-new-privileges:true")

    def limits(self) -> None:
        memory = "DA414" in self.failing
        pids = "DA416" in self.failing
        if not (memory or pids):
            return
        repo = repository_name(self.svc.image).rsplit("/", 1)[-1] if self.svc.image else ""
        if repo in _HEAVY:
            rules = [r for r, on in (("DA414", memory), ("DA416", pids)) if on]
            self.note(
                ", ".join(rules), f"no default limit for {self.svc.image}: size it to the workload (heap, threads)"
            )
            return
        limits = None
        if self.base is not None and _own(self.base.node, "deploy"):
            deploy = self.base.node["deploy"]
            resources = deploy.get("resources") if isinstance(deploy, CommentedMap) else None
            limits = resources.get("limits") if isinstance(resources, CommentedMap) else None
        if isinstance(limits, CommentedMap) and self.base is not None:
            wanted: dict[str, Any] = {}
            if memory:
                wanted["memory"] = DEFAULT_MEMORY
            if pids:
                wanted["pids"] = DEFAULT_PIDS
            if self.editor(self.base).merge(limits, wanted):
                rule_ids = tuple(r for r, on in (("DA414", memory), ("DA416", pids)) if on)
                self.changed(rule_ids, f"deploy.resources.limits: {wanted}", self.base, self._service_line(self.base))
        else:
            if memory:
                self.set_value(("DA414",), "mem_limit", DEFAULT_MEMORY, f"mem_limit: {DEFAULT_MEMORY}")
            if pids:
                self.set_value(("DA416",), "pids_limit", DEFAULT_PIDS, f"pids_limit: {DEFAULT_PIDS}")
        chosen = [text for text, on in ((f"memory {DEFAULT_MEMORY}", memory), (f"PIDs {DEFAULT_PIDS}", pids)) if on]
        which = ", ".join(r for r, on in (("DA414", memory), ("DA416", pids)) if on)
        self.note(which, f"{' and '.join(chosen)}: defaults, not measurements; check them under real load")

    def logging(self) -> None:
        if "DA419" not in self.failing:
            return
        svc = self.svc
        driver = svc.logging_driver
        options = dict(LOG_OPTIONS)
        value: dict[str, Any] = {"options": options}
        if driver in ("", "none"):
            value = {"driver": "json-file", "options": options}
        found = self.where_written("logging")
        if found is not None and isinstance(found[1]["logging"], CommentedMap):
            layer, holder = found
            node = holder["logging"]
            if self.editor(layer).merge(node, value):
                self.changed(
                    ("DA419",),
                    "logging rotated: max-size 10m, max-file 3",
                    layer,
                    int(holder.lc.key("logging")[0]) + 1 if holder is layer.node else None,
                )
                return
        self.set_value(("DA419",), "logging", value, "logging: json-file with max-size 10m, max-file 3")

    def depends_on(self) -> None:
        if "DA701" not in self.failing:
            return
        found = self.where_written("depends_on")
        if found is None:
            return
        layer, holder = found
        current = holder["depends_on"]
        if holder is not layer.node or not layer.own or _shared(current):
            self.note("DA701", "depends_on is written in a shared definition: add condition: service_healthy there")
            return
        healthy = {d.service for d in self.svc.depends_on if d.service_healthcheck}
        editor = self.editor(layer)
        if isinstance(current, CommentedSeq):
            mapping = {
                str(name): {"condition": "service_healthy" if str(name) in healthy else "service_started"}
                for name in current
            }
            ok = editor.replace_key_block(holder, "depends_on", mapping)
        elif isinstance(current, CommentedMap) and not current.fa.flow_style():
            wanted = {
                d.service: {"condition": "service_healthy"}
                for d in self.svc.depends_on
                if d.service_healthcheck and d.condition != "service_healthy" and d.service in current
            }
            ok = editor.merge(current, wanted)
        else:
            ok = editor.replace_key_block(
                holder,
                "depends_on",
                {
                    d.service: {"condition": "service_healthy" if d.service in healthy else d.condition}
                    for d in self.svc.depends_on
                },
            )
        if ok:
            self.changed(
                ("DA701",),
                f"depends_on waits for service_healthy: {', '.join(sorted(healthy))}",
                layer,
                int(holder.lc.key("depends_on")[0]) + 1,
            )

    def datastore_ports(self) -> None:
        if "DA703" not in self.failing or not is_datastore(self.svc.image):
            return
        for port in self.svc.ports:
            if port.host_ip not in ALL_INTERFACES:
                continue
            if not self._bind_loopback(port):
                self.note("DA703", f"port {port.target} is written in a shared definition: bind it to {LOOPBACK} there")

    def _bind_loopback(self, port: ComposePort) -> bool:
        for layer in reversed(self.layers):
            found = position(layer.node, "ports")
            if found is None:
                continue
            holder, _ = found
            seq = holder["ports"]
            if not isinstance(seq, CommentedSeq):
                continue
            for i, item in enumerate(seq):
                if not port_matches(item, port.target, port.published):
                    continue
                if holder is not layer.node or not layer.own or _shared(seq) or _shared(item):
                    return False
                editor = self.editor(layer)
                line = int(seq.lc.item(i)[0]) + 1
                if isinstance(item, CommentedMap):
                    ok = editor.merge(item, {"host_ip": LOOPBACK})
                else:
                    new = _loopback_port(_port_item_text(item))
                    ok = new is not None and editor.replace_item(seq, i, _scalar_text(new))
                if ok:
                    self.changed(("DA703",), f"port {port.target} bound to {LOOPBACK}", layer, line)
                return ok
        return False

    def secrets(self) -> None:
        if "DA702" not in self.failing:
            return
        svc = self.svc
        file_vars = set(self.known.file_variables) if self.known is not None else set()
        for env in svc.environment:
            if env.written_secret is None or env.origin not in (
                EnvOrigin.COMPOSE_FILE,
                EnvOrigin.DEFAULT,
                EnvOrigin.INTERPOLATED,
                EnvOrigin.ENV_FILE,
            ):
                continue
            if env.origin is not EnvOrigin.COMPOSE_FILE:
                where = {
                    EnvOrigin.ENV_FILE: "its env_file",
                    EnvOrigin.DEFAULT: "the default of its ${...} reference",
                }.get(env.origin, "the literal part of its value")
                self.note("DA702", f"{env.name}: move the value out of {where} into a secret file")
                continue
            if env.name not in file_vars:
                self.note(
                    "DA702",
                    f"{env.name} stays: {svc.image or 'the image'} is not known to read {env.name}_FILE; "
                    "give the app its secret as a file (Compose secrets) if it can read one",
                )
                continue
            if not self._move_secret(env.name, env.location):
                self.note("DA702", f"{env.name} is written in a shared definition: move it to a secret there")

    def _move_secret(self, name: str, was: Location) -> bool:
        found = self.where_written("environment")
        if found is None:
            return False
        layer, holder = found
        env = holder["environment"]
        if holder is not layer.node or not layer.own or _shared(env):
            return False
        secret = f"{self.svc.name}_{name.lower()}"
        target = f"/run/secrets/{secret}"
        editor = self.editor(layer)
        text = self.run.texts[layer.abs_path]
        raw_value: str | None = None
        if isinstance(env, CommentedMap) and _own(env, name) and not env.fa.flow_style():
            raw_value = _scalar_value(env[name])
            line = env.lc.key(name)[0]
            path = _find_path(text.doc, env)
            col = text.key_col(env)
            if path is None or col is None or text.end_of([*path, (env, name)]) != line:
                return False
            text.replace_lines(line, line, render_value(f"{name}_FILE", target, col, text.seq_offset))
        elif isinstance(env, CommentedSeq) and not env.fa.flow_style():
            index = next((i for i, e in enumerate(env) if str(e).split("=", 1)[0] == name), None)
            if index is None:
                return False
            raw_value = str(env[index]).split("=", 1)[1] if "=" in str(env[index]) else None
            line = env.lc.item(index)[0]
            if not editor.replace_item(env, index, _scalar_text(f"{name}_FILE={target}")):
                return False
        else:
            return False
        if raw_value is not None and classify_pair(name, raw_value) is not None:
            self.run.raw_secrets.append(raw_value)
        if raw_value is not None:
            # A literal (no `${...}`): what the container got, `$$` unescaped as Compose does.
            self.run.secret_values[secret] = written_text(raw_value)[0]
        if not self.add_items(("DA702",), "secrets", [secret], f"secrets: {secret}"):
            return False
        file = f"./secrets/{secret}.txt"
        self.run.top_secrets.setdefault(layer.abs_path, []).append((secret, file))
        self.run.secrets.append(MovedSecret(self.svc.name, name, secret, file, was, layer.abs_path))
        self.changed(("DA702",), f"{name} -> {name}_FILE from secret {secret}", layer, line + 1)
        self.run.notes.append(
            f"{self.svc.name}: write the value of {name} (was {was.path} line {was.line}) to {file} beside "
            f"{layer.display} and keep it out of version control (DA702)"
        )
        return True

    def advice(self) -> None:
        """Advice for the flagged rules no pass edits: changing them could break what the service is for."""
        reasons = {
            "DA401": "privileged: true stays: find the capability or device the service needs and grant only that",
            "DA402": "the engine socket mount stays: the service may manage containers; put a filtering proxy in front",
            "DA403": "the host directory mount stays: mount only the files needed, read-only",
            "DA404": "network_mode: host stays: publish the ports the service needs instead",
            "DA405": "pid: host stays: the service may monitor host processes",
            "DA406": "ipc: host stays: share IPC between services with ipc: service:<name> instead",
            "DA407": "host UTS/user namespace stays",
            "DA411": "the dangerous capability stays: check whether the service really needs it",
            "DA413": "the unconfined seccomp/AppArmor option stays: write a profile that allows only the missing call",
            "DA415": "no CPU limit was added: set cpus to what the service needs",
            "DA417": "no healthcheck was added: only a probe the image can run and pass is worth adding",
            "DA424": "pin the image by digest (image: repo@sha256:...) once it is pushed",
            "DA425": "the host devices stay: expose only the device node needed",
            "DA426": "shared mount propagation stays",
            "DA427": "ports stay on all interfaces: bind them to 127.0.0.1 when only local clients or a proxy use them",
            "DA428": "a privileged host port stays: publish a port above 1023 behind a proxy if you can",
            "DA429": "cgroup settings stay",
        }
        for rule_id, text in reasons.items():
            if rule_id in self.failing:
                self.note(rule_id, text)


# ------------------------------------------------------------------------------------------ validation


@contextmanager
def _overlay(project: ComposeProject, result: ComposeHardening) -> Iterator[tuple[list[Path], Path]]:
    """A temporary mirror of the project where the hardened files replace the originals (others symlinked)."""
    replaced = {Path(f.abs_path): f.hardened for f in result.files}
    root = Path(os.path.commonpath([project.working_dir, *(str(p.parent) for p in replaced)]))
    with tempfile.TemporaryDirectory(prefix="dockaudit-compose-") as tmp:
        mirror = Path(tmp)
        for path, text in replaced.items():
            rel = path.relative_to(root)
            _materialise(root, mirror, rel.parent)
            copy = mirror / rel
            # The mirror links every original: replace the link itself, never write through it.
            if copy.is_symlink():
                copy.unlink()
            copy.write_text(text, encoding="utf-8")
        files = []
        for abs_path in project.file_paths:
            path = Path(abs_path)
            try:
                files.append(mirror / path.relative_to(root))
            except ValueError:
                files.append(path)
        try:
            project_dir = mirror / Path(project.working_dir).relative_to(root)
        except ValueError:
            project_dir = Path(project.working_dir)
        yield files, project_dir


def _materialise(root: Path, mirror: Path, rel_dir: Path) -> None:
    """Make `mirror/rel_dir` a real directory whose other entries link to the originals."""
    current = Path()
    for part in (Path(), *(Path(*rel_dir.parts[: i + 1]) for i in range(len(rel_dir.parts)))):
        current = part
        target = mirror / current
        if target.is_symlink():
            target.unlink()
        target.mkdir(parents=True, exist_ok=True)
        source = root / current
        for entry in source.iterdir():
            link = target / entry.name
            if not link.exists() and not link.is_symlink():
                link.symlink_to(entry)


def _validate(
    project: ComposeProject,
    result: ComposeHardening,
    targeted: Mapping[str, set[str]],
    images: Mapping[str, ImageFacts | None],
    ctx: RuleContext,
    binary: ComposeBinary | None,
    environ: Mapping[str, str] | None,
) -> str | None:
    """None when Compose accepts the hardened files and every targeted finding is gone; else what went wrong."""
    with _overlay(project, result) as (files, project_dir):
        try:
            hardened = load_project(
                files,
                profiles=project.profiles,
                env_files=project.env_files,
                project_dir=project_dir,
                project_name=project.name,
                environ=environ,
                binary=binary,
            )
        except ComposeFileError as exc:
            return f"Compose rejects them: {exc}"
    for svc in hardened.services:
        findings, _ = evaluate_service(ServiceFacts(svc, images.get(svc.name)), ctx)
        left = sorted(
            {f.rule_id for f in findings if f.status is Status.FAIL and f.severity > Severity.INFO}
            & targeted.get(svc.name, set())
        )
        if left:
            return f"on {svc.name}, {', '.join(left)} still fail after the edits"
    return None
