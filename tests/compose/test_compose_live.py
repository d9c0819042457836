"""Compose on the real engine: `scan --with-images`, and live containers of a project started with `docker compose up`.

A live container that Compose started, whose Compose file is readable here, gets its runtime findings pointed
at its service's lines in that file with the Compose fix; the session groups live containers by project and
service. Every project started here is brought down by its own name; nothing else is touched.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from dockaudit.audit_options import AuditOptions
from dockaudit.config import Settings
from dockaudit.connect import open_session
from dockaudit.parse.compose_binary import find_compose
from tests.cli.run import dockaudit
from tests.compose.test_compose_engine import PASSWD_ROOT_ONLY, PASSWD_WITH_APP_USER, _free_port, _image
from tests.fixtures.images import TEST_LABEL
from tests.report.schemas import validate_sarif

pytestmark = pytest.mark.docker


def _compose(project: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [*find_compose().argv, "-p", name, "--project-directory", str(project), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False, cwd=project)


@dataclass(frozen=True)
class LiveProject:
    """A project started with `docker compose up -d`: its directory, name and Compose file."""

    directory: Path
    name: str
    file: Path

    def container(self, service: str) -> str:
        return f"{self.name}-{service}-1"


@pytest.fixture
def live(docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[LiveProject]:
    """Two services of a FROM-scratch busybox web image, as a developer first writes them; brought down after."""
    image = _image(docker_client, "live-web", 8080, PASSWD_ROOT_ONLY)
    name = f"dockaudit-test-live-{uuid.uuid4().hex[:8]}"
    file = tmp_path / "compose.yaml"
    file.write_text(
        f"""services:
  web:
    image: {image}
    ports:
      - "{_free_port()}:8080"
    labels:
      {TEST_LABEL}: "1"
  worker:
    image: {image}
    read_only: true
    labels:
      {TEST_LABEL}: "1"
"""
    )
    up = _compose(tmp_path, name, "up", "--detach")
    try:
        assert up.returncode == 0, up.stderr
        yield LiveProject(tmp_path, name, file)
    finally:
        down = _compose(tmp_path, name, "down", "--volumes", "--remove-orphans", "--timeout", "3")
        assert down.returncode == 0, down.stderr


def _container_findings(capsys: pytest.CaptureFixture[str], name: str, fmt: str = "json") -> dict[str, dict[str, Any]]:
    run = dockaudit(capsys, "scan", f"container:{name}", "--no-trivy", "-f", fmt, "--fail-on", "never")
    assert run.code == 0, run.err
    data = run.json()
    (container,) = [t for t in data["targets"] if t["kind"] == "container"]
    return {f["rule_id"]: f for f in container["findings"] if f["status"] == "fail"}


def test_live_container_findings_point_at_the_service_lines_of_its_compose_file(
    capsys: pytest.CaptureFixture[str], live: LiveProject
) -> None:
    lines = live.file.read_text().splitlines()
    findings = _container_findings(capsys, live.container("web"))
    ports = findings["DA427"]["location"]
    assert ports["path"] == str(live.file)
    assert lines[ports["line"] - 1].strip().startswith('- "'), "the published port's own line"
    for rule_id in ("DA408", "DA409", "DA410", "DA412"):
        location = findings[rule_id]["location"]
        assert location["path"] == str(live.file), rule_id
        assert lines[location["line"] - 1] == "  web:", rule_id
        # The Compose fix names the real service.
        assert findings[rule_id]["fix"]["compose"].startswith("services:\n  web:\n"), rule_id
    # The worker sets read_only: no DA409 there; its own key lines are found in the file.
    worker = _container_findings(capsys, live.container("worker"))
    assert "DA409" not in worker
    assert lines[worker["DA408"]["location"]["line"] - 1] == "  worker:"


def test_live_container_sarif_points_at_the_compose_file(capsys: pytest.CaptureFixture[str], live: LiveProject) -> None:
    run = dockaudit(capsys, "scan", f"container:{live.container('web')}", "--no-trivy", "-f", "sarif")
    log = json.loads(run.out)
    validate_sarif(log)
    result = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "DA409")
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == live.file.as_uri()
    assert physical["region"]["startLine"] == 2


def test_unreadable_compose_file_leaves_findings_on_the_container(
    capsys: pytest.CaptureFixture[str], live: LiveProject
) -> None:
    live.file.rename(live.directory / "moved.yaml")
    try:
        findings = _container_findings(capsys, live.container("web"))
    finally:
        (live.directory / "moved.yaml").rename(live.file)
    assert findings["DA409"]["location"]["path"] is None
    assert findings["DA409"]["fix"]["compose"].startswith("services:\n  app:\n")


def test_session_groups_live_containers_by_project_and_service(live: LiveProject) -> None:
    session = open_session(AuditOptions(settings=Settings()))
    try:
        grouping = session.compose_groups()
    finally:
        session.close()
    (project,) = [p for p in grouping.projects if p.name == live.name]
    assert project.config_files == (str(live.file),)
    assert project.working_dir == str(live.directory)
    assert [(s.name, [c.name for c in s.containers]) for s in project.services] == [
        ("web", [live.container("web")]),
        ("worker", [live.container("worker")]),
    ]
    assert not {c.name for c in grouping.others} & {live.container("web"), live.container("worker")}


BUILT_DOCKERFILE = """\
FROM scratch
COPY app /app
USER 10001:10001
HEALTHCHECK CMD ["/app", "health"]
ENTRYPOINT ["/app"]
"""


def test_with_images_audits_each_services_image_and_build_dockerfile_for_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bad_image: str, good_image: str
) -> None:
    (tmp_path / "built").mkdir()
    (tmp_path / "built" / "Dockerfile").write_text(BUILT_DOCKERFILE)
    (tmp_path / "compose.yaml").write_text(
        f"""name: imgs
services:
  web:
    image: {bad_image}
  admin:
    image: {bad_image}
  app:
    image: {good_image}
  built:
    build: ./built
"""
    )
    plain = dockaudit(capsys, "scan", f"path:{tmp_path}", "--no-trivy", "-f", "json", "--fail-on", "never")
    web_alone = next(t for t in plain.json()["targets"] if t["name"] == "imgs/web")
    skipped = {f["rule_id"] for f in web_alone["findings"] if f["status"] == "skipped"}
    assert "DA417" in skipped, "without the image its healthcheck is unknown"

    run = dockaudit(
        capsys, "scan", f"path:{tmp_path}", "--with-images", "--no-trivy", "-f", "json", "--fail-on", "never"
    )
    assert run.code == 0, run.err
    targets = {(t["kind"], t["name"]): t for t in run.json()["targets"]}
    bad, good = targets[("image", bad_image)], targets[("image", good_image)]
    assert bad["services"] == ["imgs/admin", "imgs/web"], "one image target, for both services that run it"
    assert good["services"] == ["imgs/app"]
    dockerfile = targets[("dockerfile", str(tmp_path / "built" / "Dockerfile"))]
    assert dockerfile["services"] == ["imgs/built"]

    def failing(name: str) -> set[str]:
        target = targets[("compose-service", name)]
        return {f["rule_id"] for f in target["findings"] if f["status"] == "fail"}

    # The image facts decide DA408/DA417 of the service: root without a healthcheck fails both...
    assert {"DA408", "DA417"} <= failing("imgs/web")
    assert targets[("compose-service", "imgs/web")]["image"]["id"] == bad["id"]
    # ...a non-root image with a HEALTHCHECK passes both, as does the Dockerfile a build: service is built from.
    for name in ("imgs/app", "imgs/built"):
        assert not {"DA408", "DA417"} & failing(name), name
        assert {"DA408", "DA417"} <= set(targets[("compose-service", name)]["passed"]), name
    assert targets[("compose-service", "imgs/built")]["scans"]["image"].startswith("ok: from ")

    table = dockaudit(capsys, "scan", f"path:{tmp_path}", "--with-images", "--no-trivy", "--fail-on", "never")
    assert "(for imgs/app)" in table.out


def test_harden_reads_each_services_image_from_the_engine(
    capsys: pytest.CaptureFixture[str], docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    # The image's own non-root user (its /etc/passwd, read from its layers) is the one harden sets.
    image = _image(docker_client, "live-web-user", 8080, PASSWD_WITH_APP_USER)
    (tmp_path / "compose.yaml").write_text(f"services:\n  web:\n    image: {image}\n")
    run = dockaudit(capsys, "harden", str(tmp_path / "compose.yaml"))
    assert run.code == 0, run.err
    assert '+    user: "1000:1000"' in run.out
    assert "images not inspected" not in run.err
