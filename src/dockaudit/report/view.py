"""Presentation helpers shared by the human-readable writers (table, Markdown, HTML, JUnit)."""

from __future__ import annotations

from dockaudit.command_secrets import redact_dockerfile_text
from dockaudit.model import Finding, Location, Report, Severity, TargetResult

SEVERITIES: tuple[Severity, ...] = tuple(sorted(Severity, reverse=True))
"""Worst first, as every summary lists them."""
INSTRUCTION_WIDTH = 48
"""Longer instructions are cut in location columns; the JSON keeps them whole."""


def location_text(loc: Location) -> str:
    """`Dockerfile line 12`, `/app/.env (layer 3)`, or the instruction; empty when nothing is known."""
    parts: list[str] = []
    if loc.path:
        parts.append(loc.path)
    if loc.line is not None:
        parts.append(f"line {loc.line}")
    if loc.layer is not None:
        parts.append(f"layer {loc.layer}")
    text = ", ".join(parts)
    if loc.instruction and not text:
        text = loc.instruction
        if len(text) > INSTRUCTION_WIDTH:
            text = text[:INSTRUCTION_WIDTH] + "…"
    return text


def rule_label(finding: Finding) -> str:
    """`DA606 (also DA101)`: the finding's id and the twin ids merged into it."""
    if not finding.also:
        return finding.rule_id
    return f"{finding.rule_id} (also {', '.join(finding.also)})"


def twin_lines(finding: Finding) -> list[str]:
    """One line per twin's own evidence: `DA101 on myapp:1.2: Config.User is empty`."""
    return [
        f"{twin.rule_id}{f' on {twin.target}' if twin.target else ''}: {twin.evidence}"
        for twin in finding.twin_evidence
    ]


def target_label(target: TargetResult, report: Report) -> str:
    """`image myapp:1.2 (engine local)`: the engine is shown only when the report spans several."""
    engines = {t.engine for t in report.targets}
    label = target_title(target)
    if target.engine and len(engines) > 1:
        label += f" @ {target.engine}"
    return label


def target_title(target: TargetResult) -> str:
    """`image nginx:1.27`, or `image nginx:1.27 (for shop/web)` when audited for Compose services."""
    title = f"{target.kind.value} {target.name}"
    if target.services:
        title += f" (for {', '.join(target.services)})"
    return title


def is_vulnerability(finding: Finding) -> bool:
    """Whether the finding is a Trivy package vulnerability (shown in its own table)."""
    return finding.vulnerability is not None


def sorted_findings(target: TargetResult) -> list[Finding]:
    """The target's findings in report order."""
    return sorted(target.findings, key=Finding.sort_key)


def totals(report: Report) -> dict[str, int]:
    """Counting findings per severity over all targets."""
    out = {sev.label: 0 for sev in SEVERITIES}
    for target in report.targets:
        for label, count in target.summary().items():
            out[label] += count
    return out


def hardened_diff(target: TargetResult) -> str | None:
    """The target's hardened Dockerfile diff with every secret its quoted lines hold redacted."""
    diff = target.hardened_dockerfile_diff
    return redact_dockerfile_text(diff) if diff else None
