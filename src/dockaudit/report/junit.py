"""JUnit XML for CI dashboards: one test suite per target, one test case per rule checked on it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from dockaudit.model import GONE_STAGE, Finding, Report, Status, TargetResult
from dockaudit.report.catalog import Catalog, registry_catalog
from dockaudit.report.json import timestamp
from dockaudit.report.view import location_text, target_label, twin_lines
from dockaudit.text import printable

# XML 1.0 forbids most control characters even when escaped; evidence may carry them. `printable` shows
# them (and C1 controls, bidi overrides) as visible escapes, as CI logs print this text.
_XML_INVALID = re.compile("[\ufffe\uffff]")


def _clean(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", printable(text))


def _set(element: ET.Element, **attrs: str | int) -> None:
    for key, value in attrs.items():
        element.set(key, _clean(str(value)))


def _failure_text(findings: Sequence[Finding]) -> str:
    blocks = []
    for f in findings:
        lines = [f"[{f.severity.label}] {f.evidence or f.title}"]
        if f.also:
            lines.append(f"also: {', '.join(f.also)}")
        lines += twin_lines(f)
        where = location_text(f.location)
        if where:
            lines.append(f"location: {where}")
        if f.vulnerability is not None:
            v = f.vulnerability
            lines.append(f"package: {v.package} {v.installed} (fixed: {v.fixed or 'none'})")
        if f.fix is not None:
            lines.append(f"fix: {f.fix.summary}")
            lines += [body for body in (f.fix.dockerfile, f.fix.compose, f.fix.run) if body]
        blocks.append("\n".join(lines))
    return _clean("\n\n".join(blocks))


def _suite(report: Report, target: TargetResult, catalog: Catalog) -> ET.Element:
    suite = ET.Element("testsuite")
    classname = f"dockaudit.{target.kind.value}.{target.name}" + (f"@{target.engine}" if target.engine else "")
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("kind", target.kind.value),
        ("engine", target.engine or ""),
        ("id", target.id),
        ("grade", target.grade),
        ("score", str(target.score)),
        *((f"scan.{k}", v) for k, v in sorted(target.scans.items())),
    ):
        _set(ET.SubElement(props, "property"), name=name, value=value)
    by_rule: dict[str, list[Finding]] = {}
    for finding in target.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    rule_ids = sorted(set(by_rule) | set(target.passed))
    failures = skipped = 0
    for rule_id in rule_ids:
        case = ET.SubElement(suite, "testcase")
        findings = sorted(by_rule.get(rule_id, []), key=Finding.sort_key)
        meta = catalog.get(rule_id)
        title = findings[0].title if findings else (meta.title if meta is not None else "")
        also = sorted({a for f in findings for a in f.also})
        name = f"{rule_id} {title}".strip() + (f" (also {', '.join(also)})" if also else "")
        _set(case, classname=classname, name=name, time="0")
        counting = [f for f in findings if f.counts]
        if counting:
            failures += 1
            worst = counting[0]
            failure = ET.SubElement(case, "failure")
            _set(failure, type=worst.severity.label, message=f"{worst.title} ({len(counting)} finding(s))")
            failure.text = _failure_text(counting)
        elif findings:
            skipped += 1
            first = findings[0]
            if first.status is Status.SKIPPED:
                reason = f"skipped: {first.evidence}"
            else:
                sup = first.suppressed
                reason = f"suppressed: {sup.reason}" if sup is not None else "not counted"
            _set(ET.SubElement(case, "skipped"), message=reason)
    for error in target.errors:
        case = ET.SubElement(suite, "testcase")
        _set(case, classname=classname, name=f"stage {error.stage}", time="0")
        if error.stage == GONE_STAGE:
            # Removed while the audit ran: nothing failed, nothing was audited.
            _set(ET.SubElement(case, "skipped"), message=error.message)
        else:
            _set(ET.SubElement(case, "error"), type=error.stage, message=error.message)
    _set(
        suite,
        name=target_label(target, report),
        tests=len(rule_ids) + len(target.errors),
        failures=failures,
        errors=sum(1 for e in target.errors if e.stage != GONE_STAGE),
        skipped=skipped + sum(1 for e in target.errors if e.stage == GONE_STAGE),
        time="0",
        timestamp=timestamp(report.generated_at) or "",
    )
    return suite


def render_junit(report: Report, *, catalog: Catalog | None = None) -> str:
    """The report as JUnit XML text."""
    catalog = registry_catalog() if catalog is None else catalog
    root = ET.Element("testsuites")
    suites = [_suite(report, t, catalog) for t in report.sorted_targets()]
    if report.errors:
        suite = ET.Element("testsuite")
        for error in report.errors:
            case = ET.SubElement(suite, "testcase")
            _set(case, classname="dockaudit.run", name=error.stage, time="0")
            _set(ET.SubElement(case, "error"), type=error.stage, message=error.message)
        _set(
            suite,
            name="dockaudit run",
            tests=len(report.errors),
            failures=0,
            errors=len(report.errors),
            skipped=0,
            time="0",
            timestamp=timestamp(report.generated_at) or "",
        )
        suites.insert(0, suite)
    root.extend(suites)
    totals = {key: sum(int(s.get(key, "0")) for s in suites) for key in ("tests", "failures", "errors", "skipped")}
    _set(root, name="dockaudit", time="0", **totals)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
