"""Trivy's JSON report (SchemaVersion 2), read defensively into dockaudit findings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dockaudit.model import Finding, Fix, Location, Origin, Severity, Source, Status, Vulnerability
from dockaudit.secrets import redact_text
from dockaudit.text import without_surrogates

SUPPORTED_SCHEMA = 2
SECTION = "Scanning and signing"


class TrivyOutputError(ValueError):
    """Trivy's stdout is not a report dockaudit can read; `str()` says why."""


@dataclass(frozen=True)
class ParsedReport:
    """The findings of one Trivy report and what it said about itself."""

    schema_version: int
    findings: tuple[Finding, ...]
    artifact: str = ""
    trivy_version: str = ""
    image_config_checked: bool = False
    """Trivy returned a result for the image config's misconfiguration checks (even one with no failures)."""


def _severity(value: object) -> Severity:
    try:
        return Severity.parse(value) if isinstance(value, str) else Severity.INFO
    except ValueError:
        return Severity.INFO


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _dicts(value: object) -> Iterable[Mapping[str, Any]]:
    """The dict items of a JSON list; null, absent or malformed lists give nothing."""
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _safe(text: str) -> str:
    return redact_text(text)[0]


def _cvss(vuln: Mapping[str, Any]) -> float | None:
    """NVD's CVSS v3 score when present, else the severity source's, else any v3, v4 or v2 score."""
    table = vuln.get("CVSS")
    if not isinstance(table, dict):
        return None
    sources = [s for s in ("nvd", _str(vuln.get("SeveritySource"))) if s] + sorted(table)
    for field in ("V3Score", "V40Score", "V2Score"):
        for source in sources:
            entry = table.get(source)
            score = entry.get(field) if isinstance(entry, dict) else None
            if isinstance(score, int | float) and not isinstance(score, bool) and score > 0:
                return float(score)
    return None


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:48].rstrip("-") or "trivy-check"


_DS_OLD = re.compile(r"^(?:AVD-)?DS-?0*(\d{1,4})$")


def misconfig_id(item: Mapping[str, Any]) -> str:
    """`DS-0002` whether Trivy wrote `DS-0002`, `DS002` or `AVD-DS-0002`."""
    for raw in (_str(item.get("ID")), _str(item.get("AVDID"))):
        match = _DS_OLD.match(raw)
        if match:
            return f"DS-{int(match[1]):04d}"
    return _str(item.get("ID")) or _str(item.get("AVDID")) or "trivy-misconfig"


class _Layers:
    def __init__(self, diff_ids: list[str], base_layers: frozenset[str] | None) -> None:
        self.index = {d: i for i, d in enumerate(diff_ids)}
        self.base = base_layers

    def locate(self, layer: object) -> tuple[str | None, int | None, bool | None]:
        diff_id = _str(layer.get("DiffID")) if isinstance(layer, dict) else ""
        if not diff_id:
            return None, None, None
        from_base = None if self.base is None else diff_id in self.base
        return diff_id, self.index.get(diff_id), from_base


def _origin(from_base: bool | None) -> Origin:
    return Origin.UNKNOWN if from_base is None else (Origin.BASE if from_base else Origin.USER)


def _vuln_finding(item: Mapping[str, Any], target: str, layers: _Layers) -> Finding | None:
    vid = _str(item.get("VulnerabilityID"))
    if not vid:
        return None
    pkg = _str(item.get("PkgName"))
    installed = _str(item.get("InstalledVersion"))
    fixed = _str(item.get("FixedVersion")) or None
    status = _str(item.get("Status"))
    diff_id, layer_index, from_base = layers.locate(item.get("Layer"))
    url = _str(item.get("PrimaryURL")) or None
    title = _safe(_str(item.get("Title"))) or f"{vid} in {pkg or target}"
    if fixed:
        evidence = f"{pkg} {installed} is affected by {vid}; fixed in {fixed}"
        summary = f"upgrade {pkg} to {fixed}"
        if from_base:
            summary += " (the package comes from the base image: update the base image)"
        fix: Fix | None = Fix(summary=summary)
    else:
        evidence = f"{pkg} {installed} is affected by {vid}; no fixed version ({status or 'affected'})"
        fix = None
    refs = tuple(_str(v) for v in item.get("VendorIDs") or () if isinstance(v, str))
    pkg_path = _str(item.get("PkgPath")) or None
    return Finding(
        rule_id=vid,
        slug=pkg or "vulnerability",
        source=Source.TRIVY_VULN,
        severity=_severity(item.get("Severity")),
        status=Status.FAIL,
        title=title,
        section=SECTION,
        evidence=evidence,
        origin=_origin(from_base),
        location=Location(layer=layer_index, path=pkg_path),
        fix=fix,
        references=refs + ((url,) if url else ()),
        vulnerability=Vulnerability(
            id=vid,
            package=pkg,
            installed=installed,
            fixed=fixed,
            cvss=_cvss(item),
            url=url,
            title=title,
            status=status,
            layer=diff_id,
            from_base=from_base,
            package_path=pkg_path,
        ),
    )


def _misconfig_finding(item: Mapping[str, Any], target: str, image_config: bool) -> Finding | None:
    if _str(item.get("Status")) not in ("", "FAIL"):
        return None  # PASS/EXCEPTION entries only appear with --include-non-failures
    rule_id = misconfig_id(item)
    title = _safe(_str(item.get("Title"))) or rule_id
    message = _safe(_str(item.get("Message")) or title)
    cause = item.get("CauseMetadata")
    line = cause.get("StartLine") if isinstance(cause, dict) else None
    resolution = _safe(_str(item.get("Resolution")))
    url = _str(item.get("PrimaryURL"))
    return Finding(
        rule_id=rule_id,
        slug=_slug(title),
        source=Source.TRIVY_MISCONFIG,
        severity=_severity(item.get("Severity")),
        status=Status.FAIL,
        title=title,
        section=SECTION,
        evidence=message,
        location=(
            Location(instruction="image config")
            if image_config
            else Location(path=target or None, line=line if isinstance(line, int) and line > 0 else None)
        ),
        fix=Fix(summary=resolution) if resolution else None,
        references=(url,) if url else (),
    )


def _secret_finding(item: Mapping[str, Any], target: str, image_config: bool, layers: _Layers) -> Finding | None:
    rule_id = _str(item.get("RuleID")) or "secret"
    title = _safe(_str(item.get("Title"))) or rule_id
    line = item.get("StartLine")
    line = line if isinstance(line, int) and line > 0 else None
    match = _str(item.get("Match"))
    # Trivy masks the secret with `*`; an unmasked match is dropped rather than trusted to redaction.
    shown = _safe(match.strip()) if "*" in match else ""
    where = "the image config" if image_config else f"{target}{f':{line}' if line else ''}"
    evidence = f"{title} in {where}" + (f": {shown[:160]}" if shown else "")
    _diff, layer_index, from_base = layers.locate(item.get("Layer"))
    return Finding(
        rule_id=rule_id,
        slug=_slug(rule_id),
        source=Source.TRIVY_SECRET,
        severity=_severity(item.get("Severity")),
        status=Status.FAIL,
        title=title,
        section=SECTION,
        evidence=evidence,
        origin=_origin(from_base),
        location=(
            Location(instruction="image config")
            if image_config
            else Location(layer=layer_index, path=target or None, line=line)
        ),
        fix=Fix(
            summary="remove the secret from the image, rotate it, and supply it at runtime "
            "(a BuildKit secret mount for builds, a secrets file or secret manager for containers)"
        ),
    )


def _license_finding(item: Mapping[str, Any]) -> Finding | None:
    name = _safe(_str(item.get("Name")))
    if not name:
        return None
    pkg = _str(item.get("PkgName"))
    category = _str(item.get("Category")) or "unknown"
    path = _str(item.get("FilePath")) or None
    subject = pkg or path or "a file"
    return Finding(
        rule_id=name,
        slug=_slug(pkg) if pkg else "license",
        source=Source.TRIVY_LICENSE,
        severity=_severity(item.get("Severity")),
        status=Status.FAIL,
        title=f"{name} license ({category})",
        section=SECTION,
        evidence=f"{subject} is licensed under {name} (category: {category})",
        location=Location(path=path),
        fix=Fix(summary=f"check that the {name} terms allow how you ship {subject}, or replace it"),
    )


def parse_report(data: bytes | str, *, base_layers: frozenset[str] | None = None) -> ParsedReport:
    """Findings from a `trivy image --format json` report; raises TrivyOutputError for anything unreadable."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if not text.strip():
        raise TrivyOutputError("Trivy printed no report (empty output)")
    try:
        # Go never writes a lone surrogate (`\ud800`); should one come, it must not break the UTF-8 reports.
        doc = without_surrogates(json.loads(text))
    except (json.JSONDecodeError, RecursionError):
        snippet = _safe(text.strip()[:60]).replace("\n", " ")
        raise TrivyOutputError(f"Trivy's output is not JSON ({len(text)} bytes, starting {snippet!r})") from None
    if not isinstance(doc, dict):
        raise TrivyOutputError(f"Trivy's output is JSON but not a report (a {type(doc).__name__})")
    schema = doc.get("SchemaVersion")
    if schema != SUPPORTED_SCHEMA:
        got = "none" if schema is None else repr(schema)
        raise TrivyOutputError(
            f"Trivy report SchemaVersion {got} is not supported (dockaudit reads {SUPPORTED_SCHEMA}): "
            "use a Trivy release that writes SchemaVersion 2"
        )
    artifact = _str(doc.get("ArtifactName"))
    meta = doc.get("Metadata")
    meta = meta if isinstance(meta, dict) else {}
    diff_ids = [d for d in meta.get("DiffIDs") or () if isinstance(d, str)]
    layers = _Layers(diff_ids, base_layers)
    findings: list[Finding] = []
    seen: set[tuple[object, ...]] = set()
    config_checked = False
    for result in _dicts(doc.get("Results")):
        target = _str(result.get("Target"))
        image_config = bool(artifact) and target == artifact
        if image_config and _str(result.get("Class")) == "config":
            config_checked = True
        batch: list[Finding | None] = []
        batch += [_vuln_finding(v, target, layers) for v in _dicts(result.get("Vulnerabilities"))]
        batch += [_misconfig_finding(m, target, image_config) for m in _dicts(result.get("Misconfigurations"))]
        batch += [_secret_finding(s, target, image_config, layers) for s in _dicts(result.get("Secrets"))]
        batch += [_license_finding(x) for x in _dicts(result.get("Licenses"))]
        for finding in batch:
            if finding is None:
                continue
            # Trivy reports a config secret once per place (ENV and the history line): one is enough.
            same_config_secret = finding.source is Source.TRIVY_SECRET and image_config
            key = (finding.rule_id, finding.slug, finding.location, "" if same_config_secret else finding.evidence)
            if key not in seen:
                seen.add(key)
                findings.append(finding)
    trivy = doc.get("Trivy")
    version = _str(trivy.get("Version")) if isinstance(trivy, dict) else ""
    return ParsedReport(SUPPORTED_SCHEMA, tuple(findings), artifact, version, config_checked)
