"""Read-only, proven: a full audit through a recording proxy in front of the engine calls only GET and HEAD."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from dockaudit.audit_options import AuditOptions, ProgressEvent
from dockaudit.config import Settings
from dockaudit.connect import open_session
from dockaudit.engine.readonly import ReadOnlyDockerClient, ReadOnlyError
from dockaudit.engine.source import EngineSource
from dockaudit.facts.container import ContainerFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.model import TargetKind
from dockaudit.scanners.trivy import TrivyOptions
from dockaudit.targets import ResolvedTarget
from tests.reliability import cli
from tests.reliability.proxy import DockerProxy, Request

pytestmark = [pytest.mark.docker, pytest.mark.trivy]

READING = {"GET", "HEAD"}


def _image_id(client: docker.DockerClient, ref: str) -> str:
    return str(client.api.inspect_image(ref)["Id"])


def _paths(requests: list[Request], method: str = "GET") -> set[str]:
    return {r.path for r in requests if r.method == method}


def _writes(requests: list[Request]) -> list[Request]:
    return [r for r in requests if r.method not in READING]


def test_full_audit_harden_and_export_only_read_from_the_engine(
    proxy: DockerProxy,
    tmp_path: Path,
    trivy_db: Path,
    docker_client: docker.DockerClient,
    bad_image: str,
    good_image: str,
    bad_containers: dict[str, str],
    hardened_container: str,
) -> None:
    env = cli.private_env(tmp_path, DOCKER_HOST=proxy.url)
    bad_id, good_id = _image_id(docker_client, bad_image), _image_id(docker_client, good_image)
    names = {
        cid: docker_client.api.inspect_container(cid)["Name"].lstrip("/")
        for cid in (*bad_containers.values(), hardened_container)
    }
    includes = [arg for pattern in (bad_image, good_image, *names.values()) for arg in ("--include", pattern)]
    outputs = {
        fmt: tmp_path / f"report.{ext}"
        for fmt, ext in (("json", "json"), ("html", "html"), ("sarif", "sarif"), ("markdown", "md"), ("junit", "xml"))
    }
    out_args = [arg for fmt, path in outputs.items() for arg in ("-f", fmt, "-o", str(path))]

    scan = cli.run(
        "scan",
        "--all-images",
        "--all-containers",
        "--host-checks",
        *includes,
        "--offline",
        "--trivy-cache-dir",
        str(trivy_db),
        "--fail-on",
        "never",
        *out_args,
        env=env,
    )
    assert scan.returncode == 0, scan.stderr
    report = cli.load_report(outputs["json"])
    for path in outputs.values():
        assert path.stat().st_size > 0
    kinds = sorted(t["kind"] for t in report["targets"])
    assert kinds == ["container"] * 3 + ["host"] + ["image"] * 2
    images = {t["id"]: t for t in report["targets"] if t["kind"] == "image"}
    assert set(images) == {bad_id, good_id}
    for image in images.values():
        # The good image has a HEALTHCHECK, which Trivy 0.76 cannot parse from a legacy build: `degraded`.
        assert image["scans"]["trivy"].startswith(("ok", "degraded")), image["scans"]
        assert image["scans"]["layers"] == "ok", image["scans"]
    assert report["engines"][0]["endpoint"] == proxy.url

    harden_image = cli.run("harden", bad_image, "-o", str(tmp_path / "Dockerfile.hardened"), env=env)
    assert harden_image.returncode == 0, harden_image.stderr
    harden_container = cli.run("harden", bad_containers["bridge"], "-o", str(tmp_path / "compose.yaml"), env=env)
    assert harden_container.returncode == 0, harden_container.stderr
    doctor = cli.run("doctor", "--json", env=env)
    assert doctor.returncode in (0, 1), doctor.stderr

    requests = list(proxy.requests)
    assert _writes(requests) == []
    got = _paths(requests)
    expected = {
        "/images/json",
        "/containers/json",
        "/info",
        "/version",
        "/system/df",
        f"/images/{bad_id}/json",
        f"/images/{bad_id}/history",
        f"/images/{bad_id}/get",
        f"/images/{good_id}/json",
        f"/images/{good_id}/history",
        f"/images/{good_id}/get",
    }
    for cid in names:
        expected |= {f"/containers/{cid}/json"}
    expected |= {f"/containers/{bad_containers['host']}/top", f"/containers/{bad_containers['bridge']}/top"}
    assert expected <= got, sorted(expected - got)
    # Trivy (a Go client) read the same images through the same proxy: --docker-host is the proxy URL.
    trivy = [r for r in requests if "docker-py" not in r.agent and r.path != "/_ping"]
    assert trivy, "Trivy did not go through the proxy"
    assert {r.method for r in trivy} <= READING
    assert any(r.path == "/images/get" or r.path.endswith("/get") for r in trivy), sorted({r.path for r in trivy})


def test_the_tui_session_reads_through_the_guarded_client_only(
    proxy: DockerProxy,
    trivy_db: Path,
    bad_image: str,
    bad_containers: dict[str, str],
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    """Everything the TUI does goes through the session, and the session only through the read-only client."""
    options = AuditOptions(
        settings=Settings(),
        trivy=TrivyOptions(cache_dir=trivy_db, offline=True, timeout=120),
        cache_path=tmp_path / "cache.sqlite3",
        use_cache=False,
        config_dir=tmp_path,
    )
    session = open_session(options, host=proxy.url)
    try:
        assert session.info is not None and session.info.endpoint == proxy.url
        assert isinstance(session.source, EngineSource)
        client = session.source.engine.client
        assert isinstance(client, ReadOnlyDockerClient)
        inventory = session.inventory()
        bad_id = _image_id(docker_client, bad_image)
        assert any(row.id == bad_id for row in inventory.images)
        events: list[ProgressEvent] = []
        target = ResolvedTarget(TargetKind.IMAGE, bad_id, "local", bad_image, bad_id)
        result, facts = session.checklist(target, on_progress=events.append)
        assert isinstance(facts, ImageFacts) and result.findings
        merged = session.scan(result, facts, on_progress=events.append)
        assert merged.scans["trivy"] == "ok"
        host, _ = session.checklist(ResolvedTarget(TargetKind.HOST, "local", "local", "local"))
        assert host.findings or host.passed
        cid = bad_containers["host"]
        container, cfacts = session.checklist(ResolvedTarget(TargetKind.CONTAINER, cid, "local", cid, cid))
        assert isinstance(cfacts, ContainerFacts) and container.findings
        session.harden_image(facts)
        session.harden_container(cfacts)
        stream = session.events()
        stream.close()
        session.export((merged, host, container), "json", tmp_path / "tui.json")
        # The guard refuses a write before anything reaches the engine.
        before = len(proxy.requests)
        with pytest.raises(ReadOnlyError):
            client.api.create_container(bad_id, command=["true"], labels={"dockaudit.test": "1"})
        with pytest.raises(ReadOnlyError):
            client.api.remove_image(bad_id)
        assert len(proxy.requests) == before
    finally:
        session.close()
    assert _writes(proxy.requests) == []
    got = _paths(proxy.requests)
    assert {
        "/images/json",
        "/containers/json",
        f"/images/{bad_id}/json",
        f"/images/{bad_id}/get",
        "/events",
        f"/containers/{bad_containers['host']}/top",
    } <= got, sorted(got)
