"""Hardened Compose projects run: FROM-scratch busybox services start, become healthy, and rescan clean."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from dockaudit.config import Settings
from dockaudit.engine.collect import collect_image
from dockaudit.facts.compose import ComposeProject, ComposeService, ServiceFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.harden.compose import harden_compose
from dockaudit.model import Severity, Status
from dockaudit.parse.compose import load_project
from dockaudit.parse.compose_binary import find_compose
from dockaudit.rules.compose import evaluate_service
from dockaudit.rules.registry import RuleContext
from tests.fixtures.images import TEST_LABEL, build_image, busybox_files

pytestmark = pytest.mark.docker

WEB_DOCKERFILE = """\
FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY etc/ /etc/
COPY www/ /www/
EXPOSE {port}
CMD ["httpd", "-f", "-v", "-p", "{port}", "-h", "/www"]
"""
PASSWD_WITH_APP_USER = b"root:x:0:0:root:/root:/bin/sh\nwww:x:1000:1000:web:/www:/bin/false\n"
PASSWD_ROOT_ONLY = b"root:x:0:0:root:/root:/bin/sh\n"


def _image(client: docker.DockerClient, name: str, port: int, passwd: bytes) -> str:
    files = {
        **busybox_files(),
        "etc/passwd": passwd,
        "etc/group": b"root:x:0:\nwww:x:1000:\n",
        "www/index.html": f"<h1>{name}</h1>\n".encode(),
    }
    return build_image(client, name, WEB_DOCKERFILE.format(port=port), files)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _compose(project: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [*find_compose().argv, "-p", name, "--project-directory", str(project), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False, cwd=project)


@pytest.fixture
def shop(docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A two-service project on fixture images (a web app and a datastore stand-in); brought down afterwards."""
    web = _image(docker_client, "shop-web", 8080, PASSWD_WITH_APP_USER)
    # Named like a datastore so DA703 applies; it serves HTTP on the cache port, which is all the test needs.
    cache = _image(docker_client, "redis", 6379, PASSWD_ROOT_ONLY)
    name = f"dockaudit-test-compose-{uuid.uuid4().hex[:8]}"
    (tmp_path / "compose.yaml").write_text(
        f"""# The shop, as a developer first wrote it.
services:
  web:
    image: {web}
    ports:
      - "127.0.0.1:{_free_port()}:8080"
    depends_on:
      - cache
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 2s
      timeout: 2s
      retries: 15
    labels:
      {TEST_LABEL}: "1"

  cache:
    image: {cache}
    ports:
      - "{_free_port()}:6379"
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:6379/"]
      interval: 2s
      timeout: 2s
      retries: 15
    labels:
      {TEST_LABEL}: "1"
"""
    )
    try:
        yield tmp_path, name
    finally:
        down = _compose(tmp_path, name, "down", "--volumes", "--remove-orphans", "--timeout", "5")
        assert down.returncode == 0, down.stderr


def _lookup(client: docker.DockerClient) -> Callable[[ComposeService], ImageFacts | None]:
    cache: dict[str, ImageFacts] = {}

    def lookup(service: ComposeService) -> ImageFacts | None:
        if not service.image:
            return None
        if service.image not in cache:
            cache[service.image] = collect_image(client, service.image)
        return cache[service.image]

    return lookup


def _failing(project: ComposeProject, lookup: Callable[[ComposeService], ImageFacts | None]) -> dict[str, set[str]]:
    out = {}
    for svc in project.services:
        facts = ServiceFacts(svc, lookup(svc))
        findings, _ = evaluate_service(facts, RuleContext(Settings()))
        out[svc.name] = {f.rule_id for f in findings if f.status is Status.FAIL and f.severity > Severity.INFO}
    return out


def test_hardened_project_starts_healthy_and_rescans_without_the_targeted_findings(
    docker_client: docker.DockerClient, shop: tuple[Path, str]
) -> None:
    project_dir, name = shop
    environ = dict(os.environ)
    lookup = _lookup(docker_client)
    before = load_project([project_dir], project_name=name, environ=environ)
    found = _failing(before, lookup)
    assert {"DA408", "DA409", "DA410", "DA412", "DA414", "DA416", "DA419", "DA701"} <= found["web"]
    assert {"DA408", "DA409", "DA410", "DA703"} <= found["cache"]

    result = harden_compose(before, image_lookup=lookup, environ=environ)
    assert result.validated and result.files
    (file,) = result.files
    Path(file.abs_path).write_text(file.hardened, encoding="utf-8")
    assert file.hardened.startswith("# The shop, as a developer first wrote it.\n")

    up = _compose(project_dir, name, "up", "--detach", "--wait", "--wait-timeout", "120")
    assert up.returncode == 0, up.stderr

    after = load_project([project_dir], project_name=name, environ=environ)
    web, cache = after.service("web"), after.service("cache")
    assert web is not None and cache is not None
    assert web.user == "1000:1000", "the image's own non-root user is reused"
    assert cache.user == "10001:10001"
    assert [(d.service, d.condition) for d in web.depends_on] == [("cache", "service_healthy")]
    assert [p.host_ip for p in cache.ports] == ["127.0.0.1"]

    containers = docker_client.containers.list(filters={"label": f"com.docker.compose.project={name}"})
    assert sorted(c.labels["com.docker.compose.service"] for c in containers) == ["cache", "web"]
    for container in containers:
        container.reload()
        state, host = container.attrs["State"], container.attrs["HostConfig"]
        assert state["Health"]["Status"] == "healthy"
        assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"] and host["Memory"] > 0
        assert any(opt.startswith("no-new-privileges") for opt in host["SecurityOpt"])
        assert host["LogConfig"]["Config"]["max-size"] == "10m"

    targeted = {}
    for change in result.changes:
        targeted.setdefault(change.service, set()).update(change.rule_ids)
    still = _failing(after, lookup)
    for service, rules in targeted.items():
        assert not rules & still[service], (service, rules & still[service])
