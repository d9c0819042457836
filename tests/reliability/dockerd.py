"""A second, throwaway dockerd of the tests' own (data, exec root, pidfile and socket under a temp dir).

It runs in a network namespace of its own (`unshare --net`) with `--bridge none --iptables=false`: a dockerd
started with `--bridge none` in the host namespace deletes the host's `docker0` (libnetwork's
`removeDefaultBridgeInterface`) and so breaks the main engine's bridge containers. It starts its own containerd
under its exec root, and can be killed for real (SIGKILL) to stand for a daemon that dies mid-audit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import docker

DOCKERD = "dockerd"


def _pids_mentioning(text: str) -> list[int]:
    """Processes whose command line mentions `text` (our dockerd's containerd and shims)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def _answers(socket_path: Path) -> bool:
    """Whether an engine answers `/_ping` on the socket."""
    if not socket_path.exists():
        return False
    try:
        client = docker.DockerClient(base_url=f"unix://{socket_path}", timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


class _TestDockerd:
    """What both test engines share: a socket and log under `directory`, start-up, and loading images."""

    label = "dockerd"

    def __init__(self, directory: Path, socket_name: str) -> None:
        self.directory = directory
        self.socket = directory / socket_name
        self._log = (directory / "dockerd.log").open("wb")

    def _start(self, argv: list[str], *, timeout: float, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            argv, env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while not _answers(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.directory / "dockerd.log").read_text(errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"the {self.label} did not start:\n{log}")
            time.sleep(0.1)

    @property
    def url(self) -> str:
        """`unix://` URL of its socket."""
        return f"unix://{self.socket}"

    def _docker(self, *args: str) -> tuple[list[str], dict[str, str] | None]:
        """A `docker -H <this>` command line and its environment."""
        return ["docker", "-H", self.url, *args], None

    def load(self, *refs: str) -> None:
        """Copy images from the main engine: `docker save REFS | docker -H <this> load`."""
        save = subprocess.Popen(["docker", "save", *refs], stdout=subprocess.PIPE)
        assert save.stdout is not None
        argv, env = self._docker("load", "-q")
        subprocess.run(argv, stdin=save.stdout, check=True, capture_output=True, timeout=120, env=env)
        save.stdout.close()
        assert save.wait(timeout=60) == 0

    def stop(self) -> None:
        """End the engine and everything it started."""
        raise NotImplementedError


class SecondEngine(_TestDockerd):
    """A dockerd on `unix://<directory>/d.sock`; `kill()` ends it abruptly, `stop()` cleans everything up."""

    label = "second dockerd"

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, "d.sock")
        (directory / "data").mkdir()
        (directory / "exec").mkdir()
        self._start(
            ["unshare", "--net", "--", DOCKERD, "--data-root", str(directory / "data"),
             "--exec-root", str(directory / "exec"), "--pidfile", str(directory / "dockerd.pid"), "-H", self.url,
             "--bridge", "none", "--iptables=false", "--ip-masq=false"],
            timeout=60,
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL dockerd (its socket file stays behind, as after a crash) and wait until it is gone."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """End dockerd and the containerd it started, unmount what is left, and remove the directory's data."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in _pids_mentioning(str(self.directory / "exec")):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        mounts = [
            line.split()[1]
            for line in Path("/proc/mounts").read_text().splitlines()
            if line.split()[1].startswith(str(self.directory))
        ]
        for mount in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
        self._log.close()


ROOTLESS_SCRIPT = "/usr/share/docker.io/contrib/dockerd-rootless.sh"
"""Debian's docker.io ships the rootless launcher here (rootlesskit, uidmap and slirp4netns come separately)."""


class RootlessEngine(_TestDockerd):
    """A rootless dockerd run by the non-root `user` (rootlesskit + slirp4netns, vfs storage) under `directory`."""

    label = "rootless dockerd"

    def __init__(self, directory: Path, user: str) -> None:
        import pwd

        self.user = user
        entry = pwd.getpwnam(user)
        os.chown(directory, entry.pw_uid, entry.pw_gid)
        os.chmod(directory, 0o700)
        super().__init__(directory, "docker.sock")
        env = {
            "HOME": str(directory),
            "XDG_RUNTIME_DIR": str(directory),
            "USER": user,
            "PATH": f"{Path(ROOTLESS_SCRIPT).parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        }
        self._start(
            ["setpriv", "--reuid", user, "--regid", str(entry.pw_gid), "--init-groups", "--", ROOTLESS_SCRIPT,
             "--data-root", str(directory / "data"), "--exec-root", str(directory / "exec"),
             "--pidfile", str(directory / "dockerd.pid"), "-H", self.url, "--storage-driver", "vfs"],
            timeout=90, env=env,
        )  # fmt: skip

    def _docker(self, *args: str) -> tuple[list[str], dict[str, str] | None]:
        """`docker -H <this>` run as the engine's user (its socket is private to that user)."""
        argv = ["setpriv", "--reuid", self.user, "--regid", self.user, "--init-groups", "--",
                "docker", "-H", self.url, *args]  # fmt: skip
        return argv, {"HOME": str(self.directory), "PATH": os.environ["PATH"]}

    def stop(self) -> None:
        """SIGTERM dockerd (it stops its containerd; rootlesskit then exits), then end whatever is left."""
        try:
            pid = int((self.directory / "dockerd.pid").read_text().strip())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for leftover in _pids_mentioning(str(self.directory)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(leftover, signal.SIGKILL)
        self._log.close()
