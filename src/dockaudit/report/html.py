"""One self-contained, offline HTML file: grades, counts, sortable and filterable tables, the hardened diff."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2

from dockaudit.model import Finding, Report, Status, TargetResult
from dockaudit.report.json import timestamp
from dockaudit.report.view import SEVERITIES, hardened_diff, is_vulnerability, location_text, sorted_findings, totals
from dockaudit.text import printable

_ANCHOR_UNSAFE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class FindingView:
    """A finding plus the bits the template shows precomputed."""

    finding: Finding
    where: str
    url: str | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.finding, name)


def _asset(name: str) -> str:
    return resources.files("dockaudit.report").joinpath("templates", name).read_text(encoding="utf-8")


def _shown(value: Any) -> Any:
    # Plain strings come from the image; markup marked safe (the inlined CSS and script) is ours.
    return printable(value) if type(value) is str else value


def _environment() -> jinja2.Environment:
    loader = jinja2.PackageLoader("dockaudit.report", "templates")
    # Autoescape everything: labels, env names and file names can carry markup (and control characters).
    return jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_shown,
    )


def _diff_lines(diff: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            cls = "file"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        elif line.startswith("@@"):
            cls = "hunk"
        else:
            cls = "ctx"
        out.append((cls, line))
    return out


def _view(finding: Finding) -> FindingView:
    vuln = finding.vulnerability
    url = vuln.url if vuln is not None and vuln.url and vuln.url.startswith(("https://", "http://")) else None
    return FindingView(finding, location_text(finding.location), url)


def _target(target: TargetResult, index: int) -> dict[str, Any]:
    findings = sorted_findings(target)
    summary = target.summary()
    slug = _ANCHOR_UNSAFE.sub("-", f"{target.kind.value}-{target.name}".lower()).strip("-")[:48]
    return {
        "anchor": f"t{index}-{slug}",
        "kind": target.kind.value,
        "name": target.name,
        "services": target.services,
        "engine": target.engine,
        "id": target.id,
        "image": target.image,
        "grade": target.shown_grade,
        "score": target.shown_score,
        "counts": [(s.label, summary[s.label]) for s in SEVERITIES],
        "scans": sorted(target.scans.items()),
        "errors": target.errors,
        "checks": [_view(f) for f in findings if f.status is Status.FAIL and not is_vulnerability(f)],
        "vulns": [_view(f) for f in findings if is_vulnerability(f)],
        "skipped": [f for f in findings if f.status is Status.SKIPPED],
        "passed": sorted(set(target.passed)),
        "diff": _diff_lines(diff) if (diff := hardened_diff(target)) else [],
    }


def script_hash(script: str) -> str:
    """The CSP source expression that allows exactly this inline script and no other."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def render_html(report: Report) -> str:
    """The report as one HTML document with its CSS and script inlined."""
    script = _asset("report.js")
    engines = sorted(report.engines, key=lambda e: e.id)
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        generated_at=timestamp(report.generated_at),
        trivy_db_updated=timestamp(report.trivy.db.updated_at) if report.trivy is not None else None,
        engines=engines,
        multi_engine=len({t.engine for t in report.targets}) > 1,
        targets=[_target(t, i) for i, t in enumerate(report.sorted_targets(), start=1)],
        totals=list(totals(report).items()),
        css=_asset("report.css"),
        script=script,
        script_hash=script_hash(script),
    )
