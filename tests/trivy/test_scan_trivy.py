"""dockaudit's Trivy scans against the real Trivy 0.76, fully offline, with the tiny test DB."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import pytest

from dockaudit.cache import ScanCache
from dockaudit.engine.client import connect, resolve_endpoint
from dockaudit.engine.source import EngineSource
from dockaudit.model import Source
from dockaudit.scanners.trivy import (
    ImageSource,
    TrivyBinary,
    TrivyOptions,
    TrivyScan,
    db_status,
    scan_image,
)
from tests.trivy import images, trivydb
from tests.trivy.conftest import FAKES, scan_in_parallel, source

pytestmark = [pytest.mark.trivy, pytest.mark.docker]


def vulns(scan: TrivyScan) -> set[tuple[str, str, str, str | None, str]]:
    found = set()
    for f in scan.findings:
        if f.source is Source.TRIVY_VULN:
            assert f.vulnerability is not None
            v = f.vulnerability
            found.add((v.id, v.package, v.installed, v.fixed, f.severity.label))
    return found


@pytest.mark.parametrize("name", ["alpine", "debian", "python"])
def test_fixture_image_reports_exactly_the_db_cves(
    trivy: TrivyBinary, vuln_only: TrivyOptions, fixture_images: dict[str, str], name: str
) -> None:
    scan = scan_image(trivy, source(fixture_images[name]), vuln_only)
    assert scan.status == "ok", scan.reason
    assert scan.db_error is False
    assert vulns(scan) == images.EXPECTED[name]
    assert scan.raw_schema_version == 2


def test_vulnerability_finding_carries_fix_cvss_url_and_layer(full_scan: Callable[[str], TrivyScan]) -> None:
    scan = full_scan("debian")
    by_id = {f.rule_id: f for f in scan.findings}
    fixed = by_id["CVE-2024-0727"]
    assert fixed.slug == "libssl3"
    assert fixed.section == "Scanning and signing"
    assert fixed.fix is not None and fixed.fix.summary == "upgrade libssl3 to 3.0.13-1~deb12u1"
    assert fixed.vulnerability is not None
    assert fixed.vulnerability.cvss == 5.5
    assert fixed.vulnerability.url == "https://avd.aquasec.com/nvd/cve-2024-0727"
    assert fixed.vulnerability.layer is not None and fixed.vulnerability.layer.startswith("sha256:")
    assert fixed.location.layer == 0
    assert "DSA-5678-1" in fixed.references


def test_unfixed_vulnerability_has_no_fix(full_scan: Callable[[str], TrivyScan]) -> None:
    scan = full_scan("debian")
    unfixed = next(f for f in scan.findings if f.rule_id == "CVE-2023-45853")
    assert unfixed.fix is None
    assert unfixed.vulnerability is not None
    assert unfixed.vulnerability.fixed is None
    assert unfixed.vulnerability.status == "will_not_fix"
    assert "no fixed version" in unfixed.evidence


def test_base_layers_mark_vulnerabilities_as_from_base(
    trivy: TrivyBinary, offline: TrivyOptions, fixture_images: dict[str, str], docker_client: docker.DockerClient
) -> None:
    image_id = fixture_images["alpine"]
    layers = frozenset(docker_client.api.inspect_image(image_id)["RootFS"]["Layers"])
    src = ImageSource(ref=image_id, image_id=image_id, docker_host="unix:///var/run/docker.sock", base_layers=layers)
    scan = scan_image(trivy, src, replace(offline, scanners=("vuln",)))
    busybox = next(f for f in scan.findings if f.rule_id == "CVE-2023-42363")
    assert busybox.origin.value == "base"
    assert busybox.vulnerability is not None and busybox.vulnerability.from_base is True
    assert busybox.fix is not None and "base image" in busybox.fix.summary


def test_image_config_misconfigurations_are_reported(full_scan: Callable[[str], TrivyScan]) -> None:
    scan = full_scan("alpine")
    misconfig = {f.rule_id: f for f in scan.findings if f.source is Source.TRIVY_MISCONFIG}
    assert {"DS-0002", "DS-0026"} <= set(misconfig)
    assert misconfig["DS-0002"].severity.label == "high"


def test_secret_is_reported_redacted_and_test_paths_are_skipped(full_scan: Callable[[str], TrivyScan]) -> None:
    scan = full_scan("secret")
    secrets = [f for f in scan.findings if f.source is Source.TRIVY_SECRET]
    assert [f.location.path for f in secrets] == ["/app/settings.ini"]  # not /app/tests/...: Trivy skips it
    assert secrets[0].severity.label == "critical"
    assert images.FAKE_GITHUB_TOKEN not in repr(scan)
    assert images.FAKE_GITHUB_TOKEN[:12] not in repr(scan)


def test_legacy_healthcheck_image_is_degraded_not_clean(
    trivy: TrivyBinary, tmp_path: Path, fixture_images: dict[str, str]
) -> None:
    # First run on a fresh Trivy cache (Trivy logs the ERROR), then a warm rerun (it stays silent).
    cache_dir = tmp_path / "cache"
    trivydb.write_fixture_db(cache_dir)
    options = TrivyOptions(cache_dir=cache_dir, offline=True, timeout=120)
    cache = ScanCache(tmp_path / "results.sqlite3")
    for _ in range(3):  # fresh, warm, and replayed from dockaudit's result cache
        scan = scan_image(trivy, source(fixture_images["healthcheck"]), options, cache=cache)
        assert scan.status == "degraded"
        assert "results may be incomplete" in scan.reason
        assert vulns(scan) == images.EXPECTED["alpine"]  # the other scanners still report
    assert scan.cached


def test_missing_db_is_a_db_error(trivy: TrivyBinary, tmp_path: Path, fixture_images: dict[str, str]) -> None:
    options = TrivyOptions(cache_dir=tmp_path / "empty", offline=True, timeout=120, scanners=("vuln",))
    assert db_status(trivy, options).status == "missing"
    scan = scan_image(trivy, source(fixture_images["alpine"]), options)
    assert scan.status == "failed"
    assert scan.db_error is True
    assert scan.reason.startswith("no vulnerability DB in")


def test_stale_db_warns_but_the_scan_runs(trivy: TrivyBinary, tmp_path: Path, fixture_images: dict[str, str]) -> None:
    cache_dir = tmp_path / "cache"
    old = datetime(2020, 1, 1, tzinfo=UTC)
    trivydb.write_fixture_db(cache_dir, updated_at=old, next_update=old + timedelta(days=1), downloaded_at=old)
    options = TrivyOptions(cache_dir=cache_dir, offline=True, timeout=120, db_max_age_days=7, scanners=("vuln",))
    status = db_status(trivy, options, now=datetime(2026, 11, 28, tzinfo=UTC))
    assert status.status == "stale"
    assert status.updated_at == old
    assert "days old" in status.message
    scan = scan_image(trivy, source(fixture_images["alpine"]), options)
    assert scan.status == "ok", scan.reason
    assert vulns(scan) == images.EXPECTED["alpine"]


def test_fresh_db_status_is_ok(trivy: TrivyBinary, offline: TrivyOptions) -> None:
    status = db_status(trivy, offline)
    assert status.status == "ok"
    assert status.schema == 2
    assert status.updated_at is not None


@pytest.mark.parametrize(("version", "expected"), [(1, "DB schema 1, Trivy expects 2"), (3, "upgrade Trivy")])
def test_wrong_schema_db_is_a_db_error(
    trivy: TrivyBinary, fresh_cache: Path, fixture_images: dict[str, str], version: int, expected: str
) -> None:
    trivydb.write_metadata(fresh_cache / "db", version=version)
    options = TrivyOptions(cache_dir=fresh_cache, offline=True, timeout=120, scanners=("vuln",))
    assert db_status(trivy, options).status == "failed"
    scan = scan_image(trivy, source(fixture_images["alpine"]), options)
    assert scan.status == "failed"
    assert scan.db_error is True
    assert scan.reason.startswith("vulnerability DB schema mismatch")
    assert expected in scan.reason


@pytest.mark.parametrize("damage", ["random", "empty", "pages-garbage"])
def test_corrupt_db_is_a_db_error(
    trivy: TrivyBinary, fresh_cache: Path, fixture_images: dict[str, str], damage: str
) -> None:
    db_file = fresh_cache / "db" / "trivy.db"
    data = db_file.read_bytes()
    if damage == "random":
        db_file.write_bytes(bytes((i * 37 + 11) % 256 for i in range(len(data))))
    elif damage == "empty":
        db_file.write_bytes(b"")
    else:
        # Metas intact, every data page overwritten: Trivy panics (exit 2) reading the buckets.
        db_file.write_bytes(data[: 3 * 4096] + b"\xa5" * (len(data) - 3 * 4096))
    options = TrivyOptions(cache_dir=fresh_cache, offline=True, scanners=("vuln",))
    if damage != "pages-garbage":  # only a full read finds damage behind intact meta pages
        status = db_status(trivy, options)
        assert status.status == "failed" and "is corrupt" in status.message
    scan = scan_image(trivy, source(fixture_images["alpine"]), options)
    assert scan.status == "failed"
    assert scan.db_error is True
    assert "is corrupt or unreadable" in scan.reason


def test_cache_hit_returns_same_findings_without_running_trivy(
    trivy: TrivyBinary, offline: TrivyOptions, fixture_images: dict[str, str], tmp_path: Path
) -> None:
    cache = ScanCache(tmp_path / "results.sqlite3")
    first = scan_image(trivy, source(fixture_images["debian"]), offline, cache=cache)
    assert first.status == "ok" and not first.cached
    broken = TrivyBinary(path=str(tmp_path / "no-such-trivy"), version=trivy.version)
    again = scan_image(broken, source(fixture_images["debian"]), offline, cache=cache)
    assert again.cached is True
    assert again.status == "ok"
    assert again.findings == first.findings
    assert cache.last_scanned(fixture_images["debian"]) is not None
    # --no-cache: the broken binary is really run, so the scan fails instead of hitting the cache.
    assert (
        scan_image(broken, source(fixture_images["debian"]), offline, cache=cache, read_cache=False).status == "failed"
    )


def test_cache_misses_when_the_db_changes(
    trivy: TrivyBinary, fresh_cache: Path, fixture_images: dict[str, str], tmp_path: Path
) -> None:
    cache = ScanCache(tmp_path / "results.sqlite3")
    options = TrivyOptions(cache_dir=fresh_cache, offline=True, timeout=120, scanners=("vuln",))
    scan_image(trivy, source(fixture_images["alpine"]), options, cache=cache)
    trivydb.write_fixture_db(fresh_cache, updated_at=datetime.now(UTC) - timedelta(hours=1))
    assert scan_image(trivy, source(fixture_images["alpine"]), options, cache=cache).cached is False


def test_remote_engine_scan_exports_the_image_for_input(
    trivy: TrivyBinary, offline: TrivyOptions, fixture_images: dict[str, str]
) -> None:
    image_id = fixture_images["python"]
    exported: list[Path] = []
    with connect(resolve_endpoint(host="unix:///var/run/docker.sock")) as engine:
        engine.trivy_docker_host = None  # as for an ssh or tcp engine: Trivy gets an exported tarball
        save = EngineSource(engine).trivy_input(image_id).export
        assert save is not None

        def export(path: Path) -> None:
            exported.append(path)
            save(path)
            assert path.stat().st_mode & 0o077 == 0  # private

        remote = ImageSource(ref="remote/python", image_id=image_id)
        scan = scan_image(trivy, remote, replace(offline, scanners=("vuln",)), export=export)
    assert scan.status == "ok", scan.reason
    assert vulns(scan) == images.EXPECTED["python"]
    assert exported and not exported[0].exists()  # the temp tar is gone afterwards


def test_parallel_scans_stream_their_results_as_each_finishes(
    trivy: TrivyBinary, offline: TrivyOptions, fixture_images: dict[str, str]
) -> None:
    names = ["alpine", "debian", "python"]
    sources = [source(fixture_images[n]) for n in names] + [source(fixture_images["alpine"], "again")]
    seen: list[str] = []
    lock = threading.Lock()

    def on_result(src: ImageSource, scan: TrivyScan) -> None:
        with lock:
            seen.append(src.image_id)

    progress: list[str] = []
    results = scan_in_parallel(trivy, sources, offline, concurrency=3, on_result=on_result, on_progress=progress.append)
    assert set(results) == {fixture_images[n] for n in names}
    assert sorted(seen) == sorted(results)
    for n in names:
        assert vulns(results[fixture_images[n]]) == images.EXPECTED[n]
    assert any("scanning" in p for p in progress)


def test_a_slow_image_does_not_hold_back_the_others(
    trivy: TrivyBinary,
    offline: TrivyOptions,
    fixture_images: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    slow = fixture_images["python"]
    argv_log = tmp_path / "argv.log"
    monkeypatch.setenv("FAKE_TRIVY_REAL", trivy.path)
    monkeypatch.setenv("FAKE_TRIVY_SLOW_IMAGE", slow)
    monkeypatch.setenv("FAKE_TRIVY_ARGV_LOG", str(argv_log))
    gate = tmp_path / "others-done"
    monkeypatch.setenv("FAKE_TRIVY_GATE", str(gate))
    stand_in = TrivyBinary(str(FAKES / "slow_trivy"), trivy.version)
    order: list[str] = []
    lock = threading.Lock()

    def on_result(src: ImageSource, scan: TrivyScan) -> None:
        with lock:
            order.append(src.image_id)
            if len(order) == 2:
                gate.touch()  # the slow scan may finish only once the other two are in

    names = ["python", "alpine", "debian"]
    results = scan_in_parallel(
        stand_in, [source(fixture_images[n]) for n in names], offline, concurrency=2, on_result=on_result
    )
    assert order[-1] == slow  # both others finished while the slow one was still running (not after it)
    assert {k: v.status for k, v in results.items()} == dict.fromkeys(results, "ok")
    for n in names:
        assert vulns(results[fixture_images[n]]) == images.EXPECTED[n]
    # Trivy locks its on-disk layer cache for a whole run: one run holds it, overlapping runs go without.
    runs = argv_log.read_text().splitlines()
    in_memory = [r for r in runs if "--cache-backend memory" in r]
    assert len(runs) == 3 and 1 <= len(in_memory) <= 2


def test_a_layer_cache_held_by_another_process_is_worked_around(
    trivy: TrivyBinary, offline: TrivyOptions, fixture_images: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_TRIVY_REAL", trivy.path)
    stand_in = TrivyBinary(str(FAKES / "busy_cache_trivy"), trivy.version)
    scan = scan_image(stand_in, source(fixture_images["alpine"]), offline)
    assert scan.status == "ok", scan.reason
    assert vulns(scan) == images.EXPECTED["alpine"]


def test_online_scans_refresh_the_db_once_then_skip_updates(
    trivy: TrivyBinary,
    fresh_cache: Path,
    fixture_images: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Not offline: the fresh fixture DB (NextUpdate far ahead) makes the refresh a no-op here.
    # Trivy's own env switches keep its other network calls (checks bundle, version ping) out of the test.
    for flag in ("SKIP_CHECK_UPDATE", "SKIP_VERSION_CHECK", "DISABLE_TELEMETRY", "SKIP_JAVA_DB_UPDATE"):
        monkeypatch.setenv(f"TRIVY_{flag}", "true")
    argv_log = tmp_path / "argv.log"
    monkeypatch.setenv("FAKE_TRIVY_REAL", trivy.path)
    monkeypatch.setenv("FAKE_TRIVY_ARGV_LOG", str(argv_log))
    stand_in = TrivyBinary(str(FAKES / "slow_trivy"), trivy.version)
    options = TrivyOptions(cache_dir=fresh_cache, timeout=120)
    names = ("alpine", "debian", "python")
    results = scan_in_parallel(stand_in, [source(fixture_images[n]) for n in names], options, concurrency=2)
    assert [r.status for r in results.values()] == ["ok"] * 3
    runs = argv_log.read_text().splitlines()
    assert sum("--download-db-only" in r for r in runs) == 1
    scans = [r for r in runs if "--download-db-only" not in r]
    assert len(scans) == 3 and all("--skip-db-update" in r for r in scans)


def test_parallel_scans_report_a_missing_db_for_every_image(
    trivy: TrivyBinary, tmp_path: Path, fixture_images: dict[str, str]
) -> None:
    options = TrivyOptions(cache_dir=tmp_path / "none", offline=True, timeout=120, scanners=("vuln",))
    results = scan_in_parallel(trivy, [source(fixture_images[n]) for n in ("alpine", "debian")], options, concurrency=2)
    assert all(r.status == "failed" and r.db_error for r in results.values())


def test_saved_tarball_is_scanned_with_input(
    trivy: TrivyBinary,
    vuln_only: TrivyOptions,
    fixture_images: dict[str, str],
    docker_client: docker.DockerClient,
    tmp_path: Path,
) -> None:
    tarball = tmp_path / "debian.tar"
    with tarball.open("wb") as out:
        for chunk in docker_client.images.get(fixture_images["debian"]).save():
            out.write(chunk)
    scan = scan_image(trivy, ImageSource(ref=str(tarball), image_id="", archive=tarball), vuln_only)
    assert scan.status == "ok", scan.reason
    assert vulns(scan) == images.EXPECTED["debian"]
    assert tarball.exists()  # the user's file is left alone
