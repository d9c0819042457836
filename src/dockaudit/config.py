"""Settings: rule overrides, allowlists, thresholds and ignores, loaded from `.dockaudit.toml`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from dockaudit.model import Severity


@dataclass(frozen=True)
class Ignore:
    """A suppression: a rule (or finding id) on targets matching a glob, with a reason."""

    rule: str
    reason: str
    target: str = "*"
    expires: date | None = None
    source: str = ""
    """Where it was declared (`path:line`), shown as `suppressed.by`."""


@dataclass(frozen=True)
class Thresholds:
    """Tunable limits of individual rules."""

    stale_days: int = 90
    heavy_base_mb: int = 200
    wasted_share: float = 0.10
    wasted_min_mb: int = 20
    reclaimable_gb: float = 1.0
    scan_max_age_days: int = 7
    db_max_age_days: int = 7


@dataclass(frozen=True)
class Settings:
    """Everything configurable; defaults are the catalog's."""

    severity_overrides: dict[str, Severity] = field(default_factory=dict)
    disabled_rules: frozenset[str] = frozenset()
    allow_setuid_paths: tuple[str, ...] = ()
    allow_secret_names: tuple[str, ...] = ()
    allow_registries: tuple[str, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)
    ignores: tuple[Ignore, ...] = ()
    path: str | None = None
    """The file these settings came from, if any."""
