"""Atomic, private report files: a temp file in the target directory, fsync, then rename, mode 0600.

A path that is not a regular file (`-o /dev/null`, `-o /dev/stdout`, a named pipe) is written in place: renaming
over it would replace a device node of the whole machine with a file. A symlink is followed, not replaced.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from dockaudit.errors import ReportWriteError

REPORT_MODE = 0o600
"""A report describes weaknesses, so only its owner may read it."""


def write_atomic(path: Path, data: str) -> None:
    """Write `data` to `path` so readers see the old file or the whole new one, never half of it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        _write_in_place(path, data)
        return
    if path.is_symlink():
        path = path.resolve()
    directory = path.parent if str(path.parent) else Path()
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ReportWriteError(f"cannot write {path}: {exc.strerror or exc}") from exc
    tmp = Path(tmp_name)
    try:
        # mkstemp creates 0600 already; chmod again in case a umask or filesystem widened it.
        os.fchmod(fd, REPORT_MODE)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.is_dir():
            raise ReportWriteError(f"cannot write {path}: it is a directory")
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ReportWriteError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _write_in_place(path: Path, data: str) -> None:
    """Write to a device or pipe as a shell redirection would."""
    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(data)
    except OSError as exc:
        raise ReportWriteError(f"cannot write {path}: {exc.strerror or exc}") from exc
