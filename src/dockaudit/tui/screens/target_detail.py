"""The main screen's detail panes: what the highlighted row shows (drawn when the cursor rests) and the
workers that load it (a quick inspect for the Overview, the hardened file for the Dockerfile/Runtime tab)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane, Tabs
from textual.worker import get_current_worker

from dockaudit.facts.container import ContainerFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.model import EngineInfo
from dockaudit.tui import presenters as p
from dockaudit.tui.backend import Hardening
from dockaudit.tui.messages import FactsLoaded, HardeningLoaded
from dockaudit.tui.overview_presenters import container_overview, image_overview
from dockaudit.tui.screens.compose_tab import ComposeTab
from dockaudit.tui.widgets.browser import DetailPane, TargetBrowser
from dockaudit.tui.widgets.compose_view import ComposeView
from dockaudit.tui.widgets.findings import FindingsView
from dockaudit.tui.widgets.target_table import TargetTable
from dockaudit.tui.widgets.text_views import diff_renderable

DETAIL_REST_SECONDS = 0.12
"""How long the cursor rests on a row before its detail is drawn: the highlight moves at once, but drawing the
detail (findings tree, vulnerabilities, overview) of every row passed over is what made a held arrow key lag."""


def _history_sizes(facts: ImageFacts) -> list[int] | None:
    """Layer sizes per history step, from the read layers (empty steps are 0)."""
    if facts.filesystem is None:
        return None
    sizes = {layer.index: layer.size for layer in facts.filesystem.layers}
    return [sizes.get(h.layer_index, 0) if h.layer_index is not None else 0 for h in facts.history]


class TargetDetail(ComposeTab):
    """Which list and pane is shown, and the detail of the highlighted target."""

    engine: EngineInfo | None
    now: datetime
    _tab_builds: dict[str, asyncio.Future[None]]

    def tab_panes(self, tab: str) -> list[Widget]:
        """What a main tab shows (`images`, `containers`, `compose`, `host`), made afresh."""
        if tab in ("images", "containers"):
            return [TargetBrowser(tab.removesuffix("s"), id=f"{tab}-browser")]
        if tab == "compose":
            return [ComposeView(id="compose-view")]
        return [Static("", id="host-status"), FindingsView(id="host-findings")]

    async def build_tab(self, tab: str) -> None:
        """Mount a main tab's panes the first time it is shown: start-up builds only the first tab's (about a
        third of the screen's widgets), so the list paints sooner."""
        if tab in self.built_tabs:
            return
        building = self._tab_builds.get(tab)
        if building is None:
            building = self._tab_builds[tab] = asyncio.ensure_future(self._mount_tab(tab))
        await building

    async def _mount_tab(self, tab: str) -> None:
        pane = self.query_one(f"#{tab}", TabPane)
        await pane.mount_all(self.tab_panes(tab))
        for strip in pane.query(Tabs):
            strip.can_focus = False  # Tab moves between panes; the tab strips are for the mouse and 1-4
        self.built_tabs.add(tab)
        if tab == "host":
            self._show_host()

    @property
    def main_tab(self) -> str:
        """`images`, `containers` or `host`."""
        return self.query_one("#main-tabs", TabbedContent).active or "images"

    @property
    def kind(self) -> str:
        """`image`, `container`, `host` or `compose` for the shown tab."""
        return {"images": "image", "containers": "container", "compose": "compose"}.get(self.main_tab, "host")

    @property
    def listing(self) -> bool:
        """Whether the shown tab is a target list (filter, sort and selection apply)."""
        return self.kind in ("image", "container")

    def browser(self, kind: str | None = None) -> TargetBrowser:
        """The browser of a kind (default: the shown one)."""
        kind = kind or self.kind
        return self.query_one(f"#{kind}s-browser", TargetBrowser)

    def current_key(self) -> str | None:
        """State key of the highlighted row (or `host`)."""
        if self.kind == "host":
            return "host"
        if self.kind == "compose":
            return self.compose_current_key()
        return self.browser().table.current_key

    def _list_widget(self) -> Widget:
        """The shown tab's list: the target table, or the Compose project tree."""
        return self.compose_view.project_tree if self.kind == "compose" else self.browser().table

    def _shown_detail(self) -> DetailPane:
        """The shown tab's detail pane (not for Host, whose findings are the whole tab)."""
        return self.compose_view.detail if self.kind == "compose" else self.browser().detail

    def _detail_list(self, detail: DetailPane) -> Widget:
        """What takes the focus in the shown detail tab: its list, or its text."""
        active = detail.active_tab
        if active == "tab-findings":
            return detail.findings().finding_tree
        if active == "tab-vulns":
            return detail.query_one("#vuln-table")
        return detail.query_one(f"#{'hardening' if active == 'tab-hardening' else 'overview'}-text")

    def pane(self) -> str:
        """The kind of pane that has the focus: list, findings, vulns, hardening, overview, host or filter."""
        focused = self.focused
        if focused is None:
            return "list"
        if isinstance(focused, Input):
            return "filter"
        if self.kind == "host":
            return "host"
        if isinstance(focused, TargetTable) or focused is self._list_widget():
            return "list"
        detail = self._shown_detail()
        return detail.active_tab.removeprefix("tab-") if detail in focused.ancestors else "list"

    def show_detail(self, kind: str | None = None) -> None:
        """Fill the detail pane of a browser from state; load what is missing for that row only."""
        kind = kind or self.kind
        if kind == "host":
            self._show_host()
            return
        if kind == "compose":
            self.show_compose()
            return
        browser = self.browser(kind)
        key = browser.table.current_key
        detail = browser.detail
        detail.shown_key = key
        if key is None:
            detail.show_status(None, None)
            detail.show_result(None, "Nothing listed")
            detail.show_hardening(Text("Nothing listed", style="dim"), token="nothing")
            detail.show_overview(Text("Nothing listed", style="dim"), token="nothing")
            return
        result = self.results.get(key)
        scan = self.scans.get(key)
        detail.show_status(result, scan)
        detail.show_result(result, "Not audited yet: press a")
        self._show_overview(key, detail)
        self._show_hardening(key, detail)

    def _show_overview(self, key: str, detail: DetailPane) -> None:
        if detail.active_tab != "tab-overview":
            return  # drawn (and the quick inspect behind it made) when the tab is shown
        facts = self.facts.get(key)
        token = (key, facts)
        if detail.shows("overview", token):
            return  # drawn already, or loading
        if facts is None:
            detail.show_overview(Text("Loading...", style="dim"), token=token)
            self._load_facts(key)
        elif isinstance(facts, ImageFacts):
            detail.show_overview(image_overview(facts, _history_sizes(facts), self.now), token=token)
        else:
            detail.show_overview(container_overview(facts, self.now), token=token)

    def _show_hardening(self, key: str, detail: DetailPane) -> None:
        hardening = self.hardening.get(key)
        theme = "ansi_light" if not self.app.current_theme.dark else "ansi_dark"
        working = hardening is None and detail.active_tab == "tab-hardening"
        # A new result drops the hardening (its facts changed), so the token names it: the work starts again.
        # Nothing to show off the tab is the same for every row (no redraw while the cursor moves).
        token: object = ""
        if hardening is not None or working:
            token = (key, hardening, theme, working, self.results.get(key) if working else None)
        if detail.shows("hardening", token):
            return
        if hardening is None:
            if working:
                detail.show_hardening(Text("Working out the hardened version...", style="dim"), token=token)
                self._load_hardening(key)
            else:
                detail.show_hardening(Text("", style="dim"), token=token)
        elif isinstance(hardening, str):
            detail.show_hardening(Text(hardening, style="yellow"), token=token)
        else:
            detail.show_hardening(diff_renderable(hardening, theme=theme), token=token)

    def _detail_key(self) -> str | None:
        """The state key of the target the shown list's detail pane shows (None off the lists)."""
        return self.browser().detail.shown_key if self.listing else None

    def draw_pending_detail(self) -> None:
        """Draw the highlighted row's detail now if the cursor has not rested yet: before the detail is focused
        or read (ignoring a finding must never act on the previous row's findings)."""
        if self.listing and self._detail_key() != self.current_key():
            self.show_detail()

    def _show_host(self) -> None:
        result = self.results.get("host")
        scan = self.scans.get("host")
        self.query_one("#host-status", Static).update(Text(p.scan_summary(result, scan)))
        self.query_one("#host-findings", FindingsView).show(result, "Host not audited yet: press a")

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id in ("image-table", "container-table"):
            self._show_detail_at_rest("image" if event.data_table.id == "image-table" else "container")

    @work(exclusive=True, group="detail")
    async def _show_detail_at_rest(self, kind: str) -> None:
        # A worker, not a timer: the next move cancels it, and whoever waits for the screen's work waits for it.
        await asyncio.sleep(DETAIL_REST_SECONDS)
        # `display` is False too while the screen is being removed (the app quits, another engine is picked).
        if self.display:
            self.show_detail(kind)

    def load_container_facts(self, key: str) -> None:
        """Inspect a container of the Compose tab for its Overview."""
        self._load_facts(key)

    @work(thread=True, exclusive=True, group="facts", exit_on_error=False)
    def _load_facts(self, key: str) -> None:
        kind, _, ident = key.partition(":")
        try:
            facts: ImageFacts | ContainerFacts = (
                self.session.image_overview(ident) if kind == "image" else self.session.container_overview(ident)
            )
        except Exception as exc:
            self.app.call_from_thread(self._facts_failed, key, str(exc))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(FactsLoaded(key, facts))

    def _facts_failed(self, key: str, error: str) -> None:
        if key == self._detail_key():
            self.browser().detail.show_overview(Text(f"Could not inspect: {error}", style="red"))

    @work(thread=True, exclusive=True, group="hardening", exit_on_error=False)
    def _load_hardening(self, key: str) -> None:
        kind, _, ident = key.partition(":")
        try:
            facts = self.facts.get(key)
            if kind == "image" and (not isinstance(facts, ImageFacts) or facts.filesystem is None):
                # As `dockaudit harden` reads it: with its layers (which tools the image has) and its base named.
                facts = self.session.image_for_harden(ident)
            elif facts is None:
                facts = self.session.container_overview(ident)
            if isinstance(facts, ImageFacts):
                hardening = Hardening.of_image(self.session.harden_image(facts))
            else:
                hardening = Hardening.of_container(self.session.harden_container(facts))
        except Exception as exc:
            self.post_message(HardeningLoaded(key, None, str(exc)))
            return
        self.post_message(HardeningLoaded(key, hardening))

    @on(FactsLoaded)
    def _facts_loaded(self, message: FactsLoaded) -> None:
        self.facts.setdefault(message.key, message.facts)
        if self.kind == "compose":
            self.show_compose()
        elif message.key == self._detail_key():
            self._show_overview(message.key, self.browser().detail)

    @on(HardeningLoaded)
    def _hardening_loaded(self, message: HardeningLoaded) -> None:
        self.hardening[message.key] = message.hardening if message.hardening is not None else message.error
        if self.kind == "compose":
            self.show_compose()
        elif message.key == self._detail_key():
            self._show_hardening(message.key, self.browser().detail)
