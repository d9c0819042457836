"""Report files are written atomically with mode 0600; failures are clear one-line errors."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from dockaudit.errors import ReportWriteError
from dockaudit.report.write import write_atomic


def test_new_file_is_private(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    write_atomic(out, "{}")
    assert out.read_text() == "{}"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_permissive_umask_does_not_widen_the_mode(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_atomic(tmp_path / "r.html", "<html>")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.html").stat().st_mode) == 0o600


def test_missing_directory_is_a_report_write_error(tmp_path: Path) -> None:
    with pytest.raises(ReportWriteError, match=r"cannot write .*nope/r\.json"):
        write_atomic(tmp_path / "nope" / "r.json", "{}")


def test_directory_target_is_refused_and_leaves_no_temp_file(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(ReportWriteError, match="directory"):
        write_atomic(tmp_path / "d", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_readers_never_see_a_half_written_file(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    big_a, big_b = "a" * 2_000_000, "b" * 2_000_000
    write_atomic(out, big_a)
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            text = out.read_text()
            seen.add(text[:1] + str(len(text)))

    thread = threading.Thread(target=reader)
    thread.start()
    for _ in range(10):
        write_atomic(out, big_b)
        write_atomic(out, big_a)
    stop.set()
    thread.join()
    assert seen <= {"a2000000", "b2000000"}


def test_a_device_is_written_in_place_never_replaced(tmp_path: Path) -> None:
    before = os.stat("/dev/null")
    write_atomic(Path("/dev/null"), '{"report": 1}')
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert not [p for p in Path("/dev").iterdir() if p.name.startswith(".null.")]


def test_a_named_pipe_receives_the_report(tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write_atomic(fifo, "<html>")
    reader.join(timeout=10)
    assert got == ["<html>"] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_symlinked_report_path_is_followed_not_replaced(tmp_path: Path) -> None:
    real = tmp_path / "reports" / "audit.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
