"""Session fixtures on the real Docker engine: the client, fixture images and containers."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

# `tests` is a package; make `from tests.fixtures ...` work however pytest was started.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.fixtures import containers, recipes  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    """Give the processes the tests start the signal defaults a terminal gives them.

    A run started in the background (`nohup`, `cmd &` in a script, some CI runners) inherits SIGINT and SIGHUP
    ignored, and an ignored signal stays ignored across exec: every dockaudit the Ctrl-C and hang-up tests start
    would then shrug the signal off. A handled signal is reset to its default on exec, so handling them here is
    enough (SIGINT as Python's own KeyboardInterrupt, SIGHUP as the default: end the run).
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A client for the engine at DOCKER_HOST (default socket); fails, never skips, when it is unreachable."""
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:
        pytest.fail(f"the Docker engine is unreachable (start it with scripts/test): {exc}", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient) -> str:
    """Tag of the debian-looking busybox base image the other fixture images build on."""
    return recipes.build_base(docker_client)


@pytest.fixture(scope="session")
def bad_image(docker_client: docker.DockerClient, base_image: str) -> str:
    """Tag of the image with every planted flaw (see tests/fixtures/recipes.py)."""
    return recipes.build_bad(docker_client, base_image)


@pytest.fixture(scope="session")
def good_image(docker_client: docker.DockerClient, base_image: str) -> str:
    """Tag of the image that follows the checklist."""
    return recipes.build_good(docker_client, base_image)


@pytest.fixture(scope="session")
def container_pool(docker_client: docker.DockerClient) -> Iterator[containers.ContainerPool]:
    """Creates this session's containers and removes them (and only them) at the end."""
    with containers.container_pool(docker_client) as pool:
        yield pool


@pytest.fixture(scope="session")
def bad_containers(container_pool: containers.ContainerPool, bad_image: str) -> dict[str, str]:
    """Running containers with planted runtime flaws: `host` (namespaces, socket, caps) and `bridge` (ports...)."""
    return {
        "host": containers.bad_host_container(container_pool, bad_image),
        "bridge": containers.bad_bridge_container(container_pool, bad_image),
    }


@pytest.fixture(scope="session")
def hardened_container(container_pool: containers.ContainerPool, good_image: str) -> str:
    """Id of a running container started with every hardening flag."""
    return containers.hardened_container(container_pool, good_image)


@pytest.fixture(scope="session")
def created_privileged_container(container_pool: containers.ContainerPool, bad_image: str) -> str:
    """Id of a `--privileged` container that was created but not started."""
    return containers.privileged_container(container_pool, bad_image)


@pytest.fixture(scope="session")
def drift_container(container_pool: containers.ContainerPool, base_image: str, good_image: str) -> str:
    """Id of a created container whose tag now points to another image."""
    return containers.drift_container(container_pool, base_image, good_image)


@pytest.fixture(scope="session")
def big_image(docker_client: docker.DockerClient, base_image: str) -> str:
    """Tag of a 60 MB image (two 30 MB random files, one deleted later) for memory-bound tests."""
    return recipes.build_big(docker_client, base_image)


@pytest.fixture(scope="session")
def buildkit_image(docker_client: docker.DockerClient, base_image: str) -> str:
    """Tag of an image built by BuildKit on top of the base (history with `buildkit.dockerfile.v0`)."""
    return recipes.build_buildkit(docker_client, base_image)
