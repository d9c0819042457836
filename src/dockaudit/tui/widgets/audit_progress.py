"""The audit-all line under the lists: done/total, failures, an estimate, and how to cancel."""

from __future__ import annotations

import time

from textual.widgets import Static

from dockaudit.tui import presenters as p


class AuditProgress(Static):
    """Hidden until an audit-all starts; then counts results as the screen hands them over."""

    DEFAULT_CSS = """
    AuditProgress {
        height: 1;
        display: none;
        padding: 0 1;
    }
    AuditProgress.-shown {
        display: block;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.total = 0
        self.done = 0
        self.failed = 0
        self.ended = False
        self.cancelled = False
        self._started = 0.0
        self._ended_at = 0.0

    @property
    def running(self) -> bool:
        """Whether an audit-all is under way."""
        return self.has_class("-shown") and not self.ended

    def start(self, total: int) -> None:
        """A new audit-all of `total` targets."""
        self.total, self.done, self.failed = total, 0, 0
        self.ended = self.cancelled = False
        self._started = time.monotonic()
        self.add_class("-shown")
        self._show()

    def count(self, done: int, failed: int) -> None:
        """More results arrived (`failed` of them with errors)."""
        self.done += done
        self.failed += failed
        self._show()

    def end(self, *, cancelled: bool) -> None:
        """The audit-all is over; the line keeps its summary."""
        self.ended, self.cancelled = True, cancelled
        self._ended_at = time.monotonic()
        self._show()

    def _show(self) -> None:
        elapsed = (self._ended_at if self.ended else time.monotonic()) - self._started
        text = p.audit_progress_text(
            self.done, self.total, self.failed, elapsed, ended=self.ended, cancelled=self.cancelled
        )
        # One line whatever it says: no layout pass (it would re-arrange the whole screen five times a second).
        self.update(text, layout=False)
