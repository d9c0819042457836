"""The production checklist: rule modules register themselves in `registry.RULES` on import."""

from __future__ import annotations

import importlib

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


def load_all() -> None:
    """Import every rule module so the registry is complete."""
    for name in RULE_MODULES:
        importlib.import_module(f"dockaudit.rules.{name}")
