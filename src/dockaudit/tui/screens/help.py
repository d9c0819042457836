"""The help screen: every key, and the rule catalog."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

from dockaudit.tui.presenters import severity_label
from dockaudit.tui.widgets.lists import NavScroll

KEYS: tuple[tuple[str, str], ...] = (
    ("a", "audit the selection (or the highlighted row): checklist now, Trivy in the background"),
    ("A", "audit every listed target in the background: rows fill in as results arrive, a line counts them"),
    ("c", "cancel audit-all and running audits (kills Trivy); finished results stay"),
    ("ctrl+r", "rescan the selection ignoring the Trivy cache"),
    ("space", "select or unselect the row"),
    ("/", "filter the list (the vulnerability list in its pane); Enter keeps it, Esc clears it"),
    ("s", "sort: name, grade, size, age"),
    ("x", "show or hide stopped and created containers"),
    ("r", "refresh the inventory (it also follows Docker events)"),
    ("tab shift+tab", "next / previous pane: the list, the detail, the finding's text"),
    ("1-4", "detail tabs: Findings, Vulns, Dockerfile/Runtime, Overview (the focus goes there)"),
    ("[ ]", "previous / next main tab (Images, Containers, Compose projects, Host)"),
    ("j k", "down / up in any list or text (arrows too)"),
    ("g G", "first / last row (Home / End too)"),
    ("pgup pgdn", "a page up / down"),
    ("enter", "open: a target's detail, a finding or vulnerability in full, a text full screen"),
    ("esc", "back one level: close a dialog, leave a zoom, the detail or a filter (never stops an audit)"),
    ("z", "zoom the focused pane to the whole screen, and back"),
    ("b", "group findings by severity or by checklist section"),
    ("i", "ignore the highlighted finding (reason, expiry) in .dockaudit.toml"),
    ("u", "un-ignore: remove the highlighted IGNORED finding's entry from the config file"),
    ("y", "copy the highlighted finding's fix (OSC 52: works over SSH)"),
    ("f v o", "vulnerabilities: fixable only, minimum severity, sort"),
    ("w", "save the hardened Dockerfile / Compose service"),
    ("e", "export a report (JSON, SARIF, HTML, Markdown, JUnit)"),
    ("E", "switch engine or Docker context"),
    ("T", "light or dark theme"),
    ("ctrl+p", "command palette: every action by name"),
    ("?", "this help"),
    ("q", "quit"),
    ("ctrl+c", "quit (while audits run, press it twice)"),
)
"""Keys and what they do, in the order the help screen lists them."""


def keys_table() -> Table:
    """The key reference."""
    table = Table(title="Keys", title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("action")
    for key, action in KEYS:
        table.add_row(key, action)
    return table


def catalog_table(rules: Iterable[tuple[str, str, str, object, str]]) -> Table:
    """The rule catalog: id, slug, default severity, section."""
    table = Table(title="Rule catalog", title_justify="left", box=None, pad_edge=False)
    table.add_column("ID", style="bold", no_wrap=True)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Title")
    table.add_column("Section")
    for rule_id, _slug, title, severity, section in rules:
        sev = severity_label(severity) if hasattr(severity, "name") else Text(str(severity))  # type: ignore[arg-type]
        table.add_row(rule_id, sev, title, section)
    return table


def registered_rules() -> list[tuple[str, str, str, object, str]]:
    """Every registered rule, in id order."""
    from dockaudit.rules import load_all
    from dockaudit.rules.registry import RULES

    load_all()
    return [(r.id, r.slug, r.title, r.severity, r.section) for r in sorted(RULES.values(), key=lambda r: r.id)]


class HelpScreen(ModalScreen[None]):
    """Keys and the rule catalog."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 110; max-width: 100%; height: 100%; border: thick $primary; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        """Keys, then the catalog."""
        rules = registered_rules()
        with NavScroll():
            yield Static(keys_table())
            yield Static("")
            if rules:
                yield Static(catalog_table(rules))
            else:
                yield Static(Text("Rule catalog: no rules are registered in this build.", style="dim"))

    def action_close(self) -> None:
        """Back to the app."""
        self.dismiss(None)
