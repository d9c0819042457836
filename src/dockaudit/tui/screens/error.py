"""The screen shown when the engine cannot be reached: what was tried, how to fix it, retry or switch."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Static

from dockaudit.errors import EngineProblem


def problem_text(problem: EngineProblem) -> Text:
    """The error, the endpoints tried and the hints, as readable text."""
    text = Text()
    text.append("Cannot reach the Docker engine\n\n", style="bold red")
    text.append(problem.message + "\n")
    if problem.tried:
        text.append("\nTried\n", style="bold")
        for item in problem.tried:
            text.append(f"  - {item}\n")
    if problem.hints:
        text.append("\nHow to fix\n", style="bold")
        for hint in problem.hints:
            text.append(f"  - {hint}\n")
    return text


class EngineErrorScreen(Screen[str]):
    """Dismisses with `retry` or `switch`; `q` quits."""

    DEFAULT_CSS = """
    EngineErrorScreen { align: center middle; }
    EngineErrorScreen > Vertical {
        width: 90; max-width: 100%; height: auto; max-height: 100%; border: heavy $error; padding: 0 1;
    }
    EngineErrorScreen VerticalScroll { height: auto; max-height: 18; }
    EngineErrorScreen Horizontal { height: auto; align-horizontal: right; }
    EngineErrorScreen Button { margin: 0 0 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry"),
        Binding("E", "switch", "Switch engine"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, problem: EngineProblem) -> None:
        super().__init__()
        self.problem = problem
        """What went wrong."""

    def compose(self) -> ComposeResult:
        """Message, buttons, footer."""
        with Vertical():
            with VerticalScroll():
                yield Static(problem_text(self.problem), id="problem")
            with Horizontal():
                yield Button("Switch engine (E)", id="switch")
                yield Button("Retry (r)", variant="primary", id="retry")
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Retry or switch."""
        self.dismiss("retry" if event.button.id == "retry" else "switch")

    def action_retry(self) -> None:
        """Try the same engine again."""
        self.dismiss("retry")

    def action_switch(self) -> None:
        """Pick another engine."""
        self.dismiss("switch")
