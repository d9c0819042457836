"""SARIF 2.1.0 for GitHub code scanning: rule descriptors from the registry, a location on every result."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import PurePosixPath
from typing import Any

from dockaudit.model import GONE_STAGE, Finding, Report, Severity, Status, TargetKind, TargetResult
from dockaudit.report.catalog import Catalog, registry_catalog
from dockaudit.report.json import timestamp

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "dockauditFinding/v1"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub ranks security alerts by this number: >= 9 critical, >= 7 high, >= 4 medium, else low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}
_UNSAFE_URI_CHARS = re.compile(r"[^A-Za-z0-9._/-]+")


def _file_location(name: str, default: str) -> dict[str, str]:
    """A file as SARIF wants it: repo-relative under `%SRCROOT%`, or a `file://` URI when absolute."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute():
        return {"uri": path.as_uri()}
    parts = [p for p in path.parts if p != "."]
    return {"uri": "/".join(parts) or default, "uriBaseId": "%SRCROOT%"}


def artifact_location(target: TargetResult, finding: Finding | None = None) -> tuple[dict[str, str], bool]:
    """A stable artifact location for the target, and whether it is a real file (so line numbers apply).

    A Dockerfile given as a relative path stays repo-relative under `%SRCROOT%`, as GitHub expects; an
    absolute one becomes a `file://` URI. A Compose service's finding points at the file it was written in
    (the Compose file, an included one or an env_file), as does a live container's finding pointed at the line of
    its Compose service. Images, containers and hosts get `docker/<engine>/<kind>/<name>`.
    """
    if target.kind is TargetKind.DOCKERFILE:
        return _file_location(target.name, "Dockerfile"), True
    if target.kind is TargetKind.COMPOSE_SERVICE:
        written = finding.location.path if finding is not None and finding.location.line is not None else None
        return _file_location(written or target.id.split("#", 1)[0], "compose.yaml"), True
    live = finding.location if target.kind is TargetKind.CONTAINER and finding is not None else None
    if live is not None and live.path and live.line is not None:
        # A container Compose started, its finding pointed at the service's line in its Compose file.
        return _file_location(live.path, "compose.yaml"), True
    name = _UNSAFE_URI_CHARS.sub("_", target.name).strip("_/") or "unnamed"
    engine = _UNSAFE_URI_CHARS.sub("_", target.engine or "archive")
    if target.kind is TargetKind.HOST:
        return {"uri": f"docker/{engine}/host"}, False
    return {"uri": f"docker/{engine}/{target.kind.value}/{name}"}, False


def fingerprint(target: TargetResult, finding: Finding) -> str:
    """A hash that stays the same for the same problem on the same target across runs."""
    loc = finding.location
    vuln = finding.vulnerability
    parts = (
        target.kind.value,
        target.engine or "",
        target.name,
        finding.rule_id,
        loc.path or "",
        loc.instruction or "",
        "" if loc.line is None else str(loc.line),
        "" if vuln is None else f"{vuln.package}@{vuln.installed}",
        finding.evidence,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _fix_text(finding: Finding | None) -> tuple[str, str]:
    """The fix as plain text and as Markdown."""
    if finding is None or finding.fix is None:
        return "", ""
    fix = finding.fix
    text = [f"Fix: {fix.summary}"]
    md = [f"**Fix:** {fix.summary}"]
    for label, body, lang in (
        ("Dockerfile", fix.dockerfile, "dockerfile"),
        ("Compose", fix.compose, "yaml"),
        ("docker run", fix.run, "shell"),
    ):
        if body:
            text.append(f"{label}:\n{body}")
            md.append(f"{label}:\n\n```{lang}\n{body}\n```")
    return "\n\n".join(text), "\n\n".join(md)


def _descriptor(rule_id: str, findings: list[Finding], catalog: Catalog) -> dict[str, Any]:
    first = findings[0]
    with_fix = next((f for f in findings if f.fix is not None), None)
    meta = catalog.get(rule_id)
    if meta is not None:
        name, title, severity, section = meta.slug, meta.title, meta.severity, meta.section
        full = meta.rationale or meta.title
        references = list(meta.references)
    else:
        vuln = first.vulnerability
        name = first.slug or rule_id
        title = first.title or rule_id
        severity, section = first.severity, first.section
        full = (vuln.title if vuln is not None and vuln.title else "") or title
        references = list(first.references)
    fix_text, fix_md = _fix_text(with_fix)
    help_text = "\n\n".join(x for x in (full, fix_text) if x)
    help_md = "\n\n".join(x for x in (full, fix_md) if x)
    if references:
        help_text += "\n\nSee also: " + ", ".join(references)
        help_md += "\n\nSee also: " + ", ".join(f"`{r}`" for r in references)
    tags = ["security", first.source.value]
    if section:
        tags.append(section)
    descriptor: dict[str, Any] = {
        "id": rule_id,
        "name": name,
        "shortDescription": {"text": title},
        "fullDescription": {"text": full},
        "help": {"text": help_text, "markdown": help_md},
        "defaultConfiguration": {"level": _LEVEL[severity]},
        "properties": {"tags": tags, "security-severity": _SECURITY_SEVERITY[severity], "precision": "high"},
    }
    url = first.vulnerability.url if first.vulnerability is not None else None
    if url:
        descriptor["helpUri"] = url
    return descriptor


def _message(target: TargetResult, finding: Finding) -> str:
    where = f"{target.kind.value} {target.name}" + (f" on engine {target.engine}" if target.engine else "")
    loc = finding.location
    detail = []
    if loc.path and target.kind is not TargetKind.COMPOSE_SERVICE:
        detail.append(f"path {loc.path}")
    if loc.layer is not None:
        detail.append(f"layer {loc.layer}")
    if loc.instruction:
        detail.append(f"instruction `{loc.instruction}`")
    evidence = finding.evidence or finding.title
    text = f"{finding.title}: {evidence} ({where}"
    text += "; " + ", ".join(detail) + ")" if detail else ")"
    if finding.origin.value == "base":
        text += " [from the base image]"
    if finding.also:
        text += f" (also {', '.join(finding.also)})"
    for twin in finding.twin_evidence:
        text += f"; {twin.rule_id}{f' on {twin.target}' if twin.target else ''}: {twin.evidence}"
    return text


def _result(target: TargetResult, finding: Finding, rule_index: int) -> dict[str, Any]:
    artifact, is_file = artifact_location(target, finding)
    physical: dict[str, Any] = {"artifactLocation": artifact}
    line = finding.location.line
    physical["region"] = {"startLine": line if is_file and line is not None and line >= 1 else 1}
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "message": {"text": _message(target, finding)},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(target, finding)},
        "properties": {
            "severity": finding.severity.label,
            "source": finding.source.value,
            "origin": finding.origin.value,
            "target": {"kind": target.kind.value, "name": target.name, "engine": target.engine, "id": target.id},
        },
    }
    if finding.also:
        result["properties"]["also"] = list(finding.also)
    if finding.suppressed is not None:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": finding.suppressed.reason}
        ]
    return result


def _notification(text: str, level: str, rule_id: str | None = None) -> dict[str, Any]:
    note: dict[str, Any] = {"message": {"text": text}, "level": level}
    if rule_id is not None:
        note["descriptor"] = {"id": rule_id}
    return note


def sarif_log(report: Report, *, catalog: Catalog | None = None) -> dict[str, Any]:
    """The SARIF log as data: one run, results for failures, skipped rules and errors as notifications."""
    catalog = registry_catalog() if catalog is None else catalog
    targets = report.sorted_targets()
    by_rule: dict[str, list[Finding]] = {}
    pairs: list[tuple[TargetResult, Finding]] = []
    notifications: list[dict[str, Any]] = []
    for target in targets:
        for finding in sorted(target.findings, key=Finding.sort_key):
            if finding.status is Status.SKIPPED:
                notifications.append(
                    _notification(
                        f"{finding.rule_id} skipped on {target.kind.value} {target.name}: {finding.evidence}",
                        "note",
                        finding.rule_id,
                    )
                )
                continue
            by_rule.setdefault(finding.rule_id, []).append(finding)
            pairs.append((target, finding))
        for error in target.errors:
            if error.stage == GONE_STAGE:
                notifications.append(_notification(f"{target.kind.value} {target.name}: {error.message}", "note"))
                continue
            notifications.append(
                _notification(f"{target.kind.value} {target.name}: {error.stage} failed: {error.message}", "error")
            )
    for error in report.errors:
        notifications.append(_notification(f"{error.stage}: {error.message}", "error"))
    rule_ids = sorted(by_rule)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    driver: dict[str, Any] = {
        "name": "dockaudit",
        "version": report.tool_version,
        "semanticVersion": report.tool_version,
        "rules": [_descriptor(r, by_rule[r], catalog) for r in rule_ids],
    }
    failed = any(n["level"] == "error" for n in notifications)
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [{"executionSuccessful": not failed, "toolExecutionNotifications": notifications}],
        "results": [_result(t, f, index[f.rule_id]) for t, f in pairs],
        "columnKind": "utf16CodeUnits",
        "properties": {"generatedAt": timestamp(report.generated_at)},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(report: Report, *, catalog: Catalog | None = None) -> str:
    """The SARIF log as indented JSON text."""
    return json.dumps(sarif_log(report, catalog=catalog), indent=2, ensure_ascii=False) + "\n"
