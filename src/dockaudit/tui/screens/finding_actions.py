"""The main screen's actions on what is highlighted: open a finding or vulnerability, copy its fix, ignore or
un-ignore it (rescoring at once), export the audited targets, save the hardened file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from dockaudit.config import Ignore
from dockaudit.model import Finding
from dockaudit.tui import presenters as p
from dockaudit.tui.screens.pane_focus import PaneFocus
from dockaudit.tui.vuln_presenters import layer_step, vuln_detail
from dockaudit.tui.widgets.findings import FindingsView, rationale_for

if TYPE_CHECKING:
    # The dialogs load when first opened, not at start.
    from dockaudit.tui.screens.dialogs import ExportRequest, IgnoreRequest


class FindingActions(PaneFocus):
    """Actions on the highlighted finding, vulnerability or target."""

    def _findings_view(self) -> FindingsView:
        self.draw_pending_detail()
        if self.kind == "host":
            return self.query_one("#host-findings", FindingsView)
        if self.kind == "compose":
            return self.compose_view.detail.findings()
        return self.browser().detail.findings()

    def action_group(self) -> None:
        """Group findings by severity or by section (showing the Findings tab)."""
        if self.kind != "host" and self._shown_detail().active_tab != "tab-findings":
            self.action_detail("tab-findings")
        self._findings_view().toggle_grouping()

    def _current_finding(self) -> Finding | None:
        self.draw_pending_detail()
        if self.listing and self.browser().detail.active_tab == "tab-vulns":
            return self.browser().detail.vulns().current
        return self._findings_view().current

    def action_open_finding(self) -> None:
        """Enter: open what is highlighted: a finding or a vulnerability in full; a text pane full screen."""
        pane = self.pane()
        if pane in ("hardening", "overview"):
            self.action_zoom()
            return
        finding = self._current_finding()
        if finding is None:
            return
        from dockaudit.tui.screens.dialogs import TextScreen

        if finding.vulnerability is not None:
            facts = self.facts.get(self.current_key() or "")
            self.app.push_screen(TextScreen(vuln_detail(finding, layer_step(facts, finding))))
            return
        self.app.push_screen(TextScreen(p.finding_detail(finding, rationale_for(finding.rule_id))))

    def action_copy_fix(self) -> None:
        """Copy the fix of the highlighted finding to the clipboard (OSC 52)."""
        finding = self._current_finding()
        text = p.fix_text(finding) if finding else ""
        if not text:
            self.notify("The highlighted finding has no fix to copy", severity="warning")
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied the fix for {finding.rule_id if finding else ''} (OSC 52)")

    def action_vulns(self, what: str) -> None:
        """Vulnerability filters: fixable only, minimum severity, sort."""
        if self.kind != "image":
            self.notify("Vulnerabilities are listed for images (Images tab)", severity="warning")
            return

        detail = self.browser().detail
        if detail.active_tab != "tab-vulns":
            self.action_detail("tab-vulns")
        view = detail.vulns()
        {"fixable": view.toggle_fixable, "severity": view.cycle_severity, "sort": view.cycle_sort}[what]()

    def action_export(self) -> None:
        """Export the audited targets as a report file."""
        targets = tuple(self.results.values())
        if not targets:
            self.notify("Nothing audited yet: press a or A first", severity="warning")
            return
        # Relative paths: the working directory the user started in, shown short (the demo: its temporary one).
        directory = p.export_directory(self.engine, self.session.options.config_dir)
        from dockaudit.tui.screens.dialogs import ExportScreen

        self.app.push_screen(ExportScreen(directory, len(targets)), self._export_chosen)

    def _export_chosen(self, request: ExportRequest | None) -> None:
        if request is not None:
            self._export(request)

    @work(exclusive=True, group="export", exit_on_error=False)
    async def _export(self, request: ExportRequest) -> None:
        results = tuple(self.results.values())
        try:
            path = await asyncio.to_thread(self.session.export, results, request.fmt, Path(request.path))
        except Exception as exc:
            self.notify(str(exc), title="Export failed", severity="error")
            return
        self.notify(f"Wrote {path}", title=f"{request.fmt} report")

    def action_ignore(self) -> None:
        """Ignore the highlighted finding, with a reason, in .dockaudit.toml."""
        finding = self._current_finding()
        key = self.current_key()
        if finding is None or key is None:
            self.notify("Highlight a finding first (Findings tab)", severity="warning")
            return
        result = self.results.get(key)
        target = result.name if result is not None else "*"
        from dockaudit.tui.screens.dialogs import IgnoreScreen

        self.app.push_screen(IgnoreScreen(finding.rule_id, finding.title, target), self._ignore_chosen)

    def _ignore_chosen(self, request: IgnoreRequest | None) -> None:
        if request is not None:
            self._ignore(request)

    @work(exclusive=True, group="ignore", exit_on_error=False)
    async def _ignore(self, request: IgnoreRequest) -> None:
        try:
            path = await asyncio.to_thread(
                self.session.add_ignore, request.rule, request.reason, request.target, request.expires
            )
        except Exception as exc:
            self.notify(str(exc), title="Could not write the ignore", severity="error")
            return
        self._rescore_all()
        self.notify(f"{request.rule} ignored in {path}")

    def _rescore_all(self) -> None:
        # The session applies the new settings; every result is settled again (suppressed, rescored).
        for key, result in list(self.results.items()):
            rescored = self.session.rescore(result)
            if rescored != result:
                self.results[key] = rescored
                self._after_scan_change(key, result_changed=True)

    def action_unignore(self) -> None:
        """Remove the ignore of the highlighted (ignored) finding from the config file, and rescore."""
        finding = self._current_finding()
        key = self.current_key()
        result = self.results.get(key) if key else None
        if finding is None or result is None or finding.suppressed is None:
            self.notify("Highlight an ignored finding first (the IGNORED group)", severity="warning")
            return
        ignore = self.session.ignore_of(finding, result.name)
        if ignore is None:
            self.notify(f"No ignore in the settings covers {finding.rule_id} any more", severity="warning")
            return
        self._unignore(ignore)

    @work(exclusive=True, group="ignore", exit_on_error=False)
    async def _unignore(self, ignore: Ignore) -> None:
        try:
            path = await asyncio.to_thread(self.session.remove_ignore, ignore)
        except Exception as exc:
            self.notify(str(exc), title="Could not remove the ignore", severity="error")
            return
        self._rescore_all()
        self.notify(f"Ignore of {ignore.rule} on {ignore.target!r} removed from {path}")

    def action_save(self) -> None:
        """Save the hardened Dockerfile, Compose service or Compose file of the highlighted target."""
        key = self.compose_hardening_key() if self.kind == "compose" else self.current_key()
        hardening = self.hardening.get(key) if key else None
        if hardening is None or isinstance(hardening, str):
            if key and key != "host" and hardening is None:
                self.action_detail("tab-hardening")  # works the hardened file out
                self.notify("Working out the hardened file: press w again when it shows")
            else:
                self.notify("Nothing to save here: a target's Dockerfile/Runtime tab (3) has it", severity="warning")
            return
        text = hardening.hardened

        def chosen(path: str | None) -> None:
            if path:
                self._save(path, text)

        from dockaudit.tui.screens.dialogs import SaveScreen

        self.app.push_screen(SaveScreen("Save the hardened file as", hardening.filename), chosen)

    @work(exclusive=True, group="save", exit_on_error=False)
    async def _save(self, path: str, text: str) -> None:
        try:
            from dockaudit.report.write import write_atomic  # reports load when one is written, not at start

            await asyncio.to_thread(write_atomic, Path(path), text)
        except OSError as exc:
            self.notify(str(exc), title="Could not save", severity="error")
            return
        self.notify(f"Saved {path}")
