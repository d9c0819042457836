"""Container facts of the fixture containers on each engine, field by field.

Docker runs them; Podman here can only create them (runc cannot set the process rlimits in this sandbox), and its
Docker-compatible inspect reports some settings differently: each difference is asserted where it shows.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from dockaudit.engine import api as engine_api
from dockaudit.engine.client import connect, resolve_endpoint
from dockaudit.engine.collect import collect_container
from dockaudit.engine.readonly import OnePoolUnixAdapter
from dockaudit.engine.source import EngineSource
from dockaudit.errors import EngineError
from dockaudit.facts.container import ContainerFacts, Mount
from tests.engine.conftest import EngineContainers, EngineImages, EngineUnderTest
from tests.fixtures import planted

pytestmark = pytest.mark.docker

PODMAN_DROPS = ("AUDIT_WRITE", "MKNOD", "NET_RAW")
"""Docker's default capabilities that Podman's default set leaves out, which its inspect lists as dropped."""
PODMAN_PIDS_LIMIT = 2048
"""Podman's default `pids_limit` (containers.conf); Docker sets none."""


@pytest.fixture(scope="module")
def host(engine: EngineUnderTest, engine_containers: EngineContainers) -> ContainerFacts:
    return collect_container(engine.client, engine_containers.host, engine_id="e1")


@pytest.fixture(scope="module")
def bridge(engine: EngineUnderTest, engine_containers: EngineContainers) -> ContainerFacts:
    return collect_container(engine.client, engine_containers.bridge)


@pytest.fixture(scope="module")
def hardened(engine: EngineUnderTest, engine_containers: EngineContainers) -> ContainerFacts:
    return collect_container(engine.client, engine_containers.hardened)


def test_host_namespaces_socket_and_capabilities(
    host: ContainerFacts, engine: EngineUnderTest, engine_images: EngineImages
) -> None:
    hc = host.host_config
    assert (hc.network_mode, hc.pid_mode, hc.uts_mode) == ("host", "host", "host")
    # Podman 4.3 reports IpcMode `shareable` even for `--ipc host` (its own `podman inspect` too).
    assert hc.ipc_mode == ("shareable" if engine.podman else "host")
    assert hc.cap_add == ("SYS_ADMIN",)
    assert hc.cap_drop == (PODMAN_DROPS if engine.podman else ())
    assert "seccomp=unconfined" in hc.security_opt
    # Podman ignores the empty MaskedPaths/ReadonlyPaths of the Docker API and reports null (its defaults).
    assert (hc.masked_paths, hc.readonly_paths) == ((None, None) if engine.podman else ((), ()))
    assert not hc.privileged and not hc.readonly_rootfs
    assert (hc.memory, hc.nano_cpus, hc.cpu_quota) == (0, 0, 0)
    assert hc.pids_limit == PODMAN_PIDS_LIMIT if engine.podman else hc.pids_limit in (None, 0, -1)
    assert (hc.restart_policy, hc.restart_max_retries) == ("on-failure", 0)
    assert hc.log_driver == "json-file" and dict(hc.log_options).get("max-size") is None
    mounts = {m.destination: m for m in host.mounts}
    assert mounts["/var/run/docker.sock"] == Mount(
        "bind", "/var/run/docker.sock", "/var/run/docker.sock", True, mounts["/var/run/docker.sock"].propagation
    )
    assert mounts["/host-etc"].source == "/etc" and mounts["/host-etc"].read_write
    assert host.image_ref == engine_images.bad and host.tag_drift is False
    assert host.engine == "e1"
    assert host.name.startswith("dockaudit-test-bad-host-")


def test_state_and_processes(host: ContainerFacts, engine: EngineUnderTest) -> None:
    if not engine.starts_containers:
        assert host.state.status == "created" and not host.state.running and host.state.pid == 0
        assert host.state.started_at is None and host.state.health_status is None
        assert host.processes is None and "created" in (host.processes_skip_reason or "")
        return
    assert host.state.running and host.state.status == "running" and host.state.pid > 0
    assert host.state.started_at is not None and host.state.health_status is None
    assert host.processes is not None and host.processes_skip_reason is None
    (pid1,) = [p for p in host.processes if p.pid == host.state.pid]
    assert pid1.command.startswith(("sh -c", "/bin/sh -c")) and pid1.uid == "0"
    assert any(p.ppid == pid1.pid and p.command.startswith("sleep") for p in host.processes)
    assert all(p.state for p in host.processes)


def test_container_env_keeps_only_its_own_entries_redacted(host: ContainerFacts, engine: EngineUnderTest) -> None:
    env = {e.name: e for e in host.env}
    # Podman adds `container=podman` and `TERM=xterm` to every container's environment.
    assert set(env) == (
        {"API_TOKEN", "LOG_LEVEL", "container", "TERM"} if engine.podman else {"API_TOKEN", "LOG_LEVEL"}
    )
    assert env["API_TOKEN"].secret is not None and env["API_TOKEN"].value.startswith("ghp_…(redacted")
    assert env["LOG_LEVEL"].value == "debug" and env["LOG_LEVEL"].secret is None
    planted.assert_no_planted_secret(repr(host))


def test_image_defaults_are_reported_beside_the_containers_own(host: ContainerFacts) -> None:
    assert host.user == "" and host.image_user == ""
    assert host.healthcheck is None and host.image_healthcheck is None
    # Podman's `Entrypoint: []` is the same as Docker's null: none.
    assert host.cmd == ("/bin/sh", "-c", "sleep 3600; exit 0") and host.entrypoint is None


def test_bridge_container_ports_devices_and_logging(bridge: ContainerFacts, engine: EngineUnderTest) -> None:
    hc = bridge.host_config
    ports = {(p.container_port, p.host_ip) for p in hc.port_bindings}
    assert ("8080/tcp", "0.0.0.0") in ports and ("22/tcp", "0.0.0.0") in ports
    assert all(p.host_port > 0 for p in hc.port_bindings)
    assert hc.log_driver == "none"
    assert hc.oom_kill_disable
    assert hc.restart_policy == "unless-stopped"
    assert bridge.env == (() if not engine.podman else tuple(e for e in bridge.env if e.name in ("container", "TERM")))
    (network,) = bridge.networks
    assert network.startswith("dockaudit-test-net-")
    if engine.podman:
        # Podman names the network in NetworkSettings only, drops the device's permissions, and reports neither
        # the host cgroup nor the host user namespace it was asked for; its masked paths are null (its defaults).
        assert hc.network_mode == "bridge" and hc.devices == ("/dev/null:/dev/xnull:",)
        assert (hc.cgroupns_mode, hc.userns_mode) == ("", "")
        assert hc.masked_paths is None
    else:
        assert hc.network_mode == network and hc.devices == ("/dev/null:/dev/xnull:rwm",)
        assert (hc.cgroupns_mode, hc.userns_mode) == ("host", "host")
        assert hc.masked_paths and "/proc/kcore" in hc.masked_paths


def test_hardened_container(hardened: ContainerFacts, engine: EngineUnderTest, engine_images: EngineImages) -> None:
    hc = hardened.host_config
    assert hc.readonly_rootfs
    assert hc.cap_drop == ("ALL",) and hc.cap_add == ()
    assert hc.security_opt == ("no-new-privileges",)
    assert hc.memory == 64 * 1024 * 1024 and hc.pids_limit == 64 and hc.nano_cpus == 500_000_000
    assert hc.init
    # Podman keeps a size limit only (no file count), and only its own inspect shows it.
    assert dict(hc.log_options) == ({"max-size": "10MB"} if engine.podman else {"max-file": "3", "max-size": "10m"})
    assert hardened.user == "10001:10001" and hardened.image_user == "10001:10001"
    assert hardened.image_ref == engine_images.good and hardened.tag_drift is False
    if engine.podman:
        # Podman's image inspect has no Healthcheck, so the one the container inherited reads as its own.
        assert hardened.image_healthcheck is None and hardened.healthcheck is not None
        assert hardened.healthcheck.test == ("CMD", "/bin/busybox", "test", "-f", "/app/run.sh")
        assert hardened.processes is None and hardened.state.status == "created"
        return
    assert hardened.image_healthcheck is not None and hardened.healthcheck is None
    assert hardened.state.health_status in ("starting", "healthy")
    assert hardened.processes is not None
    assert {p.uid for p in hardened.processes} == {"10001"}
    (pid1,) = [p for p in hardened.processes if p.pid == hardened.state.pid]
    assert "docker-init" in pid1.command


def test_created_privileged_container_has_no_processes(
    engine: EngineUnderTest, engine_containers: EngineContainers
) -> None:
    facts = collect_container(engine.client, engine_containers.privileged)
    assert facts.host_config.privileged
    assert facts.state.status == "created" and not facts.state.running and facts.state.started_at is None
    assert facts.processes is None
    assert facts.processes_skip_reason is not None and "created" in facts.processes_skip_reason


def test_moved_tag_is_drift(
    engine: EngineUnderTest, engine_containers: EngineContainers, engine_images: EngineImages
) -> None:
    facts = collect_container(engine.client, engine_containers.drift)
    assert facts.tag_drift is True
    assert facts.image_id == engine.client.api.inspect_image(engine_images.base)["Id"]
    assert facts.image_ref.startswith("localhost/dockaudit-test/drift:" if engine.podman else "dockaudit-test/drift:")


def test_missing_container_is_an_engine_error(engine: EngineUnderTest) -> None:
    with pytest.raises(EngineError, match="not found"):
        collect_container(engine.client, "dockaudit-test-no-such-container")


def test_the_source_finds_containers_by_name_and_id(
    engine: EngineUnderTest, engine_containers: EngineContainers
) -> None:
    with connect(resolve_endpoint(host=engine.url)) as connected:
        source = EngineSource(connected)
        by_id = source.find_container(engine_containers.host)
        assert by_id is not None and by_id.id == engine_containers.host
        by_name = source.find_container(by_id.name)
        assert by_name is not None and by_name.id == by_id.id and by_name.image_id
        assert source.find_container("dockaudit-test-no-such-container") is None
        assert source.find_container(".") is None  # would name the list endpoint, not a container
        facts = source.container_facts(engine_containers.hardened)
        assert facts.id == engine_containers.hardened and facts.engine == connected.info.id


def test_a_lookup_then_a_collection_inspects_the_container_once(
    engine: EngineUnderTest, engine_containers: EngineContainers
) -> None:
    with connect(resolve_endpoint(host=engine.url)) as connected:
        source = EngineSource(connected)
        api = connected.client.api
        sent: list[str] = []
        send = api.send

        def counting(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            sent.append(request.path_url)
            return send(request, **kwargs)

        def inspects() -> int:
            return sum(p.startswith(f"/v{api.api_version}/containers/") and p.endswith("/json") for p in sent)

        api.send = counting  # type: ignore[method-assign]
        found = source.find_container(engine_containers.hardened)
        assert found is not None
        first = source.container_facts(found.id)
        assert inspects() == 1
        again = source.container_facts(found.id)  # taken once: a second collection asks the engine again
        assert inspects() == 2 and again.id == first.id
        # Every request to the local socket went through one pool of kept-alive connections.
        adapter = api.get_adapter(api.base_url)
        assert isinstance(adapter, OnePoolUnixAdapter) and len(adapter.pools) == 1


def test_containers_of_one_image_collected_together_inspect_it_once(
    engine: EngineUnderTest, engine_images: EngineImages
) -> None:
    # Four workers collecting containers of one tag at the same moment: one inspect of the tag, the others wait
    # for its answer; a fifth asker within the freshness window takes the held answer.
    with connect(resolve_endpoint(host=engine.url)) as connected:
        source = EngineSource(connected)
        asked: list[str] = []
        together = threading.Barrier(4)

        def inspect() -> engine_api.Json:
            asked.append(engine_images.base)
            time.sleep(0.3)  # hold the call open while the other workers ask
            return engine_api.inspect_image(connected.client, engine_images.base)

        def collect(_: int) -> str:
            together.wait()
            return str(source.image(engine_images.base, inspect)["Id"])

        with ThreadPoolExecutor(max_workers=4) as pool:
            ids = list(pool.map(collect, range(4)))
        assert len(asked) == 1 and len(set(ids)) == 1 and ids[0].startswith("sha256:")
        assert source.image(engine_images.base, inspect)["Id"] == ids[0] and len(asked) == 1
