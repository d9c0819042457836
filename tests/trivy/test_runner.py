"""The Trivy subprocess: argv, and timeouts and cancellation that end the whole process group."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import pytest

from dockaudit.scanners.trivy import ImageSource, TrivyBinary, TrivyOptions, scan_image
from dockaudit.scanners.trivy_db import query_version
from dockaudit.scanners.trivy_options import OFFLINE_FLAGS
from dockaudit.scanners.trivy_runner import build_argv
from tests.trivy.conftest import FAKES

HANGING = TrivyBinary(path=str(FAKES / "hanging_trivy"), version="0.76.0")
GARBAGE = TrivyBinary(path=str(FAKES / "garbage_trivy"), version="0.76.0")
LOCAL = ImageSource(ref="app:1", image_id="sha256:abc", docker_host="unix:///var/run/docker.sock")


def _alive(pid: int) -> bool:
    """Running or sleeping; a zombie awaiting its reaper is already dead."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _gone(pids: list[int]) -> bool:
    """Every pid dead; SIGKILL lands asynchronously, so a loaded machine gets a few seconds to deliver it."""
    for _ in range(500):
        if not any(_alive(pid) for pid in pids):
            return True
        time.sleep(0.02)
    return False


def _pids(pidfile: Path) -> list[int]:
    return [int(p) for p in pidfile.read_text().split()] if pidfile.exists() else []


def _wait_for_pids(pidfile: Path, count: int) -> list[int]:
    for _ in range(3000):  # generous: a loaded CI machine can take seconds to start a shell
        pids = _pids(pidfile)
        if len(pids) >= count:
            return pids
        time.sleep(0.02)
    raise AssertionError(f"the stand-in never started: {pidfile}")


def test_offline_argv_never_touches_the_network() -> None:
    argv = build_argv("/t/trivy", LOCAL, TrivyOptions(cache_dir=Path("/c"), offline=True))
    assert argv[:2] == ["/t/trivy", "image"]
    for flag in OFFLINE_FLAGS:
        assert flag in argv
    assert argv[argv.index("--cache-dir") + 1] == "/c"
    assert argv[argv.index("--format") : argv.index("--format") + 3] == ["--format", "json", "--no-progress"]
    assert "--quiet" not in argv and "-q" not in argv
    assert argv[-1] == "sha256:abc"


def test_local_engine_reads_the_resolved_host_and_never_a_registry() -> None:
    argv = build_argv("trivy", LOCAL, TrivyOptions())
    assert argv[argv.index("--image-src") + 1] == "docker"
    assert argv[argv.index("--docker-host") + 1] == "unix:///var/run/docker.sock"
    assert "--skip-db-update" not in argv


def test_tarball_uses_input_and_podman_uses_its_source() -> None:
    tar = build_argv("trivy", LOCAL, TrivyOptions(), input_path=Path("/tmp/x/image.tar"))
    assert tar[-2:] == ["--input", "/tmp/x/image.tar"]
    assert "--image-src" not in tar
    podman = build_argv("trivy", ImageSource(ref="a", image_id="sha256:1", podman=True), TrivyOptions())
    assert podman[podman.index("--image-src") + 1] == "podman"


def test_db_repository_and_scanners_are_passed_through() -> None:
    argv = build_argv("trivy", LOCAL, TrivyOptions(db_repository="mirror.local/trivy-db:2", scanners=("vuln",)))
    assert argv[argv.index("--db-repository") + 1] == "mirror.local/trivy-db:2"
    assert argv[argv.index("--scanners") + 1] == "vuln"
    assert "--image-config-scanners" not in argv
    full = build_argv("trivy", LOCAL, TrivyOptions())
    assert full[full.index("--image-config-scanners") + 1] == "misconfig,secret"


def test_parallel_scans_avoid_the_locked_layer_cache() -> None:
    assert "--cache-backend" not in build_argv("trivy", LOCAL, TrivyOptions())
    argv = build_argv("trivy", LOCAL, TrivyOptions(layer_cache=False))
    assert argv[argv.index("--cache-backend") + 1] == "memory"


def test_hanging_trivy_is_killed_at_the_timeout_with_its_process_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "pids"
    monkeypatch.setenv("FAKE_TRIVY_PIDFILE", str(pidfile))
    scan = scan_image(HANGING, LOCAL, TrivyOptions(offline=True, cache_dir=tmp_path, timeout=1))
    assert scan.status == "failed"
    assert "did not finish within 1 s" in scan.reason
    assert scan.db_error is False
    pids = _pids(pidfile)
    assert len(pids) == 2  # the stand-in and its child
    assert _gone(pids)


def test_cancel_kills_a_running_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pidfile = tmp_path / "pids"
    monkeypatch.setenv("FAKE_TRIVY_PIDFILE", str(pidfile))
    cancel = threading.Event()
    result: list[str] = []
    worker = threading.Thread(
        target=lambda: result.append(
            scan_image(HANGING, LOCAL, TrivyOptions(offline=True, cache_dir=tmp_path), cancel=cancel).status
        )
    )
    worker.start()
    pids = _wait_for_pids(pidfile, 2)
    cancel.set()
    worker.join(timeout=30)
    assert result == ["skipped"]
    assert _gone(pids)


def test_cancel_before_start_runs_nothing(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    scan = scan_image(TrivyBinary(str(tmp_path / "absent"), "0.76.0"), LOCAL, TrivyOptions(), cancel=cancel)
    assert (scan.status, scan.reason) == ("skipped", "cancelled")


def test_garbage_output_is_a_failed_scan_not_a_crash(tmp_path: Path) -> None:
    scan = scan_image(GARBAGE, LOCAL, TrivyOptions(offline=True, cache_dir=tmp_path))
    assert scan.status == "failed"
    assert "not JSON" in scan.reason
    assert scan.db_error is False


def test_missing_binary_is_a_failed_scan(tmp_path: Path) -> None:
    scan = scan_image(
        TrivyBinary(str(tmp_path / "absent"), "0.76.0"), LOCAL, TrivyOptions(offline=True, cache_dir=tmp_path)
    )
    assert scan.status == "failed"
    assert "cannot run Trivy" in scan.reason


def test_failed_export_is_a_failed_scan_and_leaves_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))

    def export(path: Path) -> None:
        path.write_bytes(b"partial")
        raise OSError("engine went away")

    remote = ImageSource(ref="r", image_id="sha256:1")
    scan = scan_image(GARBAGE, remote, TrivyOptions(offline=True, cache_dir=tmp_path), export=export)
    assert scan.status == "failed"
    assert "engine went away" in scan.reason
    assert os.listdir(temp) == []


def test_a_hung_version_probe_is_killed_with_its_children(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pidfile = tmp_path / "pids"
    monkeypatch.setenv("FAKE_TRIVY_PIDFILE", str(pidfile))
    proc = query_version(HANGING.path, tmp_path, timeout=1)
    assert proc.timed_out and proc.returncode is None
    pids = _pids(pidfile)
    assert len(pids) == 2  # the stand-in and its `sleep` child, which `subprocess.run` would have orphaned
    assert _gone(pids)
