"""The main screen: header, Images/Containers/Compose/Host tabs, filter box and footer; it owns the audit state that
its parts read and change, each a base class of its own: `target_detail`, `target_lists`, `audits`, `pane_focus`,
`finding_actions` and `compose_tab`."""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from typing import ClassVar

from textual import on, work
from textual._context import NoActiveAppError
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, TabbedContent, TabPane, Tabs, Tree
from textual.worker import get_current_worker

from dockaudit.audit import AuditSession
from dockaudit.facts.container import ContainerFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.facts.inventory import ContainerSummary, ImageSummary, Inventory
from dockaudit.model import EngineInfo, Finding, TargetResult, TrivyInfo
from dockaudit.run import BatchAudit
from dockaudit.tui import presenters as p
from dockaudit.tui.backend import Hardening, ScanState
from dockaudit.tui.messages import EngineEvent, InventoryFailed, InventoryLoaded, TrivyLoaded
from dockaudit.tui.screens.finding_actions import FindingActions
from dockaudit.tui.widgets.audit_progress import AuditProgress
from dockaudit.tui.widgets.browser import TargetBrowser
from dockaudit.tui.widgets.fields import Field
from dockaudit.tui.widgets.findings import FindingsView
from dockaudit.tui.widgets.footer import KeyFooter
from dockaudit.tui.widgets.header import EngineHeader

MAIN_TABS = (("images", "Images"), ("containers", "Containers"), ("compose", "Compose"), ("host", "Host"))
"""The main tabs' ids and titles, in order."""

READ_ONLY_EVENTS = frozenset(
    {"save", "top", "export", "attach", "detach", "resize", "exec_create", "exec_start", "exec_die", "archive-path"}
)
"""Engine event actions that change no list: reads, among them audit-all's own (a `docker save` per image, a
`top` per container), which would otherwise reload 1,000 rows every half second while it runs."""


class MainScreen(FindingActions):
    """Browse and audit one engine's images, containers, host and Compose projects."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]  # noqa: RUF012 - Textual reads it per instance
    ALLOW_IN_MAXIMIZED_VIEW = "Footer, #filter"
    """A zoomed list keeps its filter box (typing into a hidden box would look like nothing happens)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "audit", "Audit"),
        Binding("A", "audit_all", "Audit all"),
        # Esc goes back one level (detail, filter, zoom) and never stops work.
        Binding("escape", "back", "Back", show=False),
        Binding("tab", "focus_pane(1)", "Next pane", show=False),
        Binding("shift+tab", "focus_pane(-1)", "Previous pane", show=False),
        Binding("z", "zoom", "Zoom", show=False),
        Binding("c", "cancel_audits", "Cancel audits"),
        Binding("ctrl+r", "rescan", "Rescan", show=False),
        Binding("space", "select", "Select", show=False),
        # Priority: checked by the App as the key arrives, so keys typed right after '/' (a burst from tmux
        # send-keys or a paste) are routed to the filter box, not to the list (see check_action).
        Binding("slash", "filter", "Filter", priority=True),
        Binding("s", "sort", "Sort"),
        Binding("x", "toggle_stopped", "Stopped", show=False),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("e", "export", "Export"),
        Binding("i", "ignore", "Ignore"),
        Binding("u", "unignore", "Un-ignore", show=False),
        Binding("y", "copy_fix", "Copy fix", show=False),
        Binding("b", "group", "Group by", show=False),
        Binding("w", "save", "Save", show=False),
        Binding("enter", "open_finding", "Open", show=False),
        Binding("1", "detail('tab-findings')", "Findings", show=False),
        Binding("2", "detail('tab-vulns')", "Vulns", show=False),
        Binding("3", "detail('tab-hardening')", "Fix", show=False),
        Binding("4", "detail('tab-overview')", "Overview", show=False),
        Binding("left_square_bracket", "main_tab(-1)", "Prev tab", show=False),
        Binding("right_square_bracket", "main_tab(1)", "Next tab", show=False),
        Binding("f", "vulns('fixable')", "Fixable", show=False),
        Binding("v", "vulns('severity')", "Severity", show=False),
        Binding("o", "vulns('sort')", "Vuln sort", show=False),
    ]

    def __init__(
        self,
        session: AuditSession,
        engine: EngineInfo | None,
        *,
        watch_events: bool = True,
        compose_paths: Sequence[str] = (),
        first_inventory: Future[Inventory] | None = None,
    ) -> None:
        super().__init__(compose_paths)
        # The width class the first resize would add (-narrow/-wide), set now: added then, it re-styles every
        # widget of the screen once more before the first frame.
        with contextlib.suppress(NoActiveAppError):
            width = self.app.size.width
            self.set_class(True, *self._get_breakpoint_classes(width, self.HORIZONTAL_BREAKPOINTS), update=False)
        self._first_inventory = first_inventory
        """The listing the connection started; the first refresh takes it instead of listing again."""
        self.session = session
        """The audit session of this engine: every read and audit goes through it."""
        self.engine = engine
        """The connected engine; None when only Compose files given on the command line are audited."""
        self.watch_events = watch_events
        self.now = session.options.clock()
        """Ages are relative to this (fixed per screen, so rows do not churn)."""
        self.inventory = Inventory()
        self.results: dict[str, TargetResult] = {}
        self.facts: dict[str, ImageFacts | ContainerFacts] = {}
        self.hardening: dict[str, Hardening | str] = {}
        """Hardening per key, or the error that prevented it."""
        self.scans: dict[str, ScanState] = {}
        self.selected: set[str] = set()
        self.sorts: dict[str, p.SortKey] = {"image": p.SortKey.NAME, "container": p.SortKey.NAME}
        self.filters: dict[str, str] = {"image": "", "container": ""}
        self.show_stopped = False
        self.stale: set[str] = set()
        """Lists whose rows are out of date with the inventory (built when their tab is shown)."""
        self.trivy: TrivyInfo | None = None
        self.trivy_known = False
        self.queue: deque[tuple[str, bool]] = deque()
        self.active: set[str] = set()
        self._refresh_timer_pending = False
        self._events_stream: object | None = None
        self._listed = False
        """Whether an inventory arrived yet."""
        self.audit_all_run: BatchAudit | None = None
        """The running audit-all, if any."""
        self._batch_rows: dict[str, ImageSummary | ContainerSummary] = {}
        self._row_cells = {}
        self._tab_builds = {}

    def compose(self) -> ComposeResult:
        """Header, tabs, filter, footer."""
        header = EngineHeader(self.now, id="header")
        header.engine = self.engine
        yield header
        first = self._first_tab()
        with TabbedContent(id="main-tabs", initial=first):
            # Only the first tab's panes now; the others mount when first shown (see `build_tab`).
            for tab, label in MAIN_TABS:
                with TabPane(label, id=tab):
                    if tab == first:
                        yield from self.tab_panes(tab)
        self.built_tabs.add(first)
        yield AuditProgress(id="audit-progress")
        yield Field(placeholder="filter: words match name, tag, ID (Enter keeps, Esc clears)", id="filter")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Load the inventory and Trivy's state in the background."""
        self._load_trivy()
        self.start_compose()
        first = self._first_inventory
        if first is not None and first.done() and first.exception() is None:
            # Listed while the UI loaded: the rows go into the screen's first frame (no worker, no empty frame).
            self._first_inventory = None
            self._inventory(InventoryLoaded(first.result()))
        elif self.engine is not None:
            self.refresh_inventory()
        if self.watch_events and self.engine is not None:
            self._watch_events()
        if self._first_tab() == "compose":
            self.compose_view.project_tree.focus()
        else:
            self.query_one("#images-browser", TargetBrowser).table.focus()
        # Tab moves between panes (see `action_focus_pane`); the tab strips are for the mouse and [ ] 1-4.
        for strip in self.query(Tabs):
            strip.can_focus = False

    def _first_tab(self) -> str:
        """The tab shown at start: `dockaudit tui compose.yaml` asks about that project (and with no engine it is
        all there is); otherwise the images."""
        return "compose" if self.engine is None or self.compose_paths else "images"

    def on_unmount(self) -> None:
        """Stop following events and the audit-all, and release the engine."""
        if self.audit_all_run is not None:
            self.audit_all_run.cancel()
        stream = self._events_stream
        if stream is not None:
            stream.close()  # type: ignore[attr-defined]

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        # Enter on a target moves into its detail, where Enter again reads a finding in full.
        if event.data_table.id in ("image-table", "container-table"):
            self._focus(self._detail_list(self.browser().detail))
        elif event.data_table.id == "vuln-table":
            self.action_open_finding()

    @on(Tree.NodeSelected)
    def _finding_selected(self, event: Tree.NodeSelected[Finding | None]) -> None:
        if event.node.data is not None:
            self.action_open_finding()

    @on(TabbedContent.TabActivated)
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id == "main-tabs":
            await self.build_tab(self.main_tab)
            self._populate_shown()
            if self.kind == "host":
                self._show_host()
                self.query_one("#host-findings", FindingsView).finding_tree.focus()
            elif self.kind == "compose":
                self.compose_view.project_tree.focus()
                self.show_compose()
            else:
                self.browser().table.focus()
                self.show_detail()
        elif event.pane.id == "tab-hardening" and self.kind == "compose":
            self.show_compose()
        elif event.pane.id in ("tab-hardening", "tab-overview") and self.listing:
            self.draw_pending_detail()
            key = self._detail_key()
            if key and event.pane.id == "tab-hardening":
                self._show_hardening(key, self.browser().detail)
            elif key:
                self._show_overview(key, self.browser().detail)

    @work(thread=True, exclusive=True, group="inventory", exit_on_error=False)
    def refresh_inventory(self) -> None:
        """List images and containers."""
        first, self._first_inventory = self._first_inventory, None
        try:
            inventory = first.result() if first is not None else self.session.inventory()
        except Exception as exc:
            self.post_message(InventoryFailed(str(exc)))
            return
        self.post_message(InventoryLoaded(inventory))

    @work(thread=True, exclusive=True, group="trivy-info", exit_on_error=False)
    def _load_trivy(self) -> None:
        try:
            info = self.session.trivy_info()
        except Exception:
            info = None
        self.post_message(TrivyLoaded(info))

    @work(thread=True, group="events", exit_on_error=False)
    def _watch_events(self) -> None:
        # Blocks on the engine's event stream (no polling); on_unmount closes it to end the loop.
        worker = get_current_worker()
        try:
            stream = self.session.events()
        except Exception:
            return
        self._events_stream = stream
        try:
            for description in stream:
                if worker.is_cancelled:
                    break
                self.post_message(EngineEvent(description))
        except Exception:
            return

    @on(InventoryLoaded)
    def _inventory(self, message: InventoryLoaded) -> None:
        old, self.inventory = self.inventory, message.inventory
        # Only the shown list is built now; the other waits until its tab opens (faster first paint). A list
        # whose rows did not change is not rebuilt (a busy engine's events would rebuild 1,000 rows for nothing).
        if not self._listed:
            self.stale = {"image", "container", "compose"}
            self._listed = True
        if old.images != message.inventory.images:
            self.stale.add("image")
        if old.containers != message.inventory.containers:
            self.stale |= {"container", "compose"}
        self._populate_shown()
        # Lists not shown yet still count their rows in their tab's title.
        if "image" in self.stale:
            self._label("image", len(self._visible_images()))
        if "container" in self.stale:
            self._label("container", len(self._visible_containers()))
        if "compose" in self.stale:
            self.label_compose()

    @on(InventoryFailed)
    def _inventory_failed(self, message: InventoryFailed) -> None:
        self.notify(message.error, title="Could not list the engine", severity="error")

    @on(TrivyLoaded)
    def _trivy_loaded(self, message: TrivyLoaded) -> None:
        self.trivy = message.trivy
        self.trivy_known = True
        header = self.query_one(EngineHeader)
        header.trivy = message.trivy
        header.trivy_loaded = True

    @on(EngineEvent)
    def _engine_event(self, message: EngineEvent) -> None:
        if message.description.partition(" ")[2].split(":")[0] in READ_ONLY_EVENTS:
            return
        # Coalesce bursts (a compose up fires dozens of events) into one refresh.
        if not self._refresh_timer_pending:
            self._refresh_timer_pending = True

            def fire() -> None:
                self._refresh_timer_pending = False
                self.refresh_inventory()

            self.set_timer(0.5, fire)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """'/' types a slash while a text field has focus (it is a priority binding)."""
        if action == "cancel_audits":
            return self.audit_all_run is not None or bool(self.queue or self.active)
        return not (action == "filter" and isinstance(self.focused, Input))

    def action_refresh(self) -> None:
        """List the engine again."""
        self.refresh_inventory()
        self.notify("Refreshing the inventory")
