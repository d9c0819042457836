"""Fixtures for the `scan` tests: a second engine endpoint through TCP or the test sshd."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.harness import sshd as sshd_harness
from tests.harness.servers import ENGINE_SOCKET, TcpForwarder


@pytest.fixture
def second_engine() -> Iterator[str]:
    """`tcp://127.0.0.1:PORT`: the local engine again, under another endpoint and engine id."""
    forwarder = TcpForwarder(ENGINE_SOCKET)
    yield forwarder.url
    forwarder.close()


@pytest.fixture(scope="session")
def scan_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sshd_harness.SshdInfo]:
    """The sshd scripts/test started (DOCKAUDIT_TEST_SSH_*), else one started here; fails when neither works."""
    info = sshd_harness.SshdInfo.from_env(os.environ)
    if info is not None:
        yield info
        return
    directory = tmp_path_factory.mktemp("scan-sshd")
    try:
        info = sshd_harness.start(directory)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"cannot start the test sshd (scripts/test installs openssh-server): {exc}", pytrace=False)
    yield info
    sshd_harness.stop(directory)
