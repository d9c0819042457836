"""Host facts: engine info and version, the client's config.json without its secrets, daemon.json."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from dockaudit.engine.collect_host import collect_host
from dockaudit.facts.host import RegistryAuth
from tests.engine.conftest import EngineUnderTest

pytestmark = pytest.mark.docker

AUTH_SECRET = "ZG9ja2F1ZGl0OmZha2UtcmVnaXN0cnktcGFzc3dvcmQ="
TOKEN_SECRET = "dockaudit-fake-identity-token-value"


@pytest.fixture
def docker_config(tmp_path: Path) -> Path:
    config = {
        "auths": {
            "registry.example.com": {"auth": AUTH_SECRET},
            "ghcr.io": {"identitytoken": TOKEN_SECRET},
            "quay.io": {},
        },
        "credHelpers": {"quay.io": "secretservice", "123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login"},
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path


def test_engine_and_client_facts(engine: EngineUnderTest, docker_config: Path, tmp_path: Path) -> None:
    daemon = tmp_path / "daemon.json"
    daemon_config = {"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"], "live-restore": False}
    daemon.write_text(json.dumps(daemon_config))
    facts = collect_host(
        engine.client,
        engine_id="e1",
        endpoint=engine.url,
        tls=False,
        docker_config_dir=docker_config,
        daemon_json_path=daemon,
    )
    version = engine.client.api.version()
    info = engine.client.api.info()
    assert facts.engine == "e1" and facts.endpoint == engine.url and not facts.tls
    assert facts.server_version == version["Version"] and facts.api_version == version["ApiVersion"]
    assert facts.kernel == info["KernelVersion"] and facts.os == info["OperatingSystem"]
    assert not facts.rootless and facts.podman is engine.podman
    assert any(opt.startswith("name=seccomp") for opt in facts.security_options)
    assert facts.logging_driver == info["LoggingDriver"]
    assert facts.live_restore == info["LiveRestoreEnabled"]
    assert facts.images_count == info["Images"] and facts.containers_count == info["Containers"]
    assert facts.reclaimable_bytes >= 0
    assert facts.daemon_json == daemon_config
    assert "tcp://0.0.0.0:2375" in facts.daemon_hosts
    assert facts.client_config_path == str(docker_config / "config.json")
    assert facts.registry_auths == (
        RegistryAuth("ghcr.io", has_auth=False, has_identity_token=True, helper=None),
        RegistryAuth("quay.io", has_auth=False, has_identity_token=False, helper="secretservice"),
        RegistryAuth("registry.example.com", has_auth=True, has_identity_token=False, helper=None),
        RegistryAuth("123.dkr.ecr.us-east-1.amazonaws.com", False, False, "ecr-login"),
    )
    assert facts.creds_store is None
    assert AUTH_SECRET not in repr(facts) and TOKEN_SECRET not in repr(facts)


def test_podman_info_differs_from_dockers_where_it_has_no_daemon(engine: EngineUnderTest, tmp_path: Path) -> None:
    facts = collect_host(engine.client, engine_id="e1", endpoint=engine.url, tls=False, docker_config_dir=tmp_path)
    if engine.podman:
        # No daemon: no logging driver or live-restore in /info, only the seccomp profile in SecurityOptions.
        assert (facts.logging_driver, facts.live_restore) == ("", False)
        assert facts.security_options == ("name=seccomp,profile=default",)
    else:
        assert facts.logging_driver == "json-file"
        assert "name=seccomp,profile=default" in facts.security_options


def test_remote_endpoint_never_reads_local_daemon_json(
    docker_client: docker.DockerClient, docker_config: Path, tmp_path: Path
) -> None:
    daemon = tmp_path / "daemon.json"
    daemon.write_text("{}")
    facts = collect_host(
        docker_client,
        engine_id="e1",
        endpoint="tcp://10.0.0.1:2376",
        tls=True,
        docker_config_dir=docker_config,
        daemon_json_path=daemon,
    )
    assert facts.daemon_json is None and facts.daemon_hosts == () and facts.tls


def test_missing_client_config_has_no_auths(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    facts = collect_host(
        docker_client,
        engine_id="e1",
        endpoint="unix:///var/run/docker.sock",
        tls=False,
        docker_config_dir=tmp_path,
        daemon_json_path=tmp_path / "absent.json",
        with_disk_usage=False,
    )
    assert facts.client_config_path is None and facts.registry_auths == () and facts.daemon_json is None


def test_creds_store_covers_every_registry(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"r.example": {}}, "credsStore": "desktop"}))
    facts = collect_host(
        docker_client,
        engine_id="e1",
        endpoint="unix:///var/run/docker.sock",
        tls=False,
        docker_config_dir=tmp_path,
        with_disk_usage=False,
    )
    assert facts.creds_store == "desktop"
    assert facts.registry_auths == (RegistryAuth("r.example", False, False, "desktop"),)
