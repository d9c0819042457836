"""The production checklist: rule modules register themselves in `registry.RULES` on import."""

from __future__ import annotations

import contextlib
import importlib
import threading

RULE_MODULES = (
    "image",
    "image_metadata",
    "history",
    "packages",
    "run_commands",
    "filesystem",
    "filesystem_accounts",
    "container",
    "container_confinement",
    "container_operations",
    "processes",
    "host",
    "dockerfile",
    "dockerfile_context",
    "eol",
    "compose",
    "compose_container",
)

_preloading: list[threading.Thread] = []


def load_all() -> None:
    """Import every rule module so the registry is complete."""
    for name in RULE_MODULES:
        importlib.import_module(f"dockaudit.rules.{name}")


def preload() -> None:
    """Start `load_all` in a thread, once per process, and return at once.

    A run spends its first tenths of a second waiting on the engine (connecting, looking targets up); the rule
    modules import meanwhile instead of in front of the first evaluation. A `load_all` that comes while they are
    still importing waits for each module's import lock, so it never sees a half-filled registry.
    """
    if not _preloading:
        thread = threading.Thread(target=_load_quietly, name="dockaudit-rules", daemon=True)
        _preloading.append(thread)
        thread.start()


def _load_quietly() -> None:
    # A module that fails to import fails again, with its traceback, in the `load_all` that needs it.
    with contextlib.suppress(Exception):
        load_all()
