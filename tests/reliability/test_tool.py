"""The tool itself: no shell anywhere, private temp files gone on exit and on Ctrl-C, a private ssh tunnel
socket, and a non-root user in the docker group can run a whole audit."""

from __future__ import annotations

import ast
import grp
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import dockaudit
from dockaudit.engine.endpoint import SshTarget
from dockaudit.engine.ssh_tunnel import SshTunnel
from tests.harness import sshd as sshd_harness
from tests.harness.servers import TcpForwarder
from tests.reliability import cli
from tests.reliability.dockerd import RootlessEngine

SRC = Path(dockaudit.__file__).resolve().parent
TEST_USER = "dockaudit-test"
"""A non-root user in the docker group, created by `test_user` when missing (scripts/test runs as root)."""


# -- no shell ------------------------------------------------------------------------------------------------


def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return f"{_name(func.value)}.{func.attr}"
    if isinstance(func, ast.Name):
        return func.id
    return "?"


def test_no_subprocess_ever_gets_a_shell() -> None:
    """No `shell=True`, `os.system`, `os.popen`, `*_shell` or string command line anywhere in the package."""
    problems: list[str] = []
    spawners = {
        "subprocess.run",
        "subprocess.Popen",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "asyncio.create_subprocess_exec",
    }
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 50
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        where = path.relative_to(SRC)
        for call in _calls(tree):
            name = _name(call.func)
            line = f"{where}:{call.lineno} {name}"
            if name in (
                "os.system",
                "os.popen",
                "os.spawnl",
                "os.spawnlp",
                "os.execl",
                "os.execlp",
                "pty.spawn",
                "asyncio.create_subprocess_shell",
                "commands.getoutput",
                "subprocess.getoutput",
                "subprocess.getstatusoutput",
            ):
                problems.append(f"{line}: runs a shell or a command string")
            spawns = name in spawners or name.rsplit(".", 1)[-1] in ("run", "Popen", "call", "check_output")
            for kw in call.keywords:
                # (`shell=` of other calls is data: the image config's SHELL instruction.)
                literal_false = isinstance(kw.value, ast.Constant) and kw.value.value is False
                if spawns and kw.arg == "shell" and not literal_false:
                    problems.append(f"{line}: shell=")
            if name in spawners and call.args and isinstance(call.args[0], ast.Constant | ast.JoinedStr):
                problems.append(f"{line}: a command line string (argv lists only)")
    assert problems == []
    # The check itself works: it sees every spawn site the package has.
    spawning = {
        p.relative_to(SRC).as_posix()
        for p in files
        if any(_name(c.func) in spawners for c in _calls(ast.parse(p.read_text(encoding="utf-8"))))
    }
    assert {"scanners/process.py", "engine/ssh_tunnel.py"} <= spawning, spawning


# -- temp files and Ctrl-C -----------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _wait_for(predicate: object, what: str, limit: float = 120) -> None:
    """Poll until `predicate()` holds (a readiness wait, not a timed assertion)."""
    deadline = time.monotonic() + limit
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.05)


@pytest.fixture
def tcp_engine() -> Iterator[str]:
    """The test engine as `tcp://127.0.0.1:PORT`: not local, so Trivy gets a saved image in a temp dir."""
    forwarder = TcpForwarder()
    yield forwarder.url
    forwarder.close()


STOPS = {
    # signal: (sent to the process group (a terminal's Ctrl-C) or the process (a CI runner), exit code, last line)
    "SIGINT": (True, 130, "dockaudit: interrupted"),
    "SIGTERM": (False, 143, "dockaudit: terminated by SIGTERM"),
}


@pytest.mark.docker
@pytest.mark.parametrize("stop", sorted(STOPS))
def test_ctrl_c_kills_trivy_and_removes_the_private_temp_dir(
    stop: str, tcp_engine: str, tmp_path: Path, bad_image: str
) -> None:
    to_group, expected_code, last_line = STOPS[stop]
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    pidfile = tmp_path / "trivy.pids"
    env = cli.private_env(tmp_path, TMPDIR=str(tmpdir), FAKE_TRIVY_PIDFILE=str(pidfile))
    argv = cli.dockaudit_argv(
        "scan",
        "-H",
        tcp_engine,
        f"image:{bad_image}",
        "--trivy",
        str(cli.FAKE_TRIVY / "hanging_trivy"),
        "--scanners",
        "checklist,misconfig",
        "-f",
        "json",
        "-o",
        str(tmp_path / "r.json"),
    )
    # Its own process group, which gets the SIGINT as a terminal's Ctrl-C would deliver it.
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _wait_for(lambda: pidfile.exists() and len(pidfile.read_text().split()) == 2, "the stand-in Trivy started")
        (workdir,) = list(tmpdir.iterdir())
        assert workdir.name.startswith("dockaudit-trivy-")
        assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
        tarball = workdir / "image.tar"
        assert stat.S_IMODE(tarball.stat().st_mode) == 0o600 and tarball.stat().st_size > 0
        (os.killpg if to_group else os.kill)(proc.pid, signal.Signals[stop])
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == expected_code, stderr
    assert stderr.strip().splitlines()[-1] == last_line
    assert "Traceback" not in stderr
    assert list(tmpdir.iterdir()) == []
    pids = [int(p) for p in pidfile.read_text().split()]
    assert not [p for p in pids if _alive(p)]
    assert not (tmp_path / "r.json").exists()


@pytest.mark.docker
@pytest.mark.trivy
def test_temp_dir_is_removed_after_a_normal_run(
    tcp_engine: str, tmp_path: Path, trivy_db: Path, good_image: str
) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    run = cli.run(
        "scan",
        "-H",
        tcp_engine,
        f"image:{good_image}",
        "--offline",
        "--trivy-cache-dir",
        str(trivy_db),
        "--fail-on",
        "never",
        "-f",
        "json",
        "-o",
        str(tmp_path / "r.json"),
        env=cli.private_env(tmp_path, TMPDIR=str(tmpdir)),
    )
    assert run.returncode == 0, run.stderr
    (target,) = cli.load_report(tmp_path / "r.json")["targets"]
    assert target["scans"]["trivy"].startswith(("ok", "degraded")), target["scans"]
    assert list(tmpdir.iterdir()) == []


# -- ssh tunnel ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sshd() -> Iterator[sshd_harness.SshdInfo]:
    """The sshd scripts/test started, else one of this module's own."""
    info = sshd_harness.SshdInfo.from_env(os.environ)
    if info is not None:
        yield info
        return
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="da-sshd-"))
    try:
        info = sshd_harness.start(directory)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"cannot start the test sshd (scripts/test installs openssh-server): {exc}", pytrace=False)
    yield info
    sshd_harness.stop(directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.ssh
@pytest.mark.docker
def test_ssh_tunnel_socket_is_private_and_removed(sshd: sshd_harness.SshdInfo, tmp_path: Path) -> None:
    target = SshTarget(user="root", host="127.0.0.1", port=sshd.port, socket_path="/var/run/docker.sock")
    tunnel = SshTunnel(target, env={"DOCKAUDIT_SSH_COMMAND": sshd.ssh_command}).open()
    try:
        directory = Path(tunnel.directory or "")
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert directory.stat().st_uid == os.getuid()
        sock = Path(tunnel.local_socket)
        assert sock.parent == directory and stat.S_ISSOCK(sock.stat().st_mode)
        for entry in directory.iterdir():  # ssh's logs too
            assert entry.stat().st_uid == os.getuid()
    finally:
        tunnel.close()
    assert not directory.exists()


# -- a non-root user in the docker group ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def test_user() -> str:
    """`dockaudit-test`, a non-root member of the docker group (created here when missing; needs root)."""
    try:
        entry = pwd.getpwnam(TEST_USER)
    except KeyError:
        if os.geteuid() != 0:
            pytest.fail(f"user {TEST_USER} is missing and only root can create it", pytrace=False)
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "--groups",
                "docker",
                TEST_USER,
            ],
            check=True,
        )
        entry = pwd.getpwnam(TEST_USER)
    if TEST_USER not in grp.getgrnam("docker").gr_mem:
        subprocess.run(["usermod", "-aG", "docker", TEST_USER], check=True)
    assert entry.pw_uid != 0
    return TEST_USER


@pytest.mark.docker
@pytest.mark.trivy
def test_non_root_user_in_the_docker_group_runs_a_full_audit(
    test_user: str, short_dir: Path, trivy_db: Path, bad_image: str, bad_containers: dict[str, str]
) -> None:
    entry = pwd.getpwnam(test_user)
    home = short_dir / "home"
    home.mkdir()
    shutil.copytree(trivy_db / "db", home / "trivy-cache" / "db")
    for path in [short_dir, *short_dir.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    env = cli.private_env(home, HOME=str(home), TMPDIR=str(home), USER=test_user)
    for path in home.rglob("*"):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    as_user = ("setpriv", "--reuid", test_user, "--regid", str(entry.pw_gid), "--init-groups", "--")
    out = home / "report.json"
    run = cli.run(
        "scan",
        f"image:{bad_image}",
        f"container:{bad_containers['host']}",
        "--host-checks",
        "--offline",
        "--trivy-cache-dir",
        str(home / "trivy-cache"),
        "--fail-on",
        "never",
        "-f",
        "json",
        "-o",
        str(out),
        env=env,
        prefix=as_user,
    )
    assert run.returncode == 0, run.stderr
    report = cli.load_report(out)
    assert sorted(t["kind"] for t in report["targets"]) == ["container", "host", "image"]
    for target in report["targets"]:
        assert not target.get("errors"), target
    image = next(t for t in report["targets"] if t["kind"] == "image")
    assert image["scans"]["trivy"].startswith(("ok", "degraded")) and image["scans"]["layers"] == "ok"
    assert out.stat().st_uid == entry.pw_uid and stat.S_IMODE(out.stat().st_mode) == 0o600
    cache = home / "xdg-cache" / "dockaudit" / "trivy-results.sqlite3"
    assert cache.stat().st_uid == entry.pw_uid and stat.S_IMODE(cache.stat().st_mode) == 0o600
    # Nothing left in its temp dir but what the test put there.
    assert sorted(p.name for p in home.iterdir()) == ["docker-config", "report.json", "trivy-cache", "xdg-cache"]
    doctor = cli.run("doctor", "--json", env=env, prefix=as_user)
    assert doctor.returncode in (0, 1), doctor.stderr
    assert "Traceback" not in doctor.stderr


# -- a rootless engine ---------------------------------------------------------------------------------------


@pytest.fixture
def rootless_engine(test_user: str, short_dir: Path, bad_image: str) -> Iterator[RootlessEngine]:
    """Rootless Docker run by the test user (subordinate ids added here when missing), holding the bad image."""
    for table, flag in (("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")):
        if not any(line.startswith(f"{test_user}:") for line in Path(table).read_text().splitlines()):
            subprocess.run(["usermod", flag, "300000-365535", test_user], check=True)
    directory = short_dir / "rootless"
    directory.mkdir()
    entry = pwd.getpwnam(test_user)
    os.chown(short_dir, entry.pw_uid, entry.pw_gid)
    engine = RootlessEngine(directory, test_user)
    try:
        engine.load(bad_image)
        yield engine
    finally:
        engine.stop()


@pytest.mark.docker
@pytest.mark.trivy
def test_non_root_user_audits_a_rootless_engine(
    rootless_engine: RootlessEngine, test_user: str, trivy_db: Path, bad_image: str
) -> None:
    entry = pwd.getpwnam(test_user)
    home = rootless_engine.directory / "home"
    home.mkdir()
    shutil.copytree(trivy_db / "db", home / "trivy-cache" / "db")
    for path in [home, *home.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    env = cli.private_env(home, HOME=str(home), TMPDIR=str(home), XDG_RUNTIME_DIR=str(rootless_engine.directory))
    for path in home.rglob("*"):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    as_user = ("setpriv", "--reuid", test_user, "--regid", str(entry.pw_gid), "--init-groups", "--")
    out = home / "report.json"
    run = cli.run(
        "scan",
        "-H",
        rootless_engine.url,
        "--all-images",
        "--host-checks",
        "--offline",
        "--trivy-cache-dir",
        str(home / "trivy-cache"),
        "--fail-on",
        "never",
        "-f",
        "json",
        "-o",
        str(out),
        env=env,
        prefix=as_user,
    )
    assert run.returncode == 0, run.stderr
    report = cli.load_report(out)
    (engine,) = report["engines"]
    assert engine["rootless"] is True and engine["endpoint"] == rootless_engine.url
    image = cli.target(report, "image", bad_image)
    assert image["scans"]["layers"] == "ok" and image["scans"]["trivy"].startswith(("ok", "degraded"))
    assert not image.get("errors")
    host = cli.target(report, "host", "")
    assert not host.get("errors") and host["findings"] + host["passed"]


@pytest.mark.ssh
@pytest.mark.docker
def test_ctrl_c_over_ssh_closes_the_tunnel_and_removes_every_temp_dir(
    sshd: sshd_harness.SshdInfo, short_dir: Path, tmp_path: Path, bad_image: str
) -> None:
    pidfile = tmp_path / "trivy.pids"
    env = cli.private_env(
        tmp_path, TMPDIR=str(short_dir), FAKE_TRIVY_PIDFILE=str(pidfile), DOCKAUDIT_SSH_COMMAND=sshd.ssh_command
    )
    argv = cli.dockaudit_argv(
        "scan",
        "-H",
        sshd.url,
        f"image:{bad_image}",
        "--trivy",
        str(cli.FAKE_TRIVY / "hanging_trivy"),
        "--scanners",
        "checklist,misconfig",
        "-f",
        "json",
        "-o",
        str(tmp_path / "r.json"),
    )
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _wait_for(lambda: pidfile.exists() and len(pidfile.read_text().split()) == 2, "the stand-in Trivy started")
        dirs = sorted(p.name.rsplit("-", 1)[0] for p in short_dir.iterdir())
        assert dirs == ["dockaudit-ssh", "dockaudit-trivy"]
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in short_dir.iterdir())
        ssh_pids = [
            int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and _child_ssh(int(e.name), proc.pid)
        ]
        assert ssh_pids
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert list(short_dir.iterdir()) == []
    assert not [p for p in ssh_pids + [int(p) for p in pidfile.read_text().split()] if _alive(p)]


def _child_ssh(pid: int, parent: int) -> bool:
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return comm == "ssh" and int(stat_line.rsplit(")", 1)[1].split()[1]) == parent


def test_ctrl_c_while_an_engine_does_not_answer_ends_the_run_at_once(tmp_path: Path) -> None:
    # An engine that accepts the connection and never answers: connecting would wait for its 10 s timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    host = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
    argv = cli.dockaudit_argv("scan", "--no-trivy", "-H", host, "image:busybox", "-f", "json")
    env = cli.private_env(tmp_path)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _accepted(silent), "the scan reached the silent engine")
        proc.send_signal(signal.SIGINT)
        # Well inside the connection timeout: nothing waits for the engine that never answers.
        _, stderr = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        silent.close()
    # 130 from dockaudit; an end by the signal itself (-2) is what a shell reports as 130 too, so it is not the
    # failure this test looks for (a wait for the silent engine is).
    assert proc.returncode in (130, -signal.SIGINT), stderr
    assert stderr.strip().splitlines()[-1] == "dockaudit: interrupted"


def _accepted(listener: socket.socket) -> bool:
    """Whether a connection to `listener` is waiting to be accepted (it is then accepted and left silent)."""
    listener.settimeout(0.05)
    try:
        connection, _ = listener.accept()
    except TimeoutError:
        return False
    _SILENT.append(connection)
    return True


_SILENT: list[socket.socket] = []
"""Accepted connections kept open (and unanswered) until the test process ends."""
