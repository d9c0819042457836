"""Compose edits that keep a service operable: memory and PIDs limits, log rotation, healthy dependencies."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dockaudit.harden.compose_edit import is_shared, owns_key
from dockaudit.harden.compose_service import (
    ServiceEditor,
)
from dockaudit.rules.known_images import repository_name

DEFAULT_MEMORY = "512m"
DEFAULT_PIDS = 1024
"""Generous enough for thread-heavy runtimes (threads count as PIDs), small enough to stop a fork bomb."""
LOG_OPTIONS = {"max-size": "10m", "max-file": "3"}
# Images sized by their workload or running many threads: a default memory or PIDs limit could break them.
_HEAVY = frozenset(
    {
        "elasticsearch", "opensearch", "cassandra", "scylla", "kafka", "zookeeper", "clickhouse", "clickhouse-server",
        "neo4j", "solr", "sonarqube", "jenkins", "keycloak", "couchbase", "mssql", "oracle", "db2",
    }
)  # fmt: skip


class OperationsEdits(ServiceEditor):
    """DA414/DA416/DA419/DA701 edits: limits, logging and depends_on conditions."""

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
