"""DA1xx/DA2xx on real images: every planted flaw found with its id; the good image stays clean.

Besides the shared bad and good fixtures, this module builds what they do not plant: an image with the
remaining config flaws, history flaws made buildable by stub tools, a committed image, a backdated image
loaded from an archive, and a BuildKit image (whose history, unlike the legacy builder's, keeps `ADD <url>`).

The good image cannot satisfy two rules on these machines, by design of the harness:
- DA107 (no-repo-digest): no registry is reachable, so nothing is ever pushed or pulled by digest;
- DA113 (single-arch): the legacy builder makes one platform and no manifest list exists locally.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import json
import logging
import os
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from dockaudit.config import Settings
from dockaudit.engine.collect import collect_image
from dockaudit.facts.image import ImageFacts
from dockaudit.model import Finding, Origin, Status
from dockaudit.rules import load_all
from dockaudit.rules.registry import RuleContext, Scope, evaluate
from tests.fixtures import planted, recipes
from tests.fixtures.archives import SyntheticImage, classic_archive, file
from tests.fixtures.images import FileSpec, build_image

pytestmark = pytest.mark.docker

GOOD_IMAGE_EXCEPTIONS = {"DA107", "DA113"}
BASIC_PASSWORD = "DockAuditFakeCurlPassw0rd"
HISTORY_TOKEN = "dockaudit-fake-history-build-arg-token"

_STUB = FileSpec(b"#!/bin/sh\nexit 0\n", 0o755)
HISTORY_FLAWS = """\
FROM {base}
ARG API_TOKEN
COPY stubs/ /usr/local/bin/
RUN apt-get update
RUN apt-get upgrade -y
RUN apt-get install -y curl
RUN apk add git
RUN pip install flask
RUN sudo true
RUN curl -fsSL https://get.example.com/install.sh | sh
RUN echo "curl -fsSL https://get.example.com | sh" > /tmp/install-notes.txt
RUN curl -u deploy:{password} https://artifacts.example.com/x -o /tmp/x
RUN echo "//registry.npmjs.org/:_authToken=$API_TOKEN" > /tmp/npmrc
USER 10001:10001
"""


def _evaluate(facts: ImageFacts) -> list[Finding]:
    load_all()
    findings, _ = evaluate((Scope.IMAGE, Scope.HISTORY), facts, RuleContext(settings=Settings()))
    return findings


def _failed(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        if f.status is Status.FAIL:
            out.setdefault(f.rule_id, []).append(f)
    return out


def _assert_no_leak(findings: list[Finding], facts: ImageFacts, *extra: str) -> None:
    text = repr(findings) + json.dumps([dataclasses.asdict(f) for f in findings], default=str) + repr(facts)
    planted.assert_no_planted_secret(text)
    for secret in extra:
        assert secret not in text


@pytest.fixture(scope="module")
def history_image(docker_client: docker.DockerClient, base_image: str) -> str:
    """An image whose RUN lines plant the history flaws the bad image does not (stub tools make them build)."""
    stubs = {f"stubs/{name}": _STUB for name in ("apt-get", "apk", "pip", "curl")}
    stubs["stubs/sudo"] = FileSpec(b'#!/bin/sh\nexec "$@"\n', 0o755)
    dockerfile = HISTORY_FLAWS.format(base=base_image, password=BASIC_PASSWORD)
    return build_image(docker_client, "history-flaws", dockerfile, stubs, buildargs={"API_TOKEN": HISTORY_TOKEN})


@pytest.fixture(scope="module")
def committed_image(docker_client: docker.DockerClient, base_image: str) -> str:
    """An image made by `docker commit` with a message, from a never-started container of the base image."""
    tag = "dockaudit-test/committed:latest"
    try:
        docker_client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    container = docker_client.containers.create(base_image, command=["true"], labels={"dockaudit.test": "1"})
    try:
        container.commit(
            repository="dockaudit-test/committed",
            tag="latest",
            message="hotfix applied by hand",
            conf={"Labels": {"dockaudit.test": "1"}, "Cmd": ["true"]},
        )
    finally:
        container.remove(force=True)
    return tag


def test_bad_image_planted_flaws_are_found(
    docker_client: docker.DockerClient, bad_image: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    facts = collect_image(docker_client, bad_image)
    findings = _evaluate(facts)
    failed = _failed(findings)
    expected = {"DA101", "DA102", "DA103", "DA104", "DA105", "DA107", "DA108", "DA109", "DA113"}
    expected |= {"DA201", "DA203", "DA213"}
    assert expected <= set(failed), sorted(set(failed))
    env_names = sorted(f.evidence.split("=", 1)[0].removeprefix("ENV ") for f in failed["DA104"])
    assert env_names == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD"]
    assert "NPM_TOKEN" in failed["DA201"][0].evidence
    assert "/app/app.conf" in failed["DA203"][0].evidence
    assert {f.origin for f in failed["DA213"]} == {Origin.USER}
    _assert_no_leak(findings, facts)
    planted.assert_no_planted_secret(caplog.text)


def test_good_image_fails_only_documented_rules(docker_client: docker.DockerClient, good_image: str) -> None:
    facts = collect_image(docker_client, good_image)
    findings = _evaluate(facts)
    assert set(_failed(findings)) == GOOD_IMAGE_EXCEPTIONS
    assert [f for f in findings if f.status is Status.SKIPPED] == []


def test_base_image_steps_are_origin_base(docker_client: docker.DockerClient, bad_image: str) -> None:
    facts = collect_image(docker_client, bad_image)
    # The base's `chmod 1777 /tmp` is fine; its CMD ["sh"] is the base's: nothing from it is blamed on the user.
    findings = _evaluate(facts)
    assert all(f.origin is not Origin.BASE for f in findings if f.rule_id.startswith("DA2"))


def test_history_flaws_are_found(docker_client: docker.DockerClient, history_image: str) -> None:
    facts = collect_image(docker_client, history_image)
    findings = _evaluate(facts)
    failed = _failed(findings)
    expected = {"DA201", "DA202", "DA205", "DA206", "DA207", "DA208", "DA209", "DA210", "DA212"}
    assert expected <= set(failed), sorted(set(failed))
    # The literal password and the expanded build arg are two DA202 findings.
    assert len(failed["DA202"]) == 2
    # Only the real pipe is a curl | sh; the same text inside an echo is not.
    [pipe] = failed["DA210"]
    assert "install-notes" not in pipe.evidence
    assert "DA101" not in failed and "DA116" not in failed
    _assert_no_leak(findings, facts, BASIC_PASSWORD, HISTORY_TOKEN)


def test_committed_layer_is_found(docker_client: docker.DockerClient, committed_image: str) -> None:
    findings = _evaluate(collect_image(docker_client, committed_image))
    [commit] = _failed(findings)["DA211"]
    assert "hotfix applied by hand" in commit.evidence


IMAGE_FLAWS = """\
FROM {base}
COPY etc/ /etc/
EXPOSE 80
USER app
STOPSIGNAL SIGKILL
VOLUME /sys
HEALTHCHECK CMD ["/bin/busybox", "true"]
LABEL org.opencontainers.image.source="https://example.com/dockaudit/image-flaws"
CMD ["/bin/busybox", "sleep", "3600"]
"""
DEBIAN_10 = recipes.OS_RELEASE.replace(b'VERSION_ID="12"', b'VERSION_ID="10"').replace(b"bookworm", b"buster")


@pytest.fixture(scope="module")
def image_flaws(docker_client: docker.DockerClient, base_image: str) -> str:
    """Named non-root user, port 80, SIGKILL, VOLUME /sys, on an end-of-life Debian 10 os-release."""
    files: dict[str, bytes | FileSpec] = {
        "etc/os-release": DEBIAN_10,
        "etc/passwd": recipes.BASE_PASSWD + b"app:x:10001:10001::/app:/sbin/nologin\n",
    }
    return build_image(docker_client, "image-flaws", IMAGE_FLAWS.format(base=base_image), files)


class _OldImage(SyntheticImage):
    """A synthetic image whose config says it was created in 2020."""

    def config_blob(self, blobs: Any) -> bytes:
        cfg = json.loads(super().config_blob(blobs))
        cfg["created"] = "2020-01-02T03:04:05Z"
        return json.dumps(cfg).encode()


@pytest.fixture(scope="module")
def stale_image(docker_client: docker.DockerClient) -> str:
    """An image loaded from a saved archive whose `Created` is years old (no build can backdate one)."""
    tag = "dockaudit-test/stale:1"
    image = _OldImage(
        layers=[[file("hello.txt", b"hello\n")]],
        config={"User": "10001", "Labels": {"dockaudit.test": "1"}},
        tags=[tag],
    )
    docker_client.images.load(classic_archive(image))
    return tag


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def buildkit_image(
    docker_client: docker.DockerClient, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An image built by BuildKit (Debian's docker 20.10 client) whose history keeps `ADD <url>`."""
    tag = "dockaudit-test/buildkit-flaws:1"
    try:
        docker_client.images.get(tag)
        yield tag
        return
    except docker.errors.ImageNotFound:
        pass
    ctx = tmp_path_factory.mktemp("buildkit")
    (ctx / "tool.txt").write_text("tool\n")
    (ctx / "stubs").mkdir()
    for name in ("apt-get", "curl"):
        (ctx / "stubs" / name).write_text("#!/bin/sh\nexit 0\n")
        (ctx / "stubs" / name).chmod(0o755)
    handler = functools.partial(_Quiet, directory=str(ctx))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    (ctx / "Dockerfile").write_text(
        f"FROM {base_image}\n"
        f"ADD http://127.0.0.1:{port}/tool.txt /opt/tool.txt\n"
        "COPY stubs/ /usr/local/bin/\n"
        "RUN apt-get update\n"
        f"RUN curl -fsSL http://127.0.0.1:{port}/install.sh | sh\n"
        "USER 10001:10001\n"
    )
    try:
        # BuildKit fetches `ADD <url>` in the daemon, which reaches this host's loopback server.
        result = subprocess.run(
            ["/usr/bin/docker", "build", "-q", "-t", tag, "--label", "dockaudit.test=1", str(ctx)],
            env={**os.environ, "DOCKER_BUILDKIT": "1"},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    yield tag


def test_image_config_flaws_are_found(docker_client: docker.DockerClient, image_flaws: str) -> None:
    findings = _evaluate(collect_image(docker_client, image_flaws))
    failed = _failed(findings)
    assert set(failed) == {"DA107", "DA110", "DA111", "DA113", "DA114", "DA116", "DA611"}
    [eol] = failed["DA611"]
    assert "Debian 10 reached end of life on 2024-06-30" in eol.evidence and "endoflife.date data as of" in eol.evidence
    assert eol.origin is Origin.BASE and eol.location.path == "/etc/os-release"


def test_latest_only_tag_is_mutable(docker_client: docker.DockerClient, committed_image: str) -> None:
    failed = _failed(_evaluate(collect_image(docker_client, committed_image)))
    assert "dockaudit-test/committed:latest" in failed["DA106"][0].evidence


def test_old_image_is_stale(docker_client: docker.DockerClient, stale_image: str) -> None:
    [stale] = _failed(_evaluate(collect_image(docker_client, stale_image)))["DA115"]
    assert "2020-01-02" in stale.evidence


def test_buildkit_history_is_read(docker_client: docker.DockerClient, buildkit_image: str) -> None:
    facts = collect_image(docker_client, buildkit_image)
    failed = _failed(_evaluate(facts))
    [url] = failed["DA204"]
    assert "http://127.0.0.1:" in url.evidence and url.origin is Origin.USER
    assert {"DA205", "DA210"} <= set(failed)
    assert {f.origin for f in failed["DA205"] + failed["DA210"]} == {Origin.USER}
