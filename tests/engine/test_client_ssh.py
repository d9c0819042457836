"""ssh:// engines: one system-ssh tunnel per session, torn down on close, exit and signals; clear failures."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dockaudit.engine.client import connect, resolve_endpoint
from dockaudit.engine.endpoint import SshTarget
from dockaudit.engine.ssh_tunnel import MODES, REMOTE_COMMAND, explain_ssh_failure, ssh_argv
from dockaudit.errors import EngineError
from tests.harness.servers import silent_listener
from tests.harness.sshd import SshdInfo, free_port, keygen

pytestmark = [pytest.mark.docker, pytest.mark.ssh]


def test_ssh_command_forwards_a_local_socket_without_prompting() -> None:
    target = SshTarget(host="box", user="ops", port=2222, socket_path="/run/docker.sock")
    env = {"DOCKAUDIT_SSH_COMMAND": "ssh -F /cfg"}
    for mode in MODES:
        argv = ssh_argv(target, "/tmp/d/docker.sock", timeout=10, env=env, mode=mode)
        assert argv[:3] == ["ssh", "-F", "/cfg"]
        assert "BatchMode=yes" in argv and "ExitOnForwardFailure=yes" in argv and "ConnectTimeout=10" in argv
        assert argv[argv.index("-L") + 1] == "/tmp/d/docker.sock:/run/docker.sock"
        assert argv[argv.index("-p") + 1] == "2222"
    plain = ssh_argv(target, "/s", timeout=10, env=env, mode="plain")
    assert "-nNT" in plain and plain[-2:] == ["--", "ops@box"]
    pty = ssh_argv(target, "/s", timeout=10, env=env, mode="pty")
    assert "-tt" in pty and pty[-3:] == ["--", "ops@box", REMOTE_COMMAND]


def test_plain_ssh_is_the_default_command() -> None:
    argv = ssh_argv(SshTarget(host="box"), "/s", timeout=3, env={})
    assert argv[0] == "ssh" and "-p" not in argv


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        (
            "ops@box: Permission denied (publickey).",
            "ssh authentication to ops@box failed: Permission denied (publickey)",
        ),
        ("Host key verification failed.", "ssh host key verification failed for ops@box"),
        ("ssh: connect to host box port 22: Connection refused", "ssh to ops@box was refused"),
        ("ssh: connect to host box port 22: Connection timed out", "ssh to ops@box timed out after 5 s"),
        ("ssh: Could not resolve hostname box: Name or service not known", "ssh cannot resolve the host in ops@box"),
        ("kex_exchange_identification: read: Connection reset by peer", "ssh to ops@box failed: kex_exchange"),
        (
            "channel 2: open failed: connect failed: Permission denied",
            "ssh reached ops@box but could not open the engine socket /var/run/docker.sock",
        ),
    ],
)
def test_ssh_failures_become_one_line(stderr: str, expected: str) -> None:
    message = explain_ssh_failure(f"debug noise\n{stderr}\n", SshTarget(host="box", user="ops"), timeout=5)
    assert message.startswith(expected)
    assert "\n" not in message


@pytest.fixture
def ssh_command(sshd: SshdInfo, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point dockaudit's ssh at the test sshd's client config."""
    monkeypatch.setenv("DOCKAUDIT_SSH_COMMAND", sshd.ssh_command)
    return sshd.ssh_command


def test_ssh_engine_answers_through_one_private_tunnel(sshd: SshdInfo, ssh_command: str) -> None:
    engine = connect(resolve_endpoint(host=sshd.url), engine_id="remote")
    tunnel = engine.tunnel
    assert tunnel is not None and tunnel.directory is not None and tunnel.pid is not None
    directory, pid = tunnel.directory, tunnel.pid
    try:
        assert stat.S_IMODE(Path(directory).stat().st_mode) == 0o700
        assert engine.client.api.base_url == "http+docker://localhost"
        assert engine.info.endpoint == sshd.url and engine.info.api_version
        assert engine.trivy_docker_host is None
        engine.client.images.list()
        engine.client.containers.list(all=True)
        # Every request went through the same ssh process: still exactly one, still the same.
        assert tunnel.pid == pid
    finally:
        engine.close()
    assert not Path(directory).exists()
    assert not Path(f"/proc/{pid}").exists() or "State:\tZ" in Path(f"/proc/{pid}/status").read_text()


def test_tunnel_holds_a_terminal_session_so_responses_do_not_stall(sshd: SshdInfo, ssh_command: str) -> None:
    with connect(resolve_endpoint(host=sshd.url)) as engine:
        assert engine.tunnel is not None and engine.tunnel.mode == "pty"


@pytest.mark.parametrize("forced", [False, True])
def test_tunnel_falls_back_to_a_plain_forward(
    sshd: SshdInfo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, forced: bool
) -> None:
    if forced:
        monkeypatch.setenv("DOCKAUDIT_SSH_COMMAND", sshd.ssh_command)
        monkeypatch.setenv("DOCKAUDIT_SSH_TUNNEL", "plain")
    else:
        # A RemoteCommand in the user's config makes ssh refuse our command: the session cannot run.
        config = tmp_path / "ssh_config"
        config.write_text("RemoteCommand echo busy; exit 3\n" + sshd.config.read_text())
        monkeypatch.setenv("DOCKAUDIT_SSH_COMMAND", f"ssh -F {config}")
    with connect(resolve_endpoint(host=sshd.url)) as engine:
        assert engine.tunnel is not None and engine.tunnel.mode == "plain"
        assert engine.client.ping()


def test_ssh_config_host_alias_is_honoured(sshd: SshdInfo, ssh_command: str) -> None:
    with connect(resolve_endpoint(host="ssh://dockaudit-test")) as engine:
        assert engine.client.ping()


def test_ssh_context_from_the_context_store(sshd: SshdInfo, ssh_command: str, tmp_path: Path) -> None:
    from tests.engine.test_endpoint import make_context

    make_context(tmp_path, "remote", sshd.url)
    ep = resolve_endpoint(context="remote", env={"DOCKER_CONFIG": str(tmp_path)})
    with connect(ep) as engine:
        assert engine.info.context == "remote"


def test_ssh_wrong_key_is_an_authentication_failure(sshd: SshdInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    stranger = keygen(sshd.directory / "stranger_ed25519", "stranger")
    config = sshd.write_client_config("stranger", identity=stranger)
    monkeypatch.setenv("DOCKAUDIT_SSH_COMMAND", f"ssh -F {config}")
    with pytest.raises(EngineError, match=r"ssh authentication to root@127\.0\.0\.1 .*Permission denied \(publickey"):
        connect(resolve_endpoint(host=sshd.url))


def test_ssh_changed_host_key_fails_verification(sshd: SshdInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    impostor = keygen(sshd.directory / "impostor_host", "impostor")
    known = sshd.directory / "known_hosts.impostor"
    known.write_text(f"[127.0.0.1]:{sshd.port} {Path(f'{impostor}.pub').read_text()}")
    config = sshd.write_client_config("impostor", known_hosts=known)
    monkeypatch.setenv("DOCKAUDIT_SSH_COMMAND", f"ssh -F {config}")
    with pytest.raises(EngineError, match=r"ssh host key verification failed for root@127\.0\.0\.1"):
        connect(resolve_endpoint(host=sshd.url))


def test_ssh_refused_port(ssh_command: str) -> None:
    with pytest.raises(EngineError, match=r"ssh to root@127\.0\.0\.1 \(port \d+\) was refused"):
        connect(resolve_endpoint(host=f"ssh://root@127.0.0.1:{free_port()}"))


def test_ssh_to_a_silent_port_times_out(ssh_command: str) -> None:
    with silent_listener() as port, pytest.raises(EngineError, match=r"timed out after 1 s"):
        connect(resolve_endpoint(host=f"ssh://root@127.0.0.1:{port}"), timeout=1)


def test_ssh_missing_remote_socket_is_named(sshd: SshdInfo, ssh_command: str) -> None:
    with pytest.raises(EngineError, match=r"could not open the engine socket /run/nothing/docker\.sock"):
        connect(resolve_endpoint(host=f"{sshd.url}/run/nothing/docker.sock"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_tunnel_is_torn_down_when_the_process_is_signalled(sshd: SshdInfo, ssh_command: str, signum: int) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from dockaudit.engine.client import connect, resolve_endpoint
        engine = connect(resolve_endpoint(host={sshd.url!r}))
        print(engine.tunnel.pid, engine.tunnel.directory, flush=True)
        time.sleep(120)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DOCKAUDIT_SSH_COMMAND": ssh_command},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert len(line) == 2, proc.stderr.read() if proc.stderr else ""
    pid, directory = int(line[0]), line[1]
    assert Path(directory).exists()
    proc.send_signal(signum)
    proc.wait(timeout=30)
    assert not Path(directory).exists()
    assert not Path(f"/proc/{pid}").exists() or "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
