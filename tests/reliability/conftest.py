"""Fixtures of the reliability tests: the hostile images (loaded into the engine, and as a bare tarball)."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.fixtures.containers import ContainerPool
from tests.reliability import hostile


@pytest.fixture(scope="session")
def hostile_image(docker_client: docker.DockerClient) -> str:
    """Tag of the docker-loaded hostile image (121 layers, escapes in labels, env, history and file names)."""
    return hostile.load_image(docker_client, "hostile", hostile.loadable_archive)


@pytest.fixture(scope="session")
def sparse_image(docker_client: docker.DockerClient) -> str:
    """Tag of a docker-loaded image holding a 64 MiB sparse file."""
    return hostile.load_image(docker_client, "hostile-sparse", hostile.sparse_archive)


@pytest.fixture(scope="session")
def hostile_container(container_pool: ContainerPool, hostile_image: str) -> str:
    """Id of a created container of the hostile image, with payloads in its own labels and env."""
    labels = {f"evil.container.{i}": payload for i, payload in enumerate(hostile.PAYLOADS)}
    labels["evil.container.big"] = "C" * hostile.BIG_LABEL_SIZE
    env = [f"CONTAINER_EVIL={hostile.EVIL}", f"EVIL_{hostile.OSC52}=1"]
    return container_pool.create("hostile", hostile_image, start=False, labels=labels, environment=env)


@pytest.fixture(scope="session")
def hostile_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The archive-only hostile image as a file whose own name carries an escape sequence."""
    path = tmp_path_factory.mktemp("hostile") / f"image{hostile.OSC52}{hostile.SGR}.tar"
    path.write_bytes(hostile.archive_only())
    return path


# The read-only, fault and tool tests' fixtures (tests/reliability/fixtures_faults.py).
from tests.reliability.fixtures_faults import proxy, short_dir, trivy_db  # noqa: E402, F401
