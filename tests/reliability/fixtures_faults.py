"""Fixtures of the read-only, fault and tool tests: a short private directory for sockets, the recording proxy,
Trivy's offline test DB. `conftest.py` re-exports them."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.proxy import DockerProxy
from tests.trivy import trivydb


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A fresh directory under /tmp with a short path (unix socket paths hold at most 107 bytes)."""
    directory = Path(tempfile.mkdtemp(prefix="da-rel-", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def proxy(short_dir: Path) -> Iterator[DockerProxy]:
    """A recording proxy in front of the test engine."""
    recorder = DockerProxy(short_dir / "engine.sock")
    yield recorder
    recorder.close()


@pytest.fixture(scope="session")
def trivy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Trivy cache dir holding the offline fixture vulnerability DB (shared: Trivy's layer cache stays warm)."""
    cache = tmp_path_factory.mktemp("reliability-trivy-cache")
    trivydb.write_fixture_db(cache)
    return cache
