"""Container facts of the fixture containers on the real engine, field by field."""

from __future__ import annotations

import docker
import pytest

from dockaudit.engine.client import connect, resolve_endpoint
from dockaudit.engine.collect import collect_container
from dockaudit.engine.source import EngineSource
from dockaudit.errors import EngineError
from dockaudit.facts import ContainerFacts, Mount
from tests.fixtures import planted

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def host(docker_client: docker.DockerClient, bad_containers: dict[str, str]) -> ContainerFacts:
    return collect_container(docker_client, bad_containers["host"], engine_id="e1")


@pytest.fixture(scope="module")
def bridge(docker_client: docker.DockerClient, bad_containers: dict[str, str]) -> ContainerFacts:
    return collect_container(docker_client, bad_containers["bridge"])


@pytest.fixture(scope="module")
def hardened(docker_client: docker.DockerClient, hardened_container: str) -> ContainerFacts:
    return collect_container(docker_client, hardened_container)


def test_host_namespaces_socket_and_capabilities(host: ContainerFacts, bad_image: str) -> None:
    hc = host.host_config
    assert (hc.network_mode, hc.pid_mode, hc.ipc_mode, hc.uts_mode) == ("host", "host", "host", "host")
    assert hc.cap_add == ("SYS_ADMIN",)
    assert hc.cap_drop == ()
    assert "seccomp=unconfined" in hc.security_opt
    assert hc.masked_paths == () and hc.readonly_paths == ()
    assert not hc.privileged and not hc.readonly_rootfs
    assert (hc.memory, hc.nano_cpus, hc.cpu_quota) == (0, 0, 0)
    assert hc.pids_limit in (None, 0, -1)
    assert (hc.restart_policy, hc.restart_max_retries) == ("on-failure", 0)
    assert hc.log_driver == "json-file" and dict(hc.log_options).get("max-size") is None
    mounts = {m.destination: m for m in host.mounts}
    assert mounts["/var/run/docker.sock"] == Mount(
        "bind", "/var/run/docker.sock", "/var/run/docker.sock", True, mounts["/var/run/docker.sock"].propagation
    )
    assert mounts["/host-etc"].source == "/etc" and mounts["/host-etc"].read_write
    assert host.image_ref == bad_image and host.tag_drift is False
    assert host.engine == "e1"
    assert host.name.startswith("dockaudit-test-bad-host-")


def test_state_and_processes_of_a_running_container(host: ContainerFacts) -> None:
    assert host.state.running and host.state.status == "running" and host.state.pid > 0
    assert host.state.started_at is not None and host.state.health_status is None
    assert host.processes is not None and host.processes_skip_reason is None
    (pid1,) = [p for p in host.processes if p.pid == host.state.pid]
    assert pid1.command.startswith(("sh -c", "/bin/sh -c")) and pid1.uid == "0"
    assert any(p.ppid == pid1.pid and p.command.startswith("sleep") for p in host.processes)
    assert all(p.state for p in host.processes)


def test_container_env_keeps_only_its_own_entries_redacted(host: ContainerFacts) -> None:
    env = {e.name: e for e in host.env}
    assert set(env) == {"API_TOKEN", "LOG_LEVEL"}
    assert env["API_TOKEN"].secret is not None and env["API_TOKEN"].value.startswith("ghp_…(redacted")
    assert env["LOG_LEVEL"].value == "debug" and env["LOG_LEVEL"].secret is None
    planted.assert_no_planted_secret(repr(host))


def test_image_defaults_are_reported_beside_the_containers_own(host: ContainerFacts) -> None:
    assert host.user == "" and host.image_user == ""
    assert host.healthcheck is None and host.image_healthcheck is None
    assert host.cmd == ("/bin/sh", "-c", "sleep 3600; exit 0") and host.entrypoint is None


def test_bridge_container_ports_devices_and_logging(bridge: ContainerFacts) -> None:
    hc = bridge.host_config
    ports = {(p.container_port, p.host_ip) for p in hc.port_bindings}
    assert ("8080/tcp", "0.0.0.0") in ports and ("22/tcp", "0.0.0.0") in ports
    assert all(p.host_port > 0 for p in hc.port_bindings)
    assert hc.devices == ("/dev/null:/dev/xnull:rwm",)
    assert hc.log_driver == "none"
    assert hc.oom_kill_disable
    assert (hc.cgroupns_mode, hc.userns_mode) == ("host", "host")
    assert hc.restart_policy == "unless-stopped"
    assert hc.masked_paths and "/proc/kcore" in hc.masked_paths
    assert bridge.networks == (hc.network_mode,) and hc.network_mode.startswith("dockaudit-test-net-")
    assert bridge.env == ()


def test_hardened_container(hardened: ContainerFacts, good_image: str) -> None:
    hc = hardened.host_config
    assert hc.readonly_rootfs
    assert hc.cap_drop == ("ALL",) and hc.cap_add == ()
    assert hc.security_opt == ("no-new-privileges",)
    assert hc.memory == 64 * 1024 * 1024 and hc.pids_limit == 64 and hc.nano_cpus == 500_000_000
    assert hc.init
    assert dict(hc.log_options) == {"max-file": "3", "max-size": "10m"}
    assert hardened.user == "10001:10001" and hardened.image_user == "10001:10001"
    assert hardened.image_healthcheck is not None and hardened.healthcheck is None
    assert hardened.state.health_status in ("starting", "healthy")
    assert hardened.processes is not None
    assert {p.uid for p in hardened.processes} == {"10001"}
    (pid1,) = [p for p in hardened.processes if p.pid == hardened.state.pid]
    assert "docker-init" in pid1.command
    assert hardened.image_ref == good_image and hardened.tag_drift is False


def test_created_privileged_container_has_no_processes(
    docker_client: docker.DockerClient, created_privileged_container: str
) -> None:
    facts = collect_container(docker_client, created_privileged_container)
    assert facts.host_config.privileged
    assert facts.state.status == "created" and not facts.state.running and facts.state.started_at is None
    assert facts.processes is None
    assert facts.processes_skip_reason is not None and "created" in facts.processes_skip_reason


def test_moved_tag_is_drift(docker_client: docker.DockerClient, drift_container: str, base_image: str) -> None:
    facts = collect_container(docker_client, drift_container)
    assert facts.tag_drift is True
    assert facts.image_id == docker_client.api.inspect_image(base_image)["Id"]


def test_missing_container_is_an_engine_error(docker_client: docker.DockerClient) -> None:
    with pytest.raises(EngineError, match="not found"):
        collect_container(docker_client, "dockaudit-test-no-such-container")


def test_the_source_finds_containers_by_name_and_id(bad_containers: dict[str, str], hardened_container: str) -> None:
    with connect(resolve_endpoint(host="unix:///var/run/docker.sock")) as engine:
        source = EngineSource(engine)
        by_id = source.find_container(bad_containers["host"])
        assert by_id is not None and by_id.id == bad_containers["host"]
        by_name = source.find_container(by_id.name)
        assert by_name is not None and by_name.id == by_id.id and by_name.image_id
        assert source.find_container("dockaudit-test-no-such-container") is None
        assert source.find_container(".") is None  # would name the list endpoint, not a container
        facts = source.container_facts(hardened_container)
        assert facts.id == hardened_container and facts.engine == "local"
