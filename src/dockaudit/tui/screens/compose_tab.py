"""The Compose tab's share of the main screen: its tree, its detail pane and the workers behind them.

Live projects come from the inventory's Compose labels; projects given as files are read through the session
once, at start. A live service is audited through its containers (the same audit, and the same result, as the
Containers tab's), whose findings the session points at the Compose file's lines when that file is readable here;
a file's service is a target of its own. The diff pane hardens the project's Compose file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static, TabbedContent

from dockaudit.audit import AuditSession
from dockaudit.facts.compose import ComposeProject
from dockaudit.facts.container import ContainerFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.facts.inventory import ContainerSummary, Inventory
from dockaudit.live_compose import ComposeGrouping, ProjectGroup
from dockaudit.model import TargetResult
from dockaudit.targets import ResolvedTarget
from dockaudit.tui.backend import (
    ComposeFileProject,
    Hardening,
    ScanState,
    harden_compose_project,
    live_compose_project,
    read_compose_files,
)
from dockaudit.tui.compose_presenters import (
    ComposeNode,
    Level,
    compose_status,
    compose_tree,
    container_key,
    file_project_key,
    file_service_key,
    live_project_key,
    node_label,
    project_overview,
)
from dockaudit.tui.messages import HardeningLoaded
from dockaudit.tui.overview_presenters import container_overview
from dockaudit.tui.widgets.browser import DetailPane
from dockaudit.tui.widgets.compose_view import ComposeView, compose_diff_renderable


@dataclass
class ComposeFilesRead(Message):
    """The Compose files given on the command line, read (or rejected) by Compose."""

    files: list[ComposeFileProject]


class ComposeTab(Screen[None]):
    """The Compose tab of the main screen (which owns the audit state this reads and the queue `a` feeds)."""

    session: AuditSession
    inventory: Inventory
    stale: set[str]
    results: dict[str, TargetResult]
    scans: dict[str, ScanState]
    facts: dict[str, ImageFacts | ContainerFacts]
    hardening: dict[str, Hardening | str]

    def __init__(self, compose_paths: Sequence[str] = ()) -> None:
        super().__init__()
        self.compose_paths = tuple(compose_paths)
        """Compose files or project directories given on the command line."""
        self.compose_files: list[ComposeFileProject] = []
        self.compose_grouping = ComposeGrouping((), ())
        self.built_tabs: set[str] = set()
        """Main tabs whose panes are mounted: the first one shown at start, the others when first shown."""

    @property
    def compose_view(self) -> ComposeView:
        """The Compose tab's tree and detail."""
        return self.query_one("#compose-view", ComposeView)

    def start_compose(self) -> None:
        """Read the Compose files given on the command line (Compose runs in a worker)."""
        if self.compose_paths:
            self._read_compose_files()

    # ---- the tree ----------------------------------------------------------------------------------

    def populate_compose(self) -> None:
        """Rebuild the tree from the inventory's Compose labels and the files given (or, before the tab was first
        shown, only its label: the tree is built when it is)."""
        if "compose" not in self.built_tabs:
            self.stale.add("compose")
            self.label_compose()
            return
        self.compose_grouping = self.session.compose_groups(self.inventory)
        projects = compose_tree(self.compose_grouping, self.compose_files)
        self.compose_view.populate(projects, self._compose_label)
        self.label_compose()

    def label_compose(self) -> None:
        """Tab label: how many projects (live ones counted from the inventory, before the tab is first shown)."""
        live = self.session.compose_groups(self.inventory).projects
        tabs = self.query_one("#main-tabs", TabbedContent)
        tabs.get_tab("compose").label = f"Compose {len(live) + len(self.compose_files)}"

    def _compose_label(self, node: ComposeNode) -> Text:
        containers: dict[str, ContainerSummary] = {}
        if node.level is Level.CONTAINER:
            # Only a container row shows its state (looked up here, as rows redraw on every audit step).
            found = next((c for c in self.inventory.containers if container_key(c.id) == node.key), None)
            containers = {node.key: found} if found is not None else {}
        return node_label(node, self.results, self.scans, containers)

    def compose_keys(self, *, every: bool = False) -> list[str]:
        """State keys `a` audits: the highlighted row's (a project's: all its services'), or every project's."""
        if every:
            return [k for node in self.compose_view.nodes() if node.level is Level.PROJECT for k in node.audit_keys]
        node = self.compose_view.current
        return list(node.audit_keys) if node is not None else []

    def compose_current_key(self) -> str | None:
        """The state key of the highlighted row's findings (a project row has none: its own key)."""
        node = self.compose_view.current
        if node is None:
            return None
        return node.result_key if node.level is not Level.PROJECT and node.result_key else node.key

    def compose_target(self, key: str) -> ResolvedTarget | None:
        """The audit target of a file service's key (`service:compose.yaml#web`)."""
        for given in self.compose_files:
            if given.project is not None:
                for target in self.session.compose_targets(given.project):
                    if file_service_key(target.id) == key:
                        return target
        return None

    def compose_hardening_key(self) -> str | None:
        """The project whose hardened Compose file `w` saves."""
        node = self.compose_view.current
        return node.project if node is not None else None

    # ---- the detail --------------------------------------------------------------------------------

    def show_compose(self) -> None:
        """Fill the detail pane for the highlighted row; load what is missing for it only."""
        view = self.compose_view
        node = view.current
        detail = view.detail
        key = node.result_key if node is not None else None
        result = self.results.get(key) if key else None
        scan = self.scans.get(key) if key else None
        detail.show_status(result, scan)
        detail.query_one("#detail-status", Static).update(Text(compose_status(node, result, scan, self.results)))
        if node is None:
            detail.show_result(None, "Nothing listed")
            detail.show_hardening(Text("Nothing listed", style="dim"))
            detail.show_overview(Text("Nothing listed", style="dim"))
            return
        if node.level is Level.PROJECT:
            detail.show_result(None, node.error or "Highlight a service for its findings")
        else:
            detail.show_result(result, "Not audited yet: press a")
        self._show_compose_overview(node, detail)
        self._show_compose_hardening(node, detail)

    def _show_compose_overview(self, node: ComposeNode, detail: DetailPane) -> None:
        if node.level is Level.CONTAINER:
            facts = self.facts.get(node.key)
            if isinstance(facts, ContainerFacts):
                detail.show_overview(container_overview(facts, self.session.options.clock()))
            else:
                detail.show_overview(Text("Loading…", style="dim"))
                self.load_container_facts(node.key)
            return
        project = self.compose_view.row(node.project)
        if project is None:
            return
        detail.show_overview(project_overview(project, *self._compose_sources(node.project)))

    def _compose_sources(self, project_key: str) -> tuple[ComposeProject | None, ProjectGroup | None]:
        """What a project row comes from: the file's project as Compose read it, or the live project's group."""
        given = next((f.project for i, f in enumerate(self.compose_files) if file_project_key(i) == project_key), None)
        group = next((g for g in self.compose_grouping.projects if live_project_key(g.name) == project_key), None)
        return given, group

    def _show_compose_hardening(self, node: ComposeNode, detail: DetailPane) -> None:
        hardening = self.hardening.get(node.project)
        project = self.compose_view.row(node.project)
        if project is not None and project.error:
            detail.show_hardening(Text(project.error, style="red"))
        elif hardening is None:
            if detail.active_tab == "tab-hardening":
                detail.show_hardening(Text("Hardening the Compose file…", style="dim"))
                self._load_compose_hardening(node.project)
            else:
                detail.show_hardening(Text("", style="dim"))
        elif isinstance(hardening, str):
            detail.show_hardening(Text(hardening, style="yellow"))
        else:
            theme = "ansi_light" if not self.app.current_theme.dark else "ansi_dark"
            detail.show_hardening(compose_diff_renderable(hardening, theme=theme))

    def relabel_compose(self, key: str) -> None:
        """Redraw the rows that show `key`'s audit (queued, running, graded), and the detail when it shows one."""
        if "compose" not in self.built_tabs:
            return  # the tree is drawn from state when the tab is first shown
        rows = self.compose_view.relabel(key, self._compose_label)
        shown = self.query_one("#main-tabs", TabbedContent).active == "compose"
        if shown and self.compose_view.current in rows:
            self.show_compose()

    @on(ComposeView.Highlighted)
    def _compose_highlighted(self) -> None:
        self.show_compose()

    # ---- workers -----------------------------------------------------------------------------------

    def load_container_facts(self, key: str) -> None:
        """Inspect a container for its Overview (the main screen's worker, shared with the Containers tab)."""
        raise NotImplementedError

    @work(thread=True, exclusive=True, group="compose-files", exit_on_error=False)
    def _read_compose_files(self) -> None:
        self.post_message(ComposeFilesRead(read_compose_files(self.session, self.compose_paths)))

    @on(ComposeFilesRead)
    def _compose_files_read(self, message: ComposeFilesRead) -> None:
        self.compose_files = message.files
        for given in message.files:
            if given.error:
                self.notify(given.error, title=f"Compose rejected {given.path}", severity="error")
        self.populate_compose()

    @work(thread=True, group="compose-hardening", exit_on_error=False)
    def _load_compose_hardening(self, project_key: str) -> None:
        given, group = self._compose_sources(project_key)
        try:
            if given is not None:
                project = given
            elif group is not None:
                project = live_compose_project(self.session, group)
            else:
                raise ValueError("the project is no longer listed, or Compose rejected its file")
            hardening = harden_compose_project(self.session, project)
        except Exception as exc:
            self.post_message(HardeningLoaded(project_key, None, f"No hardened Compose file: {exc}"))
            return
        self.post_message(HardeningLoaded(project_key, hardening))
