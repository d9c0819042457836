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
from dockaudit.tui.presenters import (
    IGNORED_GROUP,
    Grouping,
    checklist_findings,
    finding_detail,
    finding_line,
    group_findings,
)
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
        self.ignored_open = False
        """Whether the IGNORED group is expanded (it starts collapsed: those findings do not count)."""
        self._shown_current: Finding | None = None
        """The finding `show` put the cursor on, until the rebuilt tree lays out its lines (see `current`)."""

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
        """Show a target's findings (or a placeholder when it has none yet); the ignored ones in a group of
        their own, collapsed until opened. Shown again for the same target (rescored after an ignore), the
        cursor stays on its finding, else on its line."""
        same_target = (
            result is not None
            and self.result is not None
            and (result.kind, result.id) == (self.result.kind, self.result.id)
        )
        tree = self.finding_tree
        keep = (self.current, tree.cursor_line) if same_target else (None, 1)
        self.result = result
        tree.clear()
        self._shown_current = None
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
        line = 0
        lines: dict[tuple[str, str, str], int] = {}
        at_line: dict[int, Finding] = {}
        for label, items in group_findings(findings, self.grouping):
            ignored = label == IGNORED_GROUP
            expand = not ignored or self.ignored_open
            style = "bold dim" if ignored else "bold"
            node = tree.root.add(Text(f"{label} ({len(items)})", style=style), data=None, expand=expand)
            line += 1
            for finding in items:
                node.add_leaf(finding_line(finding), data=finding)
                if expand:
                    lines.setdefault(_identity(finding), line)
                    at_line[line] = finding
                    line += 1
        kept, kept_line = keep
        target_line = lines.get(_identity(kept), kept_line) if kept is not None else kept_line
        target_line = min(max(target_line, 1), max(line - 1, 0))
        tree.move_cursor_to_line(target_line)
        # The tree lays its lines out on its next refresh, so its cursor node is not this one yet: say which.
        self._shown_current = at_line.get(target_line)
        self._show_detail(self._shown_current)

    @on(Tree.NodeExpanded, "#finding-tree")
    @on(Tree.NodeCollapsed, "#finding-tree")
    def _ignored_toggled(self, event: Tree.NodeExpanded[Finding | None] | Tree.NodeCollapsed[Finding | None]) -> None:
        # Remember whether the user opened the ignored group, so a rescore does not close it again.
        event.stop()
        if event.node.data is None and str(event.node.label).startswith(IGNORED_GROUP):
            self.ignored_open = isinstance(event, Tree.NodeExpanded)

    def toggle_grouping(self) -> None:
        """Switch between severity and section grouping."""
        self.grouping = Grouping.SECTION if self.grouping is Grouping.SEVERITY else Grouping.SEVERITY
        self.show(self.result)

    @property
    def current(self) -> Finding | None:
        """The highlighted finding (right after `show`, before the tree has laid its lines out, the one it chose:
        the cursor node is still the previous tree's then)."""
        tree = self.finding_tree
        node = tree.cursor_node
        if node is None:
            return None
        top = node
        while top.parent is not None:
            top = top.parent
        return node.data if top is tree.root else self._shown_current

    @on(Tree.NodeHighlighted, "#finding-tree")
    def _highlighted(self, event: Tree.NodeHighlighted[Finding | None]) -> None:
        event.stop()
        if event.node.data is not None:
            self._show_detail(event.node.data)

    def _show_detail(self, finding: Finding | None) -> None:
        detail = self.query_one("#finding-detail", Static)
        detail.update(finding_detail(finding, rationale_for(finding.rule_id)) if finding else "")


def _identity(finding: Finding | None) -> tuple[str, str, str]:
    """What names a finding across rescoring (its severity and suppression may change, not this)."""
    if finding is None:
        return ("", "", "")
    return (finding.rule_id, finding.evidence, str(finding.location))
