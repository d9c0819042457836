"""Connecting to real and fake engines: identity, the read-only guard, and one-line failures."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import docker
import pytest

from dockaudit.engine.client import MIN_API_VERSION, Engine, ReadOnlyError, connect, engine_info, resolve_endpoint
from dockaudit.engine.endpoint import Endpoint, TlsSettings
from dockaudit.errors import EngineError
from tests.engine.conftest import EngineUnderTest
from tests.harness.servers import FakeEngine, FakeEngineState, TcpForwarder, make_tls_material, silent_listener

pytestmark = pytest.mark.docker


def test_engine_identifies_itself_and_its_kind(engine: EngineUnderTest) -> None:
    with connect(resolve_endpoint(host=engine.url), engine_id="e1") as connected:
        assert isinstance(connected, Engine)
        assert connected.info.id == "e1"
        assert connected.info.endpoint == engine.url
        assert connected.info.api_version == connected.version["ApiVersion"]
        assert connected.info.server_version == connected.version["Version"]
        assert connected.info.podman is engine.podman and connected.info.rootless is False
        assert connected.info.kind == ("Podman" if engine.podman else "Docker")
        assert connected.trivy_docker_host == engine.url
        assert connected.client.ping()


def test_podman_speaks_the_docker_api_version_of_docker_20_10(podman_socket: str) -> None:
    with connect(resolve_endpoint(host=f"unix://{podman_socket}")) as connected:
        # Podman 4.3 names itself in Components and answers /version with Docker's API 1.41.
        assert connected.version["Version"].startswith("4.") and connected.version["ApiVersion"] == "1.41"
        assert any(c["Name"] == "Podman Engine" for c in connected.version["Components"])


def test_api_version_is_negotiated_not_pinned(engine: EngineUnderTest) -> None:
    with connect(resolve_endpoint(host=engine.url)) as connected:
        assert connected.client.api.api_version == connected.version["ApiVersion"]


def test_a_write_is_refused_before_it_reaches_the_engine(tmp_path: Path) -> None:
    fake = FakeEngine(tmp_path / "engine.sock")
    try:
        with connect(resolve_endpoint(host=fake.url)) as engine:
            before = list(fake.state.requests)
            with pytest.raises(ReadOnlyError, match=r"refused POST .*/containers/create"):
                engine.client.containers.create("busybox", "true")
            with pytest.raises(ReadOnlyError, match="refused DELETE"):
                engine.client.api.remove_image("busybox")
        assert fake.state.requests == before
        assert all(method == "GET" for method, _ in fake.state.requests)
    finally:
        fake.close()


def test_a_write_on_the_real_engine_changes_nothing(engine: EngineUnderTest) -> None:
    with connect(resolve_endpoint(host=engine.url)) as connected:
        count = len(connected.client.api.containers(all=True))
        with pytest.raises(ReadOnlyError):
            connected.client.containers.create("scratch", "true", labels={"dockaudit.test": "1"})
        assert len(connected.client.api.containers(all=True)) == count


def test_an_old_engine_is_refused_with_its_version(tmp_path: Path) -> None:
    fake = FakeEngine(tmp_path / "old.sock", FakeEngineState(api_version="1.30", server_version="17.06.0-ce"))
    try:
        need = ".".join(map(str, MIN_API_VERSION))
        with pytest.raises(
            EngineError, match=rf"too old: it speaks API 1\.30 \(server 17\.06\.0-ce\).*needs API {need}"
        ):
            connect(resolve_endpoint(host=fake.url))
    finally:
        fake.close()


def test_podman_and_rootless_are_detected() -> None:
    ep = Endpoint("unix:///run/user/1000/podman/podman.sock", "flag")
    info = engine_info(
        {"Version": "4.3.1", "ApiVersion": "1.41", "Components": [{"Name": "Podman Engine", "Version": "4.3.1"}]},
        {"SecurityOptions": ["name=seccomp,profile=default", "name=rootless"]},
        ep,
        "p",
    )
    assert (info.podman, info.rootless) == (True, True)


def test_missing_socket_names_the_path_and_the_alternatives(tmp_path: Path) -> None:
    path = tmp_path / "nothing.sock"
    with pytest.raises(EngineError) as caught:
        connect(resolve_endpoint(host=f"unix://{path}"))
    message = str(caught.value)
    assert f"no Docker engine socket at {path}" in message
    assert "\n" not in message
    assert "unix:///var/run/docker.sock" in message or "podman" in message


def test_stale_socket_file_says_nothing_listens(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()  # the file stays, nobody listens
    with pytest.raises(EngineError, match=f"nothing is listening on {path}"):
        connect(resolve_endpoint(host=f"unix://{path}"))


def test_a_silent_tcp_engine_times_out() -> None:
    with silent_listener() as port, pytest.raises(EngineError, match=r"timed out after 0\.5 s .*tcp://127\.0\.0\.1"):
        connect(resolve_endpoint(host=f"tcp://127.0.0.1:{port}"), timeout=0.5)


def test_tcp_engine_through_a_forwarder(engine: EngineUnderTest) -> None:
    forwarder = TcpForwarder(engine.socket)
    try:
        with connect(resolve_endpoint(host=forwarder.url)) as connected:
            assert connected.info.api_version and connected.info.podman is engine.podman
            assert connected.trivy_docker_host is None
    finally:
        forwarder.close()


def test_tls_engine_with_the_right_ca_and_client_cert(
    tmp_path: Path, engine_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests would let this bundle replace the engine's CA; the engine's own CA must win.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    material = make_tls_material(tmp_path / "certs")
    forwarder = TcpForwarder(engine_socket, tls=material.server_context())
    env = {"DOCKER_HOST": forwarder.url, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(material.directory)}
    try:
        with connect(resolve_endpoint(env=env)) as engine:
            assert engine.client.ping()
    finally:
        forwarder.close()


def test_tls_skip_verify_accepts_an_unknown_server(
    tmp_path: Path, engine_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    material = make_tls_material(tmp_path / "certs")
    forwarder = TcpForwarder(engine_socket, tls=material.server_context())
    d = material.directory
    tls = TlsSettings(verify=False, client_cert=str(d / "cert.pem"), client_key=str(d / "key.pem"), origin="test")
    try:
        with connect(Endpoint(forwarder.url, "context", "lax", tls)) as engine:
            assert engine.client.ping()
    finally:
        forwarder.close()


def test_tls_engine_with_a_foreign_ca_fails_the_handshake(tmp_path: Path, engine_socket: str) -> None:
    material = make_tls_material(tmp_path / "server")
    foreign = make_tls_material(tmp_path / "client", name="other")
    forwarder = TcpForwarder(engine_socket, tls=material.server_context())
    env = {"DOCKER_HOST": forwarder.url, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(foreign.directory)}
    try:
        with pytest.raises(
            EngineError, match=r"TLS handshake with tcp://127\.0\.0\.1:\d+ .*failed: .*CERTIFICATE_VERIFY_FAILED"
        ):
            connect(resolve_endpoint(env=env))
    finally:
        forwarder.close()


def test_tls_against_a_plain_engine_fails_the_handshake(tcp_forwarder: TcpForwarder) -> None:
    ep = Endpoint(tcp_forwarder.url, "flag", tls=TlsSettings(verify=False, origin="test"))
    with pytest.raises(EngineError, match="TLS handshake"):
        connect(ep)


def test_incomplete_tls_material_is_named(tmp_path: Path) -> None:
    ep = Endpoint("tcp://127.0.0.1:1", "flag", tls=TlsSettings(verify=True, ca_cert=str(tmp_path / "missing.pem")))
    with pytest.raises(EngineError, match="TLS"):
        connect(ep, timeout=1)


def test_permission_denied_suggests_the_docker_group_or_rootless_podman(engine: EngineUnderTest) -> None:
    # Root bypasses socket permissions, so the check runs as `nobody` against the real root:docker 0660 socket
    # (Docker) or the root-only socket of the Podman service.
    script = textwrap.dedent(
        f"""
        from dockaudit.engine.client import connect, resolve_endpoint
        from dockaudit.errors import EngineError
        try:
            connect(resolve_endpoint(host="{engine.url}", env={{"HOME": "/nonexistent"}}))
        except EngineError as exc:
            print(exc)
        """
    )
    proc = subprocess.run(
        ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"permission denied on {engine.socket}" in proc.stdout
    if engine.podman:
        assert "rootful Podman's socket is root's" in proc.stdout
        assert "systemctl --user start podman.socket" in proc.stdout
        assert "'docker' group" not in proc.stdout
    else:
        assert "'docker' group" in proc.stdout and "rootless" in proc.stdout


def test_docker_sdk_still_talks_to_the_engine_directly(engine_socket: str) -> None:
    """Tests and fixtures keep a writable SDK client; only dockaudit's own client is read-only."""
    client = docker.DockerClient(base_url=f"unix://{engine_socket}", version="auto")
    try:
        assert client.ping()
    finally:
        client.close()
