"""Switch engine: pick a Docker context or type a host URL."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from dockaudit.tui.backend import EngineChoice
from dockaudit.tui.widgets.fields import Field


class EngineScreen(ModalScreen[EngineChoice | None]):
    """Contexts from the Docker CLI config, and a free host field."""

    DEFAULT_CSS = """
    EngineScreen { align: center middle; }
    EngineScreen > Vertical {
        width: 70; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    EngineScreen OptionList { height: auto; max-height: 10; }
    EngineScreen .title { text-style: bold; }
    EngineScreen Horizontal { height: auto; align-horizontal: right; }
    EngineScreen Button { margin: 0 0 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, contexts: list[tuple[str, str]], current: str = "") -> None:
        super().__init__()
        self.contexts = contexts
        """(name, endpoint) pairs."""
        self.current = current

    def compose(self) -> ComposeResult:
        """Context list, host field, buttons."""
        with Vertical():
            yield Label("Switch engine", classes="title")
            yield Label("Docker contexts (Enter to connect)")
            options = [Option(f"{name}  {url}", id=name) for name, url in self.contexts]
            yield OptionList(*options, id="engine-contexts")
            yield Label("or a host URL (unix://, tcp://, ssh://user@host)")
            yield Field(placeholder=self.current or "ssh://user@host", id="engine-host")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Connect", variant="primary", id="ok")

    @on(OptionList.OptionSelected, "#engine-contexts")
    def _context_chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(EngineChoice(context=event.option.id))

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted, "#engine-host")
    def _host(self) -> None:
        host = self.query_one("#engine-host", Input).value.strip()
        if host:
            self.dismiss(EngineChoice(host=host))
            return
        options = self.query_one("#engine-contexts", OptionList)
        if options.highlighted is not None:
            option = options.get_option_at_index(options.highlighted)
            self.dismiss(EngineChoice(context=option.id))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Keep the current engine."""
        self.dismiss(None)
