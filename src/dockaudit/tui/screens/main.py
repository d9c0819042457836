"""The main screen: header, Images/Containers/Compose/Host tabs, the filter box and the footer; owns audit state."""

from __future__ import annotations

import asyncio
import queue
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane, Tabs, Tree
from textual.worker import Worker, WorkerState, get_current_worker

from dockaudit.audit import AuditSession
from dockaudit.audit_options import ProgressEvent
from dockaudit.config import Ignore
from dockaudit.facts.container import ContainerFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.facts.inventory import ContainerSummary, ImageSummary, Inventory, short_id
from dockaudit.model import EngineInfo, Finding, TargetKind, TargetResult, TrivyInfo
from dockaudit.report.write import write_atomic
from dockaudit.run import AuditEnded, AuditFinished, AuditStarted, BatchAudit
from dockaudit.targets import ResolvedTarget, container_target, image_target
from dockaudit.tui import presenters as p
from dockaudit.tui.backend import Hardening, ScanState, start_audit_all
from dockaudit.tui.messages import (
    AuditFailed,
    ChecklistDone,
    EngineEvent,
    FactsLoaded,
    HardeningLoaded,
    InventoryFailed,
    InventoryLoaded,
    ScanProgress,
    TrivyDone,
    TrivyLoaded,
)
from dockaudit.tui.screens.compose_tab import ComposeTab
from dockaudit.tui.screens.dialogs import (
    ExportRequest,
    ExportScreen,
    IgnoreRequest,
    IgnoreScreen,
    SaveScreen,
    TextScreen,
)
from dockaudit.tui.widgets.audit_progress import AuditProgress
from dockaudit.tui.widgets.browser import DetailPane, TargetBrowser
from dockaudit.tui.widgets.compose_view import ComposeView
from dockaudit.tui.widgets.fields import Field
from dockaudit.tui.widgets.findings import FindingsView, rationale_for
from dockaudit.tui.widgets.footer import KeyFooter
from dockaudit.tui.widgets.header import EngineHeader
from dockaudit.tui.widgets.target_table import TargetTable
from dockaudit.tui.widgets.text_views import diff_renderable

MAX_PARALLEL_AUDITS = 4
"""Targets audited at once by `a`; the rest wait in a queue."""
BATCH_DRAIN_SECONDS = 0.2
"""How often audit-all results are taken into the lists: one batch of row patches per tick, not one per result."""

READ_ONLY_EVENTS = frozenset(
    {"save", "top", "export", "attach", "detach", "resize", "exec_create", "exec_start", "exec_die", "archive-path"}
)
"""Engine event actions that change no list: reads, among them audit-all's own (a `docker save` per image, a
`top` per container), which would otherwise reload 1,000 rows every half second while it runs."""

TABS = ("images", "containers", "compose", "host")
DETAIL_TABS = ("tab-findings", "tab-vulns", "tab-hardening", "tab-overview")


def image_key(image_id: str) -> str:
    """State key of an image."""
    return f"image:{image_id}"


def container_key(container_id: str) -> str:
    """State key of a container."""
    return f"container:{container_id}"


class MainScreen(ComposeTab):
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
    ) -> None:
        super().__init__(compose_paths)
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

    # ---- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Header, tabs, filter, footer."""
        header = EngineHeader(self.now, id="header")
        header.engine = self.engine
        yield header
        with TabbedContent(id="main-tabs"):
            with TabPane("Images", id="images"):
                yield TargetBrowser("image", id="images-browser")
            with TabPane("Containers", id="containers"):
                yield TargetBrowser("container", id="containers-browser")
            with TabPane("Compose", id="compose"):
                yield ComposeView(id="compose-view")
            with TabPane("Host", id="host"):
                yield Static("", id="host-status")
                yield FindingsView(id="host-findings")
        yield AuditProgress(id="audit-progress")
        yield Field(placeholder="filter: words match name, tag, ID (Enter keeps, Esc clears)", id="filter")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Load the inventory and Trivy's state in the background."""
        self._load_trivy()
        self.start_compose()
        if self.engine is not None:
            self.refresh_inventory()
        if self.watch_events and self.engine is not None:
            self._watch_events()
        self.query_one("#host-findings", FindingsView).show(None, "Host not audited yet: press a")
        if self.engine is None or self.compose_paths:
            # `dockaudit tui compose.yaml` asks about that project (and with no engine it is all there is).
            self.query_one("#main-tabs", TabbedContent).active = "compose"
            self.compose_view.project_tree.focus()
        else:
            self.query_one("#images-browser", TargetBrowser).table.focus()
        # Tab moves between panes (see `action_focus_pane`); the tab strips are for the mouse and [ ] 1-4.
        for strip in self.query(Tabs):
            strip.can_focus = False

    def on_unmount(self) -> None:
        """Stop following events and the audit-all, and release the engine."""
        if self.audit_all_run is not None:
            self.audit_all_run.cancel()
        stream = self._events_stream
        if stream is not None:
            stream.close()  # type: ignore[attr-defined]

    # ---- helpers ------------------------------------------------------------------------------------

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

    def _visible_images(self) -> list[ImageSummary]:
        flt = self.filters["image"]
        rows = [r for r in self.inventory.images if not flt or p.matches(flt, r.name, r.id, *r.repo_tags)]
        results = {r.id: self.results[image_key(r.id)] for r in rows if image_key(r.id) in self.results}
        return p.sort_images(rows, self.sorts["image"], results)

    def _visible_containers(self) -> list[ContainerSummary]:
        flt = self.filters["container"]
        rows = [
            r
            for r in self.inventory.containers
            if (self.show_stopped or r.up) and (not flt or p.matches(flt, r.name, r.id, r.image, r.state))
        ]
        results = {r.id: self.results[container_key(r.id)] for r in rows if container_key(r.id) in self.results}
        return p.sort_containers(rows, self.sorts["container"], results)

    def _image_cells(self, row: ImageSummary) -> tuple[Text | str, ...]:
        key = image_key(row.id)
        return p.image_cells(
            row, self.results.get(key), self.scans.get(key), self.now, key in self.selected, self._name_width()
        )

    def _name_width(self) -> int:
        # Wide terminals can afford full registry paths; 80 columns cannot.
        return p.NAME_WIDTH if self.app.size.width < 140 else p.NAME_WIDTH * 3 // 2

    def _container_cells(self, row: ContainerSummary) -> tuple[Text | str, ...]:
        key = container_key(row.id)
        return p.container_cells(
            row, self.results.get(key), self.scans.get(key), self.now, key in self.selected, self._name_width()
        )

    def populate(self, kind: str) -> None:
        """Rebuild one list from the inventory, filter and sort."""
        if kind == "compose":
            self.populate_compose()
            return
        browser = self.browser(kind)
        if kind == "image":
            images = self._visible_images()
            browser.table.populate([(image_key(r.id), self._image_cells(r)) for r in images])
            self._label(kind, len(images))
        else:
            containers = self._visible_containers()
            browser.table.populate([(container_key(r.id), self._container_cells(r)) for r in containers])
            self._label(kind, len(containers))
        self.show_detail(kind)

    def _label(self, kind: str, shown: int) -> None:
        """Tab label: count (shown/total when filtered), sort, and the running-only state."""
        total = len(self.inventory.images if kind == "image" else self.inventory.containers)
        label = "Images" if kind == "image" else "Containers"
        count = f"{shown}" if shown == total else f"{shown}/{total}"
        sort = self.sorts[kind]
        extra = f" {sort.value}" if sort is not p.SortKey.NAME else ""
        if kind == "container" and not self.show_stopped:
            extra += " running"
        tabs = self.query_one("#main-tabs", TabbedContent)
        tabs.get_tab(f"{kind}s").label = f"{label} {count}{extra}"

    def patch_row(self, key: str) -> None:
        """Redraw one row after its state changed."""
        self.relabel_compose(key)
        kind, _, ident = key.partition(":")
        if kind == "image":
            row = next((r for r in self.inventory.images if r.id == ident), None)
            if row is not None:
                self.browser("image").table.patch(key, self._image_cells(row))
        elif kind == "container":
            crow = next((r for r in self.inventory.containers if r.id == ident), None)
            if crow is not None:
                self.browser("container").table.patch(key, self._container_cells(crow))

    # ---- details ------------------------------------------------------------------------------------

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
        if key is None:
            detail.show_status(None, None)
            detail.show_result(None, "Nothing listed")
            detail.show_hardening(Text("Nothing listed", style="dim"))
            detail.show_overview(Text("Nothing listed", style="dim"))
            return
        result = self.results.get(key)
        scan = self.scans.get(key)
        detail.show_status(result, scan)
        detail.show_result(result, "Not audited yet: press a")
        self._show_overview(key, detail)
        self._show_hardening(key, detail)

    def _show_overview(self, key: str, detail: DetailPane) -> None:
        facts = self.facts.get(key)
        if facts is None:
            detail.show_overview(Text("Loading...", style="dim"))
            self._load_facts(key)
            return
        if isinstance(facts, ImageFacts):
            detail.show_overview(p.image_overview(facts, _history_sizes(facts), self.now))
        else:
            detail.show_overview(p.container_overview(facts, self.now))

    def _show_hardening(self, key: str, detail: DetailPane) -> None:
        hardening = self.hardening.get(key)
        if hardening is None:
            if detail.active_tab == "tab-hardening":
                detail.show_hardening(Text("Working out the hardened version...", style="dim"))
                self._load_hardening(key)
            else:
                detail.show_hardening(Text("", style="dim"))
            return
        if isinstance(hardening, str):
            detail.show_hardening(Text(hardening, style="yellow"))
            return
        theme = "ansi_light" if not self.app.current_theme.dark else "ansi_dark"
        detail.show_hardening(diff_renderable(hardening, theme=theme))

    def _show_host(self) -> None:
        result = self.results.get("host")
        scan = self.scans.get("host")
        self.query_one("#host-status", Static).update(Text(p.scan_summary(result, scan)))
        self.query_one("#host-findings", FindingsView).show(result, "Host not audited yet: press a")

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id in ("image-table", "container-table"):
            self.show_detail("image" if event.data_table.id == "image-table" else "container")

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
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id == "main-tabs":
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
        elif event.pane.id == "tab-hardening":
            key = self.current_key()
            if key and key != "host":
                self._show_hardening(key, self.browser().detail)

    # ---- workers ------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="inventory", exit_on_error=False)
    def refresh_inventory(self) -> None:
        """List images and containers."""
        try:
            inventory = self.session.inventory()
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
        if key == self.current_key():
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

    def _target(self, key: str) -> ResolvedTarget | None:
        """The audit target of a list key, built from the inventory row (so it is named as the list names it)."""
        if self.engine is None:
            return None
        engine = self.engine.id
        if key == "host":
            return ResolvedTarget(TargetKind.HOST, engine, engine, engine, engine)
        kind, _, ident = key.partition(":")
        if kind == "image":
            image = next((r for r in self.inventory.images if r.id == ident), None)
            return image_target(image, engine) if image is not None else None
        container = next((r for r in self.inventory.containers if r.id == ident), None)
        return container_target(container, engine) if container is not None else None

    def _audit_worker(self, key: str, use_cache: bool) -> None:
        """Checklist first (posted at once), then Trivy for images; checks the cancel event between steps."""
        worker = get_current_worker()
        cancel = worker.cancelled_event

        def progress(step: ProgressEvent) -> None:
            if not worker.is_cancelled:
                self.post_message(ScanProgress(replace(step, key=key)))

        def post(message: Message) -> None:
            # A cancelled worker's thread runs on until Trivy is killed; its results must not
            # overwrite a newer audit of the same target (the state handler already showed the cancel).
            if not worker.is_cancelled:
                self.post_message(message)

        target = self._target(key)
        if target is None and key.startswith("service:"):
            target = self.compose_target(key)
        if target is None:
            post(AuditFailed(key, "it is no longer listed: refresh the inventory (r)"))
            return
        try:
            result, facts = self.session.checklist(target, on_progress=progress, cancel=cancel)
            want_trivy = (
                isinstance(facts, ImageFacts) and bool(self.session.options.trivy_scanners) and not cancel.is_set()
            )
            post(ChecklistDone(key, result, facts, want_trivy))
            if want_trivy and isinstance(facts, ImageFacts):
                merged = self.session.scan(result, facts, on_progress=progress, cancel=cancel, use_cache=use_cache)
                if cancel.is_set():
                    post(AuditFailed(key, "cancelled", cancelled=True))
                    return
                post(TrivyDone(key, merged))
        except Exception as exc:
            post(AuditFailed(key, str(exc) or type(exc).__name__, cancelled=cancel.is_set()))

    def enqueue(self, keys: list[str], *, use_cache: bool = True) -> None:
        """Queue audits of targets by key and start as many as the limit allows."""
        queued = {k for k, _ in self.queue}
        for key in keys:
            if key in queued:
                continue
            self.queue.append((key, use_cache))
            self.scans[key] = ScanState(stage="queued", message="waiting for a free slot", fraction=0.0)
            self.patch_row(key)
        self._pump()
        self.show_detail()

    def _pump(self) -> None:
        while self.queue and len(self.active) < MAX_PARALLEL_AUDITS:
            key, use_cache = self.queue.popleft()
            self.active.add(key)
            self.scans[key] = ScanState(stage="checklist", message="starting", fraction=0.0)
            self.patch_row(key)
            self.run_worker(
                partial(self._audit_worker, key, use_cache),
                name=key,
                group=f"audit:{key}",
                exclusive=True,
                thread=True,
                exit_on_error=False,
            )
        self.refresh_bindings()  # `c` is offered while audits run

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Free an audit slot when a target's worker ends."""
        worker = event.worker
        if worker.group.startswith("audit:") and event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            key = worker.group.removeprefix("audit:")
            self.active.discard(key)
            scan = self.scans.get(key)
            if scan is not None and (scan.running or scan.trivy_pending):
                self.scans[key] = replace(scan, running=False, trivy_pending=False, stage="cancelled")
                self._after_scan_change(key)
            self._pump()

    # ---- worker messages ----------------------------------------------------------------------------

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
        if "container" in self.stale:
            self._label("container", len(self._visible_containers()))
        if "compose" in self.stale:
            self.label_compose()

    def _populate_shown(self) -> None:
        if self.kind in self.stale:
            self.stale.discard(self.kind)
            self.populate(self.kind)

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

    @on(ScanProgress)
    def _progress(self, message: ScanProgress) -> None:
        step = message.progress
        scan = self.scans.get(step.key, ScanState())
        running = not scan.trivy_pending
        self.scans[step.key] = replace(
            scan, stage=step.stage, message=step.message, fraction=step.fraction, running=running
        )
        self._after_scan_change(step.key)

    @on(ChecklistDone)
    def _checklist_done(self, message: ChecklistDone) -> None:
        self.results[message.key] = message.result
        if message.facts is not None:
            # Audit facts include the layers (sizes, OS); they replace the quick inspect.
            self.facts[message.key] = message.facts
        self.hardening.pop(message.key, None)
        self.scans[message.key] = ScanState(
            stage="trivy" if message.trivy_pending else "done",
            message="Trivy is scanning in the background" if message.trivy_pending else "done",
            fraction=None,
            running=False,
            trivy_pending=message.trivy_pending,
        )
        self._after_scan_change(message.key, result_changed=True)

    @on(TrivyDone)
    def _trivy_done(self, message: TrivyDone) -> None:
        self.results[message.key] = message.result
        self.scans[message.key] = ScanState(stage="done", message="done", fraction=1.0, running=False)
        self._after_scan_change(message.key, result_changed=True)

    @on(AuditFailed)
    def _audit_failed(self, message: AuditFailed) -> None:
        scan = self.scans.get(message.key, ScanState())
        self.scans[message.key] = replace(
            scan,
            running=False,
            trivy_pending=False,
            stage="cancelled" if message.cancelled else "failed",
            error=None if message.cancelled else message.error,
            message=message.error,
        )
        if not message.cancelled:
            self.notify(message.error, title=f"Audit failed: {message.key.partition(':')[2][:19]}", severity="error")
        self._after_scan_change(message.key)

    @on(FactsLoaded)
    def _facts_loaded(self, message: FactsLoaded) -> None:
        self.facts.setdefault(message.key, message.facts)
        if self.kind == "compose":
            self.show_compose()
        elif message.key == self.current_key():
            self._show_overview(message.key, self.browser().detail)

    @on(HardeningLoaded)
    def _hardening_loaded(self, message: HardeningLoaded) -> None:
        self.hardening[message.key] = message.hardening if message.hardening is not None else message.error
        if self.kind == "compose":
            self.show_compose()
        elif message.key == self.current_key():
            self._show_hardening(message.key, self.browser().detail)

    def _after_scan_change(self, key: str, *, result_changed: bool = False) -> None:
        if key == "host":
            if self.kind == "host":
                self._show_host()
            return
        self.patch_row(key)
        if self.listing and key == self.current_key():
            detail = self.browser().detail
            detail.show_status(self.results.get(key), self.scans.get(key))
            if result_changed:
                detail.show_result(self.results.get(key))
                self._show_hardening(key, detail)
                self._show_overview(key, detail)

    # ---- actions ------------------------------------------------------------------------------------

    def _targets(self) -> list[str]:
        """Keys of the selection of the shown list, else of the highlighted row."""
        if self.kind == "host":
            return ["host"]
        if self.kind == "compose":
            return self.compose_keys()
        prefix = f"{self.kind}:"
        chosen = [k for k in self.selected if k.startswith(prefix)]
        if not chosen:
            current = self.current_key()
            chosen = [current] if current else []
        return sorted(chosen)

    def action_audit(self) -> None:
        """Audit the selection (or the highlighted row)."""
        self.enqueue(self._targets())

    def action_rescan(self) -> None:
        """Audit again, ignoring cached Trivy results."""
        self.enqueue(self._targets(), use_cache=False)

    def action_audit_all(self) -> None:
        """Audit every target listed in the shown tab in the background; results stream into the list."""
        if self.kind == "host":
            self.enqueue(["host"])
            return
        if self.kind == "compose":
            keys = self.compose_keys(every=True)
            self.enqueue(keys)
            self.notify(f"Auditing {len(keys)} Compose targets ({MAX_PARALLEL_AUDITS} at a time)")
            return
        if self.audit_all_run is not None:
            self.notify("Audit all is already running: c cancels it", severity="warning")
            return
        if self.engine is None:
            self.notify("No engine: only the Compose files given are listed (E picks an engine)", severity="warning")
            return
        engine = self.engine.id
        rows: list[ImageSummary | ContainerSummary] = [
            *(self._visible_images() if self.kind == "image" else self._visible_containers())
        ]
        targets = [
            image_target(r, engine) if isinstance(r, ImageSummary) else container_target(r, engine) for r in rows
        ]
        if not targets:
            self.notify("Nothing listed to audit", severity="warning")
            return
        self._batch_rows = {t.key: r for t, r in zip(targets, rows, strict=True)}
        for key in self._batch_rows:
            self.scans[key] = ScanState(stage="queued", message="waiting for audit all", fraction=0.0)
            self._patch_batch_row(key)
        self.audit_all_run = start_audit_all(
            self.session, targets, getattr(self.app, "connector", None), getattr(self.app, "choice", None)
        )
        self.query_one("#audit-progress", AuditProgress).start(len(targets))
        self._follow_audit_all(self.audit_all_run)
        self.show_detail()
        self.refresh_bindings()

    @work(exclusive=True, group="audit-all", exit_on_error=False)
    async def _follow_audit_all(self, run: BatchAudit) -> None:
        # A worker, not a timer: whoever waits for the screen's work (tests, scenes) waits for audit-all too.
        while self.audit_all_run is run:
            await asyncio.sleep(BATCH_DRAIN_SECONDS)
            self._drain_batch()

    def _patch_batch_row(self, key: str) -> None:
        row = self._batch_rows.get(key)
        if isinstance(row, ImageSummary):
            self.browser("image").table.patch(key, self._image_cells(row))
        elif isinstance(row, ContainerSummary):
            self.browser("container").table.patch(key, self._container_cells(row))

    def _drain_batch(self) -> None:
        """Take every audit-all event that arrived since the last tick into state, then patch the rows once."""
        batch = self.audit_all_run
        if batch is None:
            return
        changed: dict[str, bool] = {}  # key -> its result changed
        done = failed = 0
        ended: AuditEnded | None = None
        while ended is None:
            try:
                event = batch.events.get_nowait()
            except queue.Empty:
                break
            if isinstance(event, AuditStarted):
                if event.key in self._batch_rows:
                    self.scans[event.key] = ScanState(
                        stage="auditing", message="checklist and Trivy running", fraction=None
                    )
                    changed.setdefault(event.key, False)
            elif isinstance(event, AuditFinished):
                result = event.result
                if event.raw is not None:
                    self.session.adopt(event.raw)  # so ignores rescore it and export reports it
                self.results[event.key] = result
                self.hardening.pop(event.key, None)
                error = "; ".join(f"{e.stage}: {e.message}" for e in result.errors) or None
                self.scans[event.key] = ScanState(
                    stage="failed" if error else "done", message=error or "done", running=False, error=error
                )
                changed[event.key] = True
                done += 1
                failed += bool(result.errors)
            else:
                ended = event
        for key, result_changed in changed.items():
            if key == self.current_key():
                self._after_scan_change(key, result_changed=result_changed)
            else:
                self._patch_batch_row(key)
        progress = self.query_one("#audit-progress", AuditProgress)
        progress.count(done, failed)
        if ended is not None:
            self._end_batch(ended)

    def _end_batch(self, ended: AuditEnded) -> None:
        """Rows left waiting go back to not audited, rows cut off mid-audit say so; the line keeps a summary."""
        for key in self._batch_rows:
            scan = self.scans.get(key)
            if scan is not None and scan.running:
                if scan.stage == "queued":
                    self.scans.pop(key)
                else:
                    self.scans[key] = replace(scan, running=False, stage="cancelled", message="cancelled")
                self._patch_batch_row(key)
        progress = self.query_one("#audit-progress", AuditProgress)
        progress.end(cancelled=ended.cancelled)
        if ended.error:
            self.notify(ended.error, title="Audit all failed", severity="error")
        elif ended.cancelled:
            self.notify(f"Audit all cancelled: {progress.done} of {progress.total} audited")
        self.audit_all_run = None
        self._batch_rows = {}
        self.show_detail()
        self.refresh_bindings()

    def action_cancel_audits(self) -> None:
        """Cancel audit-all and every queued or running audit (Trivy processes are killed)."""
        if self.audit_all_run is not None:
            self.audit_all_run.cancel()
            self._drain_batch()
        waiting = list(self.queue)
        self.queue.clear()
        for key, _cache in waiting:
            self.scans.pop(key, None)
            self.patch_row(key)
        for worker in self.app.workers:
            if worker.node is self and worker.group.startswith("audit:") and worker.is_running:
                worker.cancel()

    def action_select(self) -> None:
        """Toggle the highlighted row in the selection and move down."""
        if not self.listing:
            if self.kind == "host":
                self.notify("The host is one target: a audits it", severity="warning")
            return
        key = self.current_key()
        if key is None:
            return
        self.selected.symmetric_difference_update({key})
        self.patch_row(key)
        table = self.browser().table
        table.move_cursor(row=min(table.cursor_row + 1, table.row_count - 1))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """'/' types a slash while a text field has focus (it is a priority binding)."""
        if action == "cancel_audits":
            return self.audit_all_run is not None or bool(self.queue or self.active)
        return not (action == "filter" and isinstance(self.focused, Input))

    def action_filter(self) -> None:
        """Show the filter box for the shown list (the vulnerability list's own box when that has the focus)."""
        if self.kind != "compose" and self.pane() == "vulns":
            self.set_focus(self.browser().detail.query_one("#vuln-filter", Input))
            return
        if not self.listing:
            if self.kind == "host":
                self.notify("The host list has nothing to filter", severity="warning")
            return
        flt = self.query_one("#filter", Input)
        flt.add_class("-shown")
        # Inline display and a direct set_focus apply at once (Widget.focus is deferred), so keys typed in
        # the same burst as '/' (tmux send-keys, a paste) land in the filter, not on the list's bindings.
        flt.display = True
        flt.value = self.filters[self.kind]
        self.set_focus(flt)

    def _hide_filter(self) -> None:
        flt = self.query_one("#filter", Input)
        flt.remove_class("-shown")
        flt.display = False
        if self.listing:
            self.browser().table.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        # Not gated on the box being shown: in a burst ("/bad" + Enter) the change arrives after Enter hid it.
        if not self.listing or event.value == self.filters[self.kind]:
            return
        self.filters[self.kind] = event.value
        self.populate(self.kind)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self._hide_filter()

    def action_sort(self) -> None:
        """Cycle the order of the shown list."""
        if not self.listing:
            if self.kind == "host":
                self.notify("The host list has one order", severity="warning")
            return
        self.sorts[self.kind] = self.sorts[self.kind].next()
        kind = self.kind
        # Same rows in a new order: reorder in place, which is much cheaper than rebuilding 1,000 rows.
        if kind == "image":
            ids = [short_id(r.id) for r in self._visible_images()]
        else:
            ids = [short_id(r.id) for r in self._visible_containers()]
        table = self.browser(kind).table
        if kind in self.stale or len(ids) != table.row_count:
            self.populate(kind)
            return
        table.reorder(ids)
        self._label(kind, len(ids))

    def action_toggle_stopped(self) -> None:
        """Show or hide containers that are not running."""
        self.show_stopped = not self.show_stopped
        if self.kind == "container":
            self.populate("container")
        else:
            self.stale.add("container")
            self._label("container", len(self._visible_containers()))

    def action_refresh(self) -> None:
        """List the engine again."""
        self.refresh_inventory()
        self.notify("Refreshing the inventory")

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

    # ---- focus: panes, back, zoom -------------------------------------------------------------------

    def _detail_list(self, detail: DetailPane) -> Widget:
        """What takes the focus in the shown detail tab: its list, or its text."""
        active = detail.active_tab
        if active == "tab-findings":
            return detail.query_one(FindingsView).finding_tree
        if active == "tab-vulns":
            return detail.query_one("#vuln-table")
        return detail.query_one(f"#{'hardening' if active == 'tab-hardening' else 'overview'}-text")

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

    def _list_widget(self) -> Widget:
        """The shown tab's list: the target table, or the Compose project tree."""
        return self.compose_view.project_tree if self.kind == "compose" else self.browser().table

    def _shown_detail(self) -> DetailPane:
        """The shown tab's detail pane (not for Host, whose findings are the whole tab)."""
        return self.compose_view.detail if self.kind == "compose" else self.browser().detail

    def _focus(self, widget: Widget) -> None:
        """Focus a pane now (not after the next refresh); a zoom follows the focus to the pane's zoom unit."""
        if self.maximized is not None and self.maximized not in (widget, *widget.ancestors):
            self.maximized = self._zoom_unit(widget)
        self.set_focus(widget)

    def _zoom_unit(self, widget: Widget) -> Widget:
        """What `z` gives the whole screen for a focused widget: the target list, or the detail with its tabs."""
        for node in (widget, *widget.ancestors):
            if isinstance(node, (TargetTable, DetailPane, FindingsView)):
                return node
        return widget

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

    def action_main_tab(self, step: int) -> None:
        """Move to the previous or next main tab."""
        tabs = self.query_one("#main-tabs", TabbedContent)
        tabs.active = TABS[(TABS.index(self.main_tab) + step) % len(TABS)]
        # At once, as for the detail tabs: focus left in the hidden tab would bring that tab back.
        self._focus(self._panes()[0])

    def _findings_view(self) -> FindingsView:
        if self.kind == "host":
            return self.query_one("#host-findings", FindingsView)
        if self.kind == "compose":
            return self.compose_view.detail.query_one(FindingsView)
        return self.browser().detail.query_one(FindingsView)

    def action_group(self) -> None:
        """Group findings by severity or by section (showing the Findings tab)."""
        if self.kind != "host" and self.browser().detail.active_tab != "tab-findings":
            self.action_detail("tab-findings")
        self._findings_view().toggle_grouping()

    def _current_finding(self) -> Finding | None:
        if self.listing and self.browser().detail.active_tab == "tab-vulns":
            from dockaudit.tui.widgets.vulns import VulnsView

            return self.browser().detail.query_one(VulnsView).current
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
        if finding.vulnerability is not None:
            facts = self.facts.get(self.current_key() or "")
            self.app.push_screen(TextScreen(p.vuln_detail(finding, p.layer_step(facts, finding))))
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
        from dockaudit.tui.widgets.vulns import VulnsView

        detail = self.browser().detail
        if detail.active_tab != "tab-vulns":
            self.action_detail("tab-vulns")
        view = detail.query_one(VulnsView)
        {"fixable": view.toggle_fixable, "severity": view.cycle_severity, "sort": view.cycle_sort}[what]()

    def action_export(self) -> None:
        """Export the audited targets as a report file."""
        targets = tuple(self.results.values())
        if not targets:
            self.notify("Nothing audited yet: press a or A first", severity="warning")
            return
        # Relative paths: the working directory the user started in, shown short (the demo: its temporary one).
        directory = p.export_directory(self.engine, self.session.options.config_dir)
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

        self.app.push_screen(SaveScreen("Save the hardened file as", hardening.filename), chosen)

    @work(exclusive=True, group="save", exit_on_error=False)
    async def _save(self, path: str, text: str) -> None:
        try:
            await asyncio.to_thread(write_atomic, Path(path), text)
        except OSError as exc:
            self.notify(str(exc), title="Could not save", severity="error")
            return
        self.notify(f"Saved {path}")


def _history_sizes(facts: ImageFacts) -> list[int] | None:
    """Layer sizes per history step, from the read layers (empty steps are 0)."""
    if facts.filesystem is None:
        return None
    sizes = {layer.index: layer.size for layer in facts.filesystem.layers}
    return [sizes.get(h.layer_index, 0) if h.layer_index is not None else 0 for h in facts.history]
