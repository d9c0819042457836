"""Running Trivy as a subprocess: argv, timeout and cancellation that end its whole process group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockaudit.scanners.trivy_options import OFFLINE_FLAGS, ImageSource, TrivyOptions

_POLL_S = 0.1
"""How often a waiting run checks the cancel event; completion itself is noticed at once."""
_TERM_GRACE_S = 2.0
"""Time Trivy gets after SIGTERM to release its DB lock before SIGKILL."""


@dataclass(frozen=True)
class ProcessResult:
    """What the process did: exit code (None if killed by us), its output, and why we stopped it."""

    returncode: int | None
    stdout: bytes
    stderr: str
    timed_out: bool = False
    cancelled: bool = False


def build_argv(
    binary_path: str, source: ImageSource, options: TrivyOptions, *, input_path: Path | None = None
) -> list[str]:
    """The `trivy image` argv for one source; `input_path` replaces the engine with a saved tarball."""
    argv = [binary_path, "image", "--cache-dir", str(options.resolved_cache_dir)]
    argv += ["--format", "json", "--no-progress", "--timeout", f"{max(1, int(options.timeout))}s"]
    argv += list(options.scan_flags())
    if not options.layer_cache:
        # The fs layer cache is locked for the whole run; a second process gives up after 5 s.
        argv += ["--cache-backend", "memory"]
    if options.offline:
        argv += OFFLINE_FLAGS
    elif options.skip_db_update:
        argv.append("--skip-db-update")
    if options.db_repository:
        argv += ["--db-repository", options.db_repository]
    archive = input_path or source.archive
    if archive is not None:
        argv += ["--input", str(archive)]
        return argv
    if source.docker_host is not None:
        # A Podman socket serves the Docker API too, so an explicit host always goes through `docker`.
        argv += ["--image-src", "docker", "--docker-host", source.docker_host]
    else:
        # Never the default list: it ends in `remote`, so a missing local image would hit a registry.
        argv += ["--image-src", "podman" if source.podman else "docker"]
    argv.append(source.image_id or source.ref)
    return argv


def build_update_argv(binary_path: str, options: TrivyOptions) -> list[str]:
    """`trivy image --download-db-only`: refresh the DB once before parallel scans skip updating it."""
    argv = [binary_path, "image", "--download-db-only", "--no-progress"]
    argv += ["--cache-dir", str(options.resolved_cache_dir), "--timeout", f"{max(1, int(options.timeout))}s"]
    if options.db_repository:
        argv += ["--db-repository", options.db_repository]
    return argv


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def run_process(
    argv: Sequence[str], *, timeout: float, cancel: threading.Event | None = None, env: dict[str, str] | None = None
) -> ProcessResult:
    """Run argv (never a shell) in its own session; on timeout or cancel, kill the whole group."""
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    pgid = proc.pid  # start_new_session makes the child a group leader
    deadline = time.monotonic() + timeout
    stopped: str | None = None
    out = err = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            stopped = "timeout"
        elif cancel is not None and cancel.is_set():
            stopped = "cancel"
        if stopped is not None:
            out, err = _stop(proc, pgid)
            break
        try:
            wait = min(remaining, _POLL_S) if cancel is not None else remaining
            out, err = proc.communicate(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    return ProcessResult(
        returncode=None if stopped else proc.returncode,
        stdout=out or b"",
        stderr=(err or b"").decode("utf-8", "replace"),
        timed_out=stopped == "timeout",
        cancelled=stopped == "cancel",
    )


def _leader_exited(pid: int) -> bool:
    """Whether the child exited, without reaping it (WNOWAIT), so its pid keeps naming our group."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _stop(proc: subprocess.Popen[bytes], pgid: int) -> tuple[bytes, bytes]:
    """SIGTERM the group, give it a grace period, then SIGKILL whatever is left, and collect the output."""
    _kill_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + _TERM_GRACE_S
    while not _leader_exited(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    # The leader is not reaped yet, so the group id cannot have been reused: this reaches only
    # Trivy's (or a wrapper's) leftover children, which would otherwise hold the pipes and DB lock.
    _kill_group(pgid, signal.SIGKILL)
    return proc.communicate()
