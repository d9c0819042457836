"""The result cache: round trips, keys, LRU bounds, several processes, and corrupt files."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from dockaudit.cache import ScanCache, ScanKey, default_cache_path
from dockaudit.model import Finding, Fix, Location, Origin, Severity, Source, Status, Vulnerability

KEY = ScanKey("sha256:img", "0.76.0", "2026-11-28T07:57:13Z|32768|1", "opts")


def finding(i: int = 0) -> Finding:
    return Finding(
        rule_id=f"CVE-2024-{i:04d}",
        slug="openssl",
        source=Source.TRIVY_VULN,
        severity=Severity.MEDIUM,
        status=Status.FAIL,
        title="t",
        section="Scanning and signing",
        evidence="e",
        origin=Origin.BASE,
        location=Location(layer=2, path="usr/lib"),
        fix=Fix(summary="upgrade openssl to 3"),
        references=("DSA-1", "https://x"),
        vulnerability=Vulnerability(
            id=f"CVE-2024-{i:04d}",
            package="openssl",
            installed="1",
            fixed="3",
            cvss=5.5,
            url="https://x",
            title="t",
            status="fixed",
            layer="sha256:l",
            from_base=True,
        ),
    )


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "c.sqlite3")
    cache.put(KEY, [finding(1), finding(2)])
    hit = cache.get(KEY)
    assert hit is not None
    assert hit.findings == (finding(1), finding(2))
    assert hit.status == "ok"


def test_any_key_part_changing_is_a_miss(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "c.sqlite3")
    cache.put(KEY, [finding()])
    assert cache.get(ScanKey("sha256:other", KEY.trivy_version, KEY.db_updated_at, KEY.options)) is None
    assert cache.get(ScanKey(KEY.image_id, "0.77.0", KEY.db_updated_at, KEY.options)) is None
    assert cache.get(ScanKey(KEY.image_id, KEY.trivy_version, "2026-12-01T00:00:00Z", KEY.options)) is None
    assert cache.get(ScanKey(KEY.image_id, KEY.trivy_version, KEY.db_updated_at, "other")) is None


def test_last_scanned_gives_the_newest_scan_of_an_image(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "c.sqlite3")
    assert cache.last_scanned("sha256:img") is None
    cache.put(KEY, [], scanned_at=datetime(2026, 11, 1, tzinfo=UTC))
    cache.put(ScanKey("sha256:img", "0.76.0", "newer-db", "opts"), [], scanned_at=datetime(2026, 11, 20, tzinfo=UTC))
    assert cache.last_scanned("sha256:img") == datetime(2026, 11, 20, tzinfo=UTC)


def test_least_recently_used_entries_are_evicted(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "c.sqlite3", max_entries=3)
    keys = [ScanKey(f"sha256:{i}", "v", "db", "o") for i in range(4)]
    for key in keys[:3]:
        cache.put(key, [finding()])
    assert cache.get(keys[0]) is not None  # now the most recently used
    cache.put(keys[3], [finding()])
    assert len(cache) == 3
    assert cache.get(keys[1]) is None
    assert all(cache.get(k) is not None for k in (keys[0], keys[2], keys[3]))


def test_size_bound_evicts_too(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "c.sqlite3", max_bytes=4000)
    for i in range(20):
        cache.put(ScanKey(f"sha256:{i}", "v", "db", "o"), [finding(j) for j in range(3)])
    assert 0 < len(cache) < 20
    assert cache.get(ScanKey("sha256:19", "v", "db", "o")) is not None


def test_corrupt_file_is_rebuilt_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a sqlite database" * 100)
    cache = ScanCache(path)
    assert cache.get(KEY) is None
    assert any("unreadable" in w for w in cache.warnings)
    cache.put(KEY, [finding()])
    assert ScanCache(path).get(KEY) is not None


def test_file_damaged_while_in_use_is_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cache = ScanCache(path)
    cache.put(KEY, [finding()])
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path.write_bytes(b"\x00garbage" * 1000)
    assert cache.get(KEY) is None
    cache.put(KEY, [finding()])
    assert cache.get(KEY) is not None


def _writer(path: str, start: int) -> None:
    cache = ScanCache(Path(path))
    for i in range(start, start + 25):
        cache.put(ScanKey(f"sha256:{i}", "v", "db", "o"), [finding(i)])
        cache.get(ScanKey(f"sha256:{i}", "v", "db", "o"))
    # A writer that turned its cache off (a lock it could not get) says why, and fails the test with it.
    assert cache.warnings == [], cache.warnings


def test_several_processes_share_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), n * 100)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = ScanCache(path)
    assert len(cache) == 100
    assert cache.warnings == []


def test_default_location_is_the_user_cache_dir() -> None:
    assert default_cache_path().name == "trivy-results.sqlite3"
    assert "dockaudit" in default_cache_path().parts
