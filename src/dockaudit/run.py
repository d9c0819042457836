"""Audits of many targets at once, across engines, into one report: what `dockaudit scan` runs, and what a
session's `audit_many` (the TUI's audit-all) runs for its own engine, streaming events to a UI."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, NamedTuple

from dockaudit import __version__
from dockaudit.errors import CancelledError
from dockaudit.model import EngineInfo, Report, ScanError, TargetKind, TargetResult, TrivyInfo
from dockaudit.targets import ResolvedTarget

if TYPE_CHECKING:
    from dockaudit.audit import AuditSession
    from dockaudit.audit_options import AuditOptions, ProgressCallback, ProgressEvent


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

    # Images first, the largest first: each waits on a whole saved-image stream and its files are parsed and
    # judged, so a large one started last would be the run's tail. The report orders targets itself.
    started = sorted(targets, key=lambda t: (t.kind is not TargetKind.IMAGE, -t.size))
    results = audit_concurrently(session_of, started, options.concurrency, cancel, on_progress, on_result)
    run_errors = list(errors)
    if cancel.is_set():
        run_errors.append(ScanError("audit", "cancelled before every target was audited"))
    everyone = [*sessions.values(), *([files] if files is not None else [])]
    return build_report(everyone, results, options, engine_infos=engine_infos, errors=run_errors)


# ---- a batch audit in the background, its events queued for a UI to drain ----------------------------------


# NamedTuples rather than dataclasses: `scan` imports this module, and a dataclass costs ~1 ms of start-up.


class AuditStarted(NamedTuple):
    """A target's audit began (it left the queue)."""

    key: str


class AuditFinished(NamedTuple):
    """A target's audit ended, with its result (errors included) and the raw result `rescore` starts from."""

    key: str
    result: TargetResult
    raw: TargetResult | None


class AuditEnded(NamedTuple):
    """The batch is over: every target audited, or cancelled, or the audit could not run at all."""

    cancelled: bool
    error: str | None = None


BatchEvent = AuditStarted | AuditFinished | AuditEnded


class BatchAudit:
    """Targets of one engine audited in the background with `AuditSession.audit_many`; events arrive on
    `events` in finishing order and `cancel` stops the rest (running Trivy processes are killed)."""

    def __init__(self, targets: Sequence[ResolvedTarget], on_cancel: Callable[[], None] | None = None) -> None:
        self.targets = tuple(targets)
        self.events: queue.SimpleQueue[BatchEvent] = queue.SimpleQueue()
        self._cancel = threading.Event()
        self._on_cancel = on_cancel

    @property
    def cancelled(self) -> bool:
        """Whether `cancel` was called."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Stop auditing: targets not started are left out, running ones are stopped."""
        self._cancel.set()
        if self._on_cancel is not None:
            self._on_cancel()


def _key_of(result: TargetResult, keys: Mapping[tuple[str, str], str]) -> str:
    """The key of the target a result belongs to (images and containers are keyed by their full ID)."""
    found = keys.get((result.kind.value, result.id))
    if found is not None:
        return found
    return "host" if result.kind is TargetKind.HOST else f"{result.kind.value}:{result.id}"


def stream_audit(
    session: AuditSession,
    targets: Sequence[ResolvedTarget],
    cancel: threading.Event,
    send: Callable[[BatchEvent], None],
) -> None:
    """Audit with the session's own `audit_many`, sending a start per target and each result as it finishes."""
    keys = {(t.kind.value, t.id or t.ref): t.key for t in targets}
    started: set[str] = set()
    lock = threading.Lock()

    def progress(event: ProgressEvent) -> None:
        with lock:
            if event.key in started:
                return
            started.add(event.key)
        send(AuditStarted(event.key))

    def finished(result: TargetResult) -> None:
        send(AuditFinished(_key_of(result, keys), result, session.raw(result)))

    session.audit_many(targets, on_result=finished, on_progress=progress, cancel=cancel)
    send(AuditEnded(cancelled=cancel.is_set()))


def audit_in_thread(session: AuditSession, targets: Sequence[ResolvedTarget]) -> BatchAudit:
    """Audit in threads of this process, on the session itself (engines a child cannot reopen: the demo)."""
    batch = BatchAudit(targets)

    def run() -> None:
        try:
            stream_audit(session, batch.targets, batch._cancel, batch.events.put)
        except Exception as exc:  # the UI must hear that the batch ended, whatever happened
            batch.events.put(AuditEnded(cancelled=batch.cancelled, error=f"{type(exc).__name__}: {exc}"))

    threading.Thread(target=run, name="audit-all", daemon=True).start()
    return batch
