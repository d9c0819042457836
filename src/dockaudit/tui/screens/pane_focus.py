"""The main screen's focus model: Tab between panes, number keys for the detail tabs, [ ] for the main tabs,
Esc one level back, z to zoom the focused pane."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Input, TabbedContent

from dockaudit.tui.screens.audits import TargetAudits
from dockaudit.tui.widgets.browser import DetailPane
from dockaudit.tui.widgets.findings import FindingsView
from dockaudit.tui.widgets.target_table import TargetTable

TABS = ("images", "containers", "compose", "host")

DETAIL_TABS = ("tab-findings", "tab-vulns", "tab-hardening", "tab-overview")


class PaneFocus(TargetAudits):
    """Moving the focus between panes and tabs, going back, zooming."""

    def action_detail(self, tab: str) -> None:
        """Show a detail tab of the shown browser, with the focus on its list."""
        if self.kind == "host":
            self.notify("The host has no detail tabs: its findings are listed here", severity="warning")
            return
        detail = self._shown_detail()
        detail.show_tab(tab)
        # Focus must follow at once: a focused widget left in the hidden tab gives the focus to its
        # neighbour in that tab, whose pane then asks to be shown again (the tab flashed, then snapped back).
        self._focus(self._detail_list(detail))

    def _panes(self) -> list[Widget]:
        """What Tab cycles through on the shown tab: the list, then the shown detail (list, then its text)."""
        if self.kind == "host":
            view = self.query_one("#host-findings", FindingsView)
            return [view.finding_tree, view.query_one("#finding-detail-scroll")]
        detail = self._shown_detail()
        panes: list[Widget] = [self._list_widget(), self._detail_list(detail)]
        if detail.active_tab == "tab-findings":
            panes.append(detail.query_one("#finding-detail-scroll"))
        return panes

    def _focus(self, widget: Widget) -> None:
        """Focus a pane now (not after the next refresh); a zoom follows the focus to the pane's zoom unit."""
        self.draw_pending_detail()
        if self.maximized is not None and self.maximized not in (widget, *widget.ancestors):
            self.maximized = self._zoom_unit(widget)
        self.set_focus(widget)

    def _zoom_unit(self, widget: Widget) -> Widget:
        """What `z` gives the whole screen for a focused widget: the target list, or the detail with its tabs."""
        for node in (widget, *widget.ancestors):
            if isinstance(node, (TargetTable, DetailPane, FindingsView)):
                return node
        return widget

    def pane_keys(self) -> tuple[str, ...]:
        """Keys the footer shows first for the focused pane (after Help), most useful first."""
        return {
            "list": ("a", "A", "enter", "slash", "s", "space", "z"),
            "findings": ("enter", "i", "y", "b", "escape", "z"),
            "vulns": ("enter", "f", "v", "o", "slash", "escape", "z"),
            "hardening": ("w", "escape", "z"),
            "overview": ("escape", "z"),
            "host": ("a", "enter", "i", "y", "b", "z"),
            "filter": ("enter", "escape"),
        }.get(self.pane(), ())

    def action_focus_pane(self, step: int) -> None:
        """Tab / Shift+Tab: the next or previous pane (inside the zoomed pane while zoomed)."""
        panes = self._panes()
        if self.maximized is not None:
            zoomed = self.maximized
            panes = [w for w in panes if zoomed in (w, *w.ancestors)] or panes
        focused = self.focused
        around = focused.ancestors_with_self if focused is not None else []
        index = next((i for i, w in enumerate(panes) if w in around), -1)
        self._focus(panes[(index + step) % len(panes)] if index >= 0 else panes[0])

    def action_zoom(self) -> None:
        """Give the focused pane the whole screen, or put it back."""
        if self.maximized is not None:
            self.minimize()
            return
        focused = self.focused
        if focused is None or isinstance(focused, Input):
            focused = self._panes()[0]
            self.set_focus(focused)
        self.maximized = self._zoom_unit(focused)

    def action_back(self) -> None:
        """Esc: one level back: out of a filter box (clearing it), from the detail to the list, then clear the
        list's filter. It never stops work; dialogs close and a zoom ends before this is reached."""
        if self.kind == "host":
            return
        flt = self.query_one("#filter", Input)
        focused = self.focused
        if isinstance(focused, Input) and focused.id == "vuln-filter":
            focused.value = ""
            self._focus(self.browser().detail.query_one("#vuln-table"))
        elif not flt.has_class("-shown") and self.pane() != "list":
            self._focus(self._list_widget())
        elif not self.listing:
            return
        elif flt.has_class("-shown") or self.filters[self.kind]:
            flt.value = ""
            self._hide_filter()
            if self.filters[self.kind]:
                self.filters[self.kind] = ""
                self.populate(self.kind)

    async def action_main_tab(self, step: int) -> None:
        """Move to the previous or next main tab."""
        tabs = self.query_one("#main-tabs", TabbedContent)
        tab = TABS[(TABS.index(self.main_tab) + step) % len(TABS)]
        await self.build_tab(tab)  # its panes exist before the focus moves into them
        tabs.active = tab
        # At once, as for the detail tabs: focus left in the hidden tab would bring that tab back.
        self._focus(self._panes()[0])
