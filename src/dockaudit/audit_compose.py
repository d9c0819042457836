"""Compose in the audit session: services of Compose files audited (DA7xx and the DA4xx rules a definition can
decide), live Compose containers' findings pointed at their service's lines, and services' images for harden."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockaudit.errors import DockauditError
from dockaudit.model import Finding, ImageRef, TargetKind, TargetResult
from dockaudit.targets import ResolvedTarget, short_ref

if TYPE_CHECKING:
    from dockaudit.audit import AuditSession
    from dockaudit.audit_options import ProgressCallback
    from dockaudit.facts.compose import ComposeProject, ComposeService
    from dockaudit.facts.container import ContainerFacts
    from dockaudit.facts.image import ImageFacts
    from dockaudit.live_compose import ComposeLabels


class LiveProjects:
    """The projects live containers came from, read through Compose once per version of their files."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._projects: dict[tuple[object, ...], ComposeProject | None] = {}

    def read(self, labels: ComposeLabels, allow_secret_names: Collection[str]) -> ComposeProject | None:
        """The project a live container came from, read once per version of its files; None when Compose cannot
        read it here (a variable only the original shell had, Compose missing)."""
        from dockaudit.parse.compose import load_project

        env_files = [f for f in labels.env_files if Path(f).is_file()]
        try:
            stamps = tuple(Path(f).stat().st_mtime_ns for f in (*labels.config_files, *env_files))
        except OSError:
            return None
        key = (labels.project, labels.working_dir, labels.config_files, tuple(env_files), stamps)
        with self._lock:
            if key in self._projects:
                return self._projects[key]
        project: ComposeProject | None
        try:
            project = load_project(
                labels.config_files,
                project_dir=labels.working_dir or None,
                project_name=labels.project,
                env_files=env_files,
                allow_secret_names=allow_secret_names,
            )
        except DockauditError:
            project = None
        with self._lock:
            self._projects[key] = project
        return project


def checklist_service(
    session: AuditSession, target: ResolvedTarget, on_progress: ProgressCallback | None
) -> TargetResult:
    """DA7xx and the DA4xx rules a definition can decide over one Compose service; with `--with-images`, its
    image's (or its `build:` Dockerfile's) user and healthcheck feed them."""
    from dockaudit.facts.compose import ServiceFacts
    from dockaudit.rules.compose import evaluate_service

    name = target.name or target.ref
    result = TargetResult(
        kind=TargetKind.COMPOSE_SERVICE,
        engine=None,
        id=target.id or target.ref,
        name=name,
        scans={"checklist": "ok"},
    )
    project = target.compose
    service = project.service(target.service) if project is not None else None
    if service is None:
        problem = DockauditError(f"{name}: the Compose project has no service {target.service!r}")
        return session.fail(replace(result, scans={"checklist": "failed"}), "collect", problem, on_progress)
    session.emit_progress(on_progress, target.key, name, "checklist", "running the checklist")
    image, scans = _service_image(session, target, service)
    result = replace(result, scans={**result.scans, **scans})
    if image is not None and target.image_id:
        result = replace(result, image=ImageRef(id=image.id, ref=short_ref(service.image or image.name)))
    if "checklist" not in session.options.scanners:
        return session.finish(replace(result, scans={**result.scans, "checklist": "skipped"}))
    try:
        findings, passed = evaluate_service(ServiceFacts(service, image), session.rule_context())
    except Exception as exc:
        return session.fail(result, "checklist", exc, on_progress)
    return session.finish(replace(result, findings=tuple(findings), passed=tuple(passed)))


def _service_image(
    session: AuditSession, target: ResolvedTarget, service: ComposeService
) -> tuple[ImageFacts | None, dict[str, str]]:
    """The image facts a service's rules read: its image on this engine, else its `build:` Dockerfile's."""
    if target.image_id and session.source is not None:
        try:
            facts = session.source.image_facts(
                target.image_id, read_layers=False, allow_secret_names=session.settings.allow_secret_names
            )
        except DockauditError as exc:
            return None, {"image": f"failed: {exc}"}
        return facts, {"image": "ok"}
    if target.dockerfile:
        from dockaudit.parse.dockerfile import parse_dockerfile
        from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile

        try:
            parsed = parse_dockerfile(Path(target.dockerfile), session.settings.allow_secret_names)
        except Exception as exc:
            return None, {"image": f"failed: {target.dockerfile}: {exc}"}
        return image_facts_from_dockerfile(parsed), {"image": f"ok: from {target.dockerfile}"}
    return None, {}


COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
"""`live_compose.PROJECT_LABEL`, repeated so that a container Compose did not start never loads the Compose code."""


def point_at_compose_lines(session: AuditSession, facts: ContainerFacts, findings: list[Finding]) -> list[Finding]:
    """A Compose-started container's findings pointed at its service's lines, when its files are readable here."""
    if not any(label.name == COMPOSE_PROJECT_LABEL for label in facts.labels):
        return findings
    from dockaudit.live_compose import compose_labels, point_at_compose

    labels = compose_labels(facts.labels)
    if labels is None or not labels.readable:
        return findings
    # Only now: most containers were not started by Compose, and the Compose rules load every rule module.
    from dockaudit.facts.compose import ServiceFacts
    from dockaudit.rules.compose import evaluate_service

    project = session.live_projects.read(labels, session.settings.allow_secret_names)
    service = project.service(labels.service) if project is not None else None
    if service is None:
        return findings
    service_findings, _ = evaluate_service(ServiceFacts(service), session.rule_context())
    return point_at_compose(findings, service, service_findings)


def service_image_lookup(session: AuditSession) -> Callable[[ComposeService], ImageFacts | None]:
    """Services' images read from the session's engine (by `image:`, else the name Compose builds), once each."""
    source = session.source
    cache: dict[str, ImageFacts | None] = {}

    def lookup(service: ComposeService) -> ImageFacts | None:
        if source is None:
            return None
        refs = [service.image] if service.image else []
        if service.build is not None:
            refs.append(f"{service.project}-{service.name}")
        for ref in refs:
            if ref not in cache:
                try:
                    found = source.find_image(ref)
                    cache[ref] = (
                        None
                        if found is None
                        else source.image_facts(found.id, allow_secret_names=session.settings.allow_secret_names)
                    )
                except DockauditError:
                    cache[ref] = None
            if cache[ref] is not None:
                return cache[ref]
        return None

    return lookup
