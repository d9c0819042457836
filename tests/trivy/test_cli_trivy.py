"""`dockaudit scan` with the real Trivy, offline: DB states map to messages and exit codes end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.trivy import images, trivydb

pytestmark = [pytest.mark.trivy, pytest.mark.docker]


def scan(image_id: str, cache_dir: Path, tmp_path: Path) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}  # keep the result cache out of $HOME
    argv = [sys.executable, "-m", "dockaudit", "scan", "--offline", "--trivy-cache-dir", str(cache_dir)]
    argv += ["--fail-on", "never", "-f", "json", f"image:{image_id}"]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def test_clean_offline_scan_reports_db_cves_and_merges_trivy_checks(
    fixture_images: dict[str, str], trivy_cache: Path, tmp_path: Path
) -> None:
    code, report, stderr = scan(fixture_images["debian"], trivy_cache, tmp_path)
    assert code == 0, stderr
    assert report["scanners"]["trivy"]["db"]["status"] == "ok"
    (target,) = report["targets"]
    assert target["scans"]["trivy"] == "ok"
    findings = target["findings"]
    cves = {(f["vulnerability"]["id"], f["vulnerability"]["fixed"]) for f in findings if f["source"] == "trivy-vuln"}
    assert cves == {(cve, fixed) for cve, _pkg, _inst, fixed, _sev in images.EXPECTED["debian"]}
    root = [f for f in findings if f["rule_id"] == "DA101"]
    assert len(root) == 1 and root[0]["source"] == "checklist" and "DS-0002" in root[0]["references"]
    assert not [f for f in findings if f["rule_id"] == "DS-0002"]


def test_missing_db_exits_3_with_the_message(fixture_images: dict[str, str], tmp_path: Path) -> None:
    code, report, stderr = scan(fixture_images["alpine"], tmp_path / "empty", tmp_path)
    assert code == 3
    assert report["scanners"]["trivy"]["db"]["status"] == "missing"
    assert report["targets"][0]["scans"]["trivy"].startswith("failed: no vulnerability DB in")
    assert "no vulnerability DB in" in stderr


def test_wrong_schema_db_exits_3(fixture_images: dict[str, str], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    trivydb.write_fixture_db(cache, version=1)
    code, report, _ = scan(fixture_images["alpine"], cache, tmp_path)
    assert code == 3
    assert "schema mismatch" in report["targets"][0]["scans"]["trivy"]


def test_corrupt_db_exits_3(fixture_images: dict[str, str], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    trivydb.write_fixture_db(cache)
    (cache / "db" / "trivy.db").write_bytes(b"\x00" * 10000)
    code, report, _ = scan(fixture_images["alpine"], cache, tmp_path)
    assert code == 3
    assert "is corrupt" in report["targets"][0]["scans"]["trivy"]


def test_stale_db_is_reported_stale_and_the_scan_still_counts(fixture_images: dict[str, str], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    old = datetime(2020, 1, 1, tzinfo=UTC)
    trivydb.write_fixture_db(cache, updated_at=old, next_update=old, downloaded_at=old)
    code, report, _ = scan(fixture_images["alpine"], cache, tmp_path)
    assert code == 0
    assert report["scanners"]["trivy"]["db"]["status"] == "stale"
    assert report["targets"][0]["scans"]["trivy"] == "ok"
    assert any(f["rule_id"] == "CVE-2023-42363" for f in report["targets"][0]["findings"])
