"""Helpers for the TUI tests: apps on the fixed-data backend, and waiting without sleeping."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Coroutine
from typing import Any

# Snapshots must not depend on animation timing (the indeterminate progress bar moves with the clock).
os.environ["TEXTUAL_ANIMATIONS"] = "none"

from dockaudit.config import Settings
from dockaudit.tui.app import DockauditApp, make_app
from dockaudit.tui.backend import EngineChoice
from dockaudit.tui.demo import DemoBackend


def demo_app(backend: DemoBackend | None = None, **kwargs: object) -> tuple[DockauditApp, DemoBackend]:
    """An app on a (given or fresh) demo backend, with event following off and dark UTF-8 defaults."""
    demo = backend or DemoBackend()
    factory: Callable[[EngineChoice], DemoBackend] = lambda _choice: demo  # noqa: E731
    options = {"watch_events": False, "theme": "dark", "ascii_borders": False, **kwargs}
    return make_app(Settings(), factory, **options), demo  # type: ignore[arg-type]


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test on a fresh event loop (the project does not use pytest-asyncio)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run
