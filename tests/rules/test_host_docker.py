"""DA5xx on the real engine's host facts, with the client config and daemon.json the collector reads."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import docker
import pytest

from dockaudit.engine.collect_host import collect_host
from dockaudit.facts.host import HostFacts
from dockaudit.model import Finding, Status
from dockaudit.rules import load_all
from dockaudit.rules.registry import Scope, evaluate
from tests.rules.conftest import make_ctx

pytestmark = pytest.mark.docker


def host_facts(client: docker.DockerClient, tmp_path: Path, config: dict[str, object] | None = None,
               daemon: dict[str, object] | None = None) -> HostFacts:  # fmt: skip
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps(config or {}))
    daemon_json = tmp_path / "daemon.json"
    if daemon is not None:
        daemon_json.write_text(json.dumps(daemon))
    return collect_host(
        client,
        engine_id="local",
        endpoint="unix:///var/run/docker.sock",
        tls=False,
        docker_config_dir=config_dir,
        daemon_json_path=daemon_json,
    )


def host_findings(facts: HostFacts) -> dict[str, Finding]:
    load_all()
    found, _ = evaluate([Scope.HOST], facts, make_ctx())
    return {f.rule_id: f for f in found}


def failed(found: dict[str, Finding]) -> set[str]:
    return {rid for rid, f in found.items() if f.status is Status.FAIL}


def test_default_dockerd_findings(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    # This machine runs Debian's dockerd 20.10 with no daemon.json, no userns-remap, no live-restore.
    found = host_findings(host_facts(docker_client, tmp_path))
    assert {"DA504", "DA505", "DA506", "DA507", "DA508"} <= failed(found)
    assert found["DA510"].status is Status.SKIPPED
    assert not {"DA501", "DA502", "DA503"} & set(found)


def test_plaintext_registry_credentials(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    secret = base64.b64encode(b"deploy:dockaudit-fake-registry-password").decode()
    config = {"auths": {"registry.example.com": {"auth": secret}, "ghcr.io": {}}}
    found = host_findings(host_facts(docker_client, tmp_path, config))
    assert "auths[registry.example.com] has a plain-text auth" in found["DA501"].evidence
    assert secret not in repr(found)


def test_credential_helper_passes(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    config = {
        "auths": {"registry.example.com": {"auth": "ZGVwbG95OnB3"}},
        "credHelpers": {"registry.example.com": "pass"},
    }
    assert "DA501" not in host_findings(host_facts(docker_client, tmp_path, config))


def test_daemon_tcp_without_tls_and_rotated_logs(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    daemon = {"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"], "log-opts": {"max-size": "10m"}}
    found = host_findings(host_facts(docker_client, tmp_path, daemon=daemon))
    assert "tcp://0.0.0.0:2375" in found["DA503"].evidence
    assert "DA506" not in found


def test_scan_ages_of_running_images(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    load_all()
    facts = host_facts(docker_client, tmp_path)
    found, _ = evaluate([Scope.HOST], facts, make_ctx(scan_ages={"sha256:" + "e" * 64: None}))
    assert any(f.rule_id == "DA510" and f.status is Status.FAIL for f in found)
