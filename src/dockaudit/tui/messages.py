"""Messages that workers post to the UI thread; the handlers own all state."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

from textual.message import Message

from dockaudit.audit import AuditSession
from dockaudit.audit_options import ProgressEvent
from dockaudit.errors import EngineProblem
from dockaudit.facts.container import ContainerFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.facts.inventory import Inventory
from dockaudit.model import EngineInfo, TargetResult, TrivyInfo
from dockaudit.tui.backend import Hardening


@dataclass
class Connected(Message):
    """The engine answered (or, with Compose files to audit, did not: `engine` None and the `problem`)."""

    session: AuditSession
    engine: EngineInfo | None
    problem: EngineProblem | None = None
    first_inventory: Future[Inventory] | None = None
    """The engine's first listing, already under way while the main screen is built."""


@dataclass
class ConnectFailed(Message):
    """The engine could not be reached."""

    problem: EngineProblem


@dataclass
class TrivyLoaded(Message):
    """Trivy's version and DB state (None: not installed)."""

    trivy: TrivyInfo | None


@dataclass
class InventoryLoaded(Message):
    """A fresh image and container list."""

    inventory: Inventory


@dataclass
class InventoryFailed(Message):
    """Listing failed."""

    error: str


@dataclass
class EngineEvent(Message):
    """Something changed on the engine (an image was pulled, a container stopped...)."""

    description: str

    def can_replace(self, message: Message) -> bool:
        """A burst of events collapses into one refresh."""
        return isinstance(message, EngineEvent)


@dataclass
class ScanProgress(Message):
    """A step of one target's audit."""

    progress: ProgressEvent

    def can_replace(self, message: Message) -> bool:
        """Only the latest progress of a target matters."""
        return isinstance(message, ScanProgress) and message.progress.key == self.progress.key


@dataclass
class ChecklistDone(Message):
    """The checklist result of a target (Trivy may still be running)."""

    key: str
    result: TargetResult
    facts: ImageFacts | ContainerFacts | None
    trivy_pending: bool


@dataclass
class TrivyDone(Message):
    """The result with Trivy's findings merged in."""

    key: str
    result: TargetResult


@dataclass
class AuditFailed(Message):
    """A target's audit failed or was cancelled."""

    key: str
    error: str
    cancelled: bool = False


@dataclass
class FactsLoaded(Message):
    """Inspect facts of the highlighted target, for the Overview."""

    key: str
    facts: ImageFacts | ContainerFacts


@dataclass
class HardeningLoaded(Message):
    """The hardened Dockerfile or run command of a target."""

    key: str
    hardening: Hardening | None
    error: str = ""
