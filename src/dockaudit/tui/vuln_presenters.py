"""Pure functions for the Vulnerabilities pane: Trivy's findings filtered, sorted, as table cells, and one in full
(with the layer and Dockerfile step that brought it in)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from dockaudit.facts.container import ContainerFacts
from dockaudit.facts.image import HistoryEntry, ImageFacts
from dockaudit.model import (
    Finding,
    Severity,
    Source,
    TargetResult,
)
from dockaudit.text import printable
from dockaudit.tui.presenters import matches, printable_text, severity_label


@dataclass(frozen=True)
class VulnFilter:
    """The Vulnerabilities pane's filters."""

    fixable_only: bool = False
    min_severity: Severity = Severity.INFO
    text: str = ""


VULN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("severity", "Severity"),
    ("id", "ID"),
    ("package", "Package"),
    ("fixed", "Fixed in"),
    ("installed", "Installed"),
    ("title", "Title"),
)


VULN_SORTS = ("severity", "package", "id", "fixed")

NARROW_VULNS = 100
"""Below this many columns the vulnerability list leaves Installed out (Enter shows it) and shortens Package and
Fixed in, so that the Title still shows at 80 columns."""
NARROW_CELL = 14
"""Longest Package or Fixed in cell of the narrow list."""


def vuln_columns(width: int) -> tuple[tuple[str, str], ...]:
    """The vulnerability list's columns at a width (see `NARROW_VULNS`)."""
    return VULN_COLUMNS if width >= NARROW_VULNS else tuple(c for c in VULN_COLUMNS if c[0] != "installed")


def vulnerabilities(result: TargetResult | None, flt: VulnFilter, sort: str = "severity") -> list[Finding]:
    """Trivy vulnerability findings after the filters, in the chosen order."""
    if result is None:
        return []
    items = [f for f in result.findings if f.source is Source.TRIVY_VULN and f.vulnerability is not None]
    out = []
    for f in items:
        vuln = f.vulnerability
        assert vuln is not None
        if flt.fixable_only and not vuln.fixed:
            continue
        if f.severity < flt.min_severity:
            continue
        if flt.text and not matches(flt.text, vuln.id, vuln.package, vuln.title):
            continue
        out.append(f)
    keys = {
        "severity": lambda f: (-int(f.severity), f.rule_id),
        "package": lambda f: (f.vulnerability.package if f.vulnerability else "", -int(f.severity)),
        "id": lambda f: (f.rule_id,),
        "fixed": lambda f: (not (f.vulnerability and f.vulnerability.fixed), -int(f.severity), f.rule_id),
    }
    return sorted(out, key=keys.get(sort, keys["severity"]))


def narrow_vuln_cells(cells: Sequence[Text], title_width: int) -> tuple[Text, ...]:
    """`vuln_cells` for a narrow list: no Installed, Package and Fixed in cut to `NARROW_CELL`, the Title to
    `title_width`, each with ASCII dots (a terminal in the C locale cannot show an ellipsis)."""
    severity, vuln_id, package, fixed, _installed, title = cells
    return (
        severity,
        vuln_id,
        _cut(package, NARROW_CELL),
        _cut(fixed, NARROW_CELL),
        _cut(title, max(title_width, 8)),
    )


def narrow_title_width(rows: Sequence[Sequence[Text]], width: int) -> int:
    """What a narrow list with `width` columns for its rows leaves the Title: the rest after Severity, ID,
    Package and Fixed in (as `narrow_vuln_cells` cuts them), with one column of padding either side of each."""
    used = 0
    for index, (_key, label) in enumerate(vuln_columns(0)[:4]):
        widest = max([len(label), *(row[index].cell_len for row in rows)])
        used += (min(widest, NARROW_CELL) if index >= 2 else widest) + 2
    return width - used - 2


def _cut(cell: Text, width: int) -> Text:
    """The cell shortened at the end to `width` columns, ending in `...` when cut."""
    if cell.cell_len <= width:
        return cell
    cut = cell[: width - 3]
    cut.append("...", style=cell.style)
    return cut


def vuln_cells(finding: Finding) -> tuple[Text, ...]:
    """Cells of a vulnerability row; `-` when no fixed version exists; an ignored one dimmed and marked."""
    vuln = finding.vulnerability
    assert vuln is not None
    # Text, not str: a DataTable reads str cells as markup, and Trivy's titles are not ours.
    cells = (
        severity_label(finding.severity),
        Text(printable(vuln.id, multiline=False)),
        Text(printable(vuln.package, multiline=False)),
        Text(printable(vuln.fixed or "-", multiline=False), style="green" if vuln.fixed else "dim"),
        Text(printable(vuln.installed, multiline=False)),
        Text(printable(vuln.title, multiline=False)),
    )
    if finding.suppressed is None:
        return cells
    title = Text(f"ignored: {printable(finding.suppressed.reason, multiline=False)} - ", style="italic")
    return (
        Text(finding.severity.name, style="dim"),
        *(Text(cell.plain, style="dim") for cell in cells[1:5]),
        Text.assemble(title, cells[5].plain, style="dim"),
    )


def layer_step(facts: ImageFacts | ContainerFacts | None, finding: Finding) -> HistoryEntry | None:
    """The history step that made the layer a finding was seen in, when the facts tell."""
    layer = finding.location.layer
    if not isinstance(facts, ImageFacts) or layer is None:
        return None
    return next((h for h in facts.history if h.layer_index == layer), None)


def vuln_detail(finding: Finding, step: HistoryEntry | None = None) -> Text:
    """One vulnerability in full: id, package, versions, severity and CVSS, where it came from, references."""
    vuln = finding.vulnerability
    assert vuln is not None
    text = Text()
    text.append_text(severity_label(finding.severity))
    text.append(f" {vuln.id}", style="bold")
    if vuln.cvss is not None:
        text.append(f"  CVSS {vuln.cvss:.1f}")
    text.append("\n")
    if vuln.title:
        text.append(vuln.title + "\n", style="bold")
    text.append("\n")
    rows = [
        ("Package", vuln.package + (f" ({vuln.package_path})" if vuln.package_path else "")),
        ("Installed", vuln.installed or "-"),
        ("Fixed in", vuln.fixed or f"no fixed version ({vuln.status or 'affected'})"),
    ]
    layer = finding.location.layer
    if layer is not None or vuln.layer:
        digest = f" ({vuln.layer[:19]})" if vuln.layer else ""
        rows.append(("Layer", (f"{layer}" if layer is not None else "?") + digest))
    if step is not None:
        where = f"line {step.line}: " if step.line is not None else f"history step {step.index}: "
        rows.append(("Step", where + step.shown))
    if vuln.from_base is not None:
        rows.append(("Origin", "the base image" if vuln.from_base else "your layers"))
    for label, value in rows:
        text.append(f"{label + ':':<11}", style="bold")
        text.append(value + "\n")
    if finding.fix is not None:
        text.append("\nFix: ", style="bold")
        text.append(finding.fix.summary + "\n")
    if finding.references:
        text.append("\nReferences:\n", style="bold")
        for ref in finding.references:
            text.append(f"  {ref}\n")
    if finding.suppressed is not None:
        text.append("\nIgnored: ", style="bold")
        text.append(f"{finding.suppressed.reason} ({finding.suppressed.by})\n")
    return printable_text(text)
