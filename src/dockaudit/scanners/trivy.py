"""Trivy inside dockaudit: DB status, one or many image scans (cached, bounded, cancellable), and merging.

The public API other layers use; the work is split over `trivy_binary`, `trivy_options`, `trivy_db`,
`trivy_runner`, `trivy_parse` and `trivy_merge`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from dockaudit.cache import ScanCache, ScanKey
from dockaudit.errors import DockauditError
from dockaudit.facts.image import ImageFacts
from dockaudit.model import DbStatus, TrivyInfo
from dockaudit.scanners.process import run_process
from dockaudit.scanners.trivy_binary import MIN_VERSION, TrivyBinary, find_trivy
from dockaudit.scanners.trivy_db import check_db_file, classify_db_error, parse_version_json, query_version
from dockaudit.scanners.trivy_merge import merge_findings
from dockaudit.scanners.trivy_options import ImageSource, TrivyOptions
from dockaudit.scanners.trivy_outcome import TrivyScan, failure_reason, interpret
from dockaudit.scanners.trivy_runner import build_argv, build_update_argv
from dockaudit.source import TrivyInput

__all__ = [
    "MIN_VERSION",
    "ImageSource",
    "TrivyBinary",
    "TrivyOptions",
    "TrivyScan",
    "TrivyScanner",
    "db_status",
    "find_trivy",
    "merge_findings",
    "scan_image",
    "update_db",
]

Progress = Callable[[str], None]


def db_status(binary: TrivyBinary, options: TrivyOptions, now: datetime | None = None) -> DbStatus:
    """The vulnerability DB's state, from `trivy version -f json --cache-dir DIR`."""
    if "vuln" not in options.scanners:
        return DbStatus("skipped", message="vulnerability scanning is off")
    cache_dir = options.resolved_cache_dir
    try:
        proc = query_version(binary.path, cache_dir)
    except OSError as exc:
        return DbStatus("failed", message=f"`trivy version` failed: {exc}")
    if proc.timed_out:
        return DbStatus("failed", message="`trivy version` did not answer in time")
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return DbStatus("failed", message=f"`trivy version` failed: {lines[-1] if lines else proc.returncode}")
    offline = options.offline or options.skip_db_update
    status = parse_version_json(
        proc.stdout.decode("utf-8", "replace"),
        now=now or datetime.now(UTC),
        max_age_days=options.db_max_age_days,
        cache_dir=cache_dir,
        offline=offline,
    )
    if status.status in ("ok", "stale"):
        damaged = check_db_file(cache_dir, offline=offline)
        if damaged is not None:
            return replace(damaged, updated_at=status.updated_at, next_update=status.next_update, schema=status.schema)
    return status


def _db_fingerprint(options: TrivyOptions) -> str | None:
    """The DB identity for the cache key (UpdatedAt plus the file's size and mtime); None when unknown."""
    if "vuln" not in options.scanners:
        return "-"
    db_dir = options.resolved_cache_dir / "db"
    try:
        meta = json.loads((db_dir / "metadata.json").read_text())
        stat = (db_dir / "trivy.db").stat()
    except (OSError, ValueError):
        return None
    updated = meta.get("UpdatedAt") if isinstance(meta, dict) else None
    if not isinstance(updated, str):
        return None
    return f"{updated}|{stat.st_size}|{stat.st_mtime_ns}"


def _cache_key(binary: TrivyBinary, source: ImageSource, options: TrivyOptions) -> ScanKey | None:
    db = _db_fingerprint(options)
    if db is None or not source.image_id:
        return None
    base = ",".join(sorted(source.base_layers)) if source.base_layers is not None else "?"
    extra = hashlib.sha256(base.encode()).hexdigest()[:12]
    return ScanKey(source.image_id, binary.version, db, f"{options.cache_fingerprint()}/{extra}")


LAYER_CACHE_BUSY = "unable to initialize fs cache"
"""Trivy's message when another process holds its layer cache (it waits 5 s, then gives up)."""

_DB_RECHECK_S = 600.0
_db_lock = threading.Lock()
_db_checked: dict[str, tuple[float, TrivyScan]] = {}
_slots_lock = threading.Lock()
_layer_cache_in_use: set[str] = set()


def _ensure_db(binary: TrivyBinary, options: TrivyOptions, cancel: threading.Event | None) -> TrivyScan:
    """Refresh the DB once per cache dir (re-checked every 10 minutes) so scans can skip updating it.

    Concurrent Trivy processes must not each replace the DB file that the others are reading.
    """
    key = str(options.resolved_cache_dir)
    with _db_lock:
        checked = _db_checked.get(key)
        if checked is not None and time.monotonic() - checked[0] < _DB_RECHECK_S:
            return checked[1]
        result = update_db(binary, options, cancel=cancel)
        if result.status != "skipped":
            _db_checked[key] = (time.monotonic(), result)
        return result


@contextlib.contextmanager
def _layer_cache_slot(options: TrivyOptions) -> Iterator[TrivyOptions]:
    """Options for one run: the on-disk layer cache if no other scan of ours holds it, else memory."""
    key = str(options.resolved_cache_dir)
    with _slots_lock:
        mine = options.layer_cache and key not in _layer_cache_in_use
        if mine:
            _layer_cache_in_use.add(key)
    try:
        yield options if mine or not options.layer_cache else replace(options, layer_cache=False)
    finally:
        if mine:
            with _slots_lock:
                _layer_cache_in_use.discard(key)


def scan_image(
    binary: TrivyBinary,
    source: ImageSource,
    options: TrivyOptions,
    *,
    cancel: threading.Event | None = None,
    on_progress: Progress | None = None,
    cache: ScanCache | None = None,
    export: Callable[[Path], None] | None = None,
    read_cache: bool = True,
) -> TrivyScan:
    """Scan one image; scanner failures come back as a `failed` TrivyScan, never as an exception.

    Without `docker_host` or `archive`, `export(path)` writes the saved image, which Trivy reads with
    `--input`. `read_cache=False` (`--no-cache`) rescans but still records the fresh result.
    """
    name = source.ref or source.image_id

    def progress(message: str) -> None:
        if on_progress is not None:
            on_progress(f"{name}: {message}")

    if cancel is not None and cancel.is_set():
        return TrivyScan("skipped", "cancelled")
    if not options.scanners:
        return TrivyScan("skipped", "no Trivy scanner selected")
    run_options = options
    if "vuln" in options.scanners and not (options.offline or options.skip_db_update):
        # Before the cache lookup: a refreshed DB must not be answered from results of the old one.
        progress("checking the vulnerability DB")
        db = _ensure_db(binary, options, cancel)
        if db.status != "ok":
            return db
        run_options = replace(options, skip_db_update=True)
    key = _cache_key(binary, source, options) if cache is not None else None
    if cache is not None and key is not None and read_cache:
        hit = cache.get(key)
        if hit is not None:
            progress("cached result")
            return TrivyScan(hit.status, hit.reason, hit.findings, cached=True, scanned_at=hit.scanned_at)
    workdir: str | None = None
    try:
        input_path: Path | None = None
        if source.archive is None and source.docker_host is None and export is not None:
            workdir = tempfile.mkdtemp(prefix="dockaudit-trivy-")  # mode 0700: the tar is private
            input_path = Path(workdir) / "image.tar"
            progress("exporting image")
            try:
                export(input_path)
            except Exception as exc:  # an engine or disk error: this scan fails, others go on
                return TrivyScan("failed", f"could not export the image for Trivy: {exc}")
        progress("scanning")
        try:
            with _layer_cache_slot(run_options) as slot:
                result = run_process(
                    build_argv(binary.path, source, slot, input_path=input_path), timeout=options.timeout, cancel=cancel
                )
            if result.returncode not in (0, None) and LAYER_CACHE_BUSY in result.stderr and slot.layer_cache:
                # Another process (a second dockaudit, a CI job) holds Trivy's layer cache: go without it.
                progress("Trivy's layer cache is busy; scanning without it")
                slot = replace(slot, layer_cache=False)
                argv = build_argv(binary.path, source, slot, input_path=input_path)
                result = run_process(argv, timeout=options.timeout, cancel=cancel)
        except OSError as exc:
            return TrivyScan("failed", f"cannot run Trivy at {binary.path}: {exc}")
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    scan = interpret(result, source, options)
    progress(scan.summary if scan.status != "ok" else f"{len(scan.findings)} findings")
    if cache is not None and key is not None and scan.status in ("ok", "degraded"):
        # A degraded result is replayed with its status and reason, never as a clean pass.
        cache.put(key, scan.findings, status=scan.status, reason=scan.reason, scanned_at=scan.scanned_at)
    return scan


def update_db(binary: TrivyBinary, options: TrivyOptions, *, cancel: threading.Event | None = None) -> TrivyScan:
    """Download or refresh the DB as Trivy would before a scan; a `failed` result says why (`db_error` set)."""
    try:
        result = run_process(build_update_argv(binary.path, options), timeout=options.timeout, cancel=cancel)
    except OSError as exc:
        return TrivyScan("failed", f"cannot run Trivy at {binary.path}: {exc}")
    if result.cancelled:
        return TrivyScan("skipped", "cancelled")
    if result.timed_out or result.returncode != 0:
        db = classify_db_error(result.stderr, result.returncode or 0, options.resolved_cache_dir, offline=False)
        reason = db.message if db else failure_reason(result.stderr, result.returncode or 0)
        if result.timed_out:
            reason = f"the vulnerability DB download did not finish within {options.timeout:g} s"
        return TrivyScan("failed", reason, db_error=True)
    return TrivyScan("ok")


class TrivyScanner:
    """Trivy for one audit session: the binary is found once, the DB probed once (again after a refresh),
    every scan cached by image ID, Trivy version, DB and options."""

    def __init__(
        self,
        options: TrivyOptions,
        *,
        trivy_path: str | None = None,
        cache_path: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.options = options
        self._trivy_path = trivy_path
        self._cache_path = cache_path
        self._clock = clock
        self._lock = threading.Lock()
        self._binary: TrivyBinary | None = None
        self._binary_error = ""
        self._binary_checked = False
        self._cache: ScanCache | None = None
        self._cache_checked = False
        self._info: TrivyInfo | None = None
        self._info_checked = False

    @property
    def selected(self) -> tuple[str, ...]:
        """The Trivy scanners this session runs (empty: Trivy is off)."""
        return self.options.scanners

    def binary(self) -> TrivyBinary | None:
        """The Trivy binary, found and version-checked once; None when missing (see `info`)."""
        with self._lock:
            if not self._binary_checked:
                self._binary_checked = True
                try:
                    self._binary = find_trivy(self._trivy_path)
                except DockauditError as exc:
                    self._binary_error = str(exc)
            return self._binary

    def _result_cache(self) -> ScanCache | None:
        with self._lock:
            if not self._cache_checked:
                self._cache_checked = True
                try:
                    self._cache = ScanCache(self._cache_path)
                except Exception:  # an unusable cache only costs speed
                    self._cache = None
            return self._cache

    def last_scanned(self, image_id: str) -> datetime | None:
        """When the image was last scanned, from the result cache (None: never, or no cache)."""
        cache = self._result_cache()
        return cache.last_scanned(image_id) if cache is not None else None

    def info(self, *, refresh: bool = False) -> TrivyInfo | None:
        """Which Trivy runs and the state of its DB (probed once; `refresh` asks the DB again); None when off."""
        if not self.selected:
            return None
        with self._lock:
            if self._info_checked and not refresh:
                return self._info
        binary = self.binary()
        if binary is None:
            info = TrivyInfo(version="", db=DbStatus(status="failed", message=self._binary_error or ""))
        else:
            try:
                status = db_status(binary, self.options, now=self._clock())
            except Exception as exc:
                status = DbStatus(status="failed", message=str(exc))
            info = TrivyInfo(version=binary.version, db=status)
        with self._lock:
            self._info, self._info_checked = info, True
        return info

    def scan(
        self,
        image: ImageFacts,
        where: TrivyInput | None,
        *,
        archive: Path | None = None,
        cancel: threading.Event | None = None,
        on_progress: Progress | None = None,
        use_cache: bool = True,
    ) -> TrivyScan:
        """Scan one image (from its engine or a saved archive); failures come back as values."""
        if not self.selected:
            return TrivyScan("skipped", "")
        if cancel is not None and cancel.is_set():
            return TrivyScan("skipped", "cancelled")
        binary = self.binary()
        if binary is None:
            return TrivyScan("failed", self._binary_error or "Trivy is not available")
        source = ImageSource(
            ref=image.name if not image.name.startswith("<none>@") else image.id,
            image_id=image.id,
            docker_host=where.docker_host if where is not None else None,
            archive=archive,
            podman=where.podman if where is not None else False,
            base_layers=base_layers(image),
        )
        try:
            return scan_image(
                binary,
                source,
                self.options,
                cancel=cancel,
                on_progress=on_progress,
                cache=self._result_cache(),
                export=where.export if where is not None else None,
                read_cache=use_cache,
            )
        except Exception as exc:  # scan_image reports failures as values; this is a safety net
            return TrivyScan("failed", f"{type(exc).__name__}: {exc}")


def base_layers(image: ImageFacts) -> frozenset[str] | None:
    """Diff IDs of the layers the image's base made, when the history tells; findings there are the base's."""
    steps = image.steps
    if not image.layers or all(step.from_base is None for step in steps):
        return None
    return frozenset(
        image.layers[step.layer_index]
        for step in steps
        if step.from_base and step.layer_index is not None and step.layer_index < len(image.layers)
    )
