"""Compose edits about what a service exposes: datastore ports bound to loopback, literal secrets moved to files."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dockaudit.facts.compose import ComposePort, EnvOrigin
from dockaudit.harden.compose_edit import find_path, is_shared, owns_key, scalar_text, scalar_value
from dockaudit.harden.compose_service import (
    VARIABLE_REFERENCE,
    MovedSecret,
    ServiceEditor,
)
from dockaudit.harden.yamltext import render_value
from dockaudit.model import Location
from dockaudit.parse.compose import written_text
from dockaudit.parse.compose_source import port_matches, position
from dockaudit.rules.container import ALL_INTERFACES
from dockaudit.rules.known_images import is_datastore
from dockaudit.secrets import classify_pair


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


LOOPBACK = "127.0.0.1"


class ExposureEdits(ServiceEditor):
    """DA703/DA423/DA702 edits: published datastore ports and secrets written in the project."""

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
