"""The audit orchestrator both the CLI and the TUI use: targets → collect → rules → Trivy → `Report`.

Every failure is a value on its target (`TargetResult.errors`, `scans`); targets run concurrently in a
bounded thread pool; `cancel` stops new work and reaches the Trivy subprocess.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockaudit import __version__
from dockaudit.config import Ignore, Settings, apply_config
from dockaudit.errors import DockauditError
from dockaudit.model import (
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
    from dockaudit.cache import ScanCache
    from dockaudit.engine.client import Engine
    from dockaudit.facts import ContainerFacts, DockerfileFacts, ImageFacts
    from dockaudit.scanners.trivy import TrivyBinary, TrivyOptions, TrivyScan

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
    host_checks: bool = False
    clock: Callable[[], datetime] = field(default=_utcnow)
    """The report's `generated_at` and the rules' notion of now (fixed in golden tests)."""
    cache_path: Path | None = None
    """The Trivy result cache file; None: the per-user default."""
    harden: bool = True
    """Attach the hardened Dockerfile diff to Dockerfile targets when the harden module can make one."""

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


def _skipped_trivy(reason: str) -> TrivyScan:
    from dockaudit.scanners.trivy import TrivyScan

    return TrivyScan("skipped", reason)


class Auditor:
    """Audits targets on one engine (or none, for files); thread-safe, one instance per engine and run."""

    def __init__(
        self,
        engine: Engine | None,
        options: AuditOptions,
        *,
        on_progress: Callable[[ProgressEvent], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.engine = engine
        self.options = options
        self.on_progress = on_progress
        self.cancel = cancel if cancel is not None else threading.Event()
        self._lock = threading.Lock()
        self._binary: TrivyBinary | None = None
        self._binary_error: str | None = None
        self._binary_checked = False
        self._cache: ScanCache | None = None
        self._cache_checked = False
        self.matched_ignores: set[Ignore] = set()
        """Ignores that matched some finding so far (the rest are reported as stale)."""

    # -- plumbing -----------------------------------------------------------------------------------

    @property
    def engine_id(self) -> str | None:
        """The id targets of this auditor record."""
        return self.engine.info.id if self.engine is not None else None

    def _progress(self, target: str, stage: str, message: str, fraction: float | None = None) -> None:
        if self.on_progress is None:
            return
        # A display callback must never fail an audit.
        with contextlib.suppress(Exception):
            self.on_progress(ProgressEvent(target, stage, message, fraction, self.engine_id))

    def _context(self, extra: Mapping[str, Any] | None = None) -> RuleContext:
        return RuleContext(settings=self.options.settings, now=self.options.clock(), extra=dict(extra or {}))

    def _finish(self, result: TargetResult) -> TargetResult:
        """Apply the settings (overrides, suppressions, disabled rules) and score."""
        settings = self.options.settings
        applied = apply_config(list(result.findings), result.name, settings, self.options.clock().date())
        with self._lock:
            self.matched_ignores |= applied.matched
        findings = applied.findings
        passed = tuple(sorted(p for p in set(result.passed) if p not in settings.disabled_rules))
        findings = sorted((f for f in findings if f.rule_id not in settings.disabled_rules), key=Finding.sort_key)
        value, grade = score(findings)
        return replace(result, findings=tuple(findings), passed=passed, score=value, grade=grade)

    def _failed(self, result: TargetResult, stage: str, exc: BaseException) -> TargetResult:
        message = str(exc) if isinstance(exc, DockauditError) else f"{type(exc).__name__}: {exc}"
        self._progress(result.name, "error", f"{stage} failed: {message}")
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

    # -- images -------------------------------------------------------------------------------------

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

    def checklist_image(self, ref: str) -> tuple[TargetResult, ImageFacts | None]:
        """The fast part of an image audit: collect its facts and run the checklist (no Trivy)."""
        from dockaudit.engine.collect import collect_image

        name = short_ref(ref)
        placeholder = TargetResult(
            kind=TargetKind.IMAGE, engine=self.engine_id, id=ref, name=name, scans={"checklist": "failed"}
        )
        if self.engine is None:
            return self._failed(placeholder, "collect", DockauditError("no engine to read the image from")), None
        self._progress(name, "collect", "reading image")
        try:
            facts = collect_image(
                self.engine.client,
                ref,
                read_layers=self.options.read_layers,
                engine_id=self.engine_id,
                cancel=self.cancel,
                allow_secret_names=self.options.settings.allow_secret_names,
            )
        except Exception as exc:
            return self._failed(placeholder, "collect", exc), None
        self._progress(name, "checklist", "running the checklist")
        return self._image_result(facts, TargetKind.IMAGE, facts.name), facts

    def _trivy_binary(self) -> TrivyBinary | None:
        with self._lock:
            if not self._binary_checked:
                from dockaudit.scanners.trivy import find_trivy

                self._binary_checked = True
                try:
                    self._binary = find_trivy(self.options.trivy_path)
                except DockauditError as exc:
                    self._binary_error = str(exc)
            return self._binary

    def _scan_cache(self) -> ScanCache | None:
        with self._lock:
            if not self._cache_checked:
                from dockaudit.cache import ScanCache

                self._cache_checked = True
                try:
                    self._cache = ScanCache(self.options.cache_path)
                except Exception:  # an unusable cache only costs speed
                    self._cache = None
            return self._cache

    def trivy_options(self) -> TrivyOptions:
        """The Trivy options with the scanners this audit selected."""
        from dockaudit.scanners.trivy import TrivyOptions

        base = self.options.trivy if self.options.trivy is not None else TrivyOptions()
        return replace(base, scanners=self.options.trivy_scanners)

    def _scan(self, name: str, source_kwargs: dict[str, Any], export: Callable[[Path], None] | None) -> TrivyScan:
        from dockaudit.scanners.trivy import ImageSource, TrivyScan, scan_image

        if not self.options.trivy_scanners:
            return _skipped_trivy("")
        if self.cancel.is_set():
            return TrivyScan("skipped", "cancelled")
        binary = self._trivy_binary()
        if binary is None:
            return TrivyScan("failed", self._binary_error or "Trivy is not available")
        self._progress(name, "trivy", "scanning with Trivy")
        try:
            return scan_image(
                binary,
                ImageSource(**source_kwargs),
                self.trivy_options(),
                cancel=self.cancel,
                on_progress=lambda message: self._progress(name, "trivy", message),
                cache=self._scan_cache(),
                export=export,
                read_cache=self.options.use_cache,
            )
        except Exception as exc:  # scan_image reports failures as values; this is a safety net
            return TrivyScan("failed", f"{type(exc).__name__}: {exc}")

    def trivy_image(self, facts: ImageFacts) -> TrivyScan:
        """The slow part of an image audit: Trivy over the image (or its cached result)."""
        if self.engine is None:
            return _skipped_trivy("no engine")
        from dockaudit.scanners.trivy import saved_image_exporter

        engine = self.engine
        export = None if engine.trivy_docker_host else saved_image_exporter(engine.client, facts.id)
        source = {
            "ref": facts.name if not facts.name.startswith("<none>@") else facts.id,
            "image_id": facts.id,
            "docker_host": engine.trivy_docker_host,
            "podman": engine.info.podman,
        }
        return self._scan(facts.name, source, export)

    def merge(self, result: TargetResult, scan: TrivyScan) -> TargetResult:
        """Add Trivy's findings to a checklist result: one finding per problem, settings applied, rescored."""
        from dockaudit.scanners.trivy import merge_findings

        scans = {**result.scans, "trivy": scan.summary}
        errors = result.errors
        if scan.status == "failed":
            errors = (*errors, ScanError("trivy", scan.reason))
        merged = merge_findings(list(result.findings), list(scan.findings))
        return self._finish(replace(result, findings=tuple(merged), scans=scans, errors=errors))

    def audit_image(self, ref: str) -> TargetResult:
        """Checklist and Trivy over one image of this engine."""
        result, facts = self.checklist_image(ref)
        if facts is None:
            return result
        if self.options.trivy_scanners:
            result = self.merge(result, self.trivy_image(facts))
        else:
            result = replace(result, scans={**result.scans, "trivy": "skipped"})
        self._progress(result.name, "done", f"grade {result.grade}", 1.0)
        return result

    # -- containers and the host ------------------------------------------------------------------------

    def audit_container(self, ref: str) -> tuple[TargetResult, ContainerFacts | None]:
        """The runtime checklist (DA4xx) over one container; its image's findings belong to the image."""
        from dockaudit.engine.collect import collect_container

        placeholder = TargetResult(
            kind=TargetKind.CONTAINER, engine=self.engine_id, id=ref, name=ref, scans={"checklist": "failed"}
        )
        if self.engine is None:
            return self._failed(placeholder, "collect", DockauditError("no engine to read the container from")), None
        self._progress(ref, "collect", "inspecting container")
        try:
            facts = collect_container(
                self.engine.client,
                ref,
                engine_id=self.engine_id,
                allow_secret_names=self.options.settings.allow_secret_names,
            )
        except Exception as exc:
            return self._failed(placeholder, "collect", exc), None
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
        except Exception as exc:
            return self._failed(result, "checklist", exc), facts
        result = self._finish(replace(result, findings=tuple(findings), passed=tuple(passed)))
        self._progress(result.name, "done", f"grade {result.grade}", 1.0)
        return result, facts

    def _scan_ages(self) -> dict[str, datetime | None] | None:
        """Last scan time of each running container's image, for DA510; None without a cache."""
        cache = self._scan_cache()
        if cache is None or self.engine is None:
            return None
        try:
            running = self.engine.client.api.containers(all=False)
        except Exception:
            return None
        ages: dict[str, datetime | None] = {}
        for container in running:
            image_id = str(container.get("ImageID") or "")
            if image_id:
                ages[image_id] = cache.last_scanned(image_id)
        return ages

    def audit_host(self) -> TargetResult:
        """The daemon and client checks (DA5xx) of this engine."""
        from dockaudit.engine.collect import collect_host

        ident = self.engine_id or "local"
        result = TargetResult(
            kind=TargetKind.HOST, engine=self.engine_id, id=ident, name=ident, scans={"checklist": "ok"}
        )
        if self.engine is None:
            return self._failed(result, "collect", DockauditError("no engine"))
        self._progress(ident, "collect", "reading the daemon's settings")
        try:
            facts = collect_host(
                self.engine.client,
                engine_id=ident,
                endpoint=self.engine.endpoint.url,
                tls=self.engine.endpoint.tls is not None,
            )
        except Exception as exc:
            return self._failed(result, "collect", exc)
        extra: dict[str, Any] = {}
        ages = self._scan_ages()
        if ages is not None:
            extra["scan_ages"] = ages
        try:
            findings, passed = self._rules((Scope.HOST,), facts, extra)
        except Exception as exc:
            return self._failed(result, "checklist", exc)
        return self._finish(replace(result, findings=tuple(findings), passed=tuple(passed)))

    # -- files ----------------------------------------------------------------------------------------

    def audit_path(self, path: Path) -> TargetResult:
        """A saved image tarball, a Dockerfile, or a project directory (its Dockerfile and build context)."""
        from dockaudit.targets import resolve_path

        try:
            target = resolve_path(str(path))
        except DockauditError as exc:
            result = TargetResult(kind=TargetKind.DOCKERFILE, engine=None, id=str(path), name=str(path))
            return self._failed(result, "collect", exc)
        if target is None:
            result = TargetResult(kind=TargetKind.DOCKERFILE, engine=None, id=str(path), name=str(path))
            return self._failed(result, "collect", DockauditError(f"{path}: no such file or directory"))
        if target.kind is TargetKind.IMAGE_ARCHIVE:
            return self._audit_archive(Path(target.ref), str(path))
        return self._audit_dockerfile(Path(target.ref), target.name)

    def _audit_archive(self, path: Path, name: str) -> TargetResult:
        from dockaudit.engine.collect import image_facts_from_archive

        placeholder = TargetResult(
            kind=TargetKind.IMAGE_ARCHIVE, engine=None, id=name, name=name, scans={"checklist": "failed"}
        )
        self._progress(name, "collect", "reading the image archive")
        try:
            facts = image_facts_from_archive(
                path, cancel=self.cancel, allow_secret_names=self.options.settings.allow_secret_names
            )
        except Exception as exc:
            return self._failed(placeholder, "collect", exc)
        result = self._image_result(facts, TargetKind.IMAGE_ARCHIVE, name)
        if self.options.trivy_scanners:
            source = {"ref": name, "image_id": facts.id, "archive": path}
            result = self.merge(result, self._scan(name, source, None))
        else:
            result = replace(result, scans={**result.scans, "trivy": "skipped"})
        self._progress(name, "done", f"grade {result.grade}", 1.0)
        return result

    def _audit_dockerfile(self, path: Path, name: str) -> TargetResult:
        from dockaudit.parse.dockerfile import parse_dockerfile

        result = TargetResult(kind=TargetKind.DOCKERFILE, engine=None, id=name, name=name, scans={"checklist": "ok"})
        self._progress(name, "collect", "parsing the Dockerfile")
        try:
            facts = parse_dockerfile(path)
        except Exception as exc:
            return self._failed(result, "collect", exc)
        if "checklist" not in self.options.scanners:
            return self._finish(replace(result, scans={"checklist": "skipped"}))
        try:
            findings, passed = self._dockerfile_rules(facts)
        except Exception as exc:
            return self._failed(result, "checklist", exc)
        result = replace(
            result,
            findings=tuple(findings),
            passed=tuple(passed),
            hardened_dockerfile_diff=self._hardened_diff(path, name),
        )
        result = self._finish(result)
        self._progress(name, "done", f"grade {result.grade}", 1.0)
        return result

    def _dockerfile_rules(self, facts: DockerfileFacts) -> tuple[list[Finding], list[str]]:
        """DA6xx over the Dockerfile, plus DA1xx/DA2xx over the image it describes, without duplicates."""
        findings, passed = self._rules((Scope.DOCKERFILE,), facts)
        try:
            from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile
        except ImportError:
            return findings, passed
        image_findings, image_passed = self._rules(DOCKERFILE_IMAGE_SCOPES, image_facts_from_dockerfile(facts))
        seen = {(f.rule_id, f.location.line, f.evidence) for f in findings}
        for finding in image_findings:
            key = (finding.rule_id, finding.location.line, finding.evidence)
            if key not in seen:
                seen.add(key)
                findings.append(finding)
        failed = {f.rule_id for f in findings}
        passed = sorted({*passed, *image_passed} - failed)
        return findings, passed

    def _hardened_diff(self, path: Path, name: str) -> str | None:
        """The hardened Dockerfile as a unified diff; None when nothing changes or hardening fails."""
        if not self.options.harden:
            return None
        from dockaudit.harden.context import HardenContext
        from dockaudit.harden.dockerfile import harden_dockerfile_text

        try:
            text = path.read_text(encoding="utf-8")
            context = HardenContext(
                project_dir=str(path.parent), allow_secret_names=tuple(self.options.settings.allow_secret_names)
            )
            result = harden_dockerfile_text(text, context=context)
        except Exception:  # the report is still worth having without the diff
            return None
        return result.diff(name) if result.changed else None

    # -- whole runs -------------------------------------------------------------------------------------

    def audit(self, target: ResolvedTarget) -> TargetResult:
        """Audit one resolved target of this auditor's engine."""
        if target.kind is TargetKind.IMAGE:
            result = self.audit_image(target.ref)
        elif target.kind is TargetKind.CONTAINER:
            result = self.audit_container(target.ref)[0]
            if result.errors and result.name == target.ref and target.name:
                # It vanished before it could be inspected: keep the name it was listed under.
                result = replace(result, name=target.name)
        elif target.kind is TargetKind.HOST:
            result = self.audit_host()
        else:
            result = self.audit_path(Path(target.ref))
        self._progress(result.name, "done", f"grade {result.grade}", 1.0)
        return result

    def run(self, targets: Sequence[ResolvedTarget]) -> Report:
        """Audit every target (bounded concurrency) into one report."""
        engines = {self.engine.info.id: self} if self.engine is not None else {}
        return run_audit(
            engines, targets, self.options, file_auditor=self, cancel=self.cancel, on_progress=self.on_progress
        )


def trivy_info(auditor: Auditor) -> TrivyInfo | None:
    """Which Trivy ran and the state of its DB; None when no Trivy scanner was selected."""
    if not auditor.options.trivy_scanners:
        return None
    from dockaudit.model import DbStatus
    from dockaudit.scanners.trivy import db_status

    binary = auditor._trivy_binary()
    if binary is None:
        return TrivyInfo(version="", db=DbStatus(status="failed", message=auditor._binary_error or ""))
    try:
        status = db_status(binary, auditor.trivy_options(), now=auditor.options.clock())
    except Exception as exc:
        status = DbStatus(status="failed", message=str(exc))
    return TrivyInfo(version=binary.version, db=status)


def run_audit(
    auditors: Mapping[str, Auditor],
    targets: Sequence[ResolvedTarget],
    options: AuditOptions,
    *,
    file_auditor: Auditor | None = None,
    engine_infos: Sequence[EngineInfo] = (),
    errors: Sequence[ScanError] = (),
    cancel: threading.Event | None = None,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    on_result: Callable[[TargetResult], None] | None = None,
) -> Report:
    """Audit targets across engines at once (at most `options.concurrency` in flight) into one report.

    `engine_infos` adds engines that have no auditor (unreachable ones); `errors` are run-level errors
    (engine failures) to carry into the report.
    """
    cancel = cancel if cancel is not None else threading.Event()
    files = file_auditor if file_auditor is not None else Auditor(None, options, on_progress=on_progress, cancel=cancel)
    results: list[TargetResult] = []
    run_errors = list(errors)
    lock = threading.Lock()

    def one(target: ResolvedTarget) -> None:
        if cancel.is_set():
            return
        auditor = auditors.get(target.engine) if target.engine is not None else files
        if auditor is None:
            result = TargetResult(
                kind=target.kind,
                engine=target.engine,
                id=target.id or target.ref,
                name=target.name or target.ref,
                errors=(ScanError("engine", f"engine {target.engine} is not connected"),),
            )
        else:
            try:
                result = auditor.audit(target)
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

    workers = max(1, min(options.concurrency, len(targets) or 1))
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
    if cancel.is_set():
        run_errors.append(ScanError("audit", "cancelled before every target was audited"))
    any_auditor = next(iter(auditors.values()), files)
    trivy = (
        trivy_info(any_auditor)
        if results and any(r.kind in (TargetKind.IMAGE, TargetKind.IMAGE_ARCHIVE) for r in results)
        else None
    )
    infos = {a.engine.info.id: a.engine.info for a in auditors.values() if a.engine is not None}
    for info in engine_infos:
        infos.setdefault(info.id, info)
    return Report(
        tool_version=__version__,
        generated_at=options.clock(),
        engines=tuple(sorted(infos.values(), key=lambda e: e.id)),
        targets=tuple(sorted(results, key=TargetResult.sort_key)),
        trivy=trivy,
        errors=tuple(run_errors),
    )
