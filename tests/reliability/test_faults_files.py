"""File faults: a corrupt or locked result cache, several dockaudit processes on one cache, a read-only report
path, a disk that fills while the report is written. None loses a report that was already there, none leaves a
temp file, and each says what happened in one line."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability import cli

pytestmark = [pytest.mark.docker]

CACHE = Path("xdg-cache") / "dockaudit" / "trivy-results.sqlite3"
"""The result cache under the private environment's XDG_CACHE_HOME."""


def _scan(tmp_path: Path, trivy_db: Path, image: str, *args: str) -> subprocess.CompletedProcess[str]:
    return cli.run(
        "scan",
        f"image:{image}",
        "--offline",
        "--trivy-cache-dir",
        str(trivy_db),
        "--fail-on",
        "never",
        *args,
        env=cli.private_env(tmp_path),
    )


def _rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM scans").fetchone()[0])


@pytest.mark.trivy
def test_corrupt_result_cache_is_rebuilt_with_a_warning(tmp_path: Path, trivy_db: Path, bad_image: str) -> None:
    cache = tmp_path / CACHE
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"\x00this is not a database\xff" * 400)
    run = _scan(tmp_path, trivy_db, bad_image, "-f", "json", "-o", str(tmp_path / "r.json"))
    assert run.returncode == 0, run.stderr
    assert (
        f"dockaudit: warning: result cache {cache} was unreadable (file is not a database); starting a new one"
        in run.stderr.splitlines()
    )
    assert cli.load_report(tmp_path / "r.json")["targets"][0]["scans"]["trivy"] == "ok"
    assert _rows(cache) == 1
    assert cache.stat().st_mode & 0o777 == 0o600
    # The next run reads the rebuilt cache without a word.
    again = _scan(tmp_path, trivy_db, bad_image)
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr


@pytest.fixture
def cache_lock_holder(tmp_path: Path) -> Iterator[Path]:
    """FAULT INJECTION: another process holds the result cache's write lock (BEGIN EXCLUSIVE) until the end."""
    cache = tmp_path / CACHE
    cache.parent.mkdir(parents=True)
    sqlite3.connect(cache).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys\n"
         "c = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\n"
         "print('locked', flush=True)\nsys.stdin.read()\n", str(cache)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    yield cache
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=30)


@pytest.mark.trivy
def test_cache_locked_by_another_process_costs_speed_not_the_scan(
    cache_lock_holder: Path, tmp_path: Path, trivy_db: Path, bad_image: str, good_image: str
) -> None:
    run = _scan(
        tmp_path,
        trivy_db,
        bad_image,
        f"image:{good_image}",
        "--concurrency",
        "1",
        "-f",
        "json",
        "-o",
        str(tmp_path / "r.json"),
    )
    assert run.returncode == 0, run.stderr
    warning = (
        f"dockaudit: warning: result cache {cache_lock_holder} is locked by another process; "
        "scanning without it for this run"
    )
    # Said once, and waited for once: the second image does not wait for the lock again.
    assert run.stderr.splitlines().count(warning) == 1, run.stderr
    report = cli.load_report(tmp_path / "r.json")
    assert all(not t["scans"]["trivy"].startswith("failed") for t in report["targets"]), report["targets"]


@pytest.mark.trivy
def test_several_dockaudit_processes_share_one_cache(
    tmp_path: Path, trivy_db: Path, bad_image: str, good_image: str
) -> None:
    env = cli.private_env(tmp_path)
    argv = [
        "scan",
        f"image:{bad_image}",
        f"image:{good_image}",
        "--offline",
        "--trivy-cache-dir",
        str(trivy_db),
        "--fail-on",
        "never",
        "-f",
        "json",
    ]
    procs = [
        subprocess.Popen(
            cli.dockaudit_argv(*argv, "-o", str(tmp_path / f"r{i}.json")),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    for code, stderr in results:
        assert code == 0, stderr
        assert "warning" not in stderr and "Traceback" not in stderr, stderr
    for i in range(4):
        report = cli.load_report(tmp_path / f"r{i}.json")
        assert len(report["targets"]) == 2
        assert all(not t["scans"]["trivy"].startswith("failed") for t in report["targets"])
    assert _rows(tmp_path / CACHE) == 2
    cached = _scan(tmp_path, trivy_db, bad_image)
    assert cached.returncode == 0 and "warning" not in cached.stderr, cached.stderr


@pytest.fixture
def mounted(short_dir: Path) -> Iterator[Callable[..., Path]]:
    """Mount helper: `mounted("ro")` a read-only bind mount, `mounted("tmpfs", size)` a tiny tmpfs; unmounted after."""
    mounts: list[Path] = []

    def mount(kind: str, size: str = "64k") -> Path:
        target = short_dir / f"{kind}{len(mounts)}"
        target.mkdir()
        if kind == "ro":
            subprocess.run(["mount", "--bind", str(target), str(target)], check=True)
            mounts.append(target)
            subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
        else:
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], check=True)
            mounts.append(target)
        return target

    yield mount
    for target in reversed(mounts):
        subprocess.run(["umount", str(target)], check=False)


def test_read_only_report_path_exits_2_and_other_outputs_are_written(
    mounted: Callable[..., Path], tmp_path: Path, good_image: str
) -> None:
    readonly = mounted("ro")
    run = cli.run(
        "scan",
        f"image:{good_image}",
        "--no-trivy",
        "-f",
        "json",
        "-o",
        str(readonly / "r.json"),
        "-f",
        "html",
        "-o",
        str(tmp_path / "r.html"),
        env=cli.private_env(tmp_path),
    )
    assert run.returncode == 2, run.stderr
    assert f"dockaudit: cannot write {readonly / 'r.json'}: Read-only file system" in run.stderr.splitlines()
    assert run.stderr.strip().splitlines()[-1].startswith("dockaudit: exit 2: ")
    assert list(readonly.iterdir()) == []
    assert (tmp_path / "r.html").stat().st_size > 0
    harden = cli.run("harden", good_image, "-o", str(readonly / "Dockerfile"), env=cli.private_env(tmp_path))
    assert harden.returncode == 2, harden.stderr
    assert f"dockaudit: cannot write {readonly / 'Dockerfile'}: Read-only file system" in harden.stderr.splitlines()
    assert list(readonly.iterdir()) == []


def test_report_path_under_a_regular_file_exits_2(tmp_path: Path, good_image: str) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file\n")
    run = cli.run(
        "scan",
        f"image:{good_image}",
        "--no-trivy",
        "-f",
        "json",
        "-o",
        str(blocker / "r.json"),
        env=cli.private_env(tmp_path),
    )
    assert run.returncode == 2, run.stderr
    assert f"dockaudit: cannot write {blocker / 'r.json'}: Not a directory" in run.stderr.splitlines()
    assert blocker.read_text() == "a file\n"


def test_disk_full_while_writing_keeps_the_old_report_and_leaves_no_temp_file(
    mounted: Callable[..., Path], tmp_path: Path, bad_image: str
) -> None:
    disk = mounted("tmpfs", "64k")
    old = disk / "report.html"
    old.write_text("<p>yesterday's report</p>\n")
    (disk / "filler").write_bytes(b"\0" * (40 * 1024))
    run = cli.run(
        "scan",
        f"image:{bad_image}",
        "--no-trivy",
        "--fail-on",
        "never",
        "-f",
        "html",
        "-o",
        str(old),
        "-f",
        "json",
        "-o",
        str(tmp_path / "r.json"),
        env=cli.private_env(tmp_path),
    )
    assert run.returncode == 2, run.stderr
    assert f"dockaudit: cannot write {old}: No space left on device" in run.stderr.splitlines()
    assert old.read_text() == "<p>yesterday's report</p>\n"
    assert sorted(p.name for p in disk.iterdir()) == ["filler", "report.html"]
    assert cli.load_report(tmp_path / "r.json")["targets"]


@pytest.mark.trivy
def test_real_trivy_whose_cache_disk_fills_fails_the_scan_with_its_reason(
    mounted: Callable[..., Path], tmp_path: Path, bad_image: str
) -> None:
    """The real Trivy, its cache dir on a 64 KiB tmpfs that the DB nearly fills: storing the layer fails."""
    from tests.trivy import trivydb

    cache_dir = mounted("tmpfs", "64k")
    trivydb.write_fixture_db(cache_dir)
    out = tmp_path / "r.json"
    run = cli.run(
        "scan",
        f"image:{bad_image}",
        "--offline",
        "--trivy-cache-dir",
        str(cache_dir),
        "-f",
        "json",
        "-o",
        str(out),
        env=cli.private_env(tmp_path),
    )
    assert run.returncode == 3, run.stderr
    (target,) = cli.load_report(out)["targets"]
    assert target["scans"]["trivy"].startswith("failed: Trivy failed: Fatal error"), target["scans"]
    assert target["scans"]["trivy"].endswith("no space left on device")
    assert target["scans"]["checklist"] == "ok" and target["findings"]
