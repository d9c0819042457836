"""The demo engine: made-up engine facts (image configs, histories, layer files, container inspects, Trivy
JSON) that the real rules, scoring, harden and Trivy parsing judge, so the demo shows what dockaudit would
really say about such images. Used by `dockaudit --demo`, the TUI snapshots and the TUI benchmark. The made-up
images and containers themselves are in `demo_catalog`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from dockaudit.demo_catalog import (
    DEMO_CONTAINERS,
    DEMO_ENGINE,
    DEMO_IMAGES,
    MB,
    NOW,
    DemoImage,
    demo_container_facts,
    demo_container_id,
    demo_image_facts,
    demo_image_id,
    demo_trivy_json,
)
from dockaudit.errors import EngineError
from dockaudit.facts.container import ContainerFacts
from dockaudit.facts.host import HostFacts, RegistryAuth
from dockaudit.facts.image import ImageFacts
from dockaudit.facts.inventory import ContainerSummary, ImageSummary, Inventory
from dockaudit.model import DbStatus, EngineInfo, TrivyInfo
from dockaudit.scanners.trivy_outcome import TrivyScan
from dockaudit.scanners.trivy_parse import parse_report
from dockaudit.source import TrivyInput


@dataclass
class _Events:
    """A stream with no events, that blocks until closed."""

    closed: threading.Event = field(default_factory=threading.Event)

    def __iter__(self) -> Iterator[str]:
        self.closed.wait()
        return iter(())

    def close(self) -> None:
        self.closed.set()


class DemoSource:
    """A made-up engine: six images (`extra_images` more for benchmarks), four containers, a daemon."""

    def __init__(self, *, extra_images: int = 0, extra_containers: int = 0, context: str = "demo") -> None:
        self._info = replace(DEMO_ENGINE, context=context) if context != DEMO_ENGINE.context else DEMO_ENGINE
        specs = list(DEMO_IMAGES)
        specs += [
            replace(
                DEMO_IMAGES[3],
                name=f"team{i % 17}/svc{i}:{i % 9}.{i % 5}.0",
                size=(50 + i % 700) * MB,
                age_days=i % 365,
            )
            for i in range(extra_images)
        ]
        self._specs: dict[str, DemoImage] = {demo_image_id(s.name): s for s in specs}
        self._by_name = {s.name: image_id for image_id, s in self._specs.items()}
        rows = []
        for image_id, spec in self._specs.items():
            rows.append(
                ImageSummary(
                    image_id,
                    (spec.name,) if spec.name != "<none>" else (),
                    (),
                    spec.size,
                    NOW - timedelta(days=spec.age_days, hours=2),
                )
            )
        names = [s.name for s in specs]
        containers = list(DEMO_CONTAINERS) + [
            (f"job-{i}", names[i % len(names)], "running" if i % 3 else "exited", "Up 1 hour", i % 30)
            for i in range(extra_containers)
        ]
        self._containers = {
            demo_container_id(name): ContainerSummary(
                demo_container_id(name),
                name,
                image,
                demo_image_id(image),
                state,
                status,
                NOW - timedelta(days=age, hours=3),
            )
            for name, image, state, status, age in containers
        }
        counts: dict[str, int] = {}
        for c in self._containers.values():
            counts[c.image_id] = counts.get(c.image_id, 0) + 1
        self._rows = tuple(replace(r, containers=counts.get(r.id, 0)) for r in rows)

    @property
    def info(self) -> EngineInfo:
        """The demo engine."""
        return self._info

    def inventory(self) -> Inventory:
        """The fixed lists."""
        return Inventory(images=self._rows, containers=tuple(self._containers.values()))

    def _image_id(self, ref: str) -> str | None:
        if ref in self._specs:
            return ref
        return self._by_name.get(ref) or next(
            (i for i in self._specs if i.removeprefix("sha256:").startswith(ref)), None
        )

    def find_container(self, ref: str) -> ContainerSummary | None:
        """A demo container by name or ID."""
        return next((c for c in self._containers.values() if ref in (c.name, c.id) or c.id.startswith(ref)), None)

    def find_image(self, ref: str) -> ImageSummary | None:
        """A demo image by reference or ID."""
        image_id = self._image_id(ref)
        return next((r for r in self._rows if r.id == image_id), None)

    def running_image_ids(self) -> list[str]:
        """Images of the running demo containers."""
        return sorted({c.image_id for c in self._containers.values() if c.running})

    def image_facts(
        self,
        ref: str,
        *,
        read_layers: bool = True,
        cancel: threading.Event | None = None,
        allow_secret_names: Iterable[str] = (),
        name_base: bool = False,
    ) -> ImageFacts:
        """The facts an engine would give for a demo image."""
        image_id = self._image_id(ref)
        if image_id is None:
            raise EngineError(f"inspecting image {ref}: not found")
        spec = self._specs[image_id]
        facts = demo_image_facts(spec, image_id, spec.name, tuple(allow_secret_names))
        if not read_layers:
            facts = replace(
                facts,
                filesystem=None,
                filesystem_skip_reason="the layers were not read (a quick inspect-only collection)",
            )
        return facts

    def container_facts(self, ref: str, *, allow_secret_names: Iterable[str] = ()) -> ContainerFacts:
        """The facts an engine would give for a demo container."""
        row = self.find_container(ref)
        if row is None:
            raise EngineError(f"inspecting container {ref}: not found")
        return demo_container_facts(row, self._specs.get(row.image_id), tuple(allow_secret_names))

    def host_facts(self) -> HostFacts:
        """A daemon with the usual gaps: TCP without TLS, plain-text credentials, no live-restore."""
        return HostFacts(
            engine=DEMO_ENGINE.id,
            endpoint=DEMO_ENGINE.endpoint,
            server_version=DEMO_ENGINE.server_version or "",
            api_version=DEMO_ENGINE.api_version or "",
            os="Debian GNU/Linux 12 (bookworm)",
            kernel="6.1.0-27-amd64",
            security_options=("name=seccomp,profile=builtin", "name=cgroupns"),
            logging_driver="json-file",
            daemon_json={"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]},
            daemon_hosts=("unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"),
            client_config_path="~/.docker/config.json",
            registry_auths=(RegistryAuth("registry.example.com", True, False),),
            reclaimable_bytes=2_400 * MB,
            images_count=len(self._rows),
            containers_count=len(self._containers),
        )

    def base_image(self, ref: str) -> ImageFacts | None:
        """A demo image by name, when the demo has it."""
        image_id = self._image_id(ref)
        return self.image_facts(image_id) if image_id is not None else None

    def with_usage(self, container: ContainerFacts) -> ContainerFacts:
        """A plausible `docker stats` sample."""
        if not container.state.running:
            return container
        return replace(container, stats_memory_bytes=180 * MB, stats_cpu_percent=12.0, stats_pids=9)

    def trivy_input(self, image_id: str, cancel: threading.Event | None = None) -> TrivyInput:
        """The demo scanner reads its canned reports; nothing is exported."""
        return TrivyInput(None, False, None)

    def trivy_report(self, image_id: str) -> str:
        """The canned Trivy JSON of a demo image."""
        spec = self._specs[image_id]
        return demo_trivy_json(spec, demo_image_facts(spec, image_id, spec.name, ()))

    def events(self) -> _Events:
        """No events ever happen on the demo engine."""
        return _Events()

    def close(self) -> None:
        """Nothing to release."""


class DemoScanner:
    """Trivy's answers for the demo images: canned JSON reports, read by the real Trivy parser."""

    def __init__(self, source: DemoSource, *, hang: bool = False) -> None:
        self._source = source
        self.hang = hang
        """Never finish (until cancelled), so a scan in progress can be shown."""
        self.cancelled = threading.Event()
        """Set when a hanging scan was cancelled."""

    @property
    def selected(self) -> tuple[str, ...]:
        """The scanners the demo answers for."""
        return ("vuln",)

    def info(self, *, refresh: bool = False) -> TrivyInfo:
        """A Trivy with a two-day-old DB."""
        return TrivyInfo("0.76.0", DbStatus("ok", updated_at=NOW - timedelta(days=2), schema=2))

    def last_scanned(self, image_id: str) -> datetime | None:
        """The demo images were scanned an hour ago."""
        return NOW - timedelta(hours=1)

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
        """The canned report of the image, parsed as Trivy's output is."""
        if on_progress is not None:
            on_progress("scanning")
        if self.hang:
            if cancel is not None:
                cancel.wait()
            self.cancelled.set()
            return TrivyScan("skipped", "cancelled")
        report = parse_report(self._source.trivy_report(image.id))
        return TrivyScan("ok", "", report.findings, raw_schema_version=report.schema_version, scanned_at=NOW)
