"""Fleets: several engines in one scan, each target recording its engine; a dead engine is an error entry."""

from __future__ import annotations

import socket

import pytest

from tests.cli.run import dockaudit

pytestmark = pytest.mark.docker


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _by_engine(report: dict) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for target in report["targets"]:
        out.setdefault(target["engine"], set()).add(target["kind"])
    return out


def test_two_engines_make_one_report(capsys, good_image, bad_containers, second_engine):
    run = dockaudit(
        capsys,
        "scan",
        good_image,
        bad_containers["host"],
        "--no-trivy",
        "-f",
        "json",
        "-H",
        "unix:///var/run/docker.sock",
        "-H",
        second_engine,
        "--fail-on",
        "never",
    )
    assert run.code == 0, run.err
    report = run.json()
    second_id = second_engine.removeprefix("tcp://")
    assert [e["id"] for e in report["engines"]] == sorted(["local", second_id])
    assert all(e["server_version"] and e["api_version"] for e in report["engines"])
    assert _by_engine(report) == {"local": {"image", "container"}, second_id: {"image", "container"}}
    # The same image seen through both engines gives the same findings.
    images = [t for t in report["targets"] if t["kind"] == "image"]
    assert images[0]["id"] == images[1]["id"]
    assert [f["rule_id"] for f in images[0]["findings"]] == [f["rule_id"] for f in images[1]["findings"]]


@pytest.mark.ssh
def test_local_socket_and_ssh_make_one_report(capsys, monkeypatch, good_image, scan_sshd):
    monkeypatch.setenv("DOCKAUDIT_SSH_COMMAND", scan_sshd.ssh_command)
    run = dockaudit(
        capsys,
        "scan",
        good_image,
        "--no-trivy",
        "-f",
        "json",
        "--fail-on",
        "never",
        "-H",
        "unix:///var/run/docker.sock",
        "-H",
        scan_sshd.url,
    )
    assert run.code == 0, run.err
    report = run.json()
    ssh_id = scan_sshd.url.removeprefix("ssh://")
    assert {e["id"]: e["endpoint"] for e in report["engines"]} == {
        "local": "unix:///var/run/docker.sock",
        ssh_id: scan_sshd.url,
    }
    assert _by_engine(report) == {"local": {"image"}, ssh_id: {"image"}}


def test_unreachable_engine_is_an_error_entry_not_the_end(capsys, good_image):
    dead = f"tcp://127.0.0.1:{_closed_port()}"
    run = dockaudit(
        capsys,
        "scan",
        good_image,
        "--no-trivy",
        "-f",
        "json",
        "--fail-on",
        "never",
        "-H",
        "unix:///var/run/docker.sock",
        "-H",
        dead,
    )
    assert run.code == 3
    report = run.json()
    assert {e["id"] for e in report["engines"]} == {"local", dead.removeprefix("tcp://")}
    assert [t["engine"] for t in report["targets"]] == ["local"]
    [error] = report["errors"]
    assert error["stage"] == "engine" and dead in error["message"]
    assert "exit 3:" in run.err


def test_host_checks_per_engine(capsys, second_engine):
    run = dockaudit(
        capsys,
        "scan",
        "--host-checks",
        "--no-trivy",
        "-f",
        "json",
        "--fail-on",
        "never",
        "-H",
        "unix:///var/run/docker.sock",
        "-H",
        second_engine,
    )
    hosts = [t for t in run.json()["targets"] if t["kind"] == "host"]
    assert sorted(t["engine"] for t in hosts) == sorted(["local", second_engine.removeprefix("tcp://")])
    tcp_host = next(t for t in hosts if t["engine"] != "local")
    # Reaching an engine over plain TCP is itself a finding.
    assert "DA503" in {f["rule_id"] for f in tcp_host["findings"]}


def test_all_contexts_audits_every_context(capsys, monkeypatch, tmp_path, good_image, second_engine):
    from tests.engine.test_endpoint import make_context

    make_context(tmp_path, "second", second_engine)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    run = dockaudit(capsys, "scan", good_image, "--all-contexts", "--no-trivy", "-f", "json", "--fail-on", "never")
    assert run.code == 0, run.err
    report = run.json()
    assert {e["id"]: e["context"] for e in report["engines"]} == {"local": "default", "second": "second"}
    assert _by_engine(report) == {"local": {"image"}, "second": {"image"}}
