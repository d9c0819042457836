"""Endpoint resolution follows the Docker CLI's order and reads its context store; no engine needed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dockaudit.engine.endpoint import (
    DEFAULT_URL,
    context_store_id,
    list_contexts,
    normalize_host,
    parse_ssh_url,
    resolve_endpoint,
)
from dockaudit.errors import EngineError, UsageError


def make_context(config: Path, name: str, host: str, *, skip_verify: bool = False, tls: bool = False) -> None:
    """Write a context the way `docker context create` stores it."""
    store_id = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / store_id
    meta.mkdir(parents=True)
    endpoint = {"Host": host, "SkipTLSVerify": skip_verify}
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}}))
    if tls:
        tls_dir = config / "contexts" / "tls" / store_id / "docker"
        tls_dir.mkdir(parents=True)
        for pem in ("ca.pem", "cert.pem", "key.pem"):
            (tls_dir / pem).write_text("pem")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "docker-config"
    path.mkdir()
    return path


def env_for(config: Path, **extra: str) -> dict[str, str]:
    return {"DOCKER_CONFIG": str(config), "HOME": str(config.parent), **extra}


def set_current(config: Path, name: str) -> None:
    (config / "config.json").write_text(json.dumps({"auths": {}, "currentContext": name}))


def test_nothing_configured_uses_the_platform_socket(config: Path) -> None:
    ep = resolve_endpoint(env=env_for(config))
    assert (ep.url, ep.source, ep.context, ep.tls) == (DEFAULT_URL, "default", None, None)


def test_host_flag_beats_docker_host(config: Path) -> None:
    ep = resolve_endpoint(host="tcp://flag:2375", env=env_for(config, DOCKER_HOST="tcp://env:2375"))
    assert (ep.url, ep.source) == ("tcp://flag:2375", "flag")


def test_host_and_context_together_are_a_usage_error(config: Path) -> None:
    with pytest.raises(UsageError, match="not both"):
        resolve_endpoint(host="unix:///x.sock", context="prod", env=env_for(config))


def test_context_flag_beats_docker_host(config: Path) -> None:
    make_context(config, "prod", "ssh://ops@prod.example")
    ep = resolve_endpoint(context="prod", env=env_for(config, DOCKER_HOST="tcp://env:2375"))
    assert (ep.url, ep.source, ep.context) == ("ssh://ops@prod.example", "flag", "prod")


def test_docker_host_beats_docker_context_and_current_context(config: Path) -> None:
    make_context(config, "prod", "tcp://prod:2375")
    set_current(config, "prod")
    ep = resolve_endpoint(env=env_for(config, DOCKER_HOST="unix:///run/x.sock", DOCKER_CONTEXT="prod"))
    assert (ep.url, ep.source, ep.detail) == ("unix:///run/x.sock", "env", "DOCKER_HOST")


def test_docker_context_beats_current_context(config: Path) -> None:
    make_context(config, "prod", "tcp://prod:2375")
    make_context(config, "staging", "tcp://staging:2375")
    set_current(config, "staging")
    ep = resolve_endpoint(env=env_for(config, DOCKER_CONTEXT="prod"))
    assert (ep.url, ep.source, ep.context) == ("tcp://prod:2375", "env", "prod")


def test_current_context_from_config_json(config: Path) -> None:
    make_context(config, "staging", "unix:///run/staging.sock")
    set_current(config, "staging")
    ep = resolve_endpoint(env=env_for(config))
    assert (ep.url, ep.source, ep.context) == ("unix:///run/staging.sock", "context", "staging")
    assert str(config / "config.json") in ep.detail


@pytest.mark.parametrize("current", ["default", ""])
def test_default_or_empty_current_context_means_the_platform_socket(config: Path, current: str) -> None:
    set_current(config, current)
    ep = resolve_endpoint(env=env_for(config))
    assert ep.url == DEFAULT_URL
    assert ep.context is None


def test_docker_config_defaults_to_home_dot_docker(tmp_path: Path) -> None:
    make_context(tmp_path / ".docker", "home", "tcp://home:2375")
    set_current(tmp_path / ".docker", "home")
    ep = resolve_endpoint(env={"HOME": str(tmp_path)})
    assert ep.url == "tcp://home:2375"


def test_context_store_directory_is_sha256_of_the_name() -> None:
    assert context_store_id("default") == hashlib.sha256(b"default").hexdigest()


def test_missing_context_names_the_context_and_the_store(config: Path) -> None:
    with pytest.raises(EngineError, match=r"'ghost'.*DOCKER_CONTEXT=ghost.*not found in .*contexts"):
        resolve_endpoint(env=env_for(config, DOCKER_CONTEXT="ghost"))


def test_missing_context_from_the_flag_is_a_usage_error(config: Path) -> None:
    with pytest.raises(UsageError, match="'ghost'"):
        resolve_endpoint(context="ghost", env=env_for(config))


def test_unreadable_config_json_falls_back_to_the_default_socket_with_a_note(config: Path) -> None:
    (config / "config.json").write_text("{not json")
    ep = resolve_endpoint(env=env_for(config))
    assert ep.url == DEFAULT_URL
    assert ep.notes and "config.json" in ep.notes[0]


def test_context_tls_material_and_skip_verify_are_read(config: Path) -> None:
    make_context(config, "secure", "tcp://secure:2376", tls=True)
    make_context(config, "lax", "tcp://lax:2376", skip_verify=True)
    secure = resolve_endpoint(context="secure", env=env_for(config))
    assert secure.tls is not None and secure.tls.verify
    tls_dir = config / "contexts" / "tls" / context_store_id("secure") / "docker"
    assert (secure.tls.ca_cert, secure.tls.client_cert, secure.tls.client_key) == (
        str(tls_dir / "ca.pem"),
        str(tls_dir / "cert.pem"),
        str(tls_dir / "key.pem"),
    )
    lax = resolve_endpoint(context="lax", env=env_for(config))
    assert lax.tls is not None and not lax.tls.verify


def test_docker_tls_verify_and_cert_path_apply_to_tcp_hosts(config: Path, tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "ca.pem").write_text("pem")
    env = env_for(config, DOCKER_HOST="tcp://remote", DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(certs))
    ep = resolve_endpoint(env=env)
    assert ep.url == "tcp://remote:2376"
    assert ep.tls is not None and ep.tls.verify and ep.tls.ca_cert == str(certs / "ca.pem")
    assert ep.tls.client_cert is None


def test_tls_env_is_ignored_for_unix_sockets(config: Path) -> None:
    ep = resolve_endpoint(env=env_for(config, DOCKER_TLS_VERIFY="1"))
    assert ep.tls is None


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("unix:///run/docker.sock", "unix:///run/docker.sock"),
        ("/run/podman/podman.sock", "unix:///run/podman/podman.sock"),
        ("tcp://10.0.0.5", "tcp://10.0.0.5:2375"),
        ("10.0.0.5:2380", "tcp://10.0.0.5:2380"),
        ("tcp://[::1]:2375", "tcp://[::1]:2375"),
        ("ssh://me@box:2222", "ssh://me@box:2222"),
        ("ssh://box/var/run/docker.sock", "ssh://box"),
        ("ssh://box/run/user/1000/docker.sock", "ssh://box/run/user/1000/docker.sock"),
    ],
)
def test_hosts_are_normalised_like_docker_h(raw: str, url: str) -> None:
    assert normalize_host(raw) == url


@pytest.mark.parametrize("raw", ["fd://", "npipe:////./pipe/docker_engine", "ssh://", "ssh://-oProxyCommand=x", "  "])
def test_unusable_hosts_are_refused(raw: str) -> None:
    with pytest.raises(UsageError):
        normalize_host(raw)


def test_bad_docker_host_is_an_engine_error_naming_the_variable(config: Path) -> None:
    with pytest.raises(EngineError, match="DOCKER_HOST"):
        resolve_endpoint(env=env_for(config, DOCKER_HOST="fd://"))


def test_ssh_url_parts_and_remote_socket_override() -> None:
    target = parse_ssh_url("ssh://ops@prod.example:2222/run/user/1000/docker.sock")
    assert (target.user, target.host, target.port, target.socket_path) == (
        "ops",
        "prod.example",
        2222,
        "/run/user/1000/docker.sock",
    )
    assert parse_ssh_url("ssh://prod").socket_path == "/var/run/docker.sock"
    assert parse_ssh_url("ssh://prod").destination == "prod"


def test_list_contexts_puts_default_first_then_names_in_order(config: Path) -> None:
    make_context(config, "zeta", "tcp://z:2375")
    make_context(config, "alpha", "ssh://a")
    names = [(name, ep.url) for name, ep in list_contexts(env=env_for(config))]
    assert names == [("default", DEFAULT_URL), ("alpha", "ssh://a"), ("zeta", "tcp://z:2375")]


def test_list_contexts_default_follows_docker_host(config: Path) -> None:
    contexts = list_contexts(env=env_for(config, DOCKER_HOST="tcp://env:2375"))
    assert contexts[0][1].url == "tcp://env:2375"


def test_list_contexts_leaves_out_broken_entries(config: Path) -> None:
    make_context(config, "good", "tcp://good:2375")
    broken = config / "contexts" / "meta" / ("0" * 64)
    broken.mkdir(parents=True)
    (broken / "meta.json").write_text("{not json")
    assert [name for name, _ in list_contexts(env=env_for(config))] == ["default", "good"]


def test_describe_names_the_context_or_the_source(config: Path) -> None:
    make_context(config, "prod", "ssh://ops@prod")
    assert resolve_endpoint(context="prod", env=env_for(config)).describe() == "ssh://ops@prod (context prod)"
    assert resolve_endpoint(env=env_for(config, DOCKER_HOST="tcp://h:1")).describe() == "tcp://h:1 (DOCKER_HOST)"


def test_https_url_turns_on_verified_tls(config: Path) -> None:
    ep = resolve_endpoint(host="https://engine.example", env=env_for(config))
    assert ep.url == "tcp://engine.example:2376"
    assert ep.tls is not None and ep.tls.verify and ep.tls.ca_cert is None
