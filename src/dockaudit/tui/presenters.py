"""Pure functions that turn model values into table cells and text for the widgets (no Textual)."""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import humanize
from rich.text import Text

from dockaudit.facts.inventory import ContainerSummary, ImageSummary, short_id
from dockaudit.model import (
    DbStatus,
    EngineInfo,
    Finding,
    Severity,
    Source,
    Status,
    Suppression,
    TargetResult,
    TrivyInfo,
)
from dockaudit.text import is_printable, printable
from dockaudit.tui.backend import ScanState

SEVERITY_STYLE: dict[Severity, str] = {
    Severity.CRITICAL: "bold reverse red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
"""Colour per severity; the text label always goes with it (never colour alone), and without colour (NO_COLOR)
CRITICAL still stands out in reverse, HIGH in bold, INFO dim."""

SEVERITY_SHORT: dict[Severity, str] = {
    Severity.CRITICAL: "C",
    Severity.HIGH: "H",
    Severity.MEDIUM: "M",
    Severity.LOW: "L",
    Severity.INFO: "I",
}

GRADE_STYLE: dict[str, str] = {
    "A": "bold green",
    "B": "green",
    "C": "yellow",
    "D": "bold yellow",
    "E": "red",
    "F": "bold red",
}


class SortKey(enum.StrEnum):
    """Orders of the target lists."""

    NAME = "name"
    GRADE = "grade"
    SIZE = "size"
    AGE = "age"

    def next(self) -> SortKey:
        """The next order in the cycle."""
        members = list(SortKey)
        return members[(members.index(self) + 1) % len(members)]


@functools.lru_cache(maxsize=4096)
def human_size(size: int) -> str:
    """`1.2 GB`, in decimal units like the Docker CLI."""
    return str(humanize.naturalsize(size, format="%.1f"))


@functools.lru_cache(maxsize=4096)
def human_age(created: datetime | None, now: datetime) -> str:
    """`3 days ago`; `-` when unknown."""
    if created is None:
        return "-"
    text = str(humanize.naturaltime(now - created))
    # "1 year, 1 month ago" is too wide for a list column; the first unit says enough.
    return text.split(",")[0] + " ago" if "," in text else text


def severity_label(severity: Severity, *, width: int = 0) -> Text:
    """The severity as coloured upper-case text (readable without colour)."""
    name = severity.name
    return Text(name.ljust(width), style=SEVERITY_STYLE[severity])


def grade_text(result: TargetResult | None, scan: ScanState | None) -> Text:
    """Grade cell: the grade, a running percentage, `!` on error, or `-` when never audited."""
    if scan is not None and scan.running:
        pct = f"{int(scan.fraction * 100)}%" if scan.fraction is not None else "..."
        return Text(pct, style="italic")
    if scan is not None and scan.error and result is None:
        return Text("ERR", style="bold red")
    if result is None:
        return Text("-", style="dim")
    if result.gone is not None:
        # Removed while the audit ran: nothing to grade, and nothing failed.
        return Text("gone", style="dim")
    if not result.graded:
        # The checklist did not run: nothing was checked, so no grade (an A here would read as a pass).
        return Text("ERR", style="bold red")
    label = result.grade + ("*" if scan is not None and scan.trivy_pending else "")
    return Text(label, style=GRADE_STYLE.get(result.grade, ""))


def severity_counts(result: TargetResult | None) -> Text:
    """`2C 1H 3M` for counting findings; empty when never audited, `ok` when clean."""
    if result is None:
        return Text("")
    summary = result.summary()
    text = Text()
    for sev in sorted(Severity, reverse=True):
        count = summary[sev.label]
        if count and sev is not Severity.INFO:
            if text:
                text.append(" ")
            text.append(f"{count}{SEVERITY_SHORT[sev]}", style=SEVERITY_STYLE[sev])
    return text if text else Text("ok", style="green")


GRADE_ORDER = {g: i for i, g in enumerate("ABCDEF")}


def sort_images(rows: Iterable[ImageSummary], sort: SortKey, results: dict[str, TargetResult]) -> list[ImageSummary]:
    """Images in the chosen order: name A-Z, worst grade first, biggest first, newest first."""
    items = list(rows)
    if sort is SortKey.NAME:
        return sorted(items, key=lambda r: (r.name.startswith("<none>"), r.name, r.id))
    if sort is SortKey.SIZE:
        return sorted(items, key=lambda r: (-r.size, r.name))
    if sort is SortKey.AGE:
        return sorted(items, key=lambda r: (-(r.created.timestamp() if r.created else 0), r.name))
    return sorted(items, key=lambda r: (_grade_rank(results.get(r.id)), r.name))


def sort_containers(
    rows: Iterable[ContainerSummary], sort: SortKey, results: dict[str, TargetResult]
) -> list[ContainerSummary]:
    """Containers in the chosen order (size sorts as name: containers have none listed)."""
    items = list(rows)
    if sort is SortKey.AGE:
        return sorted(items, key=lambda r: (-(r.created.timestamp() if r.created else 0), r.name))
    if sort is SortKey.GRADE:
        return sorted(items, key=lambda r: (_grade_rank(results.get(r.id)), r.name))
    return sorted(items, key=lambda r: (r.name, r.id))


def _grade_rank(result: TargetResult | None) -> tuple[int, int]:
    # Worst first (grade, then score within a grade); unaudited targets go last.
    if result is None:
        return (99, 0)
    if not result.graded:
        return (98, 0)  # nothing was checked: after every graded target, before the unaudited
    return (-GRADE_ORDER.get(result.grade, 0), result.score)


NAME_WIDTH = 32
"""List cells never grow past this: long registry paths would push grades off an 80-column screen."""


def fit(text: str, width: int = NAME_WIDTH) -> str:
    """`text` shortened in the middle (`registry.e.../app:1.2.3`), keeping the tag at the end visible (ASCII dots:
    a terminal in the C locale cannot show an ellipsis character)."""
    text = printable(text, multiline=False)
    if len(text) <= width:
        return text
    tail = (width - 3) * 2 // 3
    return text[: width - 3 - tail] + "..." + text[-tail:]


def matches(text: str, *fields: str) -> bool:
    """Case-insensitive substring filter over any of the fields; every word must match."""
    haystack = " ".join(fields).lower()
    return all(word in haystack for word in text.lower().split())


def image_cells(
    row: ImageSummary,
    result: TargetResult | None,
    scan: ScanState | None,
    now: datetime,
    selected: bool,
    name_width: int = NAME_WIDTH,
) -> tuple[Text | str, ...]:
    """Cells of an image row: mark, name:tag, grade, severity counts, size, age, ID (what matters first)."""
    return (
        Text("*" if selected else " ", style="bold"),
        Text(fit(row.name, name_width), style="dim" if row.name.startswith("<none>") else ""),
        grade_text(result, scan),
        severity_counts(result),
        Text(human_size(row.size), justify="right"),
        human_age(row.created, now),
        short_id(row.id),
    )


IMAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sel", " "),
    ("name", "Image"),
    ("grade", "Grade"),
    ("counts", "Findings"),
    ("size", "Size"),
    ("age", "Created"),
    ("id", "ID"),
)
CONTAINER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sel", " "),
    ("name", "Container"),
    ("grade", "Grade"),
    ("counts", "Findings"),
    ("state", "State"),
    ("image", "Image"),
    ("age", "Created"),
    ("id", "ID"),
)


def state_text(state: str) -> Text:
    """Container state, coloured and spelled out."""
    style = {"running": "green", "exited": "dim", "created": "dim", "restarting": "yellow", "dead": "red"}
    return Text(printable(state), style=style.get(state, ""))


def container_cells(
    row: ContainerSummary,
    result: TargetResult | None,
    scan: ScanState | None,
    now: datetime,
    selected: bool,
    name_width: int = NAME_WIDTH,
) -> tuple[Text | str, ...]:
    """Cells of a container row, grade first."""
    return (
        Text("*" if selected else " ", style="bold"),
        Text(fit(row.name, name_width * 3 // 4)),
        grade_text(result, scan),
        severity_counts(result),
        state_text(row.state),
        Text(fit(row.image, name_width * 3 // 4)),
        human_age(row.created, now),
        short_id(row.id),
    )


def header_text(
    engine: EngineInfo | None,
    trivy: TrivyInfo | None,
    now: datetime,
    *,
    connecting: str = "",
    trivy_loaded: bool = True,
    compact: bool = False,
) -> Text:
    """The one-line header: a DEMO badge on the made-up engine, then engine, versions, rootless/Podman, Trivy
    version and DB age."""
    text = Text()
    if is_demo(engine):
        # First, so no width cuts it; reverse video reads without colour (NO_COLOR) too.
        text.append(" DEMO ", style="bold reverse")
        text.append(" ")
    if not compact:
        text.append("dockaudit ", style="bold")
    if engine is None:
        text.append(connecting or "not connected", style="italic")
    else:
        where = engine.context if engine.context and engine.context != "default" else None
        text.append(f"{where}: " if where else "", style="bold")
        text.append(printable(engine.endpoint))
        text.append(f" | {engine.kind} {engine.server_version or '?'}")
        if engine.api_version and not compact:
            text.append(f" (API {engine.api_version})", style="dim")
        if engine.rootless:
            text.append(" rootless", style="yellow")
    text.append(" | ")
    if not trivy_loaded:
        text.append("Trivy ...", style="dim")
    elif trivy is None:
        text.append("Trivy off", style="dim")
    elif not trivy.version:
        text.append("Trivy not found", style="yellow")
    else:
        text.append(f"Trivy {trivy.version} ")
        text.append_text(db_text(trivy.db, now))
    return text


DEMO_SCHEME = "demo://"
"""Endpoints of the made-up demo engines (`dockaudit --demo`); no real engine has this scheme."""


def is_demo(engine: EngineInfo | None) -> bool:
    """Whether the engine shown is the made-up demo engine."""
    return engine is not None and engine.endpoint.startswith(DEMO_SCHEME)


def export_directory(engine: EngineInfo | None, scratch: Path | None) -> str:
    """Where the export dialog proposes to write: the working directory, but the demo's own temporary directory
    (`scratch`, where its config lives) on the demo engine, so trying the demo never litters the user's project."""
    return str(scratch) if is_demo(engine) and scratch is not None else "."


def db_text(db: DbStatus, now: datetime) -> Text:
    """`DB 2 days old`, or the DB's problem."""
    if db.updated_at is not None and db.status in ("ok", "stale"):
        age = str(humanize.naturaldelta(now - db.updated_at)).split(",")[0]
        return Text(f"DB {age} old", style="yellow" if db.status == "stale" else "")
    return Text(f"DB {db.status}", style="yellow")


class Grouping(enum.StrEnum):
    """How the Findings pane groups findings."""

    SEVERITY = "severity"
    SECTION = "section"


def checklist_findings(result: TargetResult) -> list[Finding]:
    """Non-vulnerability findings in report order (failures first, skipped last)."""
    items = [f for f in result.findings if f.source is not Source.TRIVY_VULN]
    return sorted(items, key=lambda f: (f.status is Status.SKIPPED, *f.sort_key()))


SKIPPED_GROUP = "SKIPPED (could not check)"
IGNORED_GROUP = "IGNORED"
"""The group of findings an ignore suppresses: last, shown dimmed with the reason and expiry."""


def group_findings(findings: Sequence[Finding], grouping: Grouping) -> list[tuple[str, list[Finding]]]:
    """Findings in labelled groups: by severity (worst first) or by checklist section, then the skipped checks,
    then the ignored findings (they do not count, so they leave the groups that do)."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.suppressed is not None:
            label = IGNORED_GROUP
        elif finding.status is Status.SKIPPED:
            label = SKIPPED_GROUP
        elif grouping is Grouping.SEVERITY:
            label = finding.severity.name
        else:
            label = finding.section or "Other"
        groups.setdefault(label, []).append(finding)
    tail = [SKIPPED_GROUP, IGNORED_GROUP]
    if grouping is Grouping.SEVERITY:
        order = [s.name for s in sorted(Severity, reverse=True)]
    else:
        order = sorted(label for label in groups if label not in tail)
    return [(label, groups[label]) for label in (*order, *tail) if label in groups]


def finding_line(finding: Finding) -> Text:
    """A finding in the tree: `HIGH     DA101 Image runs as root`; an ignored one dimmed, with why and until when."""
    if finding.suppressed is not None:
        return ignored_line(finding)
    text = Text()
    if finding.status is Status.SKIPPED:
        text.append("SKIP     ", style="dim")
    else:
        text.append_text(severity_label(finding.severity, width=9))
    text.append(printable(f"{finding.rule_id} ", multiline=False), style="bold")
    text.append(printable(finding.title, multiline=False))
    return text


def ignored_line(finding: Finding) -> Text:
    """`HIGH     DA101 Image runs as root: base image decides (until 2027-01-31)`, all dimmed."""
    suppressed = finding.suppressed
    assert suppressed is not None
    text = Text(style="dim")
    text.append(f"{finding.severity.name:<9}")
    text.append(printable(f"{finding.rule_id} ", multiline=False), style="bold")
    text.append(printable(finding.title, multiline=False))
    text.append(printable(f": {suppressed.reason}", multiline=False), style="italic")
    text.append(f" ({ignore_expiry(suppressed)})", style="italic")
    return text


def ignore_expiry(suppressed: Suppression) -> str:
    """`until 2027-01-31`, or `no expiry`."""
    return f"until {suppressed.expires}" if suppressed.expires else "no expiry"


def finding_detail(finding: Finding, rationale: str = "") -> Text:
    """Evidence, rationale and fix of one finding, as plain labelled text (control characters escaped)."""
    return printable_text(_finding_detail(finding, rationale))


def printable_text(text: Text) -> Text:
    """`text` with its characters passed through `printable`, every span's style kept."""
    if is_printable(text.plain):
        return text
    cuts = sorted({offset for span in text.spans for offset in (span.start, span.end)} - {0, len(text)})
    out = Text(style=text.style, end=text.end)
    for part in text.divide(cuts):
        # Cut at every span boundary, each span of a part covers all of it.
        piece = Text(printable(part.plain))
        for span in part.spans:
            piece.stylize(span.style)
        out.append_text(piece)
    return out


def _finding_detail(finding: Finding, rationale: str = "") -> Text:
    text = Text()
    text.append_text(severity_label(finding.severity))
    text.append(f" {finding.rule_id} {finding.slug}\n", style="bold")
    text.append(finding.title + "\n\n", style="bold")
    text.append("Evidence: ", style="bold")
    text.append(finding.evidence + "\n")
    loc = finding.location
    where = [
        f"layer {loc.layer}" if loc.layer is not None else "",
        loc.path or "",
        f"line {loc.line}" if loc.line is not None else "",
        loc.instruction or "",
    ]
    if any(where):
        text.append("Where: ", style="bold")
        text.append(", ".join(w for w in where if w) + "\n")
    if finding.origin.value != "unknown":
        text.append("Origin: ", style="bold")
        text.append(("the base image" if finding.origin.value == "base" else "your layers") + "\n")
    if rationale:
        text.append("\nWhy: ", style="bold")
        text.append(rationale + "\n")
    if finding.fix is not None:
        text.append("\nFix: ", style="bold green")
        text.append(finding.fix.summary + "\n")
        for label, snippet in (
            ("Dockerfile", finding.fix.dockerfile),
            ("Compose", finding.fix.compose),
            ("docker run", finding.fix.run),
        ):
            if snippet:
                text.append(f"{label}:\n", style="bold")
                text.append(_indent(snippet) + "\n", style="green")
    if finding.references:
        text.append("\nSee: ", style="bold")
        text.append(", ".join(finding.references) + "\n")
    if finding.suppressed is not None:
        text.append("\nIgnored: ", style="bold")
        text.append(f"{finding.suppressed.reason} ({ignore_expiry(finding.suppressed)}; {finding.suppressed.by})\n")
        text.append("u removes the ignore\n", style="dim")
    return text


def fix_text(finding: Finding) -> str:
    """What `copy fix` puts on the clipboard: the most concrete snippet available."""
    if finding.fix is None:
        return ""
    fix = finding.fix
    return fix.dockerfile or fix.compose or fix.run or fix.summary


def _indent(snippet: str) -> str:
    return "\n".join("  " + line for line in snippet.splitlines())


def scan_summary(result: TargetResult | None, scan: ScanState | None) -> str:
    """One line about a target's audit state, above the detail tabs."""
    if scan is not None and scan.running:
        return printable(f"{scan.stage}: {scan.message}", multiline=False)
    if scan is not None and scan.error:
        return printable(f"audit failed: {scan.error}", multiline=False)
    if result is None:
        return "Not audited yet: press a to audit (A: all)"
    scans = ", ".join(f"{k} {v}" for k, v in result.scans.items())
    return f"Grade {result.shown_grade} (score {result.shown_score}) - {scans}"


def audit_progress_text(
    done: int, total: int, failed: int, elapsed: float, *, ended: bool = False, cancelled: bool = False
) -> Text:
    """The audit-all line: `Auditing 120/1000 · 3 failed · about 1 min left · c cancels`, and how it ended."""
    failures = Text(f" · {failed} failed", style="bold red") if failed else Text("")
    if cancelled:
        return Text.assemble(
            Text(f"Cancelled: {done}/{total} audited, {total - done} not", style="yellow"),
            failures,
            f" · {_duration(elapsed)}",
        )
    if ended:
        return Text.assemble(Text(f"Audited {done}/{total}", style="green"), failures, f" · {_duration(elapsed)}")
    estimate = f" · about {_duration(elapsed / done * (total - done))} left" if done else ""
    return Text.assemble(f"Auditing {done}/{total}", failures, estimate, Text(" · c cancels", style="dim"))


def _duration(seconds: float) -> str:
    """`42 s`, `3 min 5 s`."""
    whole = max(0, round(seconds))
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60} s"
