"""The audit session: one per engine (or none, for files), shared by `dockaudit scan`, `harden` and the TUI.

A session owns what every audit of its engine shares: the fact source (the engine connection), the settings
(overrides, ignores, thresholds), the Trivy probe (once) and result cache, and the concurrency bound. Targets
go collect → rules → Trivy → settings and score; every failure is a value on its target, and a cancel event
reaches the Trivy subprocess.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockaudit import __version__
from dockaudit.config import Ignore, Settings, add_ignore, apply_config, default_config_path, load_settings
from dockaudit.errors import CancelledError, DockauditError, EngineProblem, UsageError
from dockaudit.facts import ImageFacts
from dockaudit.model import (
    INPUT_STAGE,
    EngineInfo,
    Finding,
    ImageRef,
    Report,
    ScanError,
    TargetKind,
    TargetResult,
    TrivyInfo,
)
from dockaudit.rules.registry import RuleContext, Scope
from dockaudit.scanners.trivy_options import ALL_SCANNERS as TRIVY_SCANNER_NAMES
from dockaudit.score import score
from dockaudit.targets import ResolvedTarget, short_ref

if TYPE_CHECKING:
    from dockaudit.engine.fleet import EngineFailure, EngineSpec
    from dockaudit.facts import BaseImage, ComposeProject, ComposeService, ContainerFacts, DockerfileFacts, Inventory
    from dockaudit.harden.compose import ComposeHardening
    from dockaudit.harden.result import HardenResult
    from dockaudit.harden.runtime import RuntimeHardening
    from dockaudit.live_compose import ComposeGrouping, ComposeLabels
    from dockaudit.scanners.trivy import TrivyOptions, TrivyScan
    from dockaudit.source import EventStream, FactSource, ImageScanner

TRIVY_SCANNERS = TRIVY_SCANNER_NAMES
SCANNER_NAMES = ("checklist", *TRIVY_SCANNERS)
"""Every scanner `--scanners` accepts, in the order help texts list them."""
ALL_SCANNERS = frozenset(SCANNER_NAMES)
IMAGE_SCOPES = (Scope.IMAGE, Scope.HISTORY, Scope.FILESYSTEM)
DOCKERFILE_IMAGE_SCOPES = (Scope.IMAGE, Scope.HISTORY)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AuditOptions:
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


@dataclass(frozen=True)
class ProgressEvent:
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


class AuditSession:
    """Audits the targets of one engine (`source` None: files only); thread-safe, one per engine."""

    def __init__(
        self,
        source: FactSource | None,
        options: AuditOptions,
        *,
        scanner: ImageScanner | None = None,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.source = source
        self.options = options
        self.on_progress = on_progress
        """Default progress callback of every audit (the CLI's progress bar)."""
        self.cancel = cancel if cancel is not None else threading.Event()
        """Default cancel event of every audit; set it to stop queued targets and running Trivy processes."""
        self._lock = threading.Lock()
        self._scanner: ImageScanner | None = scanner
        self._raw: dict[tuple[TargetKind, str | None, str], TargetResult] = {}
        self._scanned = False
        self._live_projects: dict[tuple[object, ...], ComposeProject | None] = {}
        self.matched_ignores: set[Ignore] = set()
        """Ignores that matched some finding so far (the rest are reported as stale)."""

    # ---- what the session is ----------------------------------------------------------------------

    @property
    def engine_id(self) -> str | None:
        """The id targets of this session record; None for files."""
        return self.source.info.id if self.source is not None else None

    @property
    def info(self) -> EngineInfo | None:
        """The engine this session reads; None for files."""
        return self.source.info if self.source is not None else None

    @property
    def settings(self) -> Settings:
        """The settings every audit applies."""
        return self.options.settings

    def reload_settings(self) -> Settings:
        """Read the configuration file again (after it changed); fixed settings stay as they are."""
        if self.options.config_dir is not None:
            settings = load_settings(self.options.config_dir, self.options.config_file)
            with self._lock:
                self.options = replace(self.options, settings=settings)
        return self.settings

    def add_ignore(self, rule: str, reason: str, target: str, expires: date | None) -> Path:
        """Write an ignore to the configuration file in use (else `.dockaudit.toml` where settings were looked
        up), and apply it from now on; `rescore` shows its effect on results already made."""
        if self.settings.path:
            path = Path(self.settings.path)
        elif self.options.config_dir is not None:
            path = default_config_path(self.options.config_dir)
        else:
            raise DockauditError("these settings are not read from a file, so an ignore cannot be saved")
        written = add_ignore(path, rule, reason, target, expires)
        if self.options.config_dir is None:
            # A session with fixed settings (the demo) still honours the file it wrote.
            with self._lock:
                self.options = replace(self.options, settings=load_settings(path.parent, path))
        else:
            self.reload_settings()
        return written

    @property
    def scanner(self) -> ImageScanner:
        """Trivy for this session, with options derived from the settings (built on first use)."""
        with self._lock:
            if self._scanner is None:
                from dockaudit.scanners.trivy import TrivyScanner

                self._scanner = TrivyScanner(
                    self.trivy_options(),
                    trivy_path=self.options.trivy_path,
                    cache_path=self.options.cache_path,
                    clock=self.options.clock,
                )
            return self._scanner

    def trivy_options(self) -> TrivyOptions:
        """Trivy's options: the caller's, with the selected scanners and the DB age threshold of the settings."""
        from dockaudit.scanners.trivy import TrivyOptions

        base = self.options.trivy if self.options.trivy is not None else TrivyOptions()
        return replace(
            base,
            scanners=self.options.trivy_scanners,
            db_max_age_days=self.settings.thresholds.db_max_age_days,
        )

    def trivy_info(self) -> TrivyInfo | None:
        """Which Trivy runs and its DB's state (probed once); None when no Trivy scanner is selected."""
        if not self.options.trivy_scanners:
            return None
        return self.scanner.info()

    # ---- reading the engine (for the TUI's lists and panes) --------------------------------------------

    def _source(self) -> FactSource:
        if self.source is None:
            raise DockauditError("no engine to read from")
        return self.source

    def inventory(self) -> Inventory:
        """Every image and container of the engine."""
        return self._source().inventory()

    def image_overview(self, image_id: str) -> ImageFacts:
        """An image's inspect and history, without reading its layers (fast)."""
        return self._source().image_facts(
            image_id, read_layers=False, allow_secret_names=self.settings.allow_secret_names
        )

    def container_overview(self, container_id: str) -> ContainerFacts:
        """A container's inspect and processes."""
        return self._source().container_facts(container_id, allow_secret_names=self.settings.allow_secret_names)

    def events(self) -> EventStream:
        """Engine events that change the inventory."""
        return self._source().events()

    def compose_groups(self, inventory: Inventory | None = None) -> ComposeGrouping:
        """The engine's containers by Compose project and service (from their labels), and the others."""
        from dockaudit.live_compose import group_by_project

        return group_by_project((inventory if inventory is not None else self.inventory()).containers)

    # ---- Compose files ------------------------------------------------------------------------------

    def compose_project(
        self, files: Sequence[str | Path], *, profiles: Sequence[str] = (), env_files: Sequence[str | Path] = ()
    ) -> ComposeProject:
        """A Compose project (files merged in order, or one project directory) read through Compose itself;
        raises `ComposeFileError` (exit 2) with Compose's own message, `ComposeUnavailableError` (exit 3)."""
        from dockaudit.targets import ComposeOptions

        options = ComposeOptions(
            profiles=tuple(profiles),
            env_files=tuple(str(e) for e in env_files),
            allow_secret_names=tuple(self.settings.allow_secret_names),
        )
        return options.load(files)

    def compose_targets(self, project: ComposeProject) -> list[ResolvedTarget]:
        """Every service of a project as a target for `audit` (`project/service`)."""
        from dockaudit.targets import compose_targets

        return compose_targets(project)

    def harden_compose(self, project: ComposeProject) -> ComposeHardening:
        """The hardened Compose files of a project, validated by Compose; services' images read from the engine
        when it has them (their users, writable paths and healthchecks decide the edits)."""
        from dockaudit.harden.compose import harden_compose

        return harden_compose(project, image_lookup=self._service_image_lookup(), ctx=self._context())

    def _service_image_lookup(self) -> Callable[[ComposeService], ImageFacts | None]:
        source = self.source
        cache: dict[str, ImageFacts | None] = {}

        def lookup(service: ComposeService) -> ImageFacts | None:
            if source is None:
                return None
            refs = [service.image] if service.image else []
            if service.build is not None:
                refs.append(f"{service.project}-{service.name}")
            for ref in refs:
                if ref not in cache:
                    try:
                        found = source.find_image(ref)
                        cache[ref] = (
                            None
                            if found is None
                            else source.image_facts(found.id, allow_secret_names=self.settings.allow_secret_names)
                        )
                    except DockauditError:
                        cache[ref] = None
                if cache[ref] is not None:
                    return cache[ref]
            return None

        return lookup

    # ---- plumbing -----------------------------------------------------------------------------------

    def _progress(
        self,
        callback: ProgressCallback | None,
        key: str,
        target: str,
        stage: str,
        message: str,
        fraction: float | None = None,
    ) -> None:
        callback = callback if callback is not None else self.on_progress
        if callback is None:
            return
        # A display callback must never fail an audit.
        with contextlib.suppress(Exception):
            callback(ProgressEvent(target, stage, message, fraction, self.engine_id, key))

    def _context(self, extra: Mapping[str, Any] | None = None) -> RuleContext:
        return RuleContext(settings=self.settings, now=self.options.clock(), extra=dict(extra or {}))

    def _finish(self, raw: TargetResult) -> TargetResult:
        """Apply the settings (overrides, suppressions, disabled rules) and score; keep the raw result for
        `rescore`."""
        with self._lock:
            self._raw[(raw.kind, raw.engine, raw.id)] = raw
        return self._settle(raw)

    def _settle(self, raw: TargetResult) -> TargetResult:
        settings = self.settings
        applied = apply_config(list(raw.findings), raw.name, settings, self.options.clock().date())
        with self._lock:
            self.matched_ignores |= applied.matched
        passed = tuple(sorted(p for p in set(raw.passed) if p not in settings.disabled_rules))
        findings = sorted(
            (f for f in applied.findings if f.rule_id not in settings.disabled_rules), key=Finding.sort_key
        )
        value, grade = score(findings)
        return replace(raw, findings=tuple(findings), passed=passed, score=value, grade=grade)

    def rescore(self, result: TargetResult) -> TargetResult:
        """The result again under the current settings (after an ignore was added or removed)."""
        with self._lock:
            raw = self._raw.get((result.kind, result.engine, result.id))
        return self._settle(raw) if raw is not None else result

    def _failed(
        self, result: TargetResult, stage: str, exc: BaseException, callback: ProgressCallback | None = None
    ) -> TargetResult:
        message = str(exc) if isinstance(exc, DockauditError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, UsageError):
            # The user's own file is unreadable or invalid: bad input (exit 2), not a tool failure (exit 3).
            stage = INPUT_STAGE
        self._progress(callback, result.id, result.name, "error", f"{stage} failed: {message}")
        scans = dict(result.scans)
        scans[stage if stage in ("checklist", "trivy") else "checklist"] = f"failed: {message}"
        return replace(result, scans=scans, errors=(*result.errors, ScanError(stage, message)))

    def _rules(
        self, scopes: Sequence[Scope], facts: object, extra: Mapping[str, Any] | None = None
    ) -> tuple[list[Finding], list[str]]:
        from dockaudit.rules import load_all
        from dockaudit.rules.registry import evaluate

        load_all()
        findings, passed = evaluate(scopes, facts, self._context(extra))
        return findings, passed

    # ---- one target, in two steps (the TUI shows the checklist before Trivy finishes) -------------------

    def checklist(
        self,
        target: ResolvedTarget,
        *,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> tuple[TargetResult, ImageFacts | ContainerFacts | None]:
        """Collect a target's facts and run the checklist (no Trivy); the facts let `scan` follow."""
        cancel = cancel if cancel is not None else self.cancel
        if target.kind is TargetKind.IMAGE:
            return self._checklist_image(target, on_progress, cancel)
        if target.kind is TargetKind.CONTAINER:
            return self._checklist_container(target, on_progress)
        if target.kind is TargetKind.HOST:
            return self._audit_host(on_progress), None
        if target.kind is TargetKind.COMPOSE_SERVICE:
            return self._checklist_service(target, on_progress), None
        return self._audit_path(Path(target.ref), on_progress, cancel), None

    def _checklist_image(
        self, target: ResolvedTarget, on_progress: ProgressCallback | None, cancel: threading.Event
    ) -> tuple[TargetResult, ImageFacts | None]:
        ref = target.ref
        name = short_ref(ref)
        placeholder = TargetResult(
            kind=TargetKind.IMAGE,
            engine=self.engine_id,
            id=target.id or ref,
            name=target.name or name,
            scans={"checklist": "failed"},
        )
        self._progress(on_progress, target.key, name, "collect", "reading image")
        try:
            facts = self._source().image_facts(
                ref,
                read_layers=self.options.read_layers,
                cancel=cancel,
                allow_secret_names=self.settings.allow_secret_names,
            )
        except Exception as exc:
            return self._failed(placeholder, "collect", exc, on_progress), None
        self._progress(on_progress, target.key, name, "checklist", "running the checklist")
        return self._image_result(facts, TargetKind.IMAGE, facts.name), facts

    def _image_result(self, facts: ImageFacts, kind: TargetKind, name: str) -> TargetResult:
        scans = {"checklist": "ok"}
        errors: tuple[ScanError, ...] = ()
        if facts.filesystem is not None:
            scans["layers"] = "ok"
        elif facts.filesystem_error:
            # The stream was asked for and broke (cut, engine gone): the filesystem rules did not run.
            scans["layers"] = f"failed: {facts.filesystem_error}"
            errors = (ScanError("layers", facts.filesystem_error),)
        else:
            scans["layers"] = f"skipped: {facts.filesystem_skip_reason or 'not read'}"
        result = TargetResult(
            kind=kind,
            engine=facts.engine if kind is TargetKind.IMAGE else None,
            id=facts.id,
            name=name,
            image=ImageRef(id=facts.id, ref=name),
            scans=scans,
            errors=errors,
        )
        if "checklist" not in self.options.scanners:
            return self._finish(replace(result, scans={**scans, "checklist": "skipped"}))
        try:
            findings, passed = self._rules(IMAGE_SCOPES, facts)
        except Exception as exc:
            return self._failed(result, "checklist", exc)
        return self._finish(replace(result, findings=tuple(findings), passed=tuple(passed)))

    def _checklist_container(
        self, target: ResolvedTarget, on_progress: ProgressCallback | None
    ) -> tuple[TargetResult, ContainerFacts | None]:
        """The runtime checklist (DA4xx) over one container; its image's findings belong to the image."""
        ref = target.ref
        placeholder = TargetResult(
            kind=TargetKind.CONTAINER,
            engine=self.engine_id,
            id=target.id or ref,
            name=target.name or ref,
            scans={"checklist": "failed"},
        )
        self._progress(on_progress, target.key, placeholder.name, "collect", "inspecting container")
        try:
            facts = self._source().container_facts(ref, allow_secret_names=self.settings.allow_secret_names)
        except Exception as exc:
            return self._failed(placeholder, "collect", exc, on_progress), None
        result = TargetResult(
            kind=TargetKind.CONTAINER,
            engine=self.engine_id,
            id=facts.id,
            name=facts.name,
            image=ImageRef(id=facts.image_id, ref=short_ref(facts.image_ref)),
            scans={"checklist": "ok"},
        )
        if "checklist" not in self.options.scanners:
            return self._finish(replace(result, scans={"checklist": "skipped"})), facts
        try:
            findings, passed = self._rules((Scope.CONTAINER,), facts)
            findings = self._point_at_compose(facts, findings)
        except Exception as exc:
            return self._failed(result, "checklist", exc, on_progress), facts
        return self._finish(replace(result, findings=tuple(findings), passed=tuple(passed))), facts

    # ---- Compose services, in files and live ---------------------------------------------------------

    def _checklist_service(self, target: ResolvedTarget, on_progress: ProgressCallback | None) -> TargetResult:
        """DA7xx and the DA4xx rules a definition can decide over one Compose service; with `--with-images`, its
        image's (or its `build:` Dockerfile's) user and healthcheck feed them."""
        from dockaudit.facts import ServiceFacts
        from dockaudit.rules.compose import evaluate_service

        name = target.name or target.ref
        result = TargetResult(
            kind=TargetKind.COMPOSE_SERVICE,
            engine=None,
            id=target.id or target.ref,
            name=name,
            scans={"checklist": "ok"},
        )
        project = target.compose
        service = project.service(target.service) if project is not None else None
        if service is None:
            problem = DockauditError(f"{name}: the Compose project has no service {target.service!r}")
            return self._failed(replace(result, scans={"checklist": "failed"}), "collect", problem, on_progress)
        self._progress(on_progress, target.key, name, "checklist", "running the checklist")
        image, scans = self._service_image(target, service)
        result = replace(result, scans={**result.scans, **scans})
        if image is not None and target.image_id:
            result = replace(result, image=ImageRef(id=image.id, ref=short_ref(service.image or image.name)))
        if "checklist" not in self.options.scanners:
            return self._finish(replace(result, scans={**result.scans, "checklist": "skipped"}))
        try:
            findings, passed = evaluate_service(ServiceFacts(service, image), self._context())
        except Exception as exc:
            return self._failed(result, "checklist", exc, on_progress)
        return self._finish(replace(result, findings=tuple(findings), passed=tuple(passed)))

    def _service_image(
        self, target: ResolvedTarget, service: ComposeService
    ) -> tuple[ImageFacts | None, dict[str, str]]:
        """The image facts a service's rules read: its image on this engine, else its `build:` Dockerfile's."""
        if target.image_id and self.source is not None:
            try:
                facts = self.source.image_facts(
                    target.image_id, read_layers=False, allow_secret_names=self.settings.allow_secret_names
                )
            except DockauditError as exc:
                return None, {"image": f"failed: {exc}"}
            return facts, {"image": "ok"}
        if target.dockerfile:
            from dockaudit.parse.dockerfile import parse_dockerfile
            from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile

            try:
                parsed = parse_dockerfile(Path(target.dockerfile), self.settings.allow_secret_names)
            except Exception as exc:
                return None, {"image": f"failed: {target.dockerfile}: {exc}"}
            return image_facts_from_dockerfile(parsed), {"image": f"ok: from {target.dockerfile}"}
        return None, {}

    def _point_at_compose(self, facts: ContainerFacts, findings: list[Finding]) -> list[Finding]:
        """A Compose-started container's findings pointed at its service's lines, when its files are readable here."""
        from dockaudit.facts import ServiceFacts
        from dockaudit.live_compose import compose_labels, point_at_compose
        from dockaudit.rules.compose import evaluate_service

        labels = compose_labels(facts.labels)
        if labels is None or not labels.readable:
            return findings
        project = self._live_project(labels)
        service = project.service(labels.service) if project is not None else None
        if service is None:
            return findings
        service_findings, _ = evaluate_service(ServiceFacts(service), self._context())
        return point_at_compose(findings, service, service_findings)

    def _live_project(self, labels: ComposeLabels) -> ComposeProject | None:
        """The project a live container came from, read once per version of its files; None when Compose cannot
        read it here (a variable only the original shell had, Compose missing)."""

        from dockaudit.parse.compose import load_project

        env_files = [f for f in labels.env_files if Path(f).is_file()]
        try:
            stamps = tuple(Path(f).stat().st_mtime_ns for f in (*labels.config_files, *env_files))
        except OSError:
            return None
        key = (labels.project, labels.working_dir, labels.config_files, tuple(env_files), stamps)
        with self._lock:
            if key in self._live_projects:
                return self._live_projects[key]
        project: ComposeProject | None
        try:
            project = load_project(
                labels.config_files,
                project_dir=labels.working_dir or None,
                project_name=labels.project,
                env_files=env_files,
                allow_secret_names=self.settings.allow_secret_names,
            )
        except DockauditError:
            project = None
        with self._lock:
            self._live_projects[key] = project
        return project

    def _scan_ages(self) -> dict[str, datetime | None] | None:
        """Last scan time of each running container's image, for DA510; None when that cannot be known."""
        if self.source is None:
            return None
        try:
            running = self.source.running_image_ids()
        except DockauditError:
            return None
        scanner = self.scanner
        return {image_id: scanner.last_scanned(image_id) for image_id in running}

    def _audit_host(self, on_progress: ProgressCallback | None) -> TargetResult:
        """The daemon and client checks (DA5xx) of this engine."""
        ident = self.engine_id or "local"
        result = TargetResult(
            kind=TargetKind.HOST, engine=self.engine_id, id=ident, name=ident, scans={"checklist": "ok"}
        )
        self._progress(on_progress, "host", ident, "collect", "reading the daemon's settings")
        try:
            facts = self._source().host_facts()
        except Exception as exc:
            return self._failed(result, "collect", exc, on_progress)
        extra: dict[str, Any] = {}
        ages = self._scan_ages()
        if ages is not None:
            extra["scan_ages"] = ages
        try:
            findings, passed = self._rules((Scope.HOST,), facts, extra)
        except Exception as exc:
            return self._failed(result, "checklist", exc, on_progress)
        return self._finish(replace(result, findings=tuple(findings), passed=tuple(passed)))

    def scan(
        self,
        result: TargetResult,
        facts: ImageFacts,
        *,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        use_cache: bool | None = None,
        archive: Path | None = None,
    ) -> TargetResult:
        """Trivy over an image whose checklist is done, merged into its result: one finding per problem."""
        from dockaudit.scanners.trivy import TrivyScan

        cancel = cancel if cancel is not None else self.cancel
        if not self.options.trivy_scanners:
            return self._merge(result, TrivyScan("skipped", ""))
        key = result.id

        def progress(message: str) -> None:
            self._progress(on_progress, key, result.name, "trivy", message)

        progress("scanning with Trivy")
        if archive is not None:
            where = None
        elif self.source is not None:
            where = self.source.trivy_input(facts.id, cancel)
        else:
            return self._merge(result, TrivyScan("skipped", "no engine"))
        with self._lock:
            self._scanned = True
        outcome = self.scanner.scan(
            facts,
            where,
            archive=archive,
            cancel=cancel,
            on_progress=progress,
            use_cache=self.options.use_cache if use_cache is None else use_cache,
        )
        return self._merge(result, outcome)

    def _merge(self, result: TargetResult, outcome: TrivyScan) -> TargetResult:
        from dockaudit.scanners.trivy import merge_findings

        with self._lock:
            raw = self._raw.get((result.kind, result.engine, result.id), result)
        scans = {**raw.scans, "trivy": outcome.summary}
        errors = raw.errors
        if outcome.status == "failed":
            errors = (*errors, ScanError("trivy", outcome.reason))
        merged = merge_findings(list(raw.findings), list(outcome.findings))
        return self._finish(replace(raw, findings=tuple(merged), scans=scans, errors=errors))

    # ---- files -----------------------------------------------------------------------------------------

    def _audit_path(self, path: Path, on_progress: ProgressCallback | None, cancel: threading.Event) -> TargetResult:
        """A saved image tarball, a Dockerfile, or a project directory (its Dockerfile and build context)."""
        from dockaudit.targets import file_target

        try:
            target = file_target(str(path))
        except DockauditError as exc:
            result = TargetResult(kind=TargetKind.DOCKERFILE, engine=None, id=str(path), name=str(path))
            return self._failed(result, "collect", exc, on_progress)
        if target is None:
            result = TargetResult(kind=TargetKind.DOCKERFILE, engine=None, id=str(path), name=str(path))
            return self._failed(result, "collect", DockauditError(f"{path}: no such file or directory"), on_progress)
        if target.kind is TargetKind.IMAGE_ARCHIVE:
            return self._audit_archive(Path(target.ref), str(path), on_progress, cancel)
        return self._audit_dockerfile(Path(target.ref), target.name, on_progress)

    def _audit_archive(
        self, path: Path, name: str, on_progress: ProgressCallback | None, cancel: threading.Event
    ) -> TargetResult:
        from dockaudit.engine.collect import image_facts_from_archive
        from dockaudit.engine.layers import ArchiveError

        placeholder = TargetResult(
            kind=TargetKind.IMAGE_ARCHIVE, engine=None, id=name, name=name, scans={"checklist": "failed"}
        )
        self._progress(on_progress, name, name, "collect", "reading the image archive")
        try:
            facts = image_facts_from_archive(path, cancel=cancel, allow_secret_names=self.settings.allow_secret_names)
        except ArchiveError as exc:
            return self._failed(placeholder, INPUT_STAGE, exc, on_progress)
        except Exception as exc:
            return self._failed(placeholder, "collect", exc, on_progress)
        result = self._image_result(facts, TargetKind.IMAGE_ARCHIVE, name)
        return self.scan(result, facts, on_progress=on_progress, cancel=cancel, archive=path)

    def _audit_dockerfile(self, path: Path, name: str, on_progress: ProgressCallback | None) -> TargetResult:
        from dockaudit.parse.dockerfile import parse_dockerfile

        result = TargetResult(kind=TargetKind.DOCKERFILE, engine=None, id=name, name=name, scans={"checklist": "ok"})
        self._progress(on_progress, name, name, "collect", "parsing the Dockerfile")
        try:
            facts = parse_dockerfile(
                path,
                self.settings.allow_secret_names,
                target=self.options.dockerfile_target,
                base_lookup=self._base_lookup(),
            )
        except Exception as exc:
            return self._failed(result, "collect", exc, on_progress)
        if "checklist" not in self.options.scanners:
            return self._finish(replace(result, scans={"checklist": "skipped"}))
        try:
            findings, passed = self._dockerfile_rules(facts)
        except Exception as exc:
            return self._failed(result, "checklist", exc, on_progress)
        result = replace(
            result,
            findings=tuple(findings),
            passed=tuple(passed),
            hardened_dockerfile_diff=self._hardened_diff(path, name),
        )
        return self._finish(result)

    def _dockerfile_rules(self, facts: DockerfileFacts) -> tuple[list[Finding], list[str]]:
        """DA6xx over the Dockerfile, plus DA1xx/DA2xx over the image it describes, without duplicates."""
        from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile

        findings, passed = self._rules((Scope.DOCKERFILE,), facts)
        image_findings, image_passed = self._rules(DOCKERFILE_IMAGE_SCOPES, image_facts_from_dockerfile(facts))
        seen = {(f.rule_id, f.location.line, f.evidence) for f in findings}
        for finding in image_findings:
            key = (finding.rule_id, finding.location.line, finding.evidence)
            if key not in seen:
                seen.add(key)
                findings.append(finding)
        failed = {f.rule_id for f in findings}
        passed = sorted({*passed, *image_passed} - failed)
        from dockaudit.rules.twins import merge_twins

        return merge_twins(findings, passed)

    def _hardened_diff(self, path: Path, name: str) -> str | None:
        """The hardened Dockerfile as a unified diff; None when nothing changes or hardening fails."""
        if not self.options.harden:
            return None
        try:
            result = self.harden_dockerfile(path)
        except Exception:  # the report is still worth having without the diff
            return None
        if not result.changed:
            return None
        from dockaudit.secrets import redact_dockerfile_text

        # The diff quotes the user's own lines as context: redact them as the findings are.
        return redact_dockerfile_text(result.diff(name), self.settings.allow_secret_names)

    # ---- whole targets -----------------------------------------------------------------------------------

    def audit(
        self,
        target: ResolvedTarget,
        *,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        use_cache: bool | None = None,
    ) -> TargetResult:
        """Audit one target of this session's engine (or a file): checklist, then Trivy for images."""
        result, facts = self.checklist(target, on_progress=on_progress, cancel=cancel)
        if isinstance(facts, ImageFacts):
            result = self.scan(result, facts, on_progress=on_progress, cancel=cancel, use_cache=use_cache)
        if target.services:
            result = self._attribute(result, target.services)
        if target.kind is TargetKind.CONTAINER and result.errors and result.name == target.ref and target.name:
            # It vanished before it could be inspected: keep the name it was listed under.
            result = replace(result, name=target.name)
        self._progress(on_progress, target.key, result.name, "done", f"grade {result.grade}", 1.0)
        return result

    def audit_many(
        self,
        targets: Sequence[ResolvedTarget],
        *,
        on_result: Callable[[TargetResult], None] | None = None,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[TargetResult]:
        """Audit targets of this engine at once (at most `options.concurrency` in flight), streaming each
        result to `on_result` as it finishes; targets not started before a cancel are left out."""
        return _audit_all(
            lambda target: self,
            targets,
            self.options.concurrency,
            cancel if cancel is not None else self.cancel,
            on_progress,
            on_result,
        )

    def _attribute(self, result: TargetResult, services: tuple[str, ...]) -> TargetResult:
        """Name the Compose services an image or Dockerfile target was audited for (kept through `rescore`)."""
        with self._lock:
            key = (result.kind, result.engine, result.id)
            if key in self._raw:
                self._raw[key] = replace(self._raw[key], services=services)
        return replace(result, services=services)

    def report(self, results: Sequence[TargetResult], errors: Sequence[ScanError] = ()) -> Report:
        """A report of results of this session, exactly as `dockaudit scan` writes it."""
        return build_report([self], results, self.options, errors=errors)

    def export(self, results: Sequence[TargetResult], fmt: str, path: Path) -> Path:
        """Write the report of `results` in `fmt` atomically (mode 0600), exactly as `dockaudit scan` would."""
        from dockaudit.report import render
        from dockaudit.report.write import write_atomic

        target = path.expanduser()
        write_atomic(target, render(self.report(results), fmt))
        return target

    # ---- harden -------------------------------------------------------------------------------------

    def _base_lookup(self) -> Callable[[str], BaseImage | None]:
        """Base images named in Dockerfiles, read from this session's engine when it has them."""
        from dockaudit.harden.context import base_from_facts

        source = self.source

        def lookup(ref: str) -> BaseImage | None:
            facts = source.base_image(ref) if source is not None else None
            return base_from_facts(facts, ref) if facts is not None else None

        return lookup

    def harden_dockerfile(self, path: Path) -> HardenResult:
        """The hardened Dockerfile of a file (base images read from the engine when it has them)."""
        from dockaudit.harden.context import HardenContext
        from dockaudit.harden.dockerfile import harden_dockerfile_text

        text = path.read_bytes().decode("utf-8-sig")
        context = HardenContext(
            base_lookup=self._base_lookup(),
            project_dir=str(path.parent),
            allow_secret_names=tuple(self.settings.allow_secret_names),
            target=self.options.dockerfile_target,
            healthcheck_url=self.options.healthcheck_url,
        )
        return harden_dockerfile_text(text, context=context)

    def harden_image(
        self, facts: ImageFacts, dockerfile_text: str | None = None, project_dir: str | None = None
    ) -> HardenResult:
        """The hardened Dockerfile of an image: its own Dockerfile when given, else one rebuilt from history."""
        from dockaudit.harden.image import harden_image

        return harden_image(
            facts,
            dockerfile_text,
            base_lookup=self._base_lookup(),
            project_dir=project_dir,
            target=self.options.dockerfile_target,
            healthcheck_url=self.options.healthcheck_url,
        )

    def image_for_harden(self, ref: str, cancel: threading.Event | None = None) -> ImageFacts:
        """An image's facts with its layers and its local base named, as hardening wants them."""
        return self._source().image_facts(
            ref, cancel=cancel, allow_secret_names=self.settings.allow_secret_names, name_base=True
        )

    def harden_container(self, facts: ContainerFacts) -> RuntimeHardening:
        """The hardened `docker run` and Compose service of a container, limits from its observed usage."""
        from dockaudit.harden.runtime import harden_container

        source = self._source()
        facts = source.with_usage(facts)
        try:
            image: ImageFacts | None = source.image_facts(
                facts.image_id, allow_secret_names=self.settings.allow_secret_names
            )
        except DockauditError:
            image = None  # the image may be gone (a dangling container): harden from the container alone
        return harden_container(facts, image)

    def close(self) -> None:
        """Release the engine connection (and any ssh tunnel)."""
        if self.source is not None:
            self.source.close()


# ---- opening sessions -----------------------------------------------------------------------------------


def open_session(
    options: AuditOptions, *, host: str | None = None, context: str | None = None, timeout: float = 10.0
) -> AuditSession:
    """Connect to the engine the Docker CLI would use (or `-H`/`--context`); raises `EngineError` with a
    one-line reason, or `UsageError` for conflicting flags."""
    from dockaudit.engine.client import connect, resolve_endpoint
    from dockaudit.engine.source import EngineSource

    engine = connect(resolve_endpoint(host, context), timeout=timeout)
    return AuditSession(EngineSource(engine), options)


def connect_sessions(
    specs: Sequence[EngineSpec],
    options: AuditOptions,
    *,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> tuple[dict[str, AuditSession], list[EngineFailure]]:
    """A session per reachable engine of a fleet (connected at once); unreachable engines are values."""
    from dockaudit.engine.fleet import connect_all
    from dockaudit.engine.source import EngineSource

    engines, failures = connect_all(specs, concurrency=options.concurrency)
    sessions = {
        eid: AuditSession(EngineSource(engine), options, on_progress=on_progress, cancel=cancel)
        for eid, engine in engines.items()
    }
    return sessions, failures


def engine_contexts() -> list[tuple[str, str]]:
    """Docker CLI contexts as (name, endpoint URL), for picking another engine."""
    from dockaudit.engine.client import list_contexts

    return [(name, endpoint.url) for name, endpoint in list_contexts()]


def connection_problem(host: str | None, context: str | None, error: Exception) -> EngineProblem:
    """What was tried when `open_session` failed, and the fixes that apply to that kind of endpoint."""
    import os

    from dockaudit.engine.client import alternative_sockets, resolve_endpoint

    tried: list[str] = []
    hints: list[str] = []
    try:
        endpoint = resolve_endpoint(host, context)
    except DockauditError:
        endpoint = None
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
    else:
        hints.append("Check the -H/--host URL or the --context name (docker context ls lists them)")
    if os.environ.get("DOCKER_HOST"):
        hints.append(f"DOCKER_HOST is set to {os.environ['DOCKER_HOST']}: unset it to use the current context")
    hints.append("Pick another engine: E, or dockaudit -H URL / --context NAME (docker context ls)")
    return EngineProblem(str(error), tuple(tried), tuple(hints))


# ---- several engines at once ----------------------------------------------------------------------------


def _audit_all(
    session_of: Callable[[ResolvedTarget], AuditSession | None],
    targets: Sequence[ResolvedTarget],
    concurrency: int,
    cancel: threading.Event,
    on_progress: ProgressCallback | None,
    on_result: Callable[[TargetResult], None] | None,
) -> list[TargetResult]:
    """Audit every target with its session, bounded, in finishing order; errors stay on their targets."""
    results: list[TargetResult] = []
    lock = threading.Lock()

    def one(target: ResolvedTarget) -> None:
        if cancel.is_set():
            return
        session = session_of(target)
        if session is None:
            result = TargetResult(
                kind=target.kind,
                engine=target.engine,
                id=target.id or target.ref,
                name=target.name or target.ref,
                errors=(ScanError("engine", f"engine {target.engine} is not connected"),),
            )
        else:
            try:
                result = session.audit(target, on_progress=on_progress, cancel=cancel)
            except CancelledError:
                return
            except Exception as exc:  # a bug in one target's audit must not lose the others
                result = TargetResult(
                    kind=target.kind,
                    engine=target.engine,
                    id=target.id or target.ref,
                    name=target.name or target.ref,
                    errors=(ScanError("audit", f"{type(exc).__name__}: {exc}"),),
                )
        with lock:
            results.append(result)
        if on_result is not None:
            with contextlib.suppress(Exception):
                on_result(result)

    workers = max(1, min(concurrency, len(targets) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="audit") as pool:
        futures = [pool.submit(one, t) for t in targets]
        try:
            for future in futures:
                future.result()
        except BaseException:
            # Ctrl-C: stop queued targets and reach running Trivy processes before the pool waits for them.
            cancel.set()
            for future in futures:
                future.cancel()
            raise
    return results


def build_report(
    sessions: Sequence[AuditSession],
    results: Sequence[TargetResult],
    options: AuditOptions,
    *,
    engine_infos: Sequence[EngineInfo] = (),
    errors: Sequence[ScanError] = (),
) -> Report:
    """One report over results of several sessions: engines, Trivy, targets in report order."""
    trivy: TrivyInfo | None = None
    if any(r.kind in (TargetKind.IMAGE, TargetKind.IMAGE_ARCHIVE) for r in results) and sessions:
        scanning = next((s for s in sessions if s._scanned), sessions[0])
        if scanning.options.trivy_scanners:
            # Scans may have refreshed the DB since the first probe.
            trivy = scanning.scanner.info(refresh=scanning._scanned)
    infos = {s.info.id: s.info for s in sessions if s.info is not None}
    for info in engine_infos:
        infos.setdefault(info.id, info)
    return Report(
        tool_version=__version__,
        generated_at=options.clock(),
        engines=tuple(sorted(infos.values(), key=lambda e: e.id)),
        targets=tuple(sorted(results, key=TargetResult.sort_key)),
        trivy=trivy,
        errors=tuple(errors),
    )


def run_audit(
    sessions: Mapping[str, AuditSession],
    targets: Sequence[ResolvedTarget],
    options: AuditOptions,
    *,
    files: AuditSession | None = None,
    engine_infos: Sequence[EngineInfo] = (),
    errors: Sequence[ScanError] = (),
    cancel: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
    on_result: Callable[[TargetResult], None] | None = None,
) -> Report:
    """Audit targets across engines at once (at most `options.concurrency` in flight) into one report.

    `engine_infos` adds engines that have no session (unreachable ones); `errors` are run-level errors
    (engine failures) to carry into the report.
    """
    cancel = cancel if cancel is not None else threading.Event()
    files = files if files is not None else AuditSession(None, options, cancel=cancel)

    def session_of(target: ResolvedTarget) -> AuditSession | None:
        return sessions.get(target.engine) if target.engine is not None else files

    results = _audit_all(session_of, targets, options.concurrency, cancel, on_progress, on_result)
    run_errors = list(errors)
    if cancel.is_set():
        run_errors.append(ScanError("audit", "cancelled before every target was audited"))
    return build_report([*sessions.values(), files], results, options, engine_infos=engine_infos, errors=run_errors)
