"""Fixtures for the `scan` tests: a second engine endpoint through TCP or the test sshd."""

from __future__ import annotations

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
    yield from sshd_harness.provide(tmp_path_factory, "scan-sshd")
