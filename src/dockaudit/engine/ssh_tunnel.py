"""One long-lived system `ssh` per session forwarding a private local socket to the remote engine socket.

The system client is used so `~/.ssh/config`, the agent, jump hosts and known_hosts all apply; the SDK then
talks plain HTTP over the forwarded socket and reuses its connections (docker-py's own `use_ssh_client`
starts one ssh process per request). `DOCKAUDIT_SSH_COMMAND` replaces `ssh` (like `GIT_SSH_COMMAND`).

sshd only sets TCP_NODELAY for sessions with a terminal; a bare `ssh -N` forward then stalls about 40 ms on
many responses (Nagle against delayed ACKs). So the tunnel first runs a terminal session holding a remote
`cat` (`pty` mode; it ends with the terminal, so nothing lingers remotely), and falls back to a plain `-N`
forward when the account cannot run it (`plain` mode; `DOCKAUDIT_SSH_TUNNEL=plain` forces it).
"""

from __future__ import annotations

import atexit
import math
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from dockaudit.engine.endpoint import SshTarget
from dockaudit.errors import EngineError

SOCKET_NAME = "docker.sock"
READY_MARKER = "dockaudit-tunnel-ready"
# Printed once, then holds the session (and so the terminal that makes sshd set TCP_NODELAY) open.
REMOTE_COMMAND = f"echo {READY_MARKER}; exec cat >/dev/null"
MODES = ("pty", "plain")
_FATAL = (
    "Permission denied",
    "Host key verification failed",
    "IDENTIFICATION HAS CHANGED",
    "Connection refused",
    "timed out",
    "Could not resolve hostname",
    "No route to host",
    "open failed",
    "connect failed",
)
_MARKER_GRACE = 2.0
"""Seconds to wait for the marker once the engine answers (a ForceCommand may never print it)."""
# sockaddr_un.sun_path holds 108 bytes on Linux (104 on macOS).
_MAX_SOCKET_PATH = 100

_live: set[SshTunnel] = set()
_live_lock = threading.Lock()
_atexit_installed = False
_signals_installed = False


def ssh_argv(
    target: SshTarget,
    local_socket: str,
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    mode: str = "pty",
) -> list[str]:
    """The ssh command line that forwards `local_socket` to the engine socket on `target`."""
    environ: Mapping[str, str] = os.environ if env is None else env
    base = shlex.split(environ.get("DOCKAUDIT_SSH_COMMAND", "")) or ["ssh"]
    argv = [
        *base,
        *(["-tt"] if mode == "pty" else ["-nNT"]),
        "-o", "ExitOnForwardFailure=yes",
        "-o", "BatchMode=yes",  # never prompt: a password or passphrase prompt would hang the UI
        "-o", f"ConnectTimeout={max(1, math.ceil(timeout))}",
        "-o", "StreamLocalBindUnlink=yes",
        "-o", "ServerAliveInterval=30",
        # A shared ControlMaster would own the forward and outlive us; keep the tunnel's lifetime ours.
        "-o", "ControlMaster=no",
        "-o", "ControlPath=none",
        "-L", f"{local_socket}:{target.socket_path}",
    ]  # fmt: skip
    if target.port is not None:
        argv += ["-p", str(target.port)]
    argv += ["--", target.destination]
    return [*argv, REMOTE_COMMAND] if mode == "pty" else argv


def is_fatal(stderr: str) -> bool:
    """Whether ssh failed for a reason a plain forward would meet too (auth, host key, network)."""
    return any(text in stderr for text in _FATAL)


def explain_ssh_failure(stderr: str, target: SshTarget, *, timeout: float) -> str:
    """One line saying why ssh failed, from its stderr."""
    where = target.destination + (f" (port {target.port})" if target.port else "")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = "\n".join(lines)
    # Checked first: a remote socket the user may not open also says "Permission denied".
    if "open failed" in text or "connect failed" in text:
        detail = next((line for line in lines if "open failed" in line or "connect failed" in line), "")
        return (
            f"ssh reached {where} but could not open the engine socket {target.socket_path} there ({detail}); "
            "is the engine running and may this user open its socket? (another path: ssh://host/path/to/docker.sock)"
        )
    if "Permission denied" in text:
        denied = next(line for line in lines if "Permission denied" in line)
        methods = denied.split("Permission denied", 1)[1].strip(" .")
        return (
            f"ssh authentication to {where} failed: Permission denied {methods}".rstrip()
            + "; load the key into ssh-agent or set IdentityFile in ~/.ssh/config (ssh runs with BatchMode=yes)"
        )
    if "Host key verification failed" in text or "IDENTIFICATION HAS CHANGED" in text:
        return (
            f"ssh host key verification failed for {where}: the host key is unknown or has changed; "
            f"check known_hosts (connect once with 'ssh {target.destination}' to review and accept it)"
        )
    if "Connection refused" in text:
        return f"ssh to {where} was refused: no sshd is listening there"
    if "timed out" in text.lower():
        return f"ssh to {where} timed out after {timeout:g} s"
    if "Could not resolve hostname" in text:
        return f"ssh cannot resolve the host in {where}"
    last = lines[-1] if lines else "ssh exited without a message"
    return f"ssh to {where} failed: {last}"


def _ping(path: str, timeout: float) -> bool:
    """Whether a Docker engine answers `GET /_ping` on the unix socket at `path`."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(max(timeout, 0.05))
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
            head = sock.recv(64)
    except OSError:
        return False
    return head.startswith(b"HTTP/1.") and b" 200 " in head[:16]


class SshTunnel:
    """A running `ssh -L` whose local end is `url`; `close()` stops it and removes the private directory."""

    def __init__(self, target: SshTarget, *, timeout: float = 10.0, env: Mapping[str, str] | None = None) -> None:
        self.target = target
        self.timeout = timeout
        self._env = env
        self._dir: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None
        self._out: Path | None = None
        self.local_socket = ""
        self.mode: str | None = None
        """`pty` or `plain` once open (see the module docstring)."""

    @property
    def url(self) -> str:
        """`unix://` URL of the local end."""
        return f"unix://{self.local_socket}"

    @property
    def pid(self) -> int | None:
        """The ssh process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def directory(self) -> str | None:
        """The private 0700 directory holding the socket and ssh's log."""
        return self._dir

    def _make_dir(self) -> str:
        directory = tempfile.mkdtemp(prefix="dockaudit-ssh-")  # mkdtemp makes it 0700
        if len(directory) + len(SOCKET_NAME) + 1 > _MAX_SOCKET_PATH:
            Path(directory).rmdir()
            directory = tempfile.mkdtemp(prefix="dockaudit-ssh-", dir="/tmp")
        return directory

    def open(self) -> SshTunnel:
        """Start ssh and wait until the engine answers through the tunnel; raises EngineError with the reason."""
        self._dir = self._make_dir()
        self.local_socket = str(Path(self._dir) / SOCKET_NAME)
        _register(self)
        environ: Mapping[str, str] = os.environ if self._env is None else self._env
        modes = ["plain"] if environ.get("DOCKAUDIT_SSH_TUNNEL") == "plain" else list(MODES)
        deadline = time.monotonic() + self.timeout
        try:
            for mode in modes:
                self._start(mode)
                if self._wait_ready(deadline, last_try=mode == modes[-1]):
                    self.mode = mode
                    return self
                self._stop_process()
                Path(self.local_socket).unlink(missing_ok=True)  # the failed attempt's socket file
        except BaseException:
            self.close()
            raise
        raise AssertionError("unreachable: the last mode raises instead of returning False")

    def _start(self, mode: str) -> None:
        assert self._dir is not None
        argv = ssh_argv(self.target, self.local_socket, timeout=self.timeout, env=self._env, mode=mode)
        log_path, out_path = Path(self._dir) / f"ssh-{mode}.log", Path(self._dir) / f"ssh-{mode}.out"
        try:
            with log_path.open("wb") as log, out_path.open("wb") as out:
                # A new session keeps a terminal's Ctrl-C from killing ssh before we tear it down cleanly;
                # stdin is a pipe we hold so a pty session never sees end-of-file.
                self._proc = subprocess.Popen(
                    argv, stdin=subprocess.PIPE, stdout=out, stderr=log, start_new_session=True
                )
        except FileNotFoundError:
            missing = f"the ssh client ({argv[0]}) is not installed"
            raise EngineError(f"cannot reach {self.target.destination}: {missing}") from None
        # Only the pty session prints the marker; a plain forward is ready as soon as the engine answers.
        self._log, self._out = log_path, (out_path if mode == "pty" else None)

    def _wait_ready(self, deadline: float, *, last_try: bool) -> bool:
        """True once the engine answers; False when this mode failed but another may work; raises otherwise."""
        assert self._proc is not None
        answered_at: float | None = None
        while True:
            now = time.monotonic()
            if self._proc.poll() is not None:
                stderr = _read(self._log)
                if last_try or is_fatal(stderr):
                    raise EngineError(explain_ssh_failure(stderr, self.target, timeout=self.timeout))
                return False
            if answered_at is None and Path(self.local_socket).exists():
                if _ping(self.local_socket, min(max(deadline - now, 0.05), 2.0)):
                    answered_at = now
                else:
                    stderr = _read(self._log)
                    if "open failed" in stderr or "connect failed" in stderr:
                        raise EngineError(explain_ssh_failure(stderr, self.target, timeout=self.timeout))
            if answered_at is not None and (
                self._out is None or READY_MARKER in _read(self._out) or now - answered_at > _MARKER_GRACE
            ):
                return True
            if now > deadline:
                if answered_at is not None:
                    return True
                where = self.target.destination + (f" (port {self.target.port})" if self.target.port else "")
                last = _read(self._log).strip().splitlines()
                tail = f" (ssh said: {last[-1]})" if last else ""
                raise EngineError(f"timed out after {self.timeout:g} s opening the ssh tunnel to {where}{tail}")
            time.sleep(0.01)

    def _stop_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()

    def close(self) -> None:
        """Stop ssh and remove the private directory; safe to call more than once."""
        self._stop_process()
        directory, self._dir = self._dir, None
        if directory:
            shutil.rmtree(directory, ignore_errors=True)
        with _live_lock:
            _live.discard(self)

    def __enter__(self) -> SshTunnel:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def close_all() -> None:
    """Tear down every tunnel this process opened."""
    with _live_lock:
        tunnels = list(_live)
    for tunnel in tunnels:
        tunnel.close()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    close_all()
    # Die of the same signal, as the default handler would have.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install_signal_handlers() -> None:
    """Close tunnels on SIGTERM and SIGHUP too (they skip atexit); call from the main thread, e.g. at app start."""
    global _signals_installed
    if _signals_installed or threading.current_thread() is not threading.main_thread():
        return
    _signals_installed = True
    # SIGINT already becomes KeyboardInterrupt and then atexit; handlers someone else set are left alone.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _on_signal)


def _register(tunnel: SshTunnel) -> None:
    global _atexit_installed
    with _live_lock:
        _live.add(tunnel)
        first = not _atexit_installed
        _atexit_installed = True
    if first:
        atexit.register(close_all)
    install_signal_handlers()
