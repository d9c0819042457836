"""The real backend: the Docker engine through `dockaudit.engine`, audits through `dockaudit.audit`."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from dockaudit import __version__
from dockaudit.audit import AuditOptions, Auditor, ProgressEvent, trivy_info
from dockaudit.config import Settings, add_ignore, default_config_path, load_settings
from dockaudit.engine.client import Endpoint, Engine, connect, list_contexts, resolve_endpoint
from dockaudit.engine.endpoint import alternative_sockets
from dockaudit.errors import DockauditError, EngineError
from dockaudit.facts import ContainerFacts, ImageFacts
from dockaudit.model import DbStatus, EngineInfo, Report, TargetResult, TrivyInfo
from dockaudit.tui.backend import (
    BackendFactory,
    EngineChoice,
    EngineProblem,
    Hardening,
    Inventory,
    Progress,
    ProgressCallback,
)

EVENT_TYPES = ("image", "container")
"""Docker event types that change what the lists show."""


@dataclass(frozen=True)
class EngineBackendOptions:
    """Audit knobs the TUI passes through from its command line."""

    trivy_path: str | None = None
    trivy: Any = None
    """`dockaudit.scanners.trivy.TrivyOptions`, or None for the defaults."""
    cache_path: Path | None = None
    scanners: frozenset[str] | None = None
    """`checklist`, `vuln`, `misconfig`, `secret`; None: all of them."""
    read_layers: bool = True
    timeout: float = 10.0
    """Connect timeout in seconds."""
    cwd: Path = field(default_factory=Path.cwd)
    """Where `.dockaudit.toml` is looked up and written."""


def load_settings_for(cwd: Path, explicit: str | None) -> Settings:
    """Settings from `.dockaudit.toml` upward from `cwd`, or from `explicit` (`--config`)."""
    return load_settings(cwd, Path(explicit) if explicit else None)


class _EventStream:
    """Docker's `/events` stream (a blocking HTTP response), closable from another thread."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[str]:
        for event in self._stream:
            if isinstance(event, dict):
                yield f"{event.get('Type', '?')} {event.get('Action', '?')}"

    def close(self) -> None:
        self._stream.close()


class EngineBackend:
    """Reads one engine; every method blocks and is called from a worker thread."""

    def __init__(self, choice: EngineChoice, settings: Settings, options: EngineBackendOptions) -> None:
        self.settings = settings
        self.choice = choice
        self.options = options
        self.engine: Engine | None = None
        self.endpoint: Endpoint | None = None
        self._resolve_error: Exception | None = None
        self._trivy: TrivyInfo | None = None
        self._trivy_checked = False
        try:
            self.endpoint = resolve_endpoint(choice.host, choice.context)
        except Exception as exc:
            self._resolve_error = exc

    def _engine(self) -> Engine:
        if self.engine is None:
            raise EngineError("not connected")
        return self.engine

    def _audit_options(self, *, use_cache: bool = True) -> AuditOptions:
        kwargs: dict[str, Any] = {
            "settings": self.settings,
            "trivy_path": self.options.trivy_path,
            "use_cache": use_cache,
            "read_layers": self.options.read_layers,
            "cache_path": self.options.cache_path,
        }
        if self.options.trivy is not None:
            kwargs["trivy"] = self.options.trivy
        if self.options.scanners is not None:
            kwargs["scanners"] = self.options.scanners
        return AuditOptions(**kwargs)

    def _auditor(
        self, key: str, on_progress: ProgressCallback | None, cancel: threading.Event | None, *, use_cache: bool = True
    ) -> Auditor:
        def forward(event: ProgressEvent) -> None:
            if on_progress is not None:
                on_progress(Progress(key, event.stage, event.message, event.fraction))

        return Auditor(self.engine, self._audit_options(use_cache=use_cache), on_progress=forward, cancel=cancel)

    def connect(self) -> EngineInfo:
        """Resolve and connect; raises EngineError (or UsageError for conflicting flags)."""
        if self._resolve_error is not None:
            raise self._resolve_error
        assert self.endpoint is not None
        self.engine = connect(self.endpoint, timeout=self.options.timeout)
        return self.engine.info

    def problem(self, error: Exception) -> EngineProblem:
        """What was tried, and the fixes that apply to that kind of endpoint."""
        tried: list[str] = []
        hints: list[str] = []
        endpoint = self.endpoint
        if endpoint is not None:
            tried.append(endpoint.describe())
            if endpoint.scheme == "unix":
                hints.append("Is the engine running? sudo systemctl start docker (or start Docker Desktop / Podman)")
                hints.append("Permission denied? add yourself to the docker group, or use rootless Docker")
                others = [s for s in alternative_sockets() if Path(s).exists() and f"unix://{s}" != endpoint.url]
                hints.extend(f"Another engine socket exists: dockaudit -H unix://{s}" for s in others)
            elif endpoint.scheme == "ssh":
                hints.append(f"Check ssh works on its own: ssh {endpoint.url.removeprefix('ssh://')} docker version")
                hints.append("Keys and jump hosts come from ~/.ssh/config and your ssh agent")
            else:
                hints.append("For tcp:// endpoints check the port, the firewall and the TLS files (DOCKER_CERT_PATH)")
        if os.environ.get("DOCKER_HOST"):
            hints.append(f"DOCKER_HOST is set to {os.environ['DOCKER_HOST']}: unset it to use the current context")
        hints.append("Pick another engine: E, or dockaudit -H URL / --context NAME (docker context ls)")
        return EngineProblem(str(error), tuple(tried), tuple(hints))

    def now(self) -> datetime:
        """The wall clock."""
        return datetime.now(UTC)

    def trivy_info(self) -> TrivyInfo | None:
        """Trivy's version and DB; None when no binary is found (asked once per backend)."""
        if not self._trivy_checked:
            auditor = self._auditor("trivy", None, None)
            if not auditor.options.trivy_scanners:
                self._trivy = TrivyInfo("", DbStatus("skipped", message="Trivy scanners are off"))
            else:
                info = trivy_info(auditor)
                self._trivy = info if info is not None and info.version else None
            self._trivy_checked = True
        return self._trivy

    def inventory(self) -> Inventory:
        """Two list calls."""
        from dockaudit.engine.collect import inventory

        return inventory(self._engine().client)

    def image_facts(self, image_id: str) -> ImageFacts:
        """Inspect and history, no layer stream (fast)."""
        from dockaudit.engine.collect import collect_image

        engine = self._engine()
        return collect_image(
            engine.client,
            image_id,
            read_layers=False,
            engine_id=engine.info.id,
            allow_secret_names=self.settings.allow_secret_names,
        )

    def container_facts(self, container_id: str) -> ContainerFacts:
        """Inspect and top."""
        from dockaudit.engine.collect import collect_container

        engine = self._engine()
        return collect_container(
            engine.client, container_id, engine_id=engine.info.id, allow_secret_names=self.settings.allow_secret_names
        )

    def checklist(
        self, key: str, ref: str, on_progress: ProgressCallback, cancel: threading.Event
    ) -> tuple[TargetResult, ImageFacts | ContainerFacts | None]:
        """The checklist of one image or container."""
        auditor = self._auditor(key, on_progress, cancel)
        if key.startswith("container:"):
            return auditor.audit_container(ref)
        result, facts = auditor.checklist_image(ref)
        return result, facts

    def trivy(
        self,
        key: str,
        result: TargetResult,
        facts: ImageFacts,
        on_progress: ProgressCallback,
        cancel: threading.Event,
        use_cache: bool,
    ) -> TargetResult:
        """Trivy over one image, merged into its checklist result; `cancel` kills the process."""
        auditor = self._auditor(key, on_progress, cancel, use_cache=use_cache)
        return auditor.merge(result, auditor.trivy_image(facts))

    def audit_host(self) -> TargetResult:
        """Host and daemon checks."""
        return self._auditor("host", None, None).audit_host()

    def harden_image(self, facts: ImageFacts) -> Hardening:
        """The Dockerfile reconstructed from history, hardened."""
        from dockaudit.harden.image import harden_image

        hardened = harden_image(facts)
        notes = "\n".join(hardened.notes)
        if hardened.source == "reconstructed":
            notes = ("Reconstructed from the image history: compare with your own Dockerfile.\n" + notes).strip()
        return Hardening(
            diff=hardened.diff("Dockerfile"), hardened=hardened.hardened, filename="Dockerfile.hardened", note=notes
        )

    def harden_container(self, facts: ContainerFacts) -> Hardening:
        """The hardened `docker run` and Compose service, as one diff; the Compose service is what `w` saves."""
        from dockaudit.harden.runtime import harden_container

        image: ImageFacts | None = None
        try:
            image = self.image_facts(facts.image_id)
        except DockauditError:
            image = None  # the image may be gone (dangling container): harden from the container alone
        hardened = harden_container(facts, image)
        return Hardening(
            diff=hardened.diff(),
            hardened=hardened.compose,
            filename="compose.hardened.yaml",
            note="\n".join(hardened.notes),
        )

    def events(self) -> _EventStream:
        """Image and container events (a long-lived GET; no polling)."""
        client = self._engine().client
        return _EventStream(client.events(decode=True, filters={"type": list(EVENT_TYPES)}))

    def export(self, report: Report, fmt: str, path: str) -> str:
        """Render with the report writers and write atomically (mode 0600)."""
        from dockaudit.report import render
        from dockaudit.report.write import write_atomic

        target = Path(path).expanduser()
        write_atomic(target, render(report, fmt))
        return str(target)

    def add_ignore(self, rule: str, reason: str, target: str, expires: date | None) -> str:
        """Append to the config in use, else `.dockaudit.toml` in the working directory."""
        path = Path(self.settings.path) if self.settings.path else default_config_path(self.options.cwd)
        return str(add_ignore(path, rule, reason, target, expires))

    def reload_settings(self) -> Settings:
        """Re-read the configuration."""
        self.settings = load_settings_for(self.options.cwd, self.choice.config)
        return self.settings

    def contexts(self) -> list[tuple[str, str]]:
        """Docker CLI contexts."""
        return [(name, endpoint.url) for name, endpoint in list_contexts()]

    def report(self, targets: tuple[TargetResult, ...]) -> Report:
        """A report of the given results on this engine."""
        engines = (self.engine.info,) if self.engine is not None else ()
        has_images = any(t.kind.value == "image" for t in targets)
        return Report(
            tool_version=__version__,
            generated_at=self.now(),
            engines=engines,
            targets=tuple(sorted(targets, key=TargetResult.sort_key)),
            trivy=self._report_trivy() if has_images else None,
        )

    def _report_trivy(self) -> TrivyInfo | None:
        info = self.trivy_info()
        return info if info is not None and info.version else None

    def close(self) -> None:
        """Close the client and any ssh tunnel."""
        engine, self.engine = self.engine, None
        if engine is not None:
            engine.close()


def engine_backend_factory(settings: Settings, options: EngineBackendOptions | None = None) -> BackendFactory:
    """A factory of engine-backed backends sharing settings and options."""
    opts = options or EngineBackendOptions()

    def build(choice: EngineChoice) -> EngineBackend:
        return EngineBackend(choice, settings, opts)

    return build
