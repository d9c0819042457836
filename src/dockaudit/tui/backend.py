"""The data source the TUI talks to: a protocol with the engine-backed and fixed-data implementations."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from dockaudit.config import Settings
from dockaudit.facts import ContainerFacts, ContainerSummary, ImageFacts, ImageSummary, Inventory
from dockaudit.model import EngineInfo, Report, TargetResult, TrivyInfo

__all__ = ["ContainerSummary", "ImageSummary", "Inventory"]
"""The inventory rows are the collector's own summaries (re-exported for the backends)."""


@dataclass(frozen=True)
class EngineChoice:
    """Which engine the user asked for: `-H`, `--context`, or neither (the resolved default)."""

    host: str | None = None
    context: str | None = None
    config: str | None = None
    """The `--config` file, if one was given."""


@dataclass(frozen=True)
class Progress:
    """A step of one target's audit."""

    key: str
    """The target key (`image:<id>`, `container:<id>`, `host`)."""
    stage: str
    message: str
    fraction: float | None = None


@dataclass(frozen=True)
class Hardening:
    """What the hardening view shows: a unified diff and the full hardened text to save."""

    diff: str
    hardened: str
    filename: str
    """Default file name when saving (`Dockerfile.hardened`, `compose.hardened.yaml`)."""
    extra: str = ""
    """A second artefact shown under the diff (the Compose service of a container)."""
    note: str = ""


@dataclass(frozen=True)
class EngineProblem:
    """Why the engine could not be reached, and what was tried."""

    message: str
    tried: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()


class EventStream(Protocol):
    """Docker events as a blocking iterator that another thread can close."""

    def __iter__(self) -> Iterator[str]:
        """Yield one short description per event, until closed."""
        ...

    def close(self) -> None:
        """Stop the iteration (unblocks a reader in another thread)."""
        ...


ProgressCallback = Callable[[Progress], None]


class TuiBackend(Protocol):
    """Everything the TUI reads or writes goes through here; calls block and run in worker threads."""

    settings: Settings

    def connect(self) -> EngineInfo:
        """Reach the engine; raises `EngineError` with a one-line reason."""
        ...

    def problem(self, error: Exception) -> EngineProblem:
        """Describe a failed `connect` for the error screen."""
        ...

    def now(self) -> datetime:
        """The clock used for ages (fixed in snapshots)."""
        ...

    def trivy_info(self) -> TrivyInfo | None:
        """Trivy version and DB state; None when Trivy is not installed."""
        ...

    def inventory(self) -> Inventory:
        """List images and containers (cheap: no inspect)."""
        ...

    def image_facts(self, image_id: str) -> ImageFacts:
        """Inspect one image (no layer stream) for the Overview pane."""
        ...

    def container_facts(self, container_id: str) -> ContainerFacts:
        """Inspect one container for the Overview pane."""
        ...

    def checklist(
        self, key: str, ref: str, on_progress: ProgressCallback, cancel: threading.Event
    ) -> tuple[TargetResult, ImageFacts | ContainerFacts | None]:
        """Run the checklist on an image or container (`key` says which)."""
        ...

    def trivy(
        self,
        key: str,
        result: TargetResult,
        facts: ImageFacts,
        on_progress: ProgressCallback,
        cancel: threading.Event,
        use_cache: bool,
    ) -> TargetResult:
        """Scan an image with Trivy and merge the scan into its result."""
        ...

    def audit_host(self) -> TargetResult:
        """Host and daemon checks."""
        ...

    def harden_image(self, facts: ImageFacts) -> Hardening:
        """The hardened Dockerfile for an image."""
        ...

    def harden_container(self, facts: ContainerFacts) -> Hardening:
        """The hardened `docker run` and Compose service for a container."""
        ...

    def events(self) -> EventStream:
        """Engine events that change the inventory."""
        ...

    def export(self, report: Report, fmt: str, path: str) -> str:
        """Write `report` atomically; returns the path written."""
        ...

    def add_ignore(self, rule: str, reason: str, target: str, expires: date | None) -> str:
        """Record an ignore in `.dockaudit.toml`; returns the file written."""
        ...

    def reload_settings(self) -> Settings:
        """Re-read the configuration (after an ignore was added)."""
        ...

    def contexts(self) -> list[tuple[str, str]]:
        """Docker CLI contexts as (name, endpoint URL)."""
        ...

    def report(self, targets: tuple[TargetResult, ...]) -> Report:
        """A report over the given results, with this engine and Trivy."""
        ...

    def close(self) -> None:
        """Release the engine connection and any child process."""
        ...


BackendFactory = Callable[[EngineChoice], TuiBackend]


@dataclass
class ScanState:
    """A target's running audit, as the list and the progress bar show it."""

    stage: str = "queued"
    message: str = ""
    fraction: float | None = None
    running: bool = True
    error: str | None = None
    trivy_pending: bool = field(default=False)
