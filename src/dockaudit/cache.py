"""The Trivy result cache: SQLite in the user cache dir, keyed by image, Trivy, DB and options, LRU-bounded."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from dockaudit.model import Finding, Fix, Location, Origin, Severity, Source, Status, Suppression, Vulnerability

log = logging.getLogger(__name__)

_SCHEMA = 1
_FILENAME = "trivy-results.sqlite3"


def default_cache_path() -> Path:
    """`<user cache dir>/dockaudit/trivy-results.sqlite3`, per platform conventions."""
    return Path(platformdirs.user_cache_dir("dockaudit", appauthor=False)) / _FILENAME


@dataclass(frozen=True)
class ScanKey:
    """Everything a Trivy result depends on."""

    image_id: str
    trivy_version: str
    db_updated_at: str
    """The DB's `UpdatedAt` as Trivy wrote it; empty when no vulnerability scan ran."""
    options: str
    """A fingerprint of the scan options (`TrivyOptions.cache_fingerprint`)."""

    def digest(self) -> str:
        """The row key."""
        raw = "\0".join((self.image_id, self.trivy_version, self.db_updated_at, self.options))
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class CachedScan:
    """A stored scan result."""

    findings: tuple[Finding, ...]
    status: str
    reason: str
    scanned_at: datetime


def _finding_to_dict(f: Finding) -> dict[str, Any]:
    return {
        "rule_id": f.rule_id,
        "slug": f.slug,
        "source": f.source.value,
        "severity": f.severity.label,
        "status": f.status.value,
        "title": f.title,
        "section": f.section,
        "evidence": f.evidence,
        "origin": f.origin.value,
        "location": vars(f.location),
        "fix": vars(f.fix) if f.fix else None,
        "references": list(f.references),
        "suppressed": vars(f.suppressed) if f.suppressed else None,
        "vulnerability": vars(f.vulnerability) if f.vulnerability else None,
    }


def _finding_from_dict(d: dict[str, Any]) -> Finding:
    return Finding(
        rule_id=d["rule_id"],
        slug=d["slug"],
        source=Source(d["source"]),
        severity=Severity.parse(d["severity"]),
        status=Status(d["status"]),
        title=d["title"],
        section=d["section"],
        evidence=d["evidence"],
        origin=Origin(d["origin"]),
        location=Location(**d["location"]),
        fix=Fix(**d["fix"]) if d["fix"] else None,
        references=tuple(d["references"]),
        suppressed=Suppression(**d["suppressed"]) if d["suppressed"] else None,
        vulnerability=Vulnerability(**d["vulnerability"]) if d["vulnerability"] else None,
    )


class ScanCache:
    """Trivy results by `ScanKey`; safe across threads and processes, and a broken file is rebuilt, never fatal."""

    def __init__(self, path: Path | None = None, *, max_entries: int = 5000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = path if path is not None else default_cache_path()
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.warnings: list[str] = []
        """Problems met (a rebuilt corrupt file...), for the UI to show once."""
        self._ready = False
        self._off: str | None = None
        """Why the cache is off for the rest of this run (a lock held past the busy timeout)."""

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        for attempt in (1, 2):
            try:
                conn = self._open()
            except sqlite3.DatabaseError as exc:
                if attempt == 2 or isinstance(exc, sqlite3.OperationalError):  # locked, unwritable: not damage
                    raise
                self._rebuild(exc)
                continue
            try:
                with conn:
                    yield conn
            finally:
                conn.close()
            return

    def _open(self) -> sqlite3.Connection:
        # The results describe weaknesses, as reports do: owner-only, like the 0600 report files.
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            # SQLite gives the -wal and -shm files the main file's mode, so create it private first.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        # A fresh connection per call: cheap, thread-safe, and other processes see committed rows at once.
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            if not self._ready:
                # One IMMEDIATE transaction: the write lock is taken up front, where the busy timeout applies;
                # an autocommit CREATE reads the schema first and then upgrades, and two processes doing that on a
                # new file can deadlock, which SQLite breaks by failing one at once ("database is locked").
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS scans (key TEXT PRIMARY KEY, image_id TEXT NOT NULL, "
                    "trivy_version TEXT, db_updated_at TEXT, options TEXT, scanned_at REAL NOT NULL, "
                    "last_used REAL NOT NULL, size INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT, payload TEXT)"
                )
                conn.execute("CREATE INDEX IF NOT EXISTS scans_image ON scans(image_id)")
                conn.execute("CREATE INDEX IF NOT EXISTS scans_lru ON scans(last_used)")
                conn.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT)")
                row = conn.execute("SELECT v FROM meta WHERE k = 'schema'").fetchone()
                if row is None:
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(_SCHEMA),))
                elif row[0] != str(_SCHEMA):
                    conn.execute("DELETE FROM scans")
                    conn.execute("UPDATE meta SET v = ? WHERE k = 'schema'", (str(_SCHEMA),))
                conn.execute("COMMIT")
                self._use_wal(conn)
                self._ready = True
            return conn
        except sqlite3.DatabaseError:
            conn.close()
            raise

    @staticmethod
    def _use_wal(conn: sqlite3.Connection) -> None:
        """Switch a new file to WAL (readers never wait for the writer); the mode is kept in the file."""
        if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            # Another process is setting the file up (and switches it): the rollback journal works meanwhile.

    def _rebuild(self, exc: Exception) -> None:
        message = f"result cache {self.path} was unreadable ({exc}); starting a new one"
        log.warning(message)
        self.warnings.append(message)
        self._ready = False
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()

    def get(self, key: ScanKey) -> CachedScan | None:
        """The stored result for `key`, or None; a hit counts as a use for LRU eviction."""
        if self._off:
            return None
        try:
            with self._connect() as conn:
                row = conn.execute(
                    "SELECT payload, status, reason, scanned_at FROM scans WHERE key = ?", (key.digest(),)
                ).fetchone()
                if row is None:
                    return None
                conn.execute("UPDATE scans SET last_used = ? WHERE key = ?", (time.time(), key.digest()))
            findings = tuple(_finding_from_dict(d) for d in json.loads(row[0]))
        except (sqlite3.Error, OSError, ValueError, KeyError, TypeError) as exc:
            self._failed(exc, "read")
            return None
        return CachedScan(findings, row[1], row[2] or "", datetime.fromtimestamp(row[3], UTC))

    def put(
        self,
        key: ScanKey,
        findings: Sequence[Finding],
        *,
        status: str = "ok",
        reason: str = "",
        scanned_at: datetime | None = None,
    ) -> None:
        """Store a result, then evict least recently used rows beyond the size bounds."""
        if self._off:
            return
        payload = json.dumps([_finding_to_dict(f) for f in findings], separators=(",", ":"))
        now = time.time()
        when = scanned_at.timestamp() if scanned_at else now
        try:
            with self._connect() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO scans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key.digest(),
                        key.image_id,
                        key.trivy_version,
                        key.db_updated_at,
                        key.options,
                        when,
                        now,
                        len(payload),
                        status,
                        reason,
                        payload,
                    ),
                )
                self._evict(conn)
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc, "write")

    def _evict(self, conn: sqlite3.Connection) -> None:
        count, total = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM scans").fetchone()
        if count <= self.max_entries and total <= self.max_bytes:
            return
        excess_rows = max(0, count - self.max_entries)
        doomed: list[str] = []
        freed = 0
        for key, size in conn.execute("SELECT key, size FROM scans ORDER BY last_used ASC"):
            if len(doomed) >= excess_rows and total - freed <= self.max_bytes:
                break
            doomed.append(key)
            freed += size
        conn.executemany("DELETE FROM scans WHERE key = ?", [(k,) for k in doomed])

    def last_scanned(self, image_id: str) -> datetime | None:
        """When `image_id` was last scanned successfully (any Trivy, DB or options), or None."""
        if self._off:
            return None
        try:
            with self._connect() as conn:
                row = conn.execute("SELECT MAX(scanned_at) FROM scans WHERE image_id = ?", (image_id,)).fetchone()
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc, "read")
            return None
        return datetime.fromtimestamp(row[0], UTC) if row and row[0] is not None else None

    def clear(self) -> None:
        """Forget every stored result."""
        with self._connect() as conn:
            conn.execute("DELETE FROM scans")

    def __len__(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM scans").fetchone()[0])

    def _failed(self, exc: Exception, what: str) -> None:
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            self._rebuild(exc)  # damaged after it was opened: start over next time
            return
        message = f"result cache {what} failed ({exc})"
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            # Another process held the lock past the busy timeout: do not wait again on every image.
            self._off = str(exc)
            message = f"result cache {self.path} is locked by another process; scanning without it for this run"
        log.warning(message)
        self.warnings.append(message)
