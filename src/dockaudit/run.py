"""Audits of many targets at once, across engines, into one report: what `dockaudit scan` runs, and what a
session's `audit_many` (the TUI's audit-all) runs for its own engine."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from dockaudit import __version__
from dockaudit.errors import CancelledError
from dockaudit.model import EngineInfo, Report, ScanError, TargetKind, TargetResult, TrivyInfo
from dockaudit.targets import ResolvedTarget

if TYPE_CHECKING:
    from dockaudit.audit import AuditOptions, AuditSession, ProgressCallback


def audit_concurrently(
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
                errors=(
                    ScanError(
                        "engine",
                        f"engine {target.engine} is not connected"
                        if target.engine is not None
                        else "this run audits no files",
                    ),
                ),
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

    def session_of(target: ResolvedTarget) -> AuditSession | None:
        return sessions.get(target.engine) if target.engine is not None else files

    results = audit_concurrently(session_of, targets, options.concurrency, cancel, on_progress, on_result)
    run_errors = list(errors)
    if cancel.is_set():
        run_errors.append(ScanError("audit", "cancelled before every target was audited"))
    everyone = [*sessions.values(), *([files] if files is not None else [])]
    return build_report(everyone, results, options, engine_infos=engine_infos, errors=run_errors)
