"""GitHub-flavoured Markdown for PR comments and tickets: a summary table, then findings per target."""

from __future__ import annotations

import re

from dockaudit.model import GONE_STAGE, Finding, Report, Status, TargetResult
from dockaudit.report.json import timestamp
from dockaudit.report.view import (
    SEVERITIES,
    hardened_diff,
    is_vulnerability,
    location_text,
    sorted_findings,
    target_label,
    totals,
    twin_lines,
)
from dockaudit.text import printable

_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~!])")
_BACKTICKS = re.compile(r"`+")
# URL characters of RFC 3986 only: no spaces, controls, pipes, brackets or angle brackets.
_SAFE_URL = re.compile(r"https://[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+")


def cell(text: str) -> str:
    """Text made safe for one GFM table cell: Markdown, HTML and control characters neutralised, newlines as `<br>`."""
    text = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("\r\n", "\n").replace("\n", "<br>")


def fenced(body: str, lang: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run inside."""
    body = printable(body)
    longest = max((len(m.group(0)) for m in _BACKTICKS.finditer(body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{body.rstrip()}\n{fence}"


def _header(report: Report) -> list[str]:
    lines = ["# dockaudit report", ""]
    meta = [f"dockaudit {cell(report.tool_version)}", f"generated {timestamp(report.generated_at)}"]
    if report.trivy is not None:
        db = report.trivy.db
        updated = f", updated {timestamp(db.updated_at)}" if db.updated_at else ""
        meta.append(f"Trivy {cell(report.trivy.version)} (DB {cell(db.status)}{updated})")
    else:
        meta.append("Trivy not run")
    lines += [" · ".join(meta), ""]
    count = totals(report)
    lines.append("**Totals:** " + ", ".join(f"{count[s.label]} {s.label}" for s in SEVERITIES))
    lines.append("")
    for error in report.errors:
        lines.append(f"> **Error** ({cell(error.stage)}): {cell(error.message)}")
    if report.errors:
        lines.append("")
    return lines


def _summary_table(report: Report) -> list[str]:
    head = "| Target | Engine | Grade | Score | " + " | ".join(s.label.capitalize() for s in SEVERITIES) + " | Scans |"
    sep = "| --- | --- | :---: | ---: | " + " | ".join("---:" for _ in SEVERITIES) + " | --- |"
    rows = [head, sep]
    for target in report.sorted_targets():
        summary = target.summary()
        scans = ", ".join(f"{k}: {v}" for k, v in sorted(target.scans.items()))
        rows.append(
            f"| {cell(target.kind.value)} `{_code(target.name)}`{_for(target)} | {cell(target.engine or '-')} | "
            f"**{target.shown_grade}** | {target.shown_score} | "
            + " | ".join(str(summary[s.label]) for s in SEVERITIES)
            + f" | {cell(scans)} |"
        )
    return [*rows, ""]


def _for(target: TargetResult) -> str:
    """` (for shop/web)` after a target audited for Compose services."""
    return f" (for {cell(', '.join(target.services))})" if target.services else ""


def _code(text: str) -> str:
    """Text for inside a single-backtick code span in a table (no backticks, pipes or newlines)."""
    return printable(text.replace("`", "'").replace("|", "\\|").replace("\n", " "))


def _status(finding: Finding) -> str:
    if finding.suppressed is not None:
        sup = finding.suppressed
        until = f" until {sup.expires}" if sup.expires else ""
        return f"suppressed{until}: {sup.reason}"
    return finding.status.value


def _findings_table(findings: list[Finding]) -> list[str]:
    rows = ["| Severity | Rule | Title | Evidence | Location | Status |", "| --- | --- | --- | --- | --- | --- |"]
    for f in findings:
        rule = f"`{_code(f.rule_id)}`" + (f" also {', '.join(f'`{_code(a)}`' for a in f.also)}" if f.also else "")
        evidence = "\n".join([f.evidence, *twin_lines(f)])
        rows.append(
            f"| {f.severity.label} | {rule} | {cell(f.title)} | {cell(evidence)} | "
            f"{cell(location_text(f.location))} | {cell(_status(f))} |"
        )
    return [*rows, ""]


def _vuln_table(findings: list[Finding]) -> list[str]:
    rows = ["| Severity | ID | Package | Installed | Fixed | CVSS |", "| --- | --- | --- | --- | --- | ---: |"]
    for f in findings:
        v = f.vulnerability
        assert v is not None
        cvss = "" if v.cvss is None else f"{v.cvss:.1f}"
        vid = f"[{cell(v.id)}](<{v.url}>)" if v.url and _SAFE_URL.fullmatch(v.url) else cell(v.id)
        rows.append(
            f"| {f.severity.label} | {vid} | {cell(v.package)} | {cell(v.installed)} | {cell(v.fixed or 'none')} "
            f"| {cvss} |"
        )
    return [*rows, ""]


def _fixes(findings: list[Finding]) -> list[str]:
    seen: set[str] = set()
    lines: list[str] = []
    for f in findings:
        if f.fix is None or f.rule_id in seen or f.status is not Status.FAIL:
            continue
        seen.add(f.rule_id)
        lines.append(f"- **{cell(f.rule_id)}** {cell(f.fix.summary)}")
        for body, lang in ((f.fix.dockerfile, "dockerfile"), (f.fix.compose, "yaml"), (f.fix.run, "shell")):
            if body:
                lines += ["", _indent(fenced(body, lang))]
    if not lines:
        return []
    return ["<details><summary>Fixes</summary>", "", *lines, "", "</details>", ""]


def _indent(text: str) -> str:
    return "\n".join(("  " + line) if line else line for line in text.splitlines())


def _target(report: Report, target: TargetResult) -> list[str]:
    lines = [f"## {cell(target_label(target, report))}", ""]
    if target.graded:
        grade = f"Grade **{target.grade}** ({target.score}/100)"
    else:
        grade = "Not graded: " + ("it was removed while the audit ran" if target.gone else "the checklist failed")
    lines.append(f"{grade} · id `{_code(target.id)}`")
    if target.image is not None:
        lines[-1] += f" · image `{_code(target.image.ref)}`"
    lines.append("")
    for error in target.errors:
        if error.stage == GONE_STAGE:
            lines.append(f"> **skipped:** {cell(error.message)}")
        else:
            lines.append(f"> **{cell(error.stage)} failed:** {cell(error.message)}")
    if target.errors:
        lines.append("")
    findings = sorted_findings(target)
    checks = [f for f in findings if not is_vulnerability(f) and f.status is Status.FAIL]
    skipped = [f for f in findings if f.status is Status.SKIPPED]
    vulns = [f for f in findings if is_vulnerability(f)]
    if checks:
        lines += ["### Findings", "", *_findings_table(checks), *_fixes(checks)]
    else:
        lines += ["No failed checks.", ""]
    if vulns:
        lines += [f"### Vulnerabilities ({len(vulns)})", "", *_vuln_table(vulns)]
    if skipped:
        lines += ["<details><summary>Skipped checks</summary>", "", *_findings_table(skipped), "</details>", ""]
    if target.passed:
        lines += [f"Passed: {', '.join(f'`{_code(p)}`' for p in sorted(set(target.passed)))}", ""]
    diff = hardened_diff(target)
    if diff:
        lines += [
            "<details><summary>Hardened Dockerfile (diff)</summary>",
            "",
            fenced(diff, "diff"),
            "",
            "</details>",
            "",
        ]
    return lines


def render_markdown(report: Report) -> str:
    """The report as GitHub-flavoured Markdown."""
    lines = _header(report) + _summary_table(report)
    for target in report.sorted_targets():
        lines += _target(report, target)
    return "\n".join(lines).rstrip() + "\n"
