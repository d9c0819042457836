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
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockaudit.audit_compose import LiveProjects, checklist_service, point_at_compose_lines, service_image_lookup
from dockaudit.audit_options import AuditOptions, ProgressCallback, ProgressEvent
from dockaudit.config import (
    Ignore,
    Settings,
    add_ignore,
    apply_config,
    default_config_path,
    load_settings,
    remove_ignore,
    suppressing_ignore,
)
from dockaudit.errors import DockauditError, NotFoundError, UsageError
from dockaudit.facts.image import ImageFacts
from dockaudit.model import (
    GONE_STAGE,
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
from dockaudit.score import score
from dockaudit.targets import ResolvedTarget, short_ref

if TYPE_CHECKING:
    from dockaudit.facts.compose import ComposeProject
    from dockaudit.facts.container import ContainerFacts
    from dockaudit.facts.dockerfile import BaseImage
    from dockaudit.facts.inventory import Inventory
    from dockaudit.harden.compose import ComposeHardening
    from dockaudit.harden.result import HardenResult
    from dockaudit.harden.runtime import RuntimeHardening
    from dockaudit.live_compose import ComposeGrouping
    from dockaudit.scanners.trivy import TrivyOptions, TrivyScan
    from dockaudit.source import EventStream, FactSource, ImageScanner


IMAGE_SCOPES = (Scope.IMAGE, Scope.HISTORY, Scope.FILESYSTEM)


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
        self.live_projects = LiveProjects()
        """Compose projects of live containers, read once per version of their files."""
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
        self._reread(written)
        return written

    def ignore_of(self, finding: Finding, target_name: str) -> Ignore | None:
        """The ignore of the settings that suppresses `finding` on the target named `target_name`, if any."""
        return suppressing_ignore(finding, target_name, self.settings, self.options.clock().date())

    def remove_ignore(self, ignore: Ignore) -> Path:
        """Delete an ignore from the configuration file it was read from, and stop applying it; `rescore` shows
        the findings it suppressed counting again. Raises `DockauditError` when the file no longer declares it."""
        if not self.settings.path:
            raise DockauditError("these settings are not read from a file, so no ignore can be removed")
        path = Path(self.settings.path)
        if not remove_ignore(path, ignore):
            raise DockauditError(f"{path} no longer declares ignore {ignore.rule} on {ignore.target!r}")
        self._reread(path)
        return path

    def _reread(self, path: Path) -> None:
        """Apply the configuration file after this session changed it."""
        if self.options.config_dir is None:
            # A session with fixed settings still honours the file it wrote.
            with self._lock:
                self.options = replace(self.options, settings=load_settings(path.parent, path))
        else:
            self.reload_settings()

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
        from dockaudit.scanners.trivy_options import TrivyOptions

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

    def require_source(self) -> FactSource:
        if self.source is None:
            raise DockauditError("no engine to read from")
        return self.source

    def inventory(self) -> Inventory:
        """Every image and container of the engine."""
        return self.require_source().inventory()

    def image_overview(self, image_id: str) -> ImageFacts:
        """An image's inspect and history, without reading its layers (fast)."""
        return self.require_source().image_facts(
            image_id, read_layers=False, allow_secret_names=self.settings.allow_secret_names
        )

    def container_overview(self, container_id: str) -> ContainerFacts:
        """A container's inspect and processes."""
        return self.require_source().container_facts(container_id, allow_secret_names=self.settings.allow_secret_names)

    def events(self) -> EventStream:
        """Engine events that change the inventory."""
        return self.require_source().events()

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

        return harden_compose(project, image_lookup=service_image_lookup(self), ctx=self.rule_context())

    # ---- plumbing -----------------------------------------------------------------------------------

    def emit_progress(
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

    def rule_context(self, extra: Mapping[str, Any] | None = None) -> RuleContext:
        return RuleContext(settings=self.settings, now=self.options.clock(), extra=dict(extra or {}))

    def finish(self, raw: TargetResult) -> TargetResult:
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

    def raw(self, result: TargetResult) -> TargetResult | None:
        """The result as audited, before the settings applied (what `rescore` starts from)."""
        with self._lock:
            return self._raw.get((result.kind, result.engine, result.id))

    def adopt(self, raw: TargetResult) -> TargetResult:
        """Take in a raw result that another session with the same options audited (the TUI's audit-all runs in
        a child process), so `rescore`, ignores and reports treat it as audited here; returns it settled."""
        if "trivy" in raw.scans:
            with self._lock:
                self._scanned = True
        return self.finish(raw)

    def fail(
        self, result: TargetResult, stage: str, exc: BaseException, callback: ProgressCallback | None = None
    ) -> TargetResult:
        message = str(exc) if isinstance(exc, DockauditError) else f"{type(exc).__name__}: {exc}"
        if stage == "collect" and isinstance(exc, NotFoundError):
            # Listed, then removed before it could be read (a `--rm` container that exited, an image pruned):
            # nothing failed, there is just nothing left to audit.
            note = f"removed while the audit ran ({message})"
            self.emit_progress(callback, result.id, result.name, "skipped", note)
            return replace(
                result, scans={"checklist": f"skipped: {note}"}, errors=(*result.errors, ScanError(GONE_STAGE, note))
            )
        if isinstance(exc, UsageError):
            # The user's own file is unreadable or invalid: bad input (exit 2), not a tool failure (exit 3).
            stage = INPUT_STAGE
        self.emit_progress(callback, result.id, result.name, "error", f"{stage} failed: {message}")
        scans = dict(result.scans)
        scans[stage if stage in ("checklist", "trivy") else "checklist"] = f"failed: {message}"
        return replace(result, scans=scans, errors=(*result.errors, ScanError(stage, message)))

    def run_rules(
        self, scopes: Sequence[Scope], facts: object, extra: Mapping[str, Any] | None = None
    ) -> tuple[list[Finding], list[str]]:
        from dockaudit.rules import load_for
        from dockaudit.rules.registry import evaluate

        load_for(scopes)
        findings, passed = evaluate(scopes, facts, self.rule_context(extra))
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
            return checklist_service(self, target, on_progress), None
        from dockaudit.audit_files import audit_path  # files only: an engine run does not load it

        return audit_path(self, Path(target.ref), on_progress, cancel), None

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
        self.emit_progress(on_progress, target.key, name, "collect", "reading image")
        try:
            facts = self.require_source().image_facts(
                ref,
                read_layers=self.options.read_layers,
                cancel=cancel,
                allow_secret_names=self.settings.allow_secret_names,
            )
        except Exception as exc:
            return self.fail(placeholder, "collect", exc, on_progress), None
        self.emit_progress(on_progress, target.key, name, "checklist", "running the checklist")
        return self.image_result(facts, TargetKind.IMAGE, facts.name), facts

    def image_result(self, facts: ImageFacts, kind: TargetKind, name: str) -> TargetResult:
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
            return self.finish(replace(result, scans={**scans, "checklist": "skipped"}))
        try:
            findings, passed = self.run_rules(IMAGE_SCOPES, facts)
        except Exception as exc:
            return self.fail(result, "checklist", exc)
        return self.finish(replace(result, findings=tuple(findings), passed=tuple(passed)))

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
        self.emit_progress(on_progress, target.key, placeholder.name, "collect", "inspecting container")
        try:
            facts = self.require_source().container_facts(ref, allow_secret_names=self.settings.allow_secret_names)
        except Exception as exc:
            return self.fail(placeholder, "collect", exc, on_progress), None
        result = TargetResult(
            kind=TargetKind.CONTAINER,
            engine=self.engine_id,
            id=facts.id,
            name=facts.name,
            image=ImageRef(id=facts.image_id, ref=short_ref(facts.image_ref)),
            scans={"checklist": "ok"},
        )
        if "checklist" not in self.options.scanners:
            return self.finish(replace(result, scans={"checklist": "skipped"})), facts
        try:
            findings, passed = self.run_rules((Scope.CONTAINER,), facts)
            findings = point_at_compose_lines(self, facts, findings)
        except Exception as exc:
            return self.fail(result, "checklist", exc, on_progress), facts
        return self.finish(replace(result, findings=tuple(findings), passed=tuple(passed))), facts

    # ---- the host and Trivy -----------------------------------------------------------------------------

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
        self.emit_progress(on_progress, "host", ident, "collect", "reading the daemon's settings")
        try:
            facts = self.require_source().host_facts()
        except Exception as exc:
            return self.fail(result, "collect", exc, on_progress)
        extra: dict[str, Any] = {}
        ages = self._scan_ages()
        if ages is not None:
            extra["scan_ages"] = ages
        try:
            findings, passed = self.run_rules((Scope.HOST,), facts, extra)
        except Exception as exc:
            return self.fail(result, "checklist", exc, on_progress)
        return self.finish(replace(result, findings=tuple(findings), passed=tuple(passed)))

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
        if not self.options.trivy_scanners:
            # Without Trivy's modules: a checklist-only run does not load them.
            return self._merged(result, "skipped", (), None)
        from dockaudit.scanners.trivy_outcome import TrivyScan

        cancel = cancel if cancel is not None else self.cancel
        key = result.id

        def progress(message: str) -> None:
            self.emit_progress(on_progress, key, result.name, "trivy", message)

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
        failure = outcome.reason if outcome.status == "failed" else None
        return self._merged(result, outcome.summary, outcome.findings, failure)

    def _merged(
        self, result: TargetResult, summary: str, trivy_findings: Sequence[Finding], failure: str | None
    ) -> TargetResult:
        """The raw result with Trivy's summary in `scans`, its findings folded in and its failure as an error."""
        with self._lock:
            raw = self._raw.get((result.kind, result.engine, result.id), result)
        scans = {**raw.scans, "trivy": summary}
        errors = raw.errors
        if failure is not None:
            errors = (*errors, ScanError("trivy", failure))
        merged = list(raw.findings)
        if trivy_findings:
            from dockaudit.scanners.trivy_merge import merge_findings

            merged = merge_findings(merged, list(trivy_findings))
        return self.finish(replace(raw, findings=tuple(merged), scans=scans, errors=errors))

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
        self.emit_progress(on_progress, target.key, result.name, "done", f"grade {result.grade}", 1.0)
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
        from dockaudit.run import audit_concurrently

        return audit_concurrently(
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
        from dockaudit.run import build_report

        return build_report([self], results, self.options, errors=errors)

    def export(self, results: Sequence[TargetResult], fmt: str, path: Path) -> Path:
        """Write the report of `results` in `fmt` atomically (mode 0600), exactly as `dockaudit scan` would."""
        from dockaudit.report import render
        from dockaudit.report.write import write_atomic

        target = path.expanduser()
        write_atomic(target, render(self.report(results), fmt))
        return target

    # ---- harden (see audit_harden) -----------------------------------------------------------------------

    def base_lookup(self) -> Callable[[str], BaseImage | None]:
        """Base images named in Dockerfiles, read from this session's engine when it has them."""
        from dockaudit import audit_harden

        return audit_harden.base_lookup(self)

    def harden_dockerfile(self, path: Path) -> HardenResult:
        """The hardened Dockerfile of a file (base images read from the engine when it has them)."""
        from dockaudit import audit_harden

        return audit_harden.harden_dockerfile(self, path)

    def harden_image(
        self, facts: ImageFacts, dockerfile_text: str | None = None, project_dir: str | None = None
    ) -> HardenResult:
        """The hardened Dockerfile of an image: its own Dockerfile when given, else one rebuilt from history."""
        from dockaudit import audit_harden

        return audit_harden.harden_image(self, facts, dockerfile_text, project_dir)

    def image_for_harden(self, ref: str, cancel: threading.Event | None = None) -> ImageFacts:
        """An image's facts with its layers and its local base named, as hardening wants them."""
        return self.require_source().image_facts(
            ref, cancel=cancel, allow_secret_names=self.settings.allow_secret_names, name_base=True
        )

    def harden_container(self, facts: ContainerFacts) -> RuntimeHardening:
        """The hardened `docker run` and Compose service of a container, limits from its observed usage."""
        from dockaudit import audit_harden

        return audit_harden.harden_container(self, facts)

    def close(self) -> None:
        """Release the engine connection (and any ssh tunnel)."""
        if self.source is not None:
            self.source.close()
