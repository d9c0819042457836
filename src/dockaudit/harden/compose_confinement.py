"""Compose edits that confine a service: its user, a read-only root filesystem, capabilities, no-new-privileges."""

from __future__ import annotations

import re

from ruamel.yaml.comments import CommentedSeq

from dockaudit.facts.image import ImageFacts
from dockaudit.harden.compose_edit import is_shared
from dockaudit.harden.compose_service import (
    ServiceEditor,
    command_words_of,
)
from dockaudit.harden.runtime import writable_dirs
from dockaudit.rules.container_confinement import capability_name
from dockaudit.rules.fixes import APP_UID

_SETUID_TOOLS = frozenset({"sudo", "su", "doas"})
_DROP_CAPS = ("CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID")
_NNP_FALSE = re.compile(r"^no-new-privileges[:=]false$", re.IGNORECASE)


def _passwd_user(image: ImageFacts) -> str | None:
    """A regular non-root account (UID 1000-65533) the image ships, as `uid:gid`."""
    if image.filesystem is None:
        return None
    passwd = image.filesystem.get("/etc/passwd")
    if passwd is None or passwd.content is None:
        return None
    for line in passwd.content.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[2].isdecimal() and fields[3].isdecimal() and 1000 <= int(fields[2]) < 65534:
            return f"{fields[2]}:{fields[3]}"
    return None


class ConfinementEdits(ServiceEditor):
    """DA408-DA412 edits: who the service runs as and what it may do."""

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
        words = command_words_of(
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
