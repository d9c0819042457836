"""Files in the audit session: a saved image tarball (checklist and Trivy), a Dockerfile or a project directory
(DA6xx, the image rules it can decide, and the hardened Dockerfile as a diff)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockaudit.errors import DockauditError
from dockaudit.model import INPUT_STAGE, Finding, TargetKind, TargetResult
from dockaudit.rules.registry import Scope

if TYPE_CHECKING:
    from dockaudit.audit import AuditSession
    from dockaudit.audit_options import ProgressCallback
    from dockaudit.facts.dockerfile import DockerfileFacts

DOCKERFILE_IMAGE_SCOPES = (Scope.IMAGE, Scope.HISTORY)
"""The image rules a Dockerfile can decide (not the filesystem ones: there are no layers)."""


def audit_path(
    session: AuditSession, path: Path, on_progress: ProgressCallback | None, cancel: threading.Event
) -> TargetResult:
    """A saved image tarball, a Dockerfile, or a project directory (its Dockerfile and build context)."""
    from dockaudit.targets import file_target

    try:
        target = file_target(str(path))
    except DockauditError as exc:
        result = TargetResult(kind=TargetKind.DOCKERFILE, engine=None, id=str(path), name=str(path))
        return session.fail(result, "collect", exc, on_progress)
    if target is None:
        result = TargetResult(kind=TargetKind.DOCKERFILE, engine=None, id=str(path), name=str(path))
        return session.fail(result, "collect", DockauditError(f"{path}: no such file or directory"), on_progress)
    if target.kind is TargetKind.IMAGE_ARCHIVE:
        return _audit_archive(session, Path(target.ref), str(path), on_progress, cancel)
    return _audit_dockerfile(session, Path(target.ref), target.name, on_progress)


def _audit_archive(
    session: AuditSession, path: Path, name: str, on_progress: ProgressCallback | None, cancel: threading.Event
) -> TargetResult:
    from dockaudit.engine.collect import image_facts_from_archive
    from dockaudit.engine.layers import ArchiveError

    placeholder = TargetResult(
        kind=TargetKind.IMAGE_ARCHIVE, engine=None, id=name, name=name, scans={"checklist": "failed"}
    )
    session.emit_progress(on_progress, name, name, "collect", "reading the image archive")
    try:
        facts = image_facts_from_archive(path, cancel=cancel, allow_secret_names=session.settings.allow_secret_names)
    except ArchiveError as exc:
        return session.fail(placeholder, INPUT_STAGE, exc, on_progress)
    except Exception as exc:
        return session.fail(placeholder, "collect", exc, on_progress)
    result = session.image_result(facts, TargetKind.IMAGE_ARCHIVE, name)
    return session.scan(result, facts, on_progress=on_progress, cancel=cancel, archive=path)


def _audit_dockerfile(
    session: AuditSession, path: Path, name: str, on_progress: ProgressCallback | None
) -> TargetResult:
    from dockaudit.parse.dockerfile import parse_dockerfile

    result = TargetResult(kind=TargetKind.DOCKERFILE, engine=None, id=name, name=name, scans={"checklist": "ok"})
    session.emit_progress(on_progress, name, name, "collect", "parsing the Dockerfile")
    try:
        facts = parse_dockerfile(
            path,
            session.settings.allow_secret_names,
            target=session.options.dockerfile_target,
            base_lookup=session.base_lookup(),
        )
    except Exception as exc:
        return session.fail(result, "collect", exc, on_progress)
    if "checklist" not in session.options.scanners:
        return session.finish(replace(result, scans={"checklist": "skipped"}))
    try:
        findings, passed = dockerfile_rules(session, facts)
    except Exception as exc:
        return session.fail(result, "checklist", exc, on_progress)
    result = replace(
        result,
        findings=tuple(findings),
        passed=tuple(passed),
        hardened_dockerfile_diff=_hardened_diff(session, path, name),
    )
    return session.finish(result)


def dockerfile_rules(session: AuditSession, facts: DockerfileFacts) -> tuple[list[Finding], list[str]]:
    """DA6xx over the Dockerfile, plus DA1xx/DA2xx over the image it describes, without duplicates."""
    from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile

    findings, passed = session.run_rules((Scope.DOCKERFILE,), facts)
    image_findings, image_passed = session.run_rules(DOCKERFILE_IMAGE_SCOPES, image_facts_from_dockerfile(facts))
    seen = {(f.rule_id, f.location.line, f.evidence) for f in findings}
    for finding in image_findings:
        key = (finding.rule_id, finding.location.line, finding.evidence)
        if key not in seen:
            seen.add(key)
            findings.append(finding)
    failed = {f.rule_id for f in findings}
    passed = sorted({*passed, *image_passed} - failed)
    from dockaudit.rules.twins import merge_twins

    return merge_twins(findings, passed)


def _hardened_diff(session: AuditSession, path: Path, name: str) -> str | None:
    """The hardened Dockerfile as a unified diff; None when nothing changes or hardening fails."""
    if not session.options.harden:
        return None
    try:
        result = session.harden_dockerfile(path)
    except Exception:  # the report is still worth having without the diff
        return None
    if not result.changed:
        return None
    from dockaudit.command_secrets import redact_dockerfile_text

    # The diff quotes the user's own lines as context: redact them as the findings are.
    return redact_dockerfile_text(result.diff(name), session.settings.allow_secret_names)
