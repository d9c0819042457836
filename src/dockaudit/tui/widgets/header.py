"""The one-line header: which engine (Docker or Podman, at every width), its version, Trivy and DB age."""

from __future__ import annotations

from datetime import datetime

from textual.app import RenderResult
from textual.reactive import reactive
from textual.widgets import Static

from dockaudit.model import EngineInfo, TrivyInfo
from dockaudit.tui.presenters import header_text


class EngineHeader(Static):
    """Shows the engine the app is connected to, and Trivy's state."""

    DEFAULT_CSS = """
    EngineHeader {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    engine: reactive[EngineInfo | None] = reactive(None)
    """The connected engine (None while connecting)."""
    trivy: reactive[TrivyInfo | None] = reactive(None)
    """Trivy's version and DB."""
    trivy_loaded: reactive[bool] = reactive(False)
    """Whether the Trivy probe has answered."""

    def __init__(self, now: datetime, *, connecting: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self._now = now
        self._connecting = connecting

    def render(self) -> RenderResult:
        """The header line."""
        return header_text(
            self.engine,
            self.trivy,
            self._now,
            connecting=self._connecting,
            trivy_loaded=self.trivy_loaded,
            compact=self.size.width < 110,
        )
