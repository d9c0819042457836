"""Fixtures for the engine-connection and doctor tests: the test sshd, a TCP forwarder, a fresh Docker config."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.harness import sshd as sshd_harness
from tests.harness.servers import ENGINE_SOCKET, TcpForwarder

RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def engine_socket() -> str:
    """The real engine's socket; fails (never skips) when no engine answers there."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(ENGINE_SOCKET)
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            answer = sock.recv(64)
    except OSError as exc:
        pytest.fail(f"no Docker engine answers at {ENGINE_SOCKET} (scripts/test starts one): {exc}", pytrace=False)
    if b" 200 " not in answer:
        pytest.fail(f"{ENGINE_SOCKET} did not answer /_ping: {answer!r}", pytrace=False)
    return ENGINE_SOCKET


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory, engine_socket: str) -> Iterator[sshd_harness.SshdInfo]:
    """The sshd scripts/test started (DOCKAUDIT_TEST_SSH_*), else one started here; fails when neither works."""
    yield from sshd_harness.provide(tmp_path_factory, "sshd")


@pytest.fixture(scope="session")
def tcp_forwarder(engine_socket: str) -> Iterator[TcpForwarder]:
    """`tcp://127.0.0.1:PORT` relaying to the real engine socket."""
    forwarder = TcpForwarder(engine_socket)
    yield forwarder
    forwarder.close()


@pytest.fixture
def docker_config(tmp_path: Path) -> Path:
    """An empty Docker CLI config directory, so the user's contexts and current context never leak in."""
    path = tmp_path / "docker-config"
    path.mkdir()
    return path


@pytest.fixture
def clean_env(docker_config: Path) -> dict[str, str]:
    """The environment for a CLI run: no DOCKER_* variables, the empty Docker config, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKAUDIT_SSH"))}
    env["DOCKER_CONFIG"] = str(docker_config)
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture
def run_cli(clean_env: dict[str, str]) -> RunCli:
    """Run `python -m dockaudit ARGS` in a subprocess with `clean_env` plus overrides; never raises on exit codes."""

    def run(*args: str, env: dict[str, str] | None = None, user: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "dockaudit", *args]
        if user is not None:
            argv = ["setpriv", "--reuid", user, "--regid", "nogroup", "--clear-groups", "--", *argv]
        return subprocess.run(
            argv,
            env={**clean_env, **(env or {})},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )

    return run
