"""The Compose tab's body: a project → service → container tree above the highlighted row's detail."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from dockaudit.text import printable
from dockaudit.tui.backend import Hardening
from dockaudit.tui.compose_presenters import ComposeNode, Level
from dockaudit.tui.widgets.browser import DetailPane
from dockaudit.tui.widgets.lists import NavTree
from dockaudit.tui.widgets.text_views import diff_syntax


def compose_diff_renderable(hardening: Hardening, *, theme: str) -> RenderableType:
    """The Compose file's diff first (a project's edits list runs long), then each edit's rule and the advice."""
    # The diff quotes the user's file, so its control characters are shown, never sent to the terminal.
    diff = printable(hardening.diff.rstrip("\n")) or "(no changes)"
    return Group(
        diff_syntax(diff, theme=theme),
        Text("\n" + printable(hardening.note), style="italic"),
        Text(f"\nw: save as {hardening.filename}", style="dim"),
    )


class ComposeView(Vertical):
    """Compose projects as a tree (projects open, services open on Enter) and the detail of the highlighted row."""

    DEFAULT_CSS = """
    ComposeView { height: 1fr; }
    ComposeView > Tree { height: 2fr; min-height: 4; }
    ComposeView > DetailPane { height: 3fr; border-top: solid $primary-darken-2; }
    """

    @dataclass
    class Highlighted(Message):
        """Another row of the tree is highlighted."""

        node: ComposeNode | None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: dict[str, TreeNode[ComposeNode]] = {}
        self._opened: set[str] = set()
        """Services the user opened, kept open when the tree is rebuilt."""

    def compose(self) -> ComposeResult:
        """The tree and the detail pane."""
        tree: NavTree[ComposeNode] = NavTree("Compose", id="compose-tree")
        tree.show_root = False
        tree.guide_depth = 2
        yield tree
        yield DetailPane("compose", id="compose-detail")

    def on_mount(self) -> None:
        """ASCII arrows when the app draws without box characters (LANG=C)."""
        if getattr(self.app, "ascii_borders", False):
            self.project_tree.show_guides = False
            self.project_tree.ICON_NODE = "> "
            self.project_tree.ICON_NODE_EXPANDED = "v "

    @property
    def project_tree(self) -> Tree[ComposeNode]:
        """The project tree."""
        return self.query_one("#compose-tree", Tree)

    @property
    def detail(self) -> DetailPane:
        """The detail pane of the highlighted row."""
        return self.query_one(DetailPane)

    @property
    def current(self) -> ComposeNode | None:
        """The highlighted row."""
        node = self.project_tree.cursor_node
        return node.data if node is not None else None

    def nodes(self) -> Iterator[ComposeNode]:
        """Every row, projects first then their services and containers."""
        for node in self._rows.values():
            if node.data is not None:
                yield node.data

    def tree_node(self, key: str) -> TreeNode[ComposeNode] | None:
        """The tree's node of a row, by the row's key."""
        return self._rows.get(key)

    def row(self, key: str) -> ComposeNode | None:
        """A row by its key."""
        node = self._rows.get(key)
        return node.data if node is not None else None

    def populate(self, projects: Sequence[ComposeNode], label: Callable[[ComposeNode], Text]) -> None:
        """Rebuild the tree, keeping the highlighted row and the opened services."""
        tree = self.project_tree
        keep = self.current.key if self.current is not None else None
        self._opened = {k for k, n in self._rows.items() if n.is_expanded and n.data and n.data.level is Level.SERVICE}
        tree.clear()
        self._rows = {}

        def add(parent: TreeNode[ComposeNode], node: ComposeNode) -> None:
            if node.children:
                branch = parent.add(
                    label(node), data=node, expand=node.level is Level.PROJECT or node.key in self._opened
                )
                self._rows[node.key] = branch
                for child in node.children:
                    add(branch, child)
            else:
                self._rows[node.key] = parent.add_leaf(label(node), data=node)

        for project in projects:
            add(tree.root, project)
        if not projects:
            tree.root.add_leaf(Text("No Compose project on this engine", style="dim"))
        # Nodes learn their line when the tree is laid out again; reading the line count lays it out now.
        _ = tree.last_line
        target = self._rows.get(keep) if keep is not None else None
        tree.move_cursor(target if target is not None else (tree.root.children[0] if tree.root.children else None))
        self.post_message(self.Highlighted(self.current))

    def relabel(self, result_key: str, label: Callable[[ComposeNode], Text]) -> list[ComposeNode]:
        """Redraw the rows that show this state key's audit, and their projects (whose worst grade may change)."""
        shown = [node for node in self._rows.values() if node.data is not None and node.data.result_key == result_key]
        projects = {node.data.project for node in shown if node.data is not None}
        shown += [self._rows[key] for key in sorted(projects) if key in self._rows]
        for node in shown:
            if node.data is not None:
                node.set_label(label(node.data))
        return [node.data for node in shown if node.data is not None]

    @on(Tree.NodeHighlighted, "#compose-tree")
    def _highlighted(self, event: Tree.NodeHighlighted[ComposeNode]) -> None:
        event.stop()
        self.post_message(self.Highlighted(event.node.data))

    @on(Tree.NodeSelected, "#compose-tree")
    def _selected(self, event: Tree.NodeSelected[ComposeNode]) -> None:
        # Enter opens or closes a row with children (the Tree does it), and moves into a leaf's findings, as
        # Enter on a list row does; the screen's own handler reads findings, not projects.
        event.stop()
        if not event.node.children and event.node.data is not None:
            self.detail.findings().finding_tree.focus()
