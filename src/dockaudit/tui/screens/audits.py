"""The main screen's audits: `a` queues targets for workers (checklist first, then Trivy), `A` streams a
whole list's audit-all into the rows; both through the same audit session as `dockaudit scan`."""

from __future__ import annotations

import asyncio
import queue
from collections import deque
from dataclasses import replace
from functools import partial

from textual import on, work
from textual.message import Message
from textual.worker import Worker, WorkerState, get_current_worker

from dockaudit.audit_options import ProgressEvent
from dockaudit.facts.image import ImageFacts
from dockaudit.facts.inventory import ContainerSummary, ImageSummary
from dockaudit.model import TargetKind
from dockaudit.run import AuditEnded, AuditFinished, AuditStarted, BatchAudit
from dockaudit.targets import ResolvedTarget, container_target, image_target
from dockaudit.tui.backend import ScanState, start_audit_all
from dockaudit.tui.messages import AuditFailed, ChecklistDone, ScanProgress, TrivyDone
from dockaudit.tui.screens.target_lists import TargetLists
from dockaudit.tui.widgets.audit_progress import AuditProgress

MAX_PARALLEL_AUDITS = 4
"""Targets audited at once by `a`; the rest wait in a queue."""

BATCH_DRAIN_SECONDS = 0.2
"""How often audit-all results are taken into the lists: one batch of row patches per tick, not one per result."""


class TargetAudits(TargetLists):
    """Audits of the highlighted or selected targets, and audit-all."""

    queue: deque[tuple[str, bool]]
    active: set[str]
    audit_all_run: BatchAudit | None
    _batch_rows: dict[str, ImageSummary | ContainerSummary]

    def _target(self, key: str) -> ResolvedTarget | None:
        """The audit target of a list key, built from the inventory row (so it is named as the list names it)."""
        if self.engine is None:
            return None
        engine = self.engine.id
        if key == "host":
            return ResolvedTarget(TargetKind.HOST, engine, engine, engine, engine)
        kind, _, ident = key.partition(":")
        if kind == "image":
            image = next((r for r in self.inventory.images if r.id == ident), None)
            return image_target(image, engine) if image is not None else None
        container = next((r for r in self.inventory.containers if r.id == ident), None)
        return container_target(container, engine) if container is not None else None

    def _audit_worker(self, key: str, use_cache: bool) -> None:
        """Checklist first (posted at once), then Trivy for images; checks the cancel event between steps."""
        worker = get_current_worker()
        cancel = worker.cancelled_event

        def progress(step: ProgressEvent) -> None:
            if not worker.is_cancelled:
                self.post_message(ScanProgress(replace(step, key=key)))

        def post(message: Message) -> None:
            # A cancelled worker's thread runs on until Trivy is killed; its results must not
            # overwrite a newer audit of the same target (the state handler already showed the cancel).
            if not worker.is_cancelled:
                self.post_message(message)

        target = self._target(key)
        if target is None and key.startswith("service:"):
            target = self.compose_target(key)
        if target is None:
            post(AuditFailed(key, "it is no longer listed: refresh the inventory (r)"))
            return
        try:
            result, facts = self.session.checklist(target, on_progress=progress, cancel=cancel)
            want_trivy = (
                isinstance(facts, ImageFacts) and bool(self.session.options.trivy_scanners) and not cancel.is_set()
            )
            post(ChecklistDone(key, result, facts, want_trivy))
            if want_trivy and isinstance(facts, ImageFacts):
                merged = self.session.scan(result, facts, on_progress=progress, cancel=cancel, use_cache=use_cache)
                if cancel.is_set():
                    post(AuditFailed(key, "cancelled", cancelled=True))
                    return
                post(TrivyDone(key, merged))
        except Exception as exc:
            post(AuditFailed(key, str(exc) or type(exc).__name__, cancelled=cancel.is_set()))

    def enqueue(self, keys: list[str], *, use_cache: bool = True) -> None:
        """Queue audits of targets by key and start as many as the limit allows."""
        queued = {k for k, _ in self.queue}
        for key in keys:
            if key in queued:
                continue
            self.queue.append((key, use_cache))
            self.scans[key] = ScanState(stage="queued", message="waiting for a free slot", fraction=0.0)
            self.patch_row(key)
        self._pump()
        self.show_detail()

    def _pump(self) -> None:
        while self.queue and len(self.active) < MAX_PARALLEL_AUDITS:
            key, use_cache = self.queue.popleft()
            self.active.add(key)
            self.scans[key] = ScanState(stage="checklist", message="starting", fraction=0.0)
            self.patch_row(key)
            self.run_worker(
                partial(self._audit_worker, key, use_cache),
                name=key,
                group=f"audit:{key}",
                exclusive=True,
                thread=True,
                exit_on_error=False,
            )
        self.refresh_bindings()  # `c` is offered while audits run

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Free an audit slot when a target's worker ends."""
        worker = event.worker
        if worker.group.startswith("audit:") and event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            key = worker.group.removeprefix("audit:")
            self.active.discard(key)
            scan = self.scans.get(key)
            if scan is not None and (scan.running or scan.trivy_pending):
                self.scans[key] = replace(scan, running=False, trivy_pending=False, stage="cancelled")
                self._after_scan_change(key)
            self._pump()

    @on(ScanProgress)
    def _progress(self, message: ScanProgress) -> None:
        step = message.progress
        scan = self.scans.get(step.key, ScanState())
        running = not scan.trivy_pending
        self.scans[step.key] = replace(
            scan, stage=step.stage, message=step.message, fraction=step.fraction, running=running
        )
        self._after_scan_change(step.key)

    @on(ChecklistDone)
    def _checklist_done(self, message: ChecklistDone) -> None:
        self.results[message.key] = message.result
        if message.facts is not None:
            # Audit facts include the layers (sizes, OS); they replace the quick inspect.
            self.facts[message.key] = message.facts
        self.hardening.pop(message.key, None)
        self.scans[message.key] = ScanState(
            stage="trivy" if message.trivy_pending else "done",
            message="Trivy is scanning in the background" if message.trivy_pending else "done",
            fraction=None,
            running=False,
            trivy_pending=message.trivy_pending,
        )
        self._after_scan_change(message.key, result_changed=True)

    @on(TrivyDone)
    def _trivy_done(self, message: TrivyDone) -> None:
        self.results[message.key] = message.result
        self.scans[message.key] = ScanState(stage="done", message="done", fraction=1.0, running=False)
        self._after_scan_change(message.key, result_changed=True)

    @on(AuditFailed)
    def _audit_failed(self, message: AuditFailed) -> None:
        scan = self.scans.get(message.key, ScanState())
        self.scans[message.key] = replace(
            scan,
            running=False,
            trivy_pending=False,
            stage="cancelled" if message.cancelled else "failed",
            error=None if message.cancelled else message.error,
            message=message.error,
        )
        if not message.cancelled:
            self.notify(message.error, title=f"Audit failed: {message.key.partition(':')[2][:19]}", severity="error")
        self._after_scan_change(message.key)

    def _after_scan_change(self, key: str, *, result_changed: bool = False) -> None:
        if key == "host":
            if self.kind == "host":
                self._show_host()
            return
        self.patch_row(key)
        if key == self._detail_key():
            detail = self.browser().detail
            detail.show_status(self.results.get(key), self.scans.get(key))
            if result_changed:
                detail.show_result(self.results.get(key))
                self._show_hardening(key, detail)
                self._show_overview(key, detail)

    def _targets(self) -> list[str]:
        """Keys of the selection of the shown list, else of the highlighted row."""
        if self.kind == "host":
            return ["host"]
        if self.kind == "compose":
            return self.compose_keys()
        prefix = f"{self.kind}:"
        chosen = [k for k in self.selected if k.startswith(prefix)]
        if not chosen:
            current = self.current_key()
            chosen = [current] if current else []
        return sorted(chosen)

    def action_audit(self) -> None:
        """Audit the selection (or the highlighted row)."""
        self.enqueue(self._targets())

    def action_rescan(self) -> None:
        """Audit again, ignoring cached Trivy results."""
        self.enqueue(self._targets(), use_cache=False)

    def action_audit_all(self) -> None:
        """Audit every target listed in the shown tab in the background; results stream into the list."""
        if self.kind == "host":
            self.enqueue(["host"])
            return
        if self.kind == "compose":
            keys = self.compose_keys(every=True)
            self.enqueue(keys)
            self.notify(f"Auditing {len(keys)} Compose targets ({MAX_PARALLEL_AUDITS} at a time)")
            return
        if self.audit_all_run is not None:
            self.notify("Audit all is already running: c cancels it", severity="warning")
            return
        if self.engine is None:
            self.notify("No engine: only the Compose files given are listed (E picks an engine)", severity="warning")
            return
        engine = self.engine.id
        rows: list[ImageSummary | ContainerSummary] = [
            *(self._visible_images() if self.kind == "image" else self._visible_containers())
        ]
        targets = [
            image_target(r, engine) if isinstance(r, ImageSummary) else container_target(r, engine) for r in rows
        ]
        if not targets:
            self.notify("Nothing listed to audit", severity="warning")
            return
        self._batch_rows = {t.key: r for t, r in zip(targets, rows, strict=True)}
        for key in self._batch_rows:
            self.scans[key] = ScanState(stage="queued", message="waiting for audit all", fraction=0.0)
            self._patch_batch_row(key)
        self.audit_all_run = start_audit_all(
            self.session, targets, getattr(self.app, "connector", None), getattr(self.app, "choice", None)
        )
        self.query_one("#audit-progress", AuditProgress).start(len(targets))
        self._follow_audit_all(self.audit_all_run)
        self.show_detail()
        self.refresh_bindings()

    @work(exclusive=True, group="audit-all", exit_on_error=False)
    async def _follow_audit_all(self, run: BatchAudit) -> None:
        # A worker, not a timer: whoever waits for the screen's work (tests, scenes) waits for audit-all too.
        while self.audit_all_run is run:
            await asyncio.sleep(BATCH_DRAIN_SECONDS)
            self._drain_batch()

    def _patch_batch_row(self, key: str) -> None:
        row = self._batch_rows.get(key)
        if f"{key.partition(':')[0]}s" not in self.built_tabs:
            return  # the list is built from state when its tab is first shown
        if isinstance(row, ImageSummary):
            self.browser("image").table.patch(key, self._image_cells(row))
        elif isinstance(row, ContainerSummary):
            self.browser("container").table.patch(key, self._container_cells(row))

    def _drain_batch(self) -> None:
        """Take every audit-all event that arrived since the last tick into state, then patch the rows once."""
        batch = self.audit_all_run
        if batch is None:
            return
        changed: dict[str, bool] = {}  # key -> its result changed
        done = failed = 0
        ended: AuditEnded | None = None
        while ended is None:
            try:
                event = batch.events.get_nowait()
            except queue.Empty:
                break
            if isinstance(event, AuditStarted):
                if event.key in self._batch_rows:
                    self.scans[event.key] = ScanState(
                        stage="auditing", message="checklist and Trivy running", fraction=None
                    )
                    changed.setdefault(event.key, False)
            elif isinstance(event, AuditFinished):
                result = event.result
                if event.raw is not None:
                    self.session.adopt(event.raw)  # so ignores rescore it and export reports it
                self.results[event.key] = result
                self.hardening.pop(event.key, None)
                error = "; ".join(f"{e.stage}: {e.message}" for e in result.errors) or None
                if result.gone is not None:
                    # Removed while the audit ran: nothing failed, there is nothing left to audit.
                    self.scans[event.key] = ScanState(stage="done", message=result.gone, running=False)
                else:
                    self.scans[event.key] = ScanState(
                        stage="failed" if error else "done", message=error or "done", running=False, error=error
                    )
                    failed += bool(result.errors)
                changed[event.key] = True
                done += 1
            else:
                ended = event
        shown = self._detail_key()
        for key, result_changed in changed.items():
            if key == shown:
                self._after_scan_change(key, result_changed=result_changed)
            else:
                self._patch_batch_row(key)
        progress = self.query_one("#audit-progress", AuditProgress)
        progress.count(done, failed)
        if ended is not None:
            self._end_batch(ended)

    def _end_batch(self, ended: AuditEnded) -> None:
        """Rows left waiting go back to not audited, rows cut off mid-audit say so; the line keeps a summary."""
        for key in self._batch_rows:
            scan = self.scans.get(key)
            if scan is not None and scan.running:
                if scan.stage == "queued":
                    self.scans.pop(key)
                else:
                    self.scans[key] = replace(scan, running=False, stage="cancelled", message="cancelled")
                self._patch_batch_row(key)
        progress = self.query_one("#audit-progress", AuditProgress)
        progress.end(cancelled=ended.cancelled)
        if ended.error:
            self.notify(ended.error, title="Audit all failed", severity="error")
        elif ended.cancelled:
            self.notify(f"Audit all cancelled: {progress.done} of {progress.total} audited")
        self.audit_all_run = None
        self._batch_rows = {}
        self.show_detail()
        self.refresh_bindings()

    def action_cancel_audits(self) -> None:
        """Cancel audit-all and every queued or running audit (Trivy processes are killed)."""
        if self.audit_all_run is not None:
            self.audit_all_run.cancel()
            self._drain_batch()
        waiting = list(self.queue)
        self.queue.clear()
        for key, _cache in waiting:
            self.scans.pop(key, None)
            self.patch_row(key)
        for worker in self.app.workers:
            if worker.node is self and worker.group.startswith("audit:") and worker.is_running:
                worker.cancel()
