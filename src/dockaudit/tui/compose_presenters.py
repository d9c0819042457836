"""Pure functions for the Compose tab: the project → service → container tree, its labels and texts (no Textual).

A live project (containers with Compose's labels) lists its services and each service's containers; auditing a
service audits its containers, and the service shows its first container's findings (replicas share the
definition). A project given as a file lists its services as targets of their own.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

from dockaudit.facts.compose import ComposeProject
from dockaudit.facts.inventory import ContainerSummary
from dockaudit.live_compose import ComposeGrouping, ProjectGroup
from dockaudit.model import TargetResult
from dockaudit.text import printable
from dockaudit.tui.backend import ComposeFileProject, ScanState
from dockaudit.tui.presenters import (
    GRADE_ORDER,
    GRADE_STYLE,
    fit,
    grade_text,
    scan_summary,
    severity_counts,
    state_text,
)

if TYPE_CHECKING:
    from dockaudit.harden.compose import ComposeHardening


class Level(enum.StrEnum):
    """What a row of the Compose tree is."""

    PROJECT = "project"
    SERVICE = "service"
    CONTAINER = "container"


@dataclass(frozen=True)
class ComposeNode:
    """One row of the Compose tree and what the keys do on it."""

    key: str
    """The row's own key: `compose:…` for projects and live services, the audit state key for the rest."""
    level: Level
    project: str
    """The key of the project the row belongs to (whose Compose file the diff pane hardens)."""
    name: str
    audit_keys: tuple[str, ...]
    """The state keys `a` audits from this row: a file service itself, a live service's containers."""
    result_key: str | None
    """The state key whose findings the row shows: its own, or a live service's first container's."""
    children: tuple[ComposeNode, ...] = ()
    detail: str = ""
    """What the project row says after the name (`live`, the file, the error)."""
    error: str = ""


def live_project_key(name: str) -> str:
    """State key of a live project (its hardened Compose file is stored under it)."""
    return f"compose:live:{name}"


def file_project_key(index: int) -> str:
    """State key of the `index`-th Compose file given on the command line."""
    return f"compose:file:{index}"


def file_service_key(target_id: str) -> str:
    """State key of a Compose service audited from a file (the target id: `compose.yaml#web`)."""
    return f"service:{target_id}"


def container_key(container_id: str) -> str:
    """State key of a container, the same as the Containers tab's (one audit shows in both)."""
    return f"container:{container_id}"


def _live_project(group: ProjectGroup) -> ComposeNode:
    key = live_project_key(group.name)
    services = []
    for service in group.services:
        containers = tuple(
            ComposeNode(container_key(c.id), Level.CONTAINER, key, c.name, (container_key(c.id),), container_key(c.id))
            for c in service.containers
        )
        keys = tuple(c.key for c in containers)
        services.append(
            ComposeNode(
                f"{key}/{service.name}", Level.SERVICE, key, service.name, keys, keys[0] if keys else None, containers
            )
        )
    audit = tuple(k for s in services for k in s.audit_keys)
    return ComposeNode(key, Level.PROJECT, key, group.name, audit, None, tuple(services), detail="live")


def _file_project(index: int, given: ComposeFileProject) -> ComposeNode:
    key = file_project_key(index)
    project = given.project
    if project is None:
        return ComposeNode(key, Level.PROJECT, key, given.path, (), None, detail="error", error=given.error)
    services = tuple(
        ComposeNode(
            file_service_key(s.target_id),
            Level.SERVICE,
            key,
            s.name,
            (file_service_key(s.target_id),),
            file_service_key(s.target_id),
        )
        for s in project.services
    )
    return ComposeNode(
        key, Level.PROJECT, key, project.name, tuple(s.key for s in services), None, services, detail=given.path
    )


def compose_tree(grouping: ComposeGrouping, files: Sequence[ComposeFileProject]) -> list[ComposeNode]:
    """Projects given as files first (in the order given), then the engine's live projects by name."""
    return [_file_project(i, f) for i, f in enumerate(files)] + [_live_project(g) for g in grouping.projects]


LABEL_WIDTH = 40
"""Names, paths and errors in tree rows stop here, so rows fit 80 columns without a horizontal scrollbar."""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def node_label(
    node: ComposeNode,
    results: Mapping[str, TargetResult],
    scans: Mapping[str, ScanState],
    containers: Mapping[str, ContainerSummary],
) -> Text:
    """The tree row: project with where it comes from; service and container with grade and finding counts."""
    text = Text(fit(node.name, LABEL_WIDTH), style="bold" if node.level is Level.PROJECT else "")
    if node.level is Level.PROJECT:
        if node.error:
            # The row says that it failed; the status line and the panes hold Compose's whole message.
            error = printable(node.error, multiline=False)
            text.append(
                f"  error: {error if len(error) <= LABEL_WIDTH else error[: LABEL_WIDTH - 1] + '…'}", style="red"
            )
            return text
        parts = [fit(node.detail, LABEL_WIDTH), _plural(len(node.children), "service")]
        if node.detail == "live":
            parts.append(_plural(sum(len(s.children) for s in node.children), "container"))
        text.append("  " + ", ".join(printable(p, multiline=False) for p in parts), style="dim")
        standing = project_standing(node, results)
        if standing.worst is not None:
            # The project reads as its weakest service, as a fleet reads as its weakest host.
            text.append("  worst ")
            text.append(standing.worst.grade, style=GRADE_STYLE.get(standing.worst.grade, ""))
        return text
    key = node.result_key
    result = results.get(key) if key else None
    scan = scans.get(key) if key else None
    text.append("  ")
    text.append_text(grade_text(result, scan))
    counts = severity_counts(result)
    if counts:
        text.append("  ")
        text.append_text(counts)
    if node.level is Level.CONTAINER:
        row = containers.get(node.key)
        if row is not None:
            text.append("  ")
            text.append_text(state_text(row.state))
    elif len(node.children) > 1:
        text.append(f"  {_plural(len(node.children), 'container')}", style="dim")
    return text


@dataclass(frozen=True)
class ProjectStanding:
    """How far a project's services are audited, and the weakest of them."""

    audited: int
    total: int
    worst: TargetResult | None
    """The graded result with the worst grade (the lowest score among equal grades); None before any audit."""
    worst_services: tuple[str, ...]
    """The services that have the worst grade."""


def project_standing(node: ComposeNode, results: Mapping[str, TargetResult]) -> ProjectStanding:
    """The audited share of a project's services and its worst grade (a service reads as its first container)."""
    graded = [
        (service.name, result)
        for service in node.children
        if service.result_key is not None and (result := results.get(service.result_key)) is not None and result.graded
    ]
    audited = sum(1 for s in node.children if s.result_key is not None and s.result_key in results)
    if not graded:
        return ProjectStanding(audited, len(node.children), None, ())
    worst = max(graded, key=lambda pair: (GRADE_ORDER.get(pair[1].grade, 0), -pair[1].score))[1]
    names = tuple(name for name, result in graded if result.grade == worst.grade)
    return ProjectStanding(audited, len(node.children), worst, names)


def compose_status(
    node: ComposeNode | None,
    result: TargetResult | None,
    scan: ScanState | None,
    results: Mapping[str, TargetResult] | None = None,
) -> str:
    """The line above the detail tabs for the highlighted row (a project's: its worst grade once audited)."""
    if node is None:
        return "No Compose project: run docker compose up, or dockaudit tui compose.yaml"
    if node.level is not Level.PROJECT:
        if node.result_key is None:
            return "This service has no container: nothing to audit"
        return scan_summary(result, scan)
    if node.error:
        return printable(f"Compose rejected {node.name}: {node.error}", multiline=False)
    services = _plural(len(node.children), "service")
    name = printable(node.name, multiline=False)
    standing = project_standing(node, results or {})
    if standing.worst is None:
        return f"Project {name}: press a to audit its {services}"
    weakest = printable(", ".join(standing.worst_services), multiline=False)
    return (
        f"Project {name}: worst grade {standing.worst.grade} ({weakest}); "
        f"{standing.audited}/{standing.total} services audited"
    )


def project_overview(node: ComposeNode, project: ComposeProject | None, group: ProjectGroup | None) -> Text:
    """What the project is: its files, its directory, its services (and Compose's warnings)."""
    text = Text()
    text.append(printable(node.name, multiline=False) + "\n", style="bold")
    if node.error:
        text.append(printable(node.error) + "\n", style="red")
        return text
    files = project.file_paths if project is not None else group.config_files if group is not None else ()
    working = project.working_dir if project is not None else group.working_dir if group is not None else ""
    rows = [("Source", "live on this engine" if node.detail == "live" else "file given on the command line")]
    rows += [("File", printable(f, multiline=False)) for f in files]
    if working:
        rows.append(("Directory", printable(working, multiline=False)))
    for label, value in rows:
        text.append(f"{label:<10}", style="bold")
        text.append(value + "\n")
    text.append("\nServices\n", style="bold")
    for service in node.children:
        line = f"  {service.name}"
        if node.detail == "live":
            line += f" ({_plural(len(service.children), 'container')})"
        text.append(printable(line, multiline=False) + "\n")
    if project is not None and project.warnings:
        text.append("\nCompose warnings\n", style="bold yellow")
        for warning in project.warnings:
            text.append(f"  {printable(warning, multiline=False)}\n")
    return text


def compose_hardening_note(result: ComposeHardening) -> str:
    """Each edit with its rules and line, then the advice that could not be applied (as `dockaudit harden` says)."""
    lines = []
    for change in result.changes:
        where = f"{Path(change.path).name} line {change.line}" if change.line else Path(change.path).name
        lines.append(f"[{', '.join(change.rule_ids)}] {where} ({change.service}): {change.summary}")
    lines += [f"note: {note}" for note in result.notes]
    if result.secrets:
        lines.append("Moved secrets need their files: write them with dockaudit harden compose.yaml -o FILE")
    if not result.changes:
        lines.append("Nothing to harden: every edit is done, or left as advice above")
    return printable("\n".join(lines))
