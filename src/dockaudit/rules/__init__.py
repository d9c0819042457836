"""The production checklist: rule modules register themselves in `registry.RULES` on import."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

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

SCOPE_MODULES: dict[str, tuple[str, ...]] = {
    "image": ("image", "image_metadata", "eol"),
    "history": ("history", "packages", "run_commands"),
    "filesystem": ("filesystem", "filesystem_accounts"),
    "container": ("container", "container_confinement", "container_operations", "processes"),
    "host": ("host",),
    "dockerfile": ("dockerfile", "dockerfile_context", "eol"),
    "compose": (
        "container",
        "container_confinement",
        "container_operations",
        "processes",
        "compose",
        "compose_container",
    ),
}
"""The modules that register the rules judging each scope's facts, and the rules whose variants judge them there
(`registry.rules_for`); a test checks each list against `load_all`. An image scan never imports the Compose or
Dockerfile rules (and what they parse with)."""


def load_all() -> None:
    """Import every rule module so the registry is complete."""
    for name in RULE_MODULES:
        importlib.import_module(f"dockaudit.rules.{name}")


def load_for(scopes: Iterable[str]) -> None:
    """Import the rule modules of `scopes` (`registry.Scope` values), so the registry is complete for them."""
    for scope in scopes:
        for name in SCOPE_MODULES[str(scope)]:
            importlib.import_module(f"dockaudit.rules.{name}")
