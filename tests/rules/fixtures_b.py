"""Extra fixture image and containers for flaws the shared bad fixtures do not plant (DA30x-DA31x, DA4xx)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import docker
import docker.errors

from tests.fixtures.containers import SLEEP, ContainerPool
from tests.fixtures.images import FileSpec, build_image

DOTENV_PASSWORD = "dockaudit-rules-b-fake-dotenv-password"
"""Planted in `/app/.env`; must never appear in any finding."""

_TOOL = FileSpec(b"#!/bin/sh\necho fake tool\n", 0o755)

EXTRA_DOCKERFILE = """\
FROM {base}
COPY usr/ /usr/
COPY app/ /app/
COPY root/ /root/
RUN dd if=/dev/zero of=/app/scratch.bin bs=1024 count=2048 2>/dev/null
RUN rm /app/scratch.bin
WORKDIR /app
USER 10001:10001
ENTRYPOINT ["/bin/busybox", "sleep"]
CMD ["3600"]
"""


def build_extra(client: docker.DockerClient, base: str) -> str:
    """Build tools, sshd, a bundled database, a real package manager, a secret .env, caches and leftovers."""
    files: dict[str, bytes | FileSpec] = {
        "usr/bin/gcc-12": _TOOL,
        "usr/bin/make": _TOOL,
        "usr/lib/gcc/x86_64-linux-gnu/12/cc1": _TOOL,
        "usr/sbin/sshd": _TOOL,
        "usr/bin/redis-server": _TOOL,
        "usr/bin/apt-get": _TOOL,
        "app/server.sh": _TOOL,
        "app/.env": f"APP_MODE=production\nDB_PASSWORD={DOTENV_PASSWORD}\n".encode(),
        "app/.DS_Store": b"\x00\x00\x00\x01Bud1",
        "app/.server.sh.swp": b"b0VIM 9.0",
        "app/tests/test_server.py": b"def test_ok():\n    assert True\n",
        "app/__pycache__/server.cpython-311.pyc": b"\x00" * 16,
        "root/.cache/pip/http/a/b/c/0123456789abcdef": b"x" * 4096,
    }
    return build_image(client, "rules-b-extra", EXTRA_DOCKERFILE.format(base=base), files)


def _wait(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError("fixture container did not reach the expected state in time")


def _inspect(pool: ContainerPool, cid: str) -> dict[str, Any]:
    result: dict[str, Any] = pool.client.api.inspect_container(cid)
    return result


def services_container(pool: ContainerPool, image: str) -> str:
    """Two servers (busybox httpd and crond) under a shell PID 1, in the container's own PID namespace."""
    cid = pool.create(
        "rules-b-services", image, ["/bin/sh", "-c", f"httpd -f -p 18081 & crond -f -c /tmp & sleep {SLEEP}"]
    )
    _wait(lambda: len(pool.client.api.top(cid).get("Processes") or ()) >= 3)
    return cid


def hardened_private_cgroupns_container(pool: ContainerPool, image: str) -> str:
    """The shared hardened settings plus a private cgroup namespace (the cgroup v1 default is the host's)."""
    hc = pool.client.api.create_host_config(
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        mem_limit="64m",
        pids_limit=64,
        nano_cpus=500_000_000,
        init=True,
        cgroupns="private",
        log_config={"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}},
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 3},
    )
    return pool.create("rules-b-hardened", image, user="10001:10001", host_config=hc)


def oom_killed_container(pool: ContainerPool, image: str) -> str:
    """A shell that buffers 64 MB under an 8 MB limit: the kernel OOM-kills it."""
    hc = pool.client.api.create_host_config(mem_limit="8m", memswap_limit="8m")
    cid = pool.create(
        "rules-b-oom", image, ["/bin/sh", "-c", "x=$(head -c 64000000 /dev/zero | tr '\\0' a); sleep 5"], host_config=hc
    )
    _wait(lambda: not _inspect(pool, cid)["State"]["Running"])
    return cid


def unhealthy_container(pool: ContainerPool, image: str) -> str:
    """A healthcheck that always fails, once a second: unhealthy within a few seconds."""
    healthcheck = {"Test": ["CMD", "/bin/false"], "Interval": 1_000_000_000, "Timeout": 1_000_000_000, "Retries": 1}
    cid = pool.create("rules-b-unhealthy", image, ["sleep", SLEEP], healthcheck=healthcheck)
    _wait(lambda: (_inspect(pool, cid)["State"].get("Health") or {}).get("Status") == "unhealthy")
    return cid


def privileged_port_container(pool: ContainerPool, image: str) -> str:
    """Host port below 1024 on loopback; tries a few ports in case a parallel session holds one."""
    last: Exception | None = None
    for port in random.sample(range(600, 1000), 5):
        hc = pool.client.api.create_host_config(port_bindings={"8080/tcp": ("127.0.0.1", port)})
        try:
            return pool.create(f"rules-b-port{port}", image, ["sleep", SLEEP], ports=[8080], host_config=hc)
        except (RuntimeError, docker.errors.APIError) as exc:
            last = exc
    raise RuntimeError(f"no privileged host port could be published: {last}")


def latest_tag_container(pool: ContainerPool, image: str) -> str:
    """Created from `:latest` (tagged for this session only)."""
    ref = pool.tag(image, f"dockaudit-test/rules-b-latest-{pool.session}", "latest")
    return pool.create("rules-b-latest", ref, ["sleep", SLEEP], start=False)


def shared_propagation_container(pool: ContainerPool, image: str, source: str) -> str:
    """A bind mount with `rshared` propagation: created only, since this host's mounts are private."""
    hc = pool.client.api.create_host_config(binds=[f"{source}:/shared:rshared"])
    return pool.create("rules-b-rshared", image, ["sleep", SLEEP], start=False, host_config=hc)
