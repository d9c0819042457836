"""DA4xx on real fixture containers: planted runtime flaws are found, the hardened container is clean."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from dockaudit.engine.collect import collect_container
from dockaudit.facts.container import ContainerFacts
from dockaudit.model import Finding, Severity, Status
from dockaudit.rules import load_all
from dockaudit.rules.registry import Scope, evaluate
from tests.fixtures import containers, planted
from tests.rules import fixtures_b
from tests.rules.conftest import make_ctx

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def pool_b(docker_client: docker.DockerClient) -> Iterator[containers.ContainerPool]:
    with containers.container_pool(docker_client) as pool:
        yield pool


@pytest.fixture(scope="module")
def extra_containers(
    pool_b: containers.ContainerPool, base_image: str, good_image: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    shared = tmp_path_factory.mktemp("rshared")
    return {
        "rshared": fixtures_b.shared_propagation_container(pool_b, base_image, str(shared)),
        "services": fixtures_b.services_container(pool_b, base_image),
        "hardened": fixtures_b.hardened_private_cgroupns_container(pool_b, good_image),
        "oom": fixtures_b.oom_killed_container(pool_b, base_image),
        "unhealthy": fixtures_b.unhealthy_container(pool_b, base_image),
        "port": fixtures_b.privileged_port_container(pool_b, good_image),
        "latest": fixtures_b.latest_tag_container(pool_b, good_image),
    }


def findings(client: docker.DockerClient, ref: str) -> dict[str, list[Finding]]:
    load_all()
    facts = collect_container(client, ref)
    found, _ = evaluate([Scope.CONTAINER], facts, make_ctx())
    by_rule: dict[str, list[Finding]] = {}
    for finding in found:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    return by_rule


def failed(found: dict[str, list[Finding]]) -> dict[str, str]:
    return {rid: " | ".join(f.evidence for f in fs) for rid, fs in found.items() if fs[0].status is Status.FAIL}


def test_bad_host_container_flaws(docker_client: docker.DockerClient, bad_containers: dict[str, str]) -> None:
    found = findings(docker_client, bad_containers["host"])
    fails = failed(found)
    expected = {f"DA4{n:02d}" for n in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 30)}
    assert expected <= set(fails), sorted(expected - set(fails))
    assert "/var/run/docker.sock" in fails["DA402"]
    assert found["DA403"][0].severity is Severity.HIGH
    assert "SYS_ADMIN" in fails["DA411"] and "seccomp=unconfined" in fails["DA413"]
    assert "docker top shows root processes" in fails["DA408"]
    assert "API_TOKEN" in fails["DA423"] and "LOG_LEVEL" not in fails["DA423"]
    planted.assert_no_planted_secret(repr(found))


def test_host_pid_container_is_not_blamed_for_host_processes(
    docker_client: docker.DockerClient, bad_containers: dict[str, str]
) -> None:
    # `--pid host` shows host daemons to the container; only its own process tree counts for DA422.
    found = findings(docker_client, bad_containers["host"])
    assert "DA422" not in found


def test_bad_bridge_container_flaws(docker_client: docker.DockerClient, bad_containers: dict[str, str]) -> None:
    found = findings(docker_client, bad_containers["bridge"])
    fails = failed(found)
    assert {"DA407", "DA419", "DA425", "DA427", "DA429", "DA431"} <= set(fails)
    assert "log driver is none" in fails["DA419"]
    assert "/dev/null:/dev/xnull" in fails["DA425"]
    assert found["DA431"][0].severity is Severity.HIGH
    assert {f.severity for f in found["DA427"]} == {Severity.LOW}


def test_created_privileged_container(docker_client: docker.DockerClient, created_privileged_container: str) -> None:
    found = findings(docker_client, created_privileged_container)
    assert found["DA401"][0].severity is Severity.CRITICAL
    for rule_id in ("DA420", "DA421", "DA422"):
        assert found[rule_id][0].status is Status.SKIPPED
    assert "not confirmed" in found["DA408"][0].evidence


def test_drifted_tag_is_reported(docker_client: docker.DockerClient, drift_container: str) -> None:
    assert "now points to another image" in failed(findings(docker_client, drift_container))["DA424"]


def test_latest_tag_is_reported(docker_client: docker.DockerClient, extra_containers: dict[str, str]) -> None:
    assert ":latest" in failed(findings(docker_client, extra_containers["latest"]))["DA424"]


def test_multiple_services(docker_client: docker.DockerClient, extra_containers: dict[str, str]) -> None:
    assert "crond, httpd" in failed(findings(docker_client, extra_containers["services"]))["DA422"]


def test_oom_killed_container(docker_client: docker.DockerClient, extra_containers: dict[str, str]) -> None:
    assert "OOMKilled" in failed(findings(docker_client, extra_containers["oom"]))["DA432"]


def test_unhealthy_container_is_high(docker_client: docker.DockerClient, extra_containers: dict[str, str]) -> None:
    (finding,) = findings(docker_client, extra_containers["unhealthy"])["DA417"]
    assert finding.severity is Severity.HIGH


def test_privileged_host_port(docker_client: docker.DockerClient, extra_containers: dict[str, str]) -> None:
    found = findings(docker_client, extra_containers["port"])
    assert "host port" in failed(found)["DA428"]
    assert "DA427" not in found  # bound to 127.0.0.1


def test_shared_propagation_mount(docker_client: docker.DockerClient, extra_containers: dict[str, str]) -> None:
    assert "propagation rshared" in failed(findings(docker_client, extra_containers["rshared"]))["DA426"]


def test_hardened_container_with_private_cgroupns_has_no_failure(
    docker_client: docker.DockerClient, extra_containers: dict[str, str]
) -> None:
    # Every DA4xx rule is checked on it (docker top included): none fails and none is skipped.
    load_all()
    facts = collect_container(docker_client, extra_containers["hardened"])
    found, passed = evaluate([Scope.CONTAINER], facts, make_ctx())
    assert [(f.rule_id, f.evidence) for f in found] == []
    assert len(passed) == 32


def test_shared_hardened_container_fails_only_the_cgroupns_rule(
    docker_client: docker.DockerClient, hardened_container: str
) -> None:
    # The shared fixture leaves --cgroupns at the cgroup v1 default (host): DA429 is right to fire on it.
    assert set(failed(findings(docker_client, hardened_container))) <= {"DA429"}


def test_facts_of_running_container_have_own_process_tree(
    docker_client: docker.DockerClient, extra_containers: dict[str, str]
) -> None:
    from dockaudit.rules.processes import own_processes

    facts: ContainerFacts = collect_container(docker_client, extra_containers["services"])
    tree = own_processes(facts)
    assert tree is not None and tree[0].pid == facts.state.pid
