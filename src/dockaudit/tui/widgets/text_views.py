"""Scrollable text panes: the hardening diff (syntax highlighted) and the Overview."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from dockaudit.text import printable
from dockaudit.tui.backend import Hardening
from dockaudit.tui.widgets.lists import NavScroll


class TextPane(NavScroll):
    """A scrollable block of rich text."""

    DEFAULT_CSS = """
    TextPane { height: 1fr; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        """One static holding the text."""
        yield Static("", classes="body")

    def show(self, renderable: RenderableType) -> None:
        """Replace the text and scroll back to the top."""
        self.query_one(".body", Static).update(renderable)
        self.scroll_home(animate=False)


def diff_syntax(diff: str, *, theme: str) -> RenderableType:
    """A unified diff with diff highlighting (Pygments loads on the first diff shown, not at start)."""
    from rich.syntax import Syntax

    return Syntax(diff, "diff", theme=theme, background_color="default")


def diff_renderable(hardening: Hardening, *, theme: str) -> RenderableType:
    """The diff with diff highlighting, under its notes, over the file name `w` saves to."""
    parts: list[RenderableType] = []
    if hardening.note:
        parts.append(Text(printable(hardening.note) + "\n", style="italic"))
    # The diff quotes the image's history, so its control characters are shown, never sent to the terminal.
    diff = printable(hardening.diff.rstrip("\n")) or "(no changes)"
    parts.append(diff_syntax(diff, theme=theme))
    parts.append(Text(f"\nw: save as {hardening.filename}", style="dim"))
    return Group(*parts)
