"""Vulnerability DB status and the meaning of Trivy's DB errors (spec trivy-offline-db §8)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dockaudit.scanners.trivy import TrivyBinary, TrivyOptions, db_status
from dockaudit.scanners.trivy_db import classify_db_error, parse_version_json

CACHE = Path("/cache")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def status(doc: object, offline: bool = True) -> tuple[str, str]:
    s = parse_version_json(json.dumps(doc), now=NOW, max_age_days=7, cache_dir=CACHE, offline=offline)
    return s.status, s.message


def db(updated: str, version: int = 2) -> dict[str, object]:
    return {
        "Version": "0.76.0",
        "VulnerabilityDB": {"Version": version, "UpdatedAt": updated, "NextUpdate": "2026-11-29T00:00:00Z"},
    }


def test_version_json_gives_ok_stale_missing_and_schema_failures() -> None:
    assert status(db("2026-11-27T07:57:13.123456789Z"))[0] == "ok"
    state, message = status(db("2026-11-01T00:00:00Z"))
    assert state == "stale" and "27 days old" in message and "does not warn" in message
    state, message = status({"Version": "0.76.0"})
    assert state == "missing" and "/cache/db" in message
    state, message = status(db("2026-11-27T00:00:00Z", version=1))
    assert state == "failed" and "schema mismatch" in message
    assert status("garbage")[0] in ("failed", "missing")


@pytest.mark.parametrize(
    ("stderr", "rc", "kind"),
    [
        (
            "FATAL\tFatal error\trun error: init error: DB error: database error: --skip-db-update cannot be specified "
            "on the first run",
            1,
            "missing",
        ),
        ("ERROR\t[vulndb] The first run cannot skip downloading DB", 1, "missing"),
        (
            "FATAL ... validate error: --skip-db-update cannot be specified with the old DB schema. Local DB: 1, "
            "Expected: 2",
            1,
            "schema",
        ),
        (
            "ERROR\t[vulndb] Trivy version is old. Update to the latest version.\nFATAL ... the version of DB schema "
            "doesn't match. Local DB: 3, Expected: 2",
            1,
            "schema",
        ),
        ("FATAL ... error in vulnerability DB initialization: failed to open db: invalid database", 1, "corrupt"),
        ("FATAL ... failed to open db: checksum error", 1, "corrupt"),
        ("panic: assertion failed: Page expected to be: 7, but self identifies as 0\n\ngoroutine 1", 2, "corrupt"),
        ("unexpected fault address 0x7f\nfatal error: fault\n[signal SIGBUS: bus error]", 2, "corrupt"),
        (
            "FATAL ... failed to get debian advisories: failed to get advisories: json unmarshal error: json: cannot "
            "unmarshal string",
            1,
            "corrupt",
        ),
        (
            "INFO\t[vulndb] Need to update DB\nFATAL ... failed to download vulnerability DB: ... no such host",
            1,
            "download",
        ),
        ("FATAL ... vulnerability database may be in use by another process", 1, "locked"),
    ],
)
def test_db_errors_are_recognised(stderr: str, rc: int, kind: str) -> None:
    error = classify_db_error(stderr, rc, CACHE, offline=True)
    assert error is not None
    assert error.kind == kind


def test_schema_message_says_which_side_to_upgrade() -> None:
    newer = classify_db_error("Local DB: 3, Expected: 2 Trivy version is old", 1, CACHE, offline=True)
    older = classify_db_error("old DB schema. Local DB: 1, Expected: 2", 1, CACHE, offline=True)
    assert newer is not None and "upgrade Trivy" in newer.message
    assert older is not None and "older than this Trivy" in older.message


def test_other_failures_are_not_db_errors() -> None:
    assert (
        classify_db_error('FATAL\tunable to find the specified image "x" in ["docker"]', 1, CACHE, offline=True) is None
    )
    assert classify_db_error("", 0, CACHE, offline=True) is None


def test_db_status_skipped_without_vulnerability_scanning(tmp_path: Path) -> None:
    binary = TrivyBinary(str(tmp_path / "never-run"), "0.76.0")
    assert db_status(binary, TrivyOptions(scanners=("misconfig",))).status == "skipped"


def test_db_status_failed_when_trivy_cannot_run(tmp_path: Path) -> None:
    binary = TrivyBinary(str(tmp_path / "absent"), "0.76.0")
    result = db_status(binary, TrivyOptions(cache_dir=tmp_path))
    assert result.status == "failed" and "trivy version" in result.message
