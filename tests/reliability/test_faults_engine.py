"""Engine faults: the daemon dies mid-audit, a container vanishes, an image stream is cut, the ssh tunnel drops.

Each ends with a one-line message per failure, a complete report that says what failed, exit code 3 and no
half-written file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from dockaudit.audit_options import AuditOptions
from dockaudit.config import Settings
from dockaudit.connect import open_session
from dockaudit.errors import EngineError
from dockaudit.model import TargetKind
from dockaudit.targets import ResolvedTarget
from tests.fixtures.containers import ContainerPool
from tests.harness import sshd as sshd_harness
from tests.reliability import cli
from tests.reliability.dockerd import SecondEngine
from tests.reliability.proxy import FORWARD, Action, DockerProxy, Drop, Request, Respond, Truncate

pytestmark = [pytest.mark.docker]


def _failures(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target name, stage, message) of every recorded error."""
    return [(t["name"], e["stage"], e["message"]) for t in report["targets"] for e in t.get("errors", [])]


def _no_temp_files(directory: Path) -> None:
    leftovers = [p.name for p in directory.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]
    assert leftovers == []


def _no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr


@pytest.fixture
def second_engine(short_dir: Path, bad_image: str, good_image: str) -> Iterator[SecondEngine]:
    """A dockerd of this test's own holding copies of the bad and good fixture images."""
    directory = short_dir / "d2"
    directory.mkdir()
    engine = SecondEngine(directory)
    try:
        engine.load(bad_image, good_image)
        yield engine
    finally:
        engine.stop()


def test_daemon_killed_mid_audit_gives_a_partial_report_and_exit_3(
    second_engine: SecondEngine, short_dir: Path, tmp_path: Path, trivy_db: Path
) -> None:
    killed = threading.Event()

    def kill_at_first_history(request: Request, index: int) -> Action:
        # The daemon dies for real (SIGKILL) just as the first image's history is asked for.
        if request.path.endswith("/history") and not killed.is_set():
            second_engine.kill()
            killed.set()
        return FORWARD

    proxy = DockerProxy(short_dir / "p.sock", upstream=str(second_engine.socket), hook=kill_at_first_history)
    try:
        out = tmp_path / "out"
        out.mkdir()
        env = cli.private_env(tmp_path, DOCKER_HOST=proxy.url)
        run = cli.run(
            "scan",
            "--all-images",
            "--host-checks",
            "--concurrency",
            "1",
            "--offline",
            "--trivy-cache-dir",
            str(trivy_db),
            "-f",
            "json",
            "-o",
            str(out / "report.json"),
            env=env,
        )
    finally:
        proxy.close()
    assert killed.is_set()
    assert run.returncode == 3, run.stderr
    _no_traceback(run.stderr)
    report = cli.load_report(out / "report.json")
    _no_temp_files(out)
    # Every target is in the report, and each one the dead engine could not answer says so in one line.
    kinds = sorted(t["kind"] for t in report["targets"])
    assert kinds == ["host", "image", "image"]
    failures = _failures(report)
    assert len(failures) == 3, failures
    for _name, stage, message in failures:
        assert stage == "collect"
        assert "\n" not in message and "Traceback" not in message
        assert "lost the connection" in message or "not running" in message or "no engine" in message, message
    assert run.stderr.strip().splitlines()[-1].startswith("dockaudit: exit 3:")


def test_container_removed_between_list_and_inspect_is_skipped_not_a_failure(
    proxy: DockerProxy,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    container_pool: ContainerPool,
    good_image: str,
    hardened_container: str,
) -> None:
    victim = container_pool.create("vanishing", good_image, start=False)
    victim_name = docker_client.api.inspect_container(victim)["Name"].lstrip("/")
    kept_name = docker_client.api.inspect_container(hardened_container)["Name"].lstrip("/")
    removed = threading.Event()

    def remove_before_inspect(request: Request, index: int) -> Action:
        # The container really goes away after the list and before dockaudit inspects it.
        if request.path == f"/containers/{victim}/json" and not removed.is_set():
            docker_client.api.remove_container(victim, force=True)
            removed.set()
        return FORWARD

    proxy.hook = remove_before_inspect
    out = tmp_path / "report.json"
    run = cli.run(
        "scan",
        "--all-containers",
        "--include",
        victim_name,
        "--include",
        kept_name,
        "-f",
        "json",
        "-o",
        str(out),
        env=cli.private_env(tmp_path, DOCKER_HOST=proxy.url),
    )
    assert removed.is_set()
    # Nothing failed: the container is gone (a `--rm` one that exited does this), so the run is not exit 3.
    assert run.returncode == 0, run.stderr
    _no_traceback(run.stderr)
    report = cli.load_report(out)
    gone = cli.target(report, "container", victim_name[:20])
    note = f"removed while the audit ran (inspecting container {victim}: not found)"
    assert gone["errors"] == [{"stage": "gone", "message": note}]
    assert gone["scans"] == {"checklist": f"skipped: {note}"} and gone["findings"] == []
    kept = cli.target(report, "container", kept_name)
    assert not kept.get("errors") and kept["findings"] + kept["passed"]
    assert note in run.stderr


def test_image_stream_cut_mid_way_fails_that_image_only(
    proxy: DockerProxy, tmp_path: Path, docker_client: docker.DockerClient, bad_image: str, good_image: str
) -> None:
    bad_id = str(docker_client.api.inspect_image(bad_image)["Id"])

    def truncate_bad_export(request: Request, index: int) -> Action:
        # The export stops after 64 KiB, as when the image is removed or the daemon dies during the stream.
        if request.path == f"/images/{bad_id}/get":
            return Truncate(after=64 * 1024)
        return FORWARD

    proxy.hook = truncate_bad_export
    out = tmp_path / "report.json"
    run = cli.run(
        "scan",
        f"image:{bad_image}",
        f"image:{good_image}",
        "--no-trivy",
        "-f",
        "json",
        "-o",
        str(out),
        env=cli.private_env(tmp_path, DOCKER_HOST=proxy.url),
    )
    assert run.returncode == 3, run.stderr
    _no_traceback(run.stderr)
    report = cli.load_report(out)
    bad = next(t for t in report["targets"] if t["id"] == bad_id)
    good = next(t for t in report["targets"] if t["id"] != bad_id)
    assert good["scans"]["layers"] == "ok" and not good.get("errors")
    assert bad["scans"]["layers"] != "ok"
    assert bad["errors"] == [{"stage": "layers", "message": bad["scans"]["layers"].removeprefix("failed: ")}]
    assert "the engine ended the stream early" in bad["scans"]["layers"]
    # What did not need the layers is still reported.
    assert any(f["rule_id"] == "DA101" for f in bad["findings"])


def _drop_nth(path: str, n: int) -> Callable[[Request, int], Action]:
    """A hook dropping the connection on the n-th (1-based) request for `path`."""
    seen: list[int] = []

    def hook(request: Request, index: int) -> Action:
        if request.path == path:
            seen.append(index)
            if len(seen) == n:
                return Drop()
        return FORWARD

    return hook


def test_connection_dropped_while_auditing_fails_that_target_only(
    proxy: DockerProxy,
    tmp_path: Path,
    bad_containers: dict[str, str],
    hardened_container: str,
    docker_client: docker.DockerClient,
) -> None:
    host_id = bad_containers["host"]
    image_id = str(docker_client.api.inspect_container(host_id)["Image"])
    # A container's one inspect resolves the argument and feeds the audit (a drop there fails the engine's lookup);
    # the audit's own reads are its image's: drop the connection on that image's history.
    proxy.hook = _drop_nth(f"/images/{image_id}/history", 1)
    out = tmp_path / "report.json"
    run = cli.run(
        "scan",
        f"container:{host_id}",
        f"container:{hardened_container}",
        "--no-trivy",
        "-f",
        "json",
        "-o",
        str(out),
        env=cli.private_env(tmp_path, DOCKER_HOST=proxy.url),
    )
    assert run.returncode == 3, run.stderr
    _no_traceback(run.stderr)
    report = cli.load_report(out)
    # The two containers, plus the images they run (targets of their own).
    assert [t["kind"] for t in report["targets"]].count("container") == 2
    (failed,) = [t for t in report["targets"] if t.get("errors")]
    assert failed["kind"] == "image" and failed["id"] == image_id
    [error] = failed["errors"]
    assert error["stage"] == "collect"
    assert "lost the connection to the engine (it closed the connection mid-request)" in error["message"]
    assert all(t["scans"]["checklist"] == "ok" for t in report["targets"] if t is not failed)


def test_engine_error_on_one_image_fails_that_image_only(
    proxy: DockerProxy, tmp_path: Path, docker_client: docker.DockerClient, bad_image: str, good_image: str
) -> None:
    bad_id = str(docker_client.api.inspect_image(bad_image)["Id"])
    # FAULT INJECTION: the engine answers 500 for the bad image's history, as a daemon with a broken store does.
    proxy.hook = lambda request, index: (
        Respond(500, "layer store is corrupted") if request.path == f"/images/{bad_id}/history" else FORWARD
    )
    out = tmp_path / "report.json"
    run = cli.run(
        "scan",
        f"image:{bad_image}",
        f"image:{good_image}",
        "--no-trivy",
        "-f",
        "json",
        "-o",
        str(out),
        env=cli.private_env(tmp_path, DOCKER_HOST=proxy.url),
    )
    assert run.returncode == 3, run.stderr
    _no_traceback(run.stderr)
    report = cli.load_report(out)
    failed = [t for t in report["targets"] if t.get("errors")]
    assert [t["errors"] for t in failed] == [
        [{"stage": "collect", "message": f"reading history of {bad_id}: layer store is corrupted"}]
    ]
    assert len(report["targets"]) == 2


def test_connection_dropped_while_resolving_fails_the_engine_with_a_report(
    proxy: DockerProxy, tmp_path: Path, bad_containers: dict[str, str]
) -> None:
    host_id = bad_containers["host"]
    proxy.hook = _drop_nth(f"/containers/{host_id}/json", 1)
    out = tmp_path / "report.json"
    run = cli.run(
        "scan",
        f"container:{host_id}",
        "-f",
        "json",
        "-o",
        str(out),
        env=cli.private_env(tmp_path, DOCKER_HOST=proxy.url),
    )
    assert run.returncode == 3, run.stderr
    _no_traceback(run.stderr)
    report = cli.load_report(out)
    assert report["targets"] == []
    (error,) = report["errors"]
    assert error["stage"] == "engine"
    assert f"looking up '{host_id}': lost the connection to the engine" in error["message"]


@pytest.fixture(scope="module")
def test_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sshd_harness.SshdInfo]:
    """The sshd scripts/test started, else one of this module's own."""
    yield from sshd_harness.provide(tmp_path_factory, "reliability-sshd")


def _ssh_children(pid: int) -> list[int]:
    """The ssh processes `pid` started (the tunnel)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and comm == "ssh":
            found.append(int(entry.name))
    return found


@pytest.mark.ssh
def test_ssh_tunnel_dropping_mid_audit_gives_a_partial_report_and_exit_3(
    test_sshd: sshd_harness.SshdInfo, short_dir: Path, tmp_path: Path, bad_image: str, good_image: str
) -> None:
    pids: list[int] = []
    owner: dict[str, int] = {}

    def kill_tunnel_at_first_history(request: Request, index: int) -> Action:
        # The remote end of the tunnel is this proxy; it kills the local ssh process and drops the request.
        if request.path.endswith("/history") and not pids:
            pids.extend(_ssh_children(owner["pid"]))
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            return Drop()
        return FORWARD

    proxy = DockerProxy(short_dir / "p.sock", hook=kill_tunnel_at_first_history)
    out = tmp_path / "report.json"
    env = cli.private_env(tmp_path, DOCKAUDIT_SSH_COMMAND=test_sshd.ssh_command, TMPDIR=str(short_dir))
    argv = cli.dockaudit_argv(
        "scan",
        "-H",
        f"{test_sshd.url}{proxy.socket_path}",
        f"image:{bad_image}",
        f"image:{good_image}",
        "--host-checks",
        "--no-trivy",
        "--concurrency",
        "1",
        "-f",
        "json",
        "-o",
        str(out),
    )
    try:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        owner["pid"] = proc.pid
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        proxy.close()
    assert pids, "the tunnel's ssh process was not found"
    assert proc.returncode == 3, stderr
    _no_traceback(stderr)
    report = cli.load_report(out)
    assert len(report["targets"]) == 3
    failures = _failures(report)
    assert failures and all("\n" not in message for _, _, message in failures), failures
    assert any(
        "lost the connection to the engine" in message or "not running" in message for _, _, message in failures
    ), failures
    # The tunnel's private directory is gone with it.
    assert not [p for p in short_dir.iterdir() if p.name.startswith("dockaudit-ssh-")]
    assert stdout == ""


def test_the_session_turns_a_dead_engine_into_one_line_errors(
    proxy: DockerProxy, tmp_path: Path, bad_image: str
) -> None:
    """The audit session the TUI uses, after the engine went away: errors it can show, never a raw transport
    exception."""
    dead = threading.Event()
    proxy.hook = lambda request, index: Drop() if dead.is_set() else FORWARD
    options = AuditOptions(settings=Settings(), scanners=frozenset({"checklist"}), config_dir=tmp_path)
    session = open_session(options, host=proxy.url)
    try:
        assert session.inventory().images
        dead.set()
        with pytest.raises(EngineError) as caught:
            session.inventory()
        assert str(caught.value) == (
            "listing images: lost the connection to the engine (it closed the connection mid-request)"
        )
        result, facts = session.checklist(ResolvedTarget(TargetKind.IMAGE, bad_image, "local", bad_image))
        assert facts is None
        assert [(e.stage, e.message) for e in result.errors] == [
            (
                "collect",
                f"inspecting image {bad_image}: lost the connection to the engine "
                "(it closed the connection mid-request)",
            )
        ]
        host, _ = session.checklist(ResolvedTarget(TargetKind.HOST, "local", "local", "local"))
        assert host.errors and "lost the connection to the engine" in host.errors[0].message
    finally:
        session.close()
