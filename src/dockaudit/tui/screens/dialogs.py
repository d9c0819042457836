"""Modal dialogs: export a report, ignore a finding, save a file, read one finding in full."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from dockaudit.tui.widgets.fields import Field
from dockaudit.tui.widgets.lists import NavScroll

EXPORT_FORMATS: tuple[tuple[str, str], ...] = (
    ("json", "report.json"),
    ("sarif", "report.sarif"),
    ("html", "report.html"),
    ("markdown", "report.md"),
    ("junit", "report.junit.xml"),
)
"""Formats the export dialog offers, with the default file name of each."""


@dataclass(frozen=True)
class ExportRequest:
    """The format and path chosen in the export dialog."""

    fmt: str
    path: str


@dataclass(frozen=True)
class IgnoreRequest:
    """An ignore entry as typed in the dialog."""

    rule: str
    reason: str
    target: str
    expires: date | None


_DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 70; max-width: 100%; height: auto; max-height: 100%;
    border: thick $primary; background: $surface; padding: 0 1;
}}
{name} .title {{ text-style: bold; width: 1fr; }}
{name} .error {{ color: $error; height: auto; }}
{name} Input {{ width: 1fr; }}
{name} Horizontal.buttons {{ height: auto; align-horizontal: right; }}
{name} Button {{ margin: 0 0 0 1; min-width: 10; }}
"""


class ExportScreen(ModalScreen[ExportRequest | None]):
    """Choose a format and a path; the file is written atomically by the caller."""

    DEFAULT_CSS = (
        _DIALOG_CSS.format(name="ExportScreen")
        + """
    ExportScreen RadioSet { width: 1fr; height: auto; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, directory: str, targets: int) -> None:
        super().__init__()
        self.directory = directory
        """Where the file goes by default."""
        self.targets = targets
        """How many audited targets the report will hold."""

    def compose(self) -> ComposeResult:
        """Format choice, path and buttons."""
        with Vertical():
            yield Label(f"Export report ({self.targets} audited targets)", classes="title")
            with RadioSet(id="export-format"):
                for i, (fmt, _name) in enumerate(EXPORT_FORMATS):
                    yield RadioButton(fmt, value=i == 0, name=fmt)
            # The radio dot differs only by colour; say the choice in words too (NO_COLOR, monochrome).
            yield Label("Format: json", id="export-chosen")
            yield Label("Path")
            yield Field(self._default_path("json"), id="export-path")
            yield Static("", classes="error", id="export-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Export", variant="primary", id="ok")

    def _default_path(self, fmt: str) -> str:
        name = dict(EXPORT_FORMATS)[fmt]
        return name if self.directory in ("", ".") else f"{self.directory.rstrip('/')}/{name}"

    @on(RadioSet.Changed, "#export-format")
    def _format(self, event: RadioSet.Changed) -> None:
        fmt = event.pressed.name or "json"
        self.query_one("#export-chosen", Label).update(f"Format: {fmt}")
        path = self.query_one("#export-path", Input)
        # Follow the format only while the user has not typed a path of their own.
        if path.value in {self._default_path(f) for f, _ in EXPORT_FORMATS}:
            path.value = self._default_path(fmt)

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted, "#export-path")
    def _ok(self) -> None:
        path = self.query_one("#export-path", Input).value.strip()
        if not path:
            self.query_one("#export-error", Static).update("A path is needed.")
            return
        pressed = self.query_one("#export-format", RadioSet).pressed_button
        self.dismiss(ExportRequest(pressed.name if pressed and pressed.name else "json", path))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without exporting."""
        self.dismiss(None)


class IgnoreScreen(ModalScreen[IgnoreRequest | None]):
    """Record why a finding is accepted, for which targets, and until when."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="IgnoreScreen")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, rule: str, title: str, target: str) -> None:
        super().__init__()
        self.rule = rule
        """Rule or vulnerability id to ignore."""
        self.rule_title = title
        self.target = target
        """Default target glob: the target's name."""

    def compose(self) -> ComposeResult:
        """Reason, target glob, expiry, buttons."""
        with Vertical():
            yield Label(f"Ignore {self.rule}: {self.rule_title}", classes="title")
            yield Label("Reason (required)")
            yield Field(placeholder="why this is acceptable", id="ignore-reason")
            yield Label("Targets (glob)")
            yield Field(self.target, id="ignore-target")
            yield Label("Expires (YYYY-MM-DD, optional)")
            yield Field(placeholder="2027-01-31", id="ignore-expires")
            yield Static("", classes="error", id="ignore-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Ignore", variant="warning", id="ok")

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def _ok(self) -> None:
        reason = self.query_one("#ignore-reason", Input).value.strip()
        target = self.query_one("#ignore-target", Input).value.strip() or "*"
        expires_text = self.query_one("#ignore-expires", Input).value.strip()
        error = self.query_one("#ignore-error", Static)
        if not reason:
            error.update("A reason is required: it is what the next reader needs.")
            self.query_one("#ignore-reason", Input).focus()
            return
        expires: date | None = None
        if expires_text:
            try:
                expires = date.fromisoformat(expires_text)
            except ValueError:
                error.update(f"Not a date: {expires_text!r} (use YYYY-MM-DD)")
                return
        self.dismiss(IgnoreRequest(self.rule, reason, target, expires))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without ignoring."""
        self.dismiss(None)


class SaveScreen(ModalScreen[str | None]):
    """Ask for a path to save a file to."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="SaveScreen")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, default: str) -> None:
        super().__init__()
        self.dialog_title = title
        self.default = default

    def compose(self) -> ComposeResult:
        """Path and buttons."""
        with Vertical():
            yield Label(self.dialog_title, classes="title")
            yield Field(self.default, id="save-path")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", variant="primary", id="ok")

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def _ok(self) -> None:
        path = self.query_one("#save-path", Input).value.strip()
        self.dismiss(path or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)


class TextScreen(ModalScreen[None]):
    """A full-screen reader for one finding (or any long text)."""

    DEFAULT_CSS = """
    TextScreen { align: center middle; }
    TextScreen > VerticalScroll {
        width: 100; max-width: 100%; height: 100%; border: thick $primary; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,enter", "close", "Close")]

    def __init__(self, text: Text) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        """The text, scrollable (j/k, g/G as in the lists)."""
        with NavScroll():
            yield Static(self.text)

    def action_close(self) -> None:
        """Back to the list."""
        self.dismiss(None)
