"""A real sshd on 127.0.0.1 with generated host and client keys, for ssh:// engine tests.

`scripts/test` starts one with `python tests/harness/sshd.py start DIR` (it prints `export` lines) and stops it
with `... stop DIR`; the test fixtures reuse it through the exported variables or start their own.
OpenSSH reads `~/.ssh` from the passwd entry, not $HOME, so tests point ssh at the generated client config
with `DOCKAUDIT_SSH_COMMAND="ssh -F <config>"` instead of touching the real `~/.ssh`.
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
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
HOST_ALIAS = "dockaudit-test"


@dataclass(frozen=True)
class SshdInfo:
    """Where the test sshd listens and the client files that reach it."""

    port: int
    directory: Path
    client_key: Path
    """Authorised for root."""
    config: Path
    """ssh client config: Host `dockaudit-test` and `127.0.0.1` use the key and the private known_hosts."""
    known_hosts: Path
    host_key_pub: Path

    @property
    def url(self) -> str:
        """The engine URL through this sshd."""
        return f"ssh://root@127.0.0.1:{self.port}"

    @property
    def ssh_command(self) -> str:
        """Value for DOCKAUDIT_SSH_COMMAND."""
        return f"ssh -F {shlex.quote(str(self.config))}"

    def env(self) -> dict[str, str]:
        """Environment variables describing this sshd (what scripts/test exports)."""
        return {
            "DOCKAUDIT_TEST_SSH_PORT": str(self.port),
            "DOCKAUDIT_TEST_SSH_DIR": str(self.directory),
            "DOCKAUDIT_TEST_SSH_KEY": str(self.client_key),
            "DOCKAUDIT_TEST_SSH_CONFIG": str(self.config),
            "DOCKAUDIT_TEST_SSH_KNOWN_HOSTS": str(self.known_hosts),
        }

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str]) -> SshdInfo | None:
        """The sshd scripts/test started, if it exported one."""
        if not env.get("DOCKAUDIT_TEST_SSH_PORT") or not env.get("DOCKAUDIT_TEST_SSH_DIR"):
            return None
        directory = Path(env["DOCKAUDIT_TEST_SSH_DIR"])
        return cls(
            port=int(env["DOCKAUDIT_TEST_SSH_PORT"]),
            directory=directory,
            client_key=Path(env["DOCKAUDIT_TEST_SSH_KEY"]),
            config=Path(env["DOCKAUDIT_TEST_SSH_CONFIG"]),
            known_hosts=Path(env["DOCKAUDIT_TEST_SSH_KNOWN_HOSTS"]),
            host_key_pub=directory / "host_ed25519.pub",
        )

    def write_client_config(self, name: str, *, identity: Path | None = None, known_hosts: Path | None = None) -> Path:
        """A variant client config (another key, another known_hosts) for failure tests."""
        path = self.directory / f"ssh_config.{name}"
        path.write_text(client_config(self.port, identity or self.client_key, known_hosts or self.known_hosts))
        return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path, comment: str) -> Path:
    """Generate an unencrypted ed25519 key pair at `path` (and `path.pub`)."""
    if not path.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            check=True,
            stdin=subprocess.DEVNULL,
        )
    return path


def client_config(port: int, identity: Path, known_hosts: Path) -> str:
    """ssh client config reaching the test sshd as root with `identity`, trusting only `known_hosts`."""
    return (
        f"Host {HOST_ALIAS} 127.0.0.1\n"
        "  HostName 127.0.0.1\n"
        f"  Port {port}\n"
        "  User root\n"
        f"  IdentityFile {identity}\n"
        "  IdentitiesOnly yes\n"
        "  IdentityAgent none\n"
        f"  UserKnownHostsFile {known_hosts}\n"
        "  GlobalKnownHostsFile /dev/null\n"
        "  StrictHostKeyChecking yes\n"
        "  UpdateHostKeys no\n"
    )


def _wait_for_banner(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(8).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"sshd on 127.0.0.1:{port} did not answer within {timeout:g} s")
        time.sleep(0.05)


def start(directory: Path, *, stop_at_exit: bool = True) -> SshdInfo:
    """Start sshd (as root) on a free port with keys and configs under `directory`.

    Unless `stop_at_exit` is False (scripts/test, which stops it itself), it is also stopped when this process exits.
    """
    if os.geteuid() != 0:
        raise RuntimeError("the test sshd must run as root (it logs root in with a generated key)")
    if not Path(SSHD).exists():
        raise RuntimeError(f"{SSHD} is missing: apt-get install openssh-server (scripts/test does)")
    directory.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    host_key = keygen(directory / "host_ed25519", "dockaudit-test-host")
    client_key = keygen(directory / "client_ed25519", "dockaudit-test-client")
    (directory / "authorized_keys").write_text(Path(f"{client_key}.pub").read_text())
    port = free_port()
    (directory / "sshd_config").write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {host_key}\n"
        f"PidFile {directory / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {directory / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "AllowTcpForwarding yes\n"
        "AllowStreamLocalForwarding yes\n"
        "MaxStartups 100\n"
        "LogLevel VERBOSE\n"
    )
    known_hosts = directory / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {Path(f'{host_key}.pub').read_text()}")
    config = directory / "ssh_config"
    config.write_text(client_config(port, client_key, known_hosts))
    subprocess.run(
        [SSHD, "-f", str(directory / "sshd_config"), "-E", str(directory / "sshd.log")],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    if stop_at_exit:
        atexit.register(stop, directory)
    _wait_for_banner(port, timeout=15)
    return SshdInfo(port, directory, client_key, config, known_hosts, Path(f"{host_key}.pub"))


def stop(directory: Path) -> None:
    """Stop the sshd started in `directory`, if it still runs."""
    pidfile = directory / "sshd.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    pidfile.unlink(missing_ok=True)


def provide(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[SshdInfo]:
    """For a fixture: the sshd scripts/test started, else one started here; fails the test when neither works."""
    info = SshdInfo.from_env(os.environ)
    if info is not None:
        yield info
        return
    directory = tmp_path_factory.mktemp(name)
    try:
        info = start(directory)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"cannot start the test sshd (scripts/test installs openssh-server): {exc}", pytrace=False)
    yield info
    stop(directory)


def main(argv: list[str]) -> int:
    """`sshd.py start DIR` prints `export` lines; `sshd.py stop DIR` stops it."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        sys.stderr.write("usage: sshd.py start|stop DIR\n")
        return 2
    directory = Path(argv[1])
    if argv[0] == "stop":
        stop(directory)
        return 0
    info = start(directory, stop_at_exit=False)
    for name, value in info.env().items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
