"""The terminal summary: per target its grade, severity counts and top findings, as rich renders it."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from dockaudit.model import GONE_STAGE, Report, Severity, Status, TargetResult
from dockaudit.report.json import timestamp
from dockaudit.report.view import (
    SEVERITIES,
    location_text,
    rule_label,
    sorted_findings,
    target_label,
    target_title,
    totals,
)
from dockaudit.text import printable

TOP_FINDINGS = 8
"""How many findings per target the summary lists before `+N more`."""

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
SHORT_LABEL = {
    Severity.CRITICAL: "crit",
    Severity.HIGH: "high",
    Severity.MEDIUM: "med",
    Severity.LOW: "low",
    Severity.INFO: "info",
}
GRADE_STYLE = {"A": "bold green", "B": "green", "C": "yellow", "D": "red", "F": "bold red"}


def _counts(summary: dict[str, int]) -> Text:
    text = Text()
    for i, sev in enumerate(SEVERITIES):
        if i:
            text.append("  ")
        count = summary[sev.label]
        text.append(f"{sev.label} {count}", style=SEVERITY_STYLE[sev] if count else "dim")
    return text


def _overview(report: Report) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    table.add_column("target", overflow="fold")
    table.add_column("engine")
    table.add_column("grade", justify="center")
    table.add_column("score", justify="right")
    for sev in SEVERITIES:
        table.add_column(SHORT_LABEL[sev], justify="right")
    for target in report.sorted_targets():
        summary = target.summary()
        table.add_row(
            Text(printable(target_title(target))),
            Text(printable(target.engine or "-")),
            Text(target.shown_grade, style=GRADE_STYLE.get(target.shown_grade, "")),
            Text(target.shown_score),
            *(Text(str(summary[s.label]), style=SEVERITY_STYLE[s] if summary[s.label] else "dim") for s in SEVERITIES),
        )
    return table


def _target_panel(report: Report, target: TargetResult) -> Panel:
    parts: list[RenderableType] = []
    head = Text()
    head.append(f" {target.shown_grade} ", style="reverse " + GRADE_STYLE.get(target.shown_grade, ""))
    if target.graded:
        head.append(f"  score {target.shown_score}/100   ")
    else:
        why = "it was removed while the audit ran" if target.gone else "the checklist failed"
        head.append(f"  not graded: {why}   ")
    head.append_text(_counts(target.summary()))
    parts.append(head)
    scans = "  ".join(f"{k}: {v}" for k, v in sorted(target.scans.items()))
    if scans:
        parts.append(Text(printable(f"scans  {scans}"), style="dim"))
    for error in target.errors:
        if error.stage == GONE_STAGE:
            parts.append(Text(printable(f"skipped  {error.message}"), style="dim"))
        else:
            parts.append(Text(printable(f"error  {error.stage}: {error.message}"), style="bold red"))
    findings = [f for f in sorted_findings(target) if f.status is Status.FAIL]
    counting = [f for f in findings if f.counts]
    if counting:
        table = Table(box=None, show_header=False, pad_edge=False, expand=True)
        table.add_column("sev", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("finding", ratio=1, overflow="fold")
        for finding in counting[:TOP_FINDINGS]:
            what = Text(printable(finding.title), style="bold")
            if finding.evidence:
                what.append(printable(f"  {finding.evidence}"), style="")
            where = location_text(finding.location)
            if where:
                what.append(printable(f"  ({where})"), style="dim")
            table.add_row(
                Text(finding.severity.label.upper(), style=SEVERITY_STYLE[finding.severity]),
                Text(printable(rule_label(finding))),
                what,
            )
        parts.append(table)
        if len(counting) > TOP_FINDINGS:
            parts.append(Text(f"+{len(counting) - TOP_FINDINGS} more findings", style="dim"))
    elif not target.errors:
        parts.append(Text("no failed checks", style="green"))
    suppressed = sum(1 for f in findings if f.suppressed is not None)
    skipped = sum(1 for f in target.findings if f.status is Status.SKIPPED)
    tail = []
    if target.passed:
        tail.append(f"{len(set(target.passed))} passed")
    if skipped:
        tail.append(f"{skipped} skipped")
    if suppressed:
        tail.append(f"{suppressed} suppressed")
    if tail:
        parts.append(Text(", ".join(tail), style="dim"))
    title = Text(printable(target_label(target, report), multiline=False))
    return Panel(Group(*parts), title=title, title_align="left", box=box.ROUNDED)


def render_table(report: Report, *, color: bool = False, width: int = 100) -> str:
    """The summary as text; ANSI colour only when `color` (callers pass False for NO_COLOR or non-TTYs)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )
    title = Text("dockaudit ", style="bold")
    title.append(printable(f"{report.tool_version}  {timestamp(report.generated_at)}"), style="dim")
    if report.trivy is not None:
        title.append(printable(f"  trivy {report.trivy.version} (db {report.trivy.db.status})"), style="dim")
    console.print(title)
    for error in report.errors:
        console.print(Text(printable(f"error  {error.stage}: {error.message}"), style="bold red"))
    if len(report.targets) > 1:
        console.print(_overview(report))
    for target in report.sorted_targets():
        console.print(_target_panel(report, target))
    count = totals(report)
    summary = Text(f"{len(report.targets)} target(s): ")
    summary.append_text(_counts(count))
    console.print(summary)
    return buffer.getvalue()
