"""What to edit in each service of a Compose project, rule by rule: only what the scan flags, only where the edit
cannot break a working service; otherwise a note saying why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dockaudit.facts.compose import ComposePort, ComposeProject, ComposeService, EnvOrigin
from dockaudit.facts.image import ImageFacts
from dockaudit.harden.compose_edit import NodeEditor, find_path, is_shared, owns_key, scalar_text, scalar_value
from dockaudit.harden.runtime import writable_dirs
from dockaudit.harden.yamltext import YamlText, render_value
from dockaudit.model import Finding, Location
from dockaudit.parse.compose import written_text
from dockaudit.parse.compose_source import Layer, SourceIndex, port_matches, position
from dockaudit.rules.container import ALL_INTERFACES, is_root_user
from dockaudit.rules.container_confinement import capability_name
from dockaudit.rules.fixes import APP_UID
from dockaudit.rules.known_images import KnownImage, is_datastore, known_image, repository_name
from dockaudit.secrets import classify_pair

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


def _port_item_text(item: Any) -> str:
    return item if isinstance(item, str) else str(item)


def _loopback_port(raw: str) -> str | None:
    """`127.0.0.1:` put in front of (or in place of an all-interfaces address in) a short port spec."""
    if any(":" in ref.group(0).partition("-")[2] for ref in VARIABLE_REFERENCE.finditer(raw)):
        # A default holding a colon (`${PORT-:2283:2283}`) may carry its own address: leave it to the user.
        return None
    masked = VARIABLE_REFERENCE.sub("X", raw)
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


class ServicePlan:
    """Decides and queues the edits for one service."""

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
        if is_shared(self.base.node):
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
                            is_shared(seq)
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
        if self.base is not None and owns_key(self.base.node, "deploy"):
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
        if holder is not layer.node or not layer.own or is_shared(current):
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
                if holder is not layer.node or not layer.own or is_shared(seq) or is_shared(item):
                    return False
                editor = self.editor(layer)
                line = int(seq.lc.item(i)[0]) + 1
                if isinstance(item, CommentedMap):
                    ok = editor.merge(item, {"host_ip": LOOPBACK})
                else:
                    new = _loopback_port(_port_item_text(item))
                    ok = new is not None and editor.replace_item(seq, i, scalar_text(new))
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
        if holder is not layer.node or not layer.own or is_shared(env):
            return False
        secret = f"{self.svc.name}_{name.lower()}"
        target = f"/run/secrets/{secret}"
        editor = self.editor(layer)
        text = self.run.texts[layer.abs_path]
        raw_value: str | None = None
        if isinstance(env, CommentedMap) and owns_key(env, name) and not env.fa.flow_style():
            raw_value = scalar_value(env[name])
            line = env.lc.key(name)[0]
            path = find_path(text.doc, env)
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
            if not editor.replace_item(env, index, scalar_text(f"{name}_FILE={target}")):
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
