"""Helpers for the TUI tests: apps on the fixed-data backend, and waiting without sleeping."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Coroutine
from typing import Any

# Snapshots must not depend on animation timing (the indeterminate progress bar moves with the clock).
os.environ["TEXTUAL_ANIMATIONS"] = "none"

from dockaudit.tui.app import DockauditApp, make_app
from dockaudit.tui.demo import DemoConnector


def demo_app(connector: DemoConnector | None = None, **kwargs: object) -> tuple[DockauditApp, DemoConnector]:
    """An app on a (given or fresh) demo engine, with event following off and dark UTF-8 defaults."""
    demo = connector or DemoConnector()
    options = {"watch_events": False, "theme": "dark", "ascii_borders": False, **kwargs}
    return make_app(demo, **options), demo  # type: ignore[arg-type]


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test on a fresh event loop (the project does not use pytest-asyncio)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def image_row_refs(screen: Any) -> list[str]:
    """What each row of the image list audits by (first tag, else ID), top to bottom."""
    table = screen.browser("image").table
    keys = [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]
    return [screen._target(key).ref for key in keys]
