"""What an audit session runs and how (`AuditOptions`), and the progress events it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dockaudit.config import (
    Settings,
)
from dockaudit.records import Record, record
from dockaudit.scanners.trivy_options import ALL_SCANNERS as TRIVY_SCANNER_NAMES

if TYPE_CHECKING:
    from dockaudit.scanners.trivy import TrivyOptions


TRIVY_SCANNERS = TRIVY_SCANNER_NAMES


SCANNER_NAMES = ("checklist", *TRIVY_SCANNERS)
"""Every scanner `--scanners` accepts, in the order help texts list them."""


ALL_SCANNERS = frozenset(SCANNER_NAMES)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@record
class AuditOptions(Record):
    """What to run and how; the defaults run everything with the result cache."""

    settings: Settings
    scanners: frozenset[str] = ALL_SCANNERS
    """Any of `checklist`, `vuln`, `misconfig`, `secret`."""
    trivy: TrivyOptions | None = None
    trivy_path: str | None = None
    use_cache: bool = True
    """False (`--no-cache`) rescans every image; fresh results are still recorded."""
    read_layers: bool = True
    concurrency: int = 4
    """Targets audited at once by `audit_many` and `run_audit`."""
    clock: Callable[[], datetime] = field(default=_utcnow)
    """The report's `generated_at` and the rules' notion of now (fixed in golden tests)."""
    cache_path: Path | None = None
    """The Trivy result cache file; None: the per-user default."""
    harden: bool = True
    """Attach the hardened Dockerfile diff to Dockerfile targets when the harden module can make one."""
    config_dir: Path | None = None
    """Where the settings were looked up (`.dockaudit.toml` upwards); ignores are written here when no file
    was found. None: the settings are fixed (tests, the demo) and `reload_settings` keeps them."""
    config_file: Path | None = None
    """`--config FILE`, when given."""
    dockerfile_target: str | None = None
    """The runtime stage of Dockerfile targets (`--target`); None: the last stage that does not only export or test."""
    healthcheck_url: str | None = None
    """The app's health URL (`harden --healthcheck-url`): the HEALTHCHECK harden adds probes it."""

    @property
    def trivy_scanners(self) -> tuple[str, ...]:
        """The Trivy scanners selected, in Trivy's order."""
        return tuple(s for s in TRIVY_SCANNERS if s in self.scanners)


@record
class ProgressEvent(Record):
    """One step of one target's audit, for progress bars and the TUI's status line."""

    target: str
    stage: str
    """`collect`, `checklist`, `trivy`, `done` or `error`."""
    message: str
    fraction: float | None = None
    engine: str | None = None
    """The engine the target lives on (None for files), so equal names on two engines stay apart."""
    key: str = ""
    """The target's key (`image:<id>`, `container:<id>`, `host`, a path), for callers that track state by it."""


ProgressCallback = Callable[[ProgressEvent], None]
