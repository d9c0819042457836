"""Live Compose projects: containers grouped by project and service, and their findings pointed at the Compose file.

Compose labels every container it starts with its project, service, config files and working directory; when
those files are readable here, a container's runtime findings (DA4xx) get the file and line of the service's key
and the Compose fix under the service's own name, as a scan of the file itself gives them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockaudit.facts.image import NamedValue
from dockaudit.facts.inventory import ContainerSummary
from dockaudit.model import Finding, Status

if TYPE_CHECKING:
    from dockaudit.facts.compose import ComposeService

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
ENV_FILES_LABEL = "com.docker.compose.project.environment_file"

RULE_KEYS: Mapping[str, tuple[str, ...]] = {
    "DA401": ("privileged",),
    "DA402": ("volumes",),
    "DA403": ("volumes",),
    "DA404": ("network_mode",),
    "DA405": ("pid",),
    "DA406": ("ipc",),
    "DA407": ("uts", "userns_mode"),
    "DA408": ("user",),
    "DA409": ("read_only",),
    "DA410": ("cap_drop",),
    "DA411": ("cap_add",),
    "DA412": ("security_opt",),
    "DA413": ("security_opt",),
    "DA414": ("mem_limit", "deploy.resources.limits.memory"),
    "DA415": ("cpus", "deploy.resources.limits.cpus"),
    "DA416": ("pids_limit", "deploy.resources.limits.pids"),
    "DA417": ("healthcheck",),
    "DA418": ("restart",),
    "DA419": ("logging",),
    "DA420": ("entrypoint", "command"),
    "DA421": ("init",),
    "DA423": ("environment",),
    "DA424": ("image",),
    "DA425": ("devices", "device_cgroup_rules"),
    "DA426": ("volumes",),
    "DA427": ("ports",),
    "DA428": ("ports",),
    "DA429": ("cgroup", "cgroup_parent"),
    "DA430": ("security_opt",),
    "DA431": ("oom_kill_disable",),
}
"""The service keys that decide each runtime rule: where a live finding points when the file's own scan has no
finding of that rule to borrow a line from (the file changed since `up`, or the rule needs a running process)."""

_NUMBER = re.compile(r"\d+")
_GENERIC_SERVICE = "services:\n  app:\n"


@dataclass(frozen=True)
class ComposeLabels:
    """What Compose's labels say about the container: its project, service and the files it came from."""

    project: str
    service: str
    config_files: tuple[str, ...]
    working_dir: str
    env_files: tuple[str, ...]

    @property
    def readable(self) -> bool:
        """Whether every config file is a file this process can read (the project lives on this machine)."""
        paths = [Path(f) for f in self.config_files]
        return bool(paths) and all(p.is_absolute() and p.is_file() and os.access(p, os.R_OK) for p in paths)


def _split(value: str) -> tuple[str, ...]:
    return tuple(part for part in (p.strip() for p in value.split(",")) if part)


def compose_labels(labels: Iterable[NamedValue]) -> ComposeLabels | None:
    """The Compose labels of a container; None when Compose did not start it."""
    found = {label.name: label.value for label in labels}
    project, service = found.get(PROJECT_LABEL, ""), found.get(SERVICE_LABEL, "")
    if not project or not service:
        return None
    return ComposeLabels(
        project=project,
        service=service,
        config_files=_split(found.get(CONFIG_FILES_LABEL, "")),
        working_dir=found.get(WORKING_DIR_LABEL, ""),
        env_files=_split(found.get(ENV_FILES_LABEL, "")),
    )


def _best_twin(finding: Finding, candidates: Sequence[Finding]) -> Finding | None:
    """The file's finding for the same flaw: the one whose evidence shares the most numbers (ports, paths)."""
    if not candidates:
        return None
    numbers = set(_NUMBER.findall(finding.evidence))
    return max(candidates, key=lambda c: len(numbers & set(_NUMBER.findall(c.evidence))))


def point_at_compose(
    findings: Sequence[Finding], service: ComposeService, service_findings: Sequence[Finding]
) -> list[Finding]:
    """A container's runtime findings pointed at the service's lines in its Compose file, with its Compose fix.

    `service_findings` are the file's own findings for that service (the Compose rules): a finding of the same
    rule (or one folded into it, as DA423 into DA702) lends its line and fix; else the rule's key, else the
    service's own line.
    """
    out = []
    for finding in findings:
        if not finding.rule_id.startswith("DA4"):
            out.append(finding)
            continue
        twin = _best_twin(
            finding,
            [
                f
                for f in service_findings
                if f.status is Status.FAIL and (f.rule_id == finding.rule_id or finding.rule_id in f.also)
            ],
        )
        location = twin.location if twin is not None else service.where(*RULE_KEYS.get(finding.rule_id, ()))
        fix = finding.fix
        if twin is not None and twin.fix is not None and twin.fix.compose:
            fix = replace(fix, compose=twin.fix.compose) if fix is not None else twin.fix
        elif fix is not None and fix.compose.startswith(_GENERIC_SERVICE):
            # The container rules' snippet names a placeholder service: name the real one.
            fix = replace(fix, compose=f"services:\n  {service.name}:\n" + fix.compose[len(_GENERIC_SERVICE) :])
        out.append(replace(finding, location=location, fix=fix))
    return out


@dataclass(frozen=True)
class ServiceGroup:
    """The containers of one service of a live project (replicas, one-off runs)."""

    name: str
    containers: tuple[ContainerSummary, ...]


@dataclass(frozen=True)
class ProjectGroup:
    """A live Compose project: its services' containers and the files it was started from."""

    name: str
    working_dir: str
    config_files: tuple[str, ...]
    services: tuple[ServiceGroup, ...]

    @property
    def containers(self) -> tuple[ContainerSummary, ...]:
        """Every container of the project, service by service."""
        return tuple(c for s in self.services for c in s.containers)


@dataclass(frozen=True)
class ComposeGrouping:
    """Containers by Compose project and service, and the containers Compose did not start."""

    projects: tuple[ProjectGroup, ...]
    others: tuple[ContainerSummary, ...]


def group_by_project(containers: Sequence[ContainerSummary]) -> ComposeGrouping:
    """Group containers by their Compose project and service (by name, as Compose identifies projects on an
    engine); projects and services sorted by name, containers kept in the given order."""
    projects: dict[str, dict[str, list[ContainerSummary]]] = {}
    first: dict[str, ComposeLabels] = {}
    others: list[ContainerSummary] = []
    for container in containers:
        labels = compose_labels(container.labels)
        if labels is None:
            others.append(container)
            continue
        first.setdefault(labels.project, labels)
        projects.setdefault(labels.project, {}).setdefault(labels.service, []).append(container)
    groups = tuple(
        ProjectGroup(
            name=name,
            working_dir=first[name].working_dir,
            config_files=first[name].config_files,
            services=tuple(ServiceGroup(svc, tuple(rows)) for svc, rows in sorted(services.items())),
        )
        for name, services in sorted(projects.items())
    )
    return ComposeGrouping(groups, tuple(others))
