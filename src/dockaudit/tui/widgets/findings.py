"""The Findings pane: a tree of findings grouped by severity or section, and the highlighted one's detail."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Static, Tree

from dockaudit.model import Finding, TargetResult
from dockaudit.tui.presenters import Grouping, checklist_findings, finding_detail, finding_line, group_findings
from dockaudit.tui.widgets.lists import NavScroll, NavTree


def rationale_for(rule_id: str) -> str:
    """The catalog's rationale of a rule, when the rule is registered."""
    from dockaudit.rules import load_all
    from dockaudit.rules.registry import RULES

    load_all()
    rule = RULES.get(rule_id)
    return rule.rationale if rule is not None else ""


class FindingTree(NavTree[Finding | None]):
    """The findings tree; space selects the target as it does on every pane (Enter opens or folds a group)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("space", "screen.select", "Select", show=False)]


class FindingsView(Horizontal):
    """Findings of one target; Enter opens the full detail."""

    DEFAULT_CSS = """
    FindingsView { height: 1fr; }
    FindingsView > Tree { width: 45%; min-width: 30; height: 1fr; }
    FindingsView > VerticalScroll { width: 1fr; height: 1fr; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.grouping = Grouping.SEVERITY
        """How findings are grouped."""
        self.result: TargetResult | None = None
        """The target shown."""

    def compose(self) -> ComposeResult:
        """A tree and a detail panel."""
        tree = FindingTree("findings", id="finding-tree")
        tree.show_root = False
        tree.guide_depth = 2
        yield tree
        with NavScroll(id="finding-detail-scroll"):
            yield Static("", id="finding-detail")

    def on_mount(self) -> None:
        """ASCII guides and arrows when the app draws without box characters (LANG=C)."""
        if getattr(self.app, "ascii_borders", False):
            tree = self.finding_tree
            tree.show_guides = False
            tree.ICON_NODE = "> "
            tree.ICON_NODE_EXPANDED = "v "

    @property
    def finding_tree(self) -> Tree[Finding | None]:
        """The findings tree."""
        return self.query_one("#finding-tree", Tree)

    def show(self, result: TargetResult | None, placeholder: str = "") -> None:
        """Show a target's findings (or a placeholder when it has none yet)."""
        self.result = result
        tree = self.finding_tree
        tree.clear()
        detail = self.query_one("#finding-detail", Static)
        if result is None:
            tree.root.add_leaf(Text(placeholder or "Not audited yet", style="dim"), data=None)
            detail.update("")
            return
        findings = checklist_findings(result)
        if not findings:
            tree.root.add_leaf(Text(f"No findings: {len(result.passed)} checks passed", style="green"), data=None)
            detail.update("")
            return
        first: Finding | None = None
        for label, items in group_findings(findings, self.grouping):
            node = tree.root.add(Text(f"{label} ({len(items)})", style="bold"), data=None, expand=True)
            for finding in items:
                node.add_leaf(finding_line(finding), data=finding)
                first = first or finding
        tree.move_cursor_to_line(1)
        self._show_detail(first)

    def toggle_grouping(self) -> None:
        """Switch between severity and section grouping."""
        self.grouping = Grouping.SECTION if self.grouping is Grouping.SEVERITY else Grouping.SEVERITY
        self.show(self.result)

    @property
    def current(self) -> Finding | None:
        """The highlighted finding."""
        node = self.finding_tree.cursor_node
        return node.data if node is not None else None

    @on(Tree.NodeHighlighted, "#finding-tree")
    def _highlighted(self, event: Tree.NodeHighlighted[Finding | None]) -> None:
        event.stop()
        if event.node.data is not None:
            self._show_detail(event.node.data)

    def _show_detail(self, finding: Finding | None) -> None:
        detail = self.query_one("#finding-detail", Static)
        detail.update(finding_detail(finding, rationale_for(finding.rule_id)) if finding else "")
