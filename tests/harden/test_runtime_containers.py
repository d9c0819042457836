"""The hardened `docker run` of each fixture container starts and passes DA408-DA416."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from dockaudit.config import Settings
from dockaudit.engine.collect import collect_container, collect_image
from dockaudit.harden.runtime import RuntimeHardening, harden_container
from dockaudit.model import Status
from dockaudit.rules import load_all
from dockaudit.rules.registry import RuleContext, Scope, evaluate
from tests.fixtures.images import TEST_LABEL

pytestmark = pytest.mark.docker
RUNTIME_RULES = {f"DA4{n:02d}" for n in range(8, 17)}


@pytest.fixture
def started(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """Names of the containers a test starts; removed (only those) afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        try:
            labels = docker_client.api.inspect_container(name)["Config"]["Labels"] or {}
            if labels.get(TEST_LABEL) == "1":
                docker_client.api.remove_container(name, force=True)
        except docker.errors.NotFound:
            pass


def run_hardened(result: RuntimeHardening, tmp_path: Path, name: str) -> None:
    """Start the hardened command as printed, under another name, with an env file of dummy values."""
    args = list(result.hardened_args)
    old_name = args[args.index("--name") + 1]
    args[args.index("--name") + 1] = name
    if "--env-file" in args:
        env_file = args[args.index("--env-file") + 1]
        names = result.hardened_run.split("holds the environment: ", 1)[1].split(" (values", 1)[0].split(", ")
        (tmp_path / env_file).write_text("".join(f"{n}=dummy\n" for n in names))
    assert old_name
    # The original still holds its host ports: publish the same container ports on ephemeral host ports.
    for i, word in enumerate(args[:-1]):
        if word == "-p":
            host, _, container_port = args[i + 1].rpartition(":")
            args[i + 1] = f"{host.rsplit(':', 1)[0]}::{container_port}" if host.count(":") else container_port
    args[2:2] = ["--label", f"{TEST_LABEL}=1"]
    done = subprocess.run(["docker", *args], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def runtime_findings(client: docker.DockerClient, name: str) -> set[str]:
    load_all()
    facts = collect_container(client, name)
    findings, _ = evaluate((Scope.CONTAINER,), facts, RuleContext(settings=Settings()))
    return {f.rule_id for f in findings if f.status is Status.FAIL}


@pytest.fixture
def fixture_containers(
    bad_containers: dict[str, str], created_privileged_container: str, drift_container: str
) -> dict[str, str]:
    return {**bad_containers, "privileged": created_privileged_container, "drift": drift_container}


@pytest.mark.parametrize("which", ["host", "bridge", "privileged", "drift"])
def test_hardened_run_of_a_fixture_container_starts_and_passes(
    which: str,
    fixture_containers: dict[str, str],
    docker_client: docker.DockerClient,
    started: list[str],
    tmp_path: Path,
) -> None:
    facts = collect_container(docker_client, fixture_containers[which])
    result = harden_container(facts, collect_image(docker_client, facts.image_id))
    name = f"dockaudit-test-hardened-{which}-{uuid.uuid4().hex[:8]}"
    started.append(name)
    run_hardened(result, tmp_path, name)
    time.sleep(1)
    state = docker_client.api.inspect_container(name)["State"]
    assert state["Running"], state
    assert runtime_findings(docker_client, name) & RUNTIME_RULES == set()
    assert "API_TOKEN" not in result.hardened_run.split("holds the environment", 1)[0]


def test_already_hardened_container_needs_only_what_it_lacks(
    hardened_container: str, docker_client: docker.DockerClient
) -> None:
    facts = collect_container(docker_client, hardened_container)
    result = harden_container(facts, collect_image(docker_client, facts.image_id))
    touched = {rule for change in result.changes for rule in change.rule_ids}
    assert touched & RUNTIME_RULES == set()
    assert "--read-only" in result.current_run and "--cap-drop ALL" in result.current_run
