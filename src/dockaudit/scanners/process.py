"""Running a scanner subprocess: argv only, in its own session, with a timeout and cancellation that end its whole
process group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

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
