"""A target list with the detail panes of its highlighted row (one per kind: images, containers)."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ProgressBar, Static, TabbedContent, TabPane

from dockaudit.model import TargetResult
from dockaudit.tui.backend import ScanState
from dockaudit.tui.presenters import CONTAINER_COLUMNS, IMAGE_COLUMNS, scan_summary
from dockaudit.tui.widgets.findings import FindingsView
from dockaudit.tui.widgets.target_table import TargetTable
from dockaudit.tui.widgets.text_views import TextPane
from dockaudit.tui.widgets.vulns import VulnsView


class DetailPane(Vertical):
    """Status and progress of the highlighted target, and its Findings/Vulnerabilities/Hardening/Overview tabs."""

    DEFAULT_CSS = """
    DetailPane { height: 1fr; }
    DetailPane > #detail-status-row { height: 1; }
    DetailPane #detail-status { width: 1fr; height: 1; padding: 0 1; }
    DetailPane ProgressBar { width: 30; height: 1; display: none; }
    DetailPane ProgressBar.-active { display: block; }
    DetailPane TabbedContent { height: 1fr; }
    DetailPane TabPane { padding: 0; height: 1fr; }
    """

    def __init__(self, kind: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = kind
        """`image`, `container` or `compose`."""
        self.shown_key: str | None = None
        """The state key of the target shown (None: nothing, or a placeholder)."""
        self._result: tuple[TargetResult | None, str] = (None, "")
        """The result to show (see `show_result`) and the text shown without one."""
        self._shown: dict[str, object] = {}
        """What each part shows, by a token of its inputs: an unchanged part is not drawn again (a redraw
        lays out and repaints the whole pane, the most of a cursor move's cost at fleet scale)."""

    def compose(self) -> ComposeResult:
        """Status row and the tabs (Vulnerabilities only for images)."""
        with Horizontal(id="detail-status-row"):
            yield Static("", id="detail-status")
            yield ProgressBar(total=100, show_eta=False, id="detail-progress")
        with TabbedContent(id="detail-tabs"):
            with TabPane("Findings", id="tab-findings"):
                yield FindingsView()
            if self.kind == "image":
                with TabPane("Vulns", id="tab-vulns"):
                    yield VulnsView()
            with TabPane({"image": "Dockerfile", "compose": "Compose"}.get(self.kind, "Runtime"), id="tab-hardening"):
                yield TextPane(id="hardening-text")
            with TabPane("Overview", id="tab-overview"):
                yield TextPane(id="overview-text")

    @property
    def active_tab(self) -> str:
        """The id of the shown tab."""
        return self.query_one("#detail-tabs", TabbedContent).active

    def show_tab(self, tab: str) -> None:
        """Activate a tab by id when this pane has it (its list drawn at once, for a key that acts on it)."""
        tabs = self.query_one("#detail-tabs", TabbedContent)
        if tabs.query(f"#{tab}"):
            tabs.active = tab
            self._draw_result()

    @on(TabbedContent.TabActivated, "#detail-tabs")
    def _detail_tab_shown(self) -> None:
        self._draw_result()

    def findings(self) -> FindingsView:
        """The findings list, showing the target shown (drawn now if its tab was hidden)."""
        self._draw_result("findings")
        return self.query_one(FindingsView)

    def vulns(self) -> VulnsView:
        """The vulnerability list, showing the target shown (drawn now if its tab was hidden)."""
        self._draw_result("vulns")
        return self.query_one(VulnsView)

    def shows(self, part: str, token: object) -> bool:
        """Whether `part` (`overview`, `hardening`) already shows what `token` names."""
        return self._shown.get(part) == token

    def _changed(self, part: str, token: object | None) -> bool:
        """Note what `part` shows now; False when it showed that already (None: always draw)."""
        if token is not None and self._shown.get(part) == token:
            return False
        if token is None:
            self._shown.pop(part, None)
        else:
            self._shown[part] = token
        return True

    def show_status(self, result: TargetResult | None, scan: ScanState | None) -> None:
        """The one-line audit state and the progress bar."""
        summary = scan_summary(result, scan)
        active = scan is not None and (scan.running or scan.trivy_pending)
        fraction = scan.fraction if active and scan is not None else None
        if not self._changed("status", (summary, active, fraction)):
            return
        # One line in a row of fixed height: no layout pass.
        self.query_one("#detail-status", Static).update(Text(summary), layout=False)
        bar = self.query_one("#detail-progress", ProgressBar)
        bar.set_class(active, "-active")
        if active:
            if fraction is None:
                bar.update(total=None)
            else:
                bar.update(total=100, progress=fraction * 100)

    def show_result(self, result: TargetResult | None, placeholder: str = "") -> None:
        """Findings and vulnerabilities of the target; only the shown tab's list is drawn now, the other when its
        tab is shown (a hidden list redrawn for every row the cursor rests on, or audit-all finishes, costs a
        layout pass each), and neither again when it shows that already."""
        self._result = (result, placeholder)
        self._draw_result()

    def _draw_result(self, part: str | None = None) -> None:
        """Draw the target's result into `part` (`findings`, `vulns`), by default the shown tab's list."""
        part = part or {"tab-findings": "findings", "tab-vulns": "vulns"}.get(self.active_tab)
        if part is None or (part == "vulns" and self.kind != "image"):
            return
        result, placeholder = self._result
        if not self._changed(part, (result, placeholder)):
            return
        view = self.query_one(FindingsView) if part == "findings" else self.query_one(VulnsView)
        view.show(result, placeholder)

    def show_hardening(self, renderable: RenderableType, token: object | None = None) -> None:
        """The hardening diff (or a message); `token` names what it shows (see `shows`)."""
        if self._changed("hardening", token):
            self.query_one("#hardening-text", TextPane).show(renderable)

    def show_overview(self, renderable: RenderableType, token: object | None = None) -> None:
        """The overview text (or a message); `token` names what it shows (see `shows`)."""
        if self._changed("overview", token):
            self.query_one("#overview-text", TextPane).show(renderable)


class TargetBrowser(Vertical):
    """The list of one kind of target above (or beside, when wide) the detail of the highlighted one."""

    DEFAULT_CSS = """
    TargetBrowser { height: 1fr; }
    TargetBrowser > TargetTable { height: 2fr; min-height: 4; }
    TargetBrowser > DetailPane { height: 3fr; border-top: solid $primary-darken-2; }
    """

    def __init__(self, kind: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = kind
        """`image` or `container`."""

    def compose(self) -> ComposeResult:
        """The table and the detail pane."""
        yield TargetTable(IMAGE_COLUMNS if self.kind == "image" else CONTAINER_COLUMNS, id=f"{self.kind}-table")
        yield DetailPane(self.kind, id=f"{self.kind}-detail")

    @property
    def table(self) -> TargetTable:
        """The target list."""
        return self.query_one(TargetTable)

    @property
    def detail(self) -> DetailPane:
        """The detail pane."""
        return self.query_one(DetailPane)
