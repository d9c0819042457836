"""What an audit session reads from: the protocol a connected engine (`dockaudit.engine.source`) and the demo's
made-up facts both implement, so the same rules, scoring, harden and Trivy parsing run on either."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from dockaudit.facts.container import ContainerFacts
    from dockaudit.facts.host import HostFacts
    from dockaudit.facts.image import ImageFacts
    from dockaudit.facts.inventory import ContainerSummary, ImageSummary, Inventory
    from dockaudit.model import EngineInfo, TrivyInfo
    from dockaudit.scanners.trivy_outcome import TrivyScan


class TrivyInput(NamedTuple):
    """How Trivy reads an image: from the engine by reference, or from an exported tarball."""

    docker_host: str | None
    """`unix://...` for a local engine; None when the image must be exported (ssh, tcp)."""
    podman: bool
    export: Callable[[Path], None] | None
    """Writes the saved image to a new private file; None when `docker_host` serves Trivy directly."""


class EventStream(Protocol):
    """Engine events as a blocking iterator that another thread can close."""

    def __iter__(self) -> Iterator[str]:
        """One short description per event, until closed."""
        ...

    def close(self) -> None:
        """Stop the iteration (unblocks a reader in another thread)."""
        ...


class FactSource(Protocol):
    """Facts about one engine's images, containers and host; every method blocks and is thread-safe."""

    @property
    def info(self) -> EngineInfo:
        """Which engine this is."""
        ...

    def inventory(self) -> Inventory:
        """Every image and container (cheap: no inspect)."""
        ...

    def find_container(self, ref: str) -> ContainerSummary | None:
        """The container named (or with the ID) `ref`; None when there is none."""
        ...

    def find_image(self, ref: str) -> ImageSummary | None:
        """The image with reference or ID `ref`; None when there is none."""
        ...

    def running_image_ids(self) -> list[str]:
        """The image of each running container."""
        ...

    def image_facts(
        self,
        ref: str,
        *,
        read_layers: bool = True,
        cancel: threading.Event | None = None,
        allow_secret_names: Iterable[str] = (),
        name_base: bool = False,
    ) -> ImageFacts:
        """Inspect, history and (unless `read_layers` is off) the layers of one image."""
        ...

    def container_facts(self, ref: str, *, allow_secret_names: Iterable[str] = ()) -> ContainerFacts:
        """Inspect (and `top` when running) one container."""
        ...

    def host_facts(self) -> HostFacts:
        """The daemon's settings and the client's config."""
        ...

    def base_image(self, ref: str) -> ImageFacts | None:
        """A base image named in a Dockerfile, with its files, when present."""
        ...

    def with_usage(self, container: ContainerFacts) -> ContainerFacts:
        """The container with a resource usage sample, when it is running."""
        ...

    def trivy_input(self, image_id: str, cancel: threading.Event | None = None) -> TrivyInput:
        """How Trivy reads this image."""
        ...

    def events(self) -> EventStream:
        """Events that change the inventory."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class ImageScanner(Protocol):
    """A vulnerability/misconfiguration/secret scanner of images (Trivy, or the demo's canned results)."""

    @property
    def selected(self) -> tuple[str, ...]:
        """The scanners it runs; empty when off."""
        ...

    def info(self, *, refresh: bool = False) -> TrivyInfo | None:
        """Which scanner runs and the state of its DB; None when off."""
        ...

    def last_scanned(self, image_id: str) -> datetime | None:
        """When the image was last scanned (None: never, or unknown)."""
        ...

    def scan(
        self,
        image: ImageFacts,
        where: TrivyInput | None,
        *,
        archive: Path | None = None,
        cancel: threading.Event | None = None,
        on_progress: Callable[[str], None] | None = None,
        use_cache: bool = True,
    ) -> TrivyScan:
        """Scan one image; failures come back as values."""
        ...
