"""Rule metadata as the report writers need it: the registry's catalog, or one a caller supplies."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Protocol

from dockaudit.model import Severity


class RuleMeta(Protocol):
    """The descriptive part of a registry `Rule` (its check and fix builder are not needed here)."""

    @property
    def id(self) -> str: ...
    @property
    def slug(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def section(self) -> str: ...
    @property
    def rationale(self) -> str: ...
    @property
    def references(self) -> tuple[str, ...]: ...


Catalog = Mapping[str, RuleMeta]


def registry_catalog() -> Catalog:
    """Every registered rule, loading the rule modules that exist so far."""
    from dockaudit.rules import load_all
    from dockaudit.rules.registry import RULES

    # A tree where some rule modules are missing still reports with the rules it has.
    with contextlib.suppress(ImportError):
        load_all()
    return RULES
