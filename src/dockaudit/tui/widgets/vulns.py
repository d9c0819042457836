"""The Vulnerabilities pane: Trivy's findings in a sortable table with fixable, severity and text filters."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Static

from dockaudit.model import Finding, Severity, TargetResult
from dockaudit.tui.vuln_presenters import (
    NARROW_VULNS,
    VULN_SORTS,
    VulnFilter,
    narrow_title_width,
    narrow_vuln_cells,
    vuln_cells,
    vuln_columns,
    vulnerabilities,
)
from dockaudit.tui.widgets.fields import Field
from dockaudit.tui.widgets.lists import NavTable


class VulnsView(Vertical):
    """Vulnerabilities of one image."""

    DEFAULT_CSS = """
    VulnsView { height: 1fr; }
    VulnsView > Horizontal { height: 1; }
    VulnsView #vuln-status { width: 1fr; height: 1; }
    VulnsView #vuln-filter { width: 30; height: 1; border: none; padding: 0; }
    VulnsView DataTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.filter = VulnFilter()
        """Active filters."""
        self.sort = "severity"
        """Active order."""
        self.result: TargetResult | None = None
        """The image shown."""
        self._placeholder = ""
        self._narrow = False
        """Whether the columns are the narrow ones (see `vuln_columns`)."""

    def compose(self) -> ComposeResult:
        """A status line with a filter box, and the table."""
        with Horizontal():
            yield Static("", id="vuln-status")
            yield Field(placeholder="filter CVE/package", id="vuln-filter")
        table = NavTable(id="vuln-table", cursor_type="row")
        yield table

    def on_mount(self) -> None:
        """Create the columns."""
        self._set_columns()

    def _set_columns(self) -> None:
        table = self.query_one("#vuln-table", DataTable)
        table.clear(columns=True)
        self._narrow = self.size.width < NARROW_VULNS
        for key, label in vuln_columns(self.size.width):
            table.add_column(label, key=key)

    def on_resize(self) -> None:
        """Narrow or wide columns for the new width; a narrow list fits its titles to it (the cursor stays)."""
        if (self.size.width < NARROW_VULNS) == self._narrow and not self._narrow:
            return
        table = self.query_one("#vuln-table", DataTable)
        row = table.cursor_row
        if (self.size.width < NARROW_VULNS) != self._narrow:
            self._set_columns()
        self._render_rows()
        table.move_cursor(row=min(row, table.row_count - 1))

    def show(self, result: TargetResult | None, placeholder: str = "") -> None:
        """Show an image's vulnerabilities."""
        self.result = result
        self._placeholder = placeholder
        self._render_rows()

    @property
    def current(self) -> Finding | None:
        """The highlighted vulnerability."""
        table: DataTable[Text | str] = self.query_one("#vuln-table", DataTable)
        if table.row_count == 0:
            return None
        rows = vulnerabilities(self.result, self.filter, self.sort)
        return rows[table.cursor_row] if table.cursor_row < len(rows) else None

    def _render_rows(self) -> None:
        table: DataTable[Text | str] = self.query_one("#vuln-table", DataTable)
        table.clear()
        rows = vulnerabilities(self.result, self.filter, self.sort)
        cells = [vuln_cells(finding) for finding in rows]
        if self._narrow:
            # A vertical scrollbar's room is kept whether or not it shows (so the titles do not jump).
            title_width = narrow_title_width(cells, self.size.width - table.styles.scrollbar_size_vertical)
            cells = [narrow_vuln_cells(c, title_width) for c in cells]
        for finding, row in zip(rows, cells, strict=True):
            table.add_row(
                *row,
                key=finding.rule_id + "|" + (finding.vulnerability.package if finding.vulnerability else ""),
            )
        self.query_one("#vuln-status", Static).update(self._status(len(rows)))

    def _status(self, shown: int) -> Text:
        if self.result is None:
            return Text(self._placeholder or "Not scanned yet", style="dim")
        trivy = self.result.scans.get("trivy")
        if trivy is None:
            return Text(self._placeholder or "Trivy has not run on this image", style="dim")
        if trivy != "ok" and not shown:
            return Text(f"Trivy {trivy}", style="yellow")
        flags = [f"sort:{self.sort}"]
        if self.filter.fixable_only:
            flags.append("fixable only")
        if self.filter.min_severity > Severity.INFO:
            flags.append(f">={self.filter.min_severity.name}")
        return Text(f"{shown} shown [{', '.join(flags)}]  f:fixable v:severity o:sort")

    def toggle_fixable(self) -> None:
        """Show only vulnerabilities with a fixed version, or all."""
        self.filter = replace(self.filter, fixable_only=not self.filter.fixable_only)
        self._render_rows()

    def cycle_severity(self) -> None:
        """Raise the minimum severity shown (wrapping back to all)."""
        nxt = Severity((int(self.filter.min_severity) + 1) % (int(Severity.CRITICAL) + 1))
        self.filter = replace(self.filter, min_severity=nxt)
        self._render_rows()

    def cycle_sort(self) -> None:
        """Switch the order: severity, package, ID, fixable first."""
        self.sort = VULN_SORTS[(VULN_SORTS.index(self.sort) + 1) % len(VULN_SORTS)]
        self._render_rows()

    @on(Input.Changed, "#vuln-filter")
    def _text(self, event: Input.Changed) -> None:
        event.stop()
        self.filter = replace(self.filter, text=event.value)
        self._render_rows()

    @on(Input.Submitted, "#vuln-filter")
    def _kept(self, event: Input.Submitted) -> None:
        # Enter keeps the filter and goes back to the list, as in the target filter.
        event.stop()
        self.query_one("#vuln-table").focus()

    @on(DataTable.HeaderSelected, "#vuln-table")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        key = event.column_key.value or ""
        if key in VULN_SORTS:
            self.sort = key
            self._render_rows()
