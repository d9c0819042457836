"""Wait until the app has no pending work: used by tests, the screenshot script and the benchmark."""

from __future__ import annotations

import contextlib
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerFailed

FOLLOWERS = frozenset({"events"})
"""Worker groups that run for the app's lifetime and are never waited for."""


async def settle(app: App[Any], pilot: Pilot[Any], *, rounds: int = 50) -> None:
    """Await every finite worker (including ones started by their results), then let messages drain."""
    for _ in range(rounds):
        pending = [w for w in app.workers if w.is_running and w.group not in FOLLOWERS]
        if not pending:
            await pilot.pause()
            if not [w for w in app.workers if w.is_running and w.group not in FOLLOWERS]:
                return
            continue
        for worker in pending:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
        await pilot.pause()
