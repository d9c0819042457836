"""Fixtures for the engine tests: each engine under test (Docker, Podman), the test sshd, a TCP forwarder, a fresh
Docker config."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.fixtures import containers, recipes
from tests.fixtures.podman_images import PodmanBuilder
from tests.harness import podman as podman_harness
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


# ------------------------------------------------------------------------------------------ engines under test


@pytest.fixture(scope="session")
def podman_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Podman API socket scripts/test started (DOCKAUDIT_TEST_PODMAN), else one started here; never skips."""
    for sock in podman_harness.provide(tmp_path_factory):
        yield str(sock)


@dataclass(frozen=True)
class EngineUnderTest:
    """One engine the engine tests run against, with a writable SDK client for the fixtures and its builder."""

    kind: str
    """`docker` or `podman`."""
    socket: str
    client: docker.DockerClient
    builder: recipes.Builder
    """The Docker SDK client (legacy builder) or `podman build`."""

    @property
    def url(self) -> str:
        """`unix://` URL of the engine's socket."""
        return f"unix://{self.socket}"

    @property
    def podman(self) -> bool:
        """Whether this is Podman (its Docker-compatible API service)."""
        return self.kind == "podman"

    @property
    def starts_containers(self) -> bool:
        """Podman here can create but not start containers (runc cannot set the process rlimits in the sandbox)."""
        return not self.podman


@pytest.fixture(scope="session")
def docker_engine(docker_client: docker.DockerClient, engine_socket: str) -> EngineUnderTest:
    """Docker on the default socket; the SDK client builds with the legacy builder."""
    return EngineUnderTest("docker", engine_socket, docker_client, docker_client)


@pytest.fixture(scope="session")
def podman_engine(podman_socket: str) -> Iterator[EngineUnderTest]:
    """Podman's Docker-compatible service; images are built with `podman build`."""
    client = docker.DockerClient(base_url=f"unix://{podman_socket}", version="auto", timeout=60)
    try:
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:
        pytest.fail(f"the Podman service at {podman_socket} does not answer: {exc}", pytrace=False)
    yield EngineUnderTest("podman", podman_socket, client, PodmanBuilder())
    client.close()


@pytest.fixture(scope="session", params=["docker", pytest.param("podman", marks=pytest.mark.podman)])
def engine(request: pytest.FixtureRequest) -> EngineUnderTest:
    """Each engine the README says dockaudit is tested on: Docker on the default socket, Podman on its service."""
    chosen: EngineUnderTest = request.getfixturevalue(f"{request.param}_engine")
    return chosen


@dataclass(frozen=True)
class EngineImages:
    """Tags of the fixture images (tests/fixtures/recipes.py) built by one engine's builder."""

    base: str
    bad: str
    good: str


def images_on(engine: EngineUnderTest) -> EngineImages:
    """Build (or reuse) the base, bad and good images with `engine`'s builder."""
    base = recipes.build_base(engine.builder)
    return EngineImages(base, recipes.build_bad(engine.builder, base), recipes.build_good(engine.builder, base))


@pytest.fixture(scope="session")
def engine_images(engine: EngineUnderTest) -> EngineImages:
    """The base, bad and good images on `engine` (the same tags as `base_image`... on Docker)."""
    return images_on(engine)


@pytest.fixture(scope="session")
def engine_big_image(engine: EngineUnderTest, engine_images: EngineImages) -> str:
    """Tag of the 60 MB image on `engine`."""
    return recipes.build_big(engine.builder, engine_images.base)


@dataclass(frozen=True)
class EngineContainers:
    """Ids of the fixture containers on one engine: running on Docker, created only on Podman."""

    host: str
    bridge: str
    hardened: str
    privileged: str
    drift: str


@pytest.fixture(scope="session")
def docker_containers(
    bad_containers: dict[str, str], hardened_container: str, created_privileged_container: str, drift_container: str
) -> EngineContainers:
    """The session's fixture containers on Docker (tests/conftest.py), running but the privileged and drift ones."""
    host, bridge = bad_containers["host"], bad_containers["bridge"]
    return EngineContainers(host, bridge, hardened_container, created_privileged_container, drift_container)


@pytest.fixture(scope="session")
def podman_containers(podman_engine: EngineUnderTest) -> Iterator[EngineContainers]:
    """The same fixture containers on Podman, created only; removed (and only they) at the end."""
    images = images_on(podman_engine)
    with containers.container_pool(podman_engine.client, startable=False) as pool:
        yield EngineContainers(
            containers.bad_host_container(pool, images.bad),
            containers.bad_bridge_container(pool, images.bad),
            containers.hardened_container(pool, images.good),
            containers.privileged_container(pool, images.bad),
            # Podman gives every name a digest; under `localhost/` it reads as never pushed, as on Docker.
            containers.drift_container(pool, images.base, images.good, "localhost/dockaudit-test/drift"),
        )


@pytest.fixture(scope="session")
def engine_containers(request: pytest.FixtureRequest, engine: EngineUnderTest) -> EngineContainers:
    """The fixture containers of tests/fixtures/containers.py on `engine`."""
    found: EngineContainers = request.getfixturevalue(f"{engine.kind}_containers")
    return found
