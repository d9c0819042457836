"""Pure functions that turn model values into table cells and text for the widgets (no Textual)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import humanize
from rich.text import Text

from dockaudit.facts.container import ContainerFacts
from dockaudit.facts.image import HistoryEntry, ImageFacts, NamedValue
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


def human_size(size: int) -> str:
    """`1.2 GB`, in decimal units like the Docker CLI."""
    return str(humanize.naturalsize(size, format="%.1f"))


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
    return _printable_text(_finding_detail(finding, rationale))


def _printable_text(text: Text) -> Text:
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


def vuln_cells(finding: Finding) -> tuple[Text | str, ...]:
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
    return _printable_text(text)


def redacted_env(values: Iterable[NamedValue]) -> list[str]:
    """`NAME=value` lines; secret values are already redacted in facts, and marked here."""
    lines = []
    for nv in values:
        mark = f"  [secret: {nv.secret.detail}]" if nv.secret is not None else ""
        lines.append(f"{nv.name}={nv.value}{mark}")
    return lines


def _cmd(parts: tuple[str, ...] | None) -> str:
    if parts is None:
        return "-"
    return " ".join(parts) if parts else "[]"


def image_overview(facts: ImageFacts, layer_sizes: Sequence[int] | None, now: datetime) -> Text:
    """The Overview pane of an image: config, env (redacted), labels and layers with their instructions."""
    cfg = facts.config
    text = Text()
    rows = [
        ("Image", facts.name),
        ("ID", short_id(facts.id)),
        ("Created", human_age(facts.created, now)),
        ("Size", human_size(facts.size)),
        ("Platform", f"{facts.os}/{facts.architecture}" + (f"/{facts.variant}" if facts.variant else "")),
        ("OS", _os_name(facts)),
        ("User", cfg.user or "(root: not set)"),
        ("Entrypoint", _cmd(cfg.entrypoint)),
        ("Cmd", _cmd(cfg.cmd)),
        ("Workdir", cfg.workdir or "/"),
        ("Ports", ", ".join(cfg.exposed_ports) or "-"),
        (
            "Healthcheck",
            "none" if cfg.healthcheck is None or cfg.healthcheck.disabled else " ".join(cfg.healthcheck.test),
        ),
    ]
    _kv(text, rows)
    _section(text, "Env", redacted_env(cfg.env))
    _section(text, "Labels", [f"{nv.name}={nv.value}" for nv in cfg.labels])
    text.append("\nLayers\n", style="bold underline")
    steps = facts.history
    for i, step in enumerate(steps):
        size = layer_sizes[i] if layer_sizes is not None and i < len(layer_sizes) else None
        size_txt = human_size(size) if size else ("0 B" if step.empty_layer else "?")
        base = " base" if step.from_base else ""
        text.append(f"{i:>3} {size_txt:>9}{base:5} ", style="dim" if step.from_base else "")
        text.append(printable(step.created_by.strip(), multiline=False) or "(no instruction)")
        text.append("\n")
    return text


def _os_name(facts: ImageFacts) -> str:
    release = facts.os_release or (facts.filesystem.os_release if facts.filesystem is not None else None)
    if release is None:
        return "unknown (read when audited)" if facts.filesystem is None else "unknown"
    return release.pretty_name or f"{release.id} {release.version_id}".strip()


def container_overview(facts: ContainerFacts, now: datetime) -> Text:
    """The Overview pane of a container."""
    hc = facts.host_config
    text = Text()
    ports = [f"{p.host_ip or '*'}:{p.host_port}->{p.container_port}" for p in hc.port_bindings]
    rows = [
        ("Container", facts.name),
        ("ID", short_id(facts.id)),
        ("Image", facts.image_ref),
        ("State", facts.state.status + (f" ({facts.state.health_status})" if facts.state.health_status else "")),
        ("Created", human_age(facts.created, now)),
        ("User", facts.user or facts.image_user or "(root: not set)"),
        ("Entrypoint", _cmd(facts.entrypoint)),
        ("Cmd", _cmd(facts.cmd)),
        ("Ports", ", ".join(ports) or "-"),
        ("Networks", ", ".join(facts.networks) or "-"),
        ("Read-only", "yes" if hc.readonly_rootfs else "no"),
        ("Cap drop", ", ".join(hc.cap_drop) or "-"),
        ("Cap add", ", ".join(hc.cap_add) or "-"),
        ("Restart", hc.restart_policy or "no"),
    ]
    _kv(text, rows)
    _section(
        text,
        "Mounts",
        [f"{m.type} {m.source} -> {m.destination} ({'rw' if m.read_write else 'ro'})" for m in facts.mounts],
    )
    _section(text, "Env", redacted_env(facts.env))
    _section(text, "Labels", [f"{nv.name}={nv.value}" for nv in facts.labels])
    if facts.processes:
        _section(text, "Processes", [f"{p.pid:>7} {p.uid:<8} {p.command}" for p in facts.processes])
    return text


def _kv(text: Text, rows: Sequence[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows) + 1
    for key, value in rows:
        text.append(f"{key:<{width}} ", style="bold")
        text.append(f"{printable(value)}\n")


def _section(text: Text, title: str, lines: Sequence[str]) -> None:
    text.append(f"\n{title}\n", style="bold underline")
    if not lines:
        text.append("  (none)\n", style="dim")
    for line in lines:
        text.append(f"  {printable(line)}\n")


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
