"""A Podman API service on a unix socket (`podman system service`), for the engine tests against Podman.

`scripts/test` starts one with `python tests/harness/podman.py start DIR` (it prints an `export` line for
DOCKAUDIT_TEST_PODMAN) and stops it with `... stop DIR`; the `podman_socket` fixture reuses it through that
variable or starts its own. The service uses Podman's default (root) storage, so `podman build` run by the
fixtures and the service see the same images.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PODMAN = "podman"
ENV_VAR = "DOCKAUDIT_TEST_PODMAN"
"""`unix:///...` URL of the Podman service scripts/test started."""


def answers(socket_path: Path, timeout: float = 3.0) -> bool:
    """Whether an engine answers `GET /_ping` with 200 on the unix socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(socket_path))
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b" 200 " in sock.recv(64)
    except OSError:
        return False


def start(directory: Path, *, timeout: float = 60.0, stop_at_exit: bool = True) -> Path:
    """Start `podman system service --time=0` on `DIRECTORY/podman.sock`; returns the socket once it answers.

    Unless `stop_at_exit` is False (scripts/test, which stops it itself), it is also stopped when this process exits.
    """
    directory.mkdir(parents=True, exist_ok=True)
    sock = directory / "podman.sock"
    log = directory / "podman.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [PODMAN, "system", "service", "--time=0", f"unix://{sock}"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (directory / "podman.pid").write_text(f"{proc.pid}\n")
    if stop_at_exit:
        atexit.register(stop, directory)
    deadline = time.monotonic() + timeout
    while not answers(sock):
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-20:]
            raise RuntimeError(f"podman system service exited ({proc.returncode}): " + " | ".join(tail))
        if time.monotonic() > deadline:
            stop(directory)
            raise RuntimeError(f"podman system service did not answer on {sock} within {timeout:g} s")
        time.sleep(0.1)
    return sock


def _gone(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True  # our own child (a fixture started it): reaped
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def stop(directory: Path) -> None:
    """Stop the service started in `directory`, if it still runs, and wait (10 s at most) for it to exit."""
    pidfile = directory / "podman.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if _gone(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)


def provide(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """For a fixture: the socket of the service scripts/test started, else of one started here; fails, never skips."""
    url = os.environ.get(ENV_VAR, "")
    if url:
        sock = Path(url.removeprefix("unix://"))
        if not answers(sock):
            pytest.fail(f"{ENV_VAR}={url} but no Podman service answers there", pytrace=False)
        yield sock
        return
    directory = tmp_path_factory.mktemp("podman")
    try:
        sock = start(directory)
    except (RuntimeError, OSError) as exc:
        pytest.fail(f"cannot start the Podman service (scripts/test installs podman): {exc}", pytrace=False)
    yield sock
    stop(directory)


def main(argv: list[str]) -> int:
    """`podman.py start DIR` prints the `export` line; `podman.py stop DIR` stops the service."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        sys.stderr.write("usage: podman.py start|stop DIR\n")
        return 2
    directory = Path(argv[1])
    if argv[0] == "stop":
        stop(directory)
        return 0
    try:
        sock = start(directory, stop_at_exit=False)
    except (RuntimeError, OSError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    print(f"export {ENV_VAR}={shlex.quote(f'unix://{sock}')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
