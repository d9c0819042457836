"""`dockaudit scan` against Podman's socket, as a new user would run it, compared with the same audit on Docker."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.conftest import EngineContainers, EngineImages, EngineUnderTest, RunCli, images_on
from tests.fixtures import recipes
from tests.fixtures.podman_images import PODMAN, PodmanBuilder
from tests.report.schemas import validate_report
from tests.trivy import images as trivy_images
from tests.trivy import trivydb

pytestmark = [pytest.mark.docker, pytest.mark.podman]

PROCESS_RULES = {"DA420", "DA421", "DA422"}
"""Rules over `docker top`: skipped on Podman here, whose containers are created but cannot start."""
PODMAN_UNSEEN = {
    "host": {"DA406", "DA430"},  # Podman 4.3 reports IpcMode `shareable` for `--ipc host`, null masked paths
    "bridge": {"DA407"},  # no user namespace mode in Podman's inspect (`--userns host` reads as "")
    "hardened": set(),
    "privileged": set(),
}
"""Flaws Docker reports and Podman's Docker-compatible inspect hides, per fixture container (README, Podman)."""


def scan_json(run_cli: RunCli, engine: EngineUnderTest, *args: str) -> dict[str, Any]:
    """`dockaudit scan -H ENGINE ARGS -f json` without Trivy; the report must validate against the schema."""
    proc = run_cli("scan", "-q", "-H", engine.url, "--no-trivy", "-f", "json", "--fail-on", "never", *args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    validate_report(report)
    (engine_entry,) = report["engines"]
    assert engine_entry["endpoint"] == engine.url and engine_entry["podman"] is engine.podman
    return report


def failed(target: dict[str, Any]) -> set[str]:
    return {f["rule_id"] for f in target["findings"] if f["status"] == "fail"}


def outcome(target: dict[str, Any]) -> Counter[tuple[str, str, str]]:
    """Each finding's rule, status and origin, counted: what must be equal on both engines."""
    return Counter((f["rule_id"], f["status"], f["origin"]) for f in target["findings"])


@pytest.mark.parametrize("recipe", ["bad", "good"])
def test_an_image_built_by_podman_audits_like_the_same_image_built_by_docker(
    run_cli: RunCli, docker_engine: EngineUnderTest, podman_engine: EngineUnderTest, recipe: str
) -> None:
    targets = []
    for engine in (docker_engine, podman_engine):
        image = getattr(images_on(engine), recipe)
        (target,) = scan_json(run_cli, engine, image)["targets"]
        assert target["name"] == image and target["scans"]["layers"] == "ok"
        targets.append(target)
    on_docker, on_podman = targets
    assert "DA211" not in failed(on_podman)  # buildah's `FROM <image>` comments are not commit messages
    assert outcome(on_podman) == outcome(on_docker)
    assert (on_podman["score"], on_podman["grade"]) == (on_docker["score"], on_docker["grade"])


@pytest.mark.parametrize("engine", ["podman"], indirect=True)
def test_all_images_and_all_containers_on_podman(
    run_cli: RunCli, engine: EngineUnderTest, engine_images: EngineImages, engine_containers: EngineContainers
) -> None:
    report = scan_json(run_cli, engine, "--all-images", "--all-containers", "--include", "*dockaudit-test*")
    by_name = {t["name"]: t for t in report["targets"]}
    for image in (engine_images.base, engine_images.bad, engine_images.good):
        assert by_name[image]["kind"] == "image" and by_name[image]["errors"] == []
    built = [t for t in report["targets"] if t["kind"] == "image" and t["name"].startswith("localhost/dockaudit-test/")]
    assert built and not [t["name"] for t in built if "DA211" in failed(t)]
    containers = {t["id"]: t for t in report["targets"] if t["kind"] == "container"}
    host = containers[engine_containers.host]
    assert {"DA402", "DA403", "DA404", "DA405"} <= failed(host)  # socket, host network and PID, SYS_ADMIN
    assert host["image"]["ref"] == engine_images.bad
    for rule in PROCESS_RULES:
        (skipped,) = [f for f in host["findings"] if f["rule_id"] == rule]
        assert skipped["status"] == "skipped" and "created" in skipped["evidence"]
    assert "DA401" in failed(containers[engine_containers.privileged])
    assert containers[engine_containers.hardened]["grade"] == "A"


def test_containers_on_podman_audit_like_on_docker_but_for_what_its_inspect_hides(
    run_cli: RunCli,
    docker_engine: EngineUnderTest,
    podman_engine: EngineUnderTest,
    docker_containers: EngineContainers,
    podman_containers: EngineContainers,
) -> None:
    results: list[dict[str, dict[str, Any]]] = []
    for engine, found in ((docker_engine, docker_containers), (podman_engine, podman_containers)):
        ids = {"host": found.host, "bridge": found.bridge, "hardened": found.hardened, "privileged": found.privileged}
        report = scan_json(run_cli, engine, *(f"container:{cid}" for cid in ids.values()))
        by_id = {t["id"]: t for t in report["targets"] if t["kind"] == "container"}
        results.append({role: by_id[cid] for role, cid in ids.items()})
    on_docker, on_podman = results
    for role, unseen in PODMAN_UNSEEN.items():
        docker_failed, podman_failed = failed(on_docker[role]) - PROCESS_RULES, failed(on_podman[role]) - PROCESS_RULES
        inspect = docker_engine.client.api.inspect_container(on_docker[role]["id"])["HostConfig"]
        # Podman has a default pids limit (2048) and reports no cgroup namespace mode at all.
        differs = set(unseen) | ({"DA416"} if not inspect.get("PidsLimit") else set())
        differs |= {"DA429"} if inspect.get("CgroupnsMode") == "host" else set()
        assert docker_failed - podman_failed == differs, role
        assert podman_failed - docker_failed == set(), role


@pytest.fixture
def committed_image(podman_engine: EngineUnderTest) -> Iterator[str]:
    """An image made by `podman commit` of a created container, removed afterwards."""
    good = images_on(podman_engine).good
    name = f"dockaudit-test-commit-{uuid.uuid4().hex[:8]}"
    tag = f"localhost/dockaudit-test/committed:{name}"
    create = [PODMAN, "create", "--name", name, "--label", "dockaudit.test=1", good]
    subprocess.run(create, check=True, capture_output=True, timeout=120)
    try:
        subprocess.run([PODMAN, "commit", "--quiet", name, tag], check=True, capture_output=True, timeout=120)
        yield tag
    finally:
        subprocess.run([PODMAN, "rm", "--force", name], check=False, capture_output=True)
        subprocess.run([PODMAN, "rmi", "--force", tag], check=False, capture_output=True)


def test_a_podman_commit_is_a_committed_layer(
    run_cli: RunCli, podman_engine: EngineUnderTest, committed_image: str
) -> None:
    (target,) = scan_json(run_cli, podman_engine, committed_image)["targets"]
    (commit,) = [f for f in target["findings"] if f["rule_id"] == "DA211" and f["status"] == "fail"]
    good = images_on(podman_engine).good
    assert f"a layer with no instruction recorded (a podman/buildah commit on top of {good})" in commit["evidence"]


def test_podmans_default_oci_format_drops_the_healthcheck(run_cli: RunCli, podman_engine: EngineUnderTest) -> None:
    base = recipes.build_base(podman_engine.builder)
    oci = recipes.build_good(PodmanBuilder(image_format="oci"), base)
    docker_format = recipes.build_good(podman_engine.builder, base)
    report = scan_json(run_cli, podman_engine, oci, docker_format)
    by_name = {t["name"]: t for t in report["targets"]}
    # Podman warns "HEALTHCHECK is not supported for OCI image format" and leaves it out: the finding is true.
    assert "DA102" in failed(by_name[oci]) and "DA102" not in failed(by_name[docker_format])
    inspect = [PODMAN, "image", "inspect", "--format", "{{json .HealthCheck}}", oci]
    assert subprocess.run(inspect, capture_output=True, text=True, check=True).stdout.strip() == "null"


@pytest.mark.trivy
def test_trivy_scans_a_podman_image_through_the_podman_socket(
    run_cli: RunCli, podman_engine: EngineUnderTest, tmp_path: Path
) -> None:
    builder = podman_engine.builder
    assert isinstance(builder, PodmanBuilder)
    files: dict[str, bytes | Any] = {k: v.encode() for k, v in trivy_images.DEBIAN_FILES.items()}
    image = builder.build("trivy-debian", trivy_images.ROOTFS_DOCKERFILE, files)
    cache = tmp_path / "trivy-cache"
    trivydb.write_fixture_db(cache)
    proc = run_cli(
        "scan", "-q", "-H", podman_engine.url, image, "--offline", "--trivy-cache-dir", str(cache), "-f", "json",
        "--fail-on", "never",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    validate_report(report)
    (target,) = report["targets"]
    assert target["scans"]["trivy"] == "ok", target["errors"]
    found = {
        (v["id"], v["package"], v["installed"], v["fixed"], f["severity"])
        for f in target["findings"]
        if f["source"] == "trivy-vuln" and (v := f["vulnerability"]) is not None
    }
    assert found == trivy_images.EXPECTED["debian"]
