"""The JSON report (schema_version 1): the shape users script against, as `spec/report.md` defines it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from dockaudit.model import (
    DbStatus,
    EngineInfo,
    Finding,
    Fix,
    Location,
    Report,
    ScanError,
    Suppression,
    TargetResult,
    TrivyInfo,
    TwinEvidence,
    Vulnerability,
)
from dockaudit.report.view import hardened_diff

SCHEMA_VERSION = 1


def timestamp(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, to the second; naive datetimes are taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _db(db: DbStatus) -> dict[str, Any]:
    out: dict[str, Any] = {"updated_at": timestamp(db.updated_at), "status": db.status}
    if db.schema is not None:
        out["schema"] = db.schema
    if db.message:
        out["message"] = db.message
    return out


def _scanners(trivy: TrivyInfo | None) -> dict[str, Any]:
    if trivy is None:
        return {"trivy": {"version": None, "db": {"updated_at": None, "status": "skipped"}}}
    return {"trivy": {"version": trivy.version, "db": _db(trivy.db)}}


def _engine(engine: EngineInfo) -> dict[str, Any]:
    return {
        "id": engine.id,
        "endpoint": engine.endpoint,
        "context": engine.context,
        "server_version": engine.server_version,
        "api_version": engine.api_version,
        "rootless": engine.rootless,
        "podman": engine.podman,
    }


def _location(loc: Location) -> dict[str, Any]:
    return {"layer": loc.layer, "path": loc.path, "instruction": loc.instruction, "line": loc.line}


def _fix(fix: Fix | None) -> dict[str, Any] | None:
    if fix is None:
        return None
    return {"summary": fix.summary, "dockerfile": fix.dockerfile, "compose": fix.compose, "run": fix.run}


def _suppressed(sup: Suppression | None) -> dict[str, Any] | None:
    if sup is None:
        return None
    return {"reason": sup.reason, "expires": sup.expires, "by": sup.by}


def _vulnerability(vuln: Vulnerability | None) -> dict[str, Any] | None:
    if vuln is None:
        return None
    return {
        "id": vuln.id,
        "package": vuln.package,
        "installed": vuln.installed,
        "fixed": vuln.fixed,
        "cvss": vuln.cvss,
        "url": vuln.url,
        "title": vuln.title,
        "status": vuln.status,
        "from_base": vuln.from_base,
        "package_path": vuln.package_path,
    }


def _twin(twin: TwinEvidence) -> dict[str, Any]:
    return {
        "rule_id": twin.rule_id,
        "evidence": twin.evidence,
        "location": _location(twin.location),
        "target": twin.target,
    }


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    """One finding in the report's shape."""
    return {
        "rule_id": finding.rule_id,
        "slug": finding.slug,
        "source": finding.source.value,
        "severity": finding.severity.label,
        "status": finding.status.value,
        "title": finding.title,
        "section": finding.section,
        "evidence": finding.evidence,
        "origin": finding.origin.value,
        "location": _location(finding.location),
        "fix": _fix(finding.fix),
        "references": list(finding.references),
        "suppressed": _suppressed(finding.suppressed),
        "vulnerability": _vulnerability(finding.vulnerability),
        "also": list(finding.also),
        "twin_evidence": [_twin(t) for t in finding.twin_evidence],
    }


def _error(error: ScanError) -> dict[str, str]:
    return {"stage": error.stage, "message": error.message}


def target_to_dict(target: TargetResult) -> dict[str, Any]:
    """One target in the report's shape, findings in report order."""
    return {
        "kind": target.kind.value,
        "engine": target.engine,
        "id": target.id,
        "name": target.name,
        "passed": sorted(set(target.passed)),
        "image": None if target.image is None else {"id": target.image.id, "ref": target.image.ref},
        "score": target.score,
        "grade": target.grade,
        "summary": target.summary(),
        "scans": dict(sorted(target.scans.items())),
        "findings": [finding_to_dict(f) for f in sorted(target.findings, key=Finding.sort_key)],
        "errors": [_error(e) for e in target.errors],
        "hardened_dockerfile_diff": hardened_diff(target),
        **({"services": list(target.services)} if target.services else {}),
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    """The whole report as plain JSON-ready data."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "dockaudit", "version": report.tool_version},
        "scanners": _scanners(report.trivy),
        "generated_at": timestamp(report.generated_at),
        "engines": [_engine(e) for e in sorted(report.engines, key=lambda e: e.id)],
        "targets": [target_to_dict(t) for t in report.sorted_targets()],
        "errors": [_error(e) for e in report.errors],
    }


def render_json(report: Report) -> str:
    """The report as indented JSON text ending in a newline."""
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False) + "\n"
