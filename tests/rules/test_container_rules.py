"""DA4xx over constructed container facts: each rule fires on its flaw and stays quiet otherwise."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from dockaudit.facts.container import ContainerFacts, ContainerState, Mount, PortBinding, Process
from dockaudit.facts.image import Healthcheck
from dockaudit.model import Severity, Status
from dockaudit.rules import load_all
from dockaudit.rules.registry import RULES
from tests.rules.conftest import make_container_facts, make_host_config, nv, run_rule

PID = 4242


def proc(pid: int, ppid: int, command: str, uid: str = "10001", state: str = "S") -> Process:
    return Process(pid=pid, ppid=ppid, uid=uid, state=state, command=command)


def app_tree(*extra: Process, pid1: str = "/app/server --port 8080", uid: str = "10001") -> tuple[Process, ...]:
    """A `docker top` table: the container's PID 1 under containerd-shim, plus `extra` rows."""
    return (proc(PID, 900, pid1, uid=uid), *extra)


def hardened(**overrides: Any) -> ContainerFacts:
    """The builder's hardened container, with a one-process tree so `docker top` rules can run."""
    overrides.setdefault("processes", app_tree())
    return make_container_facts(**overrides)


def with_hc(**hc: Any) -> ContainerFacts:
    return hardened(host_config=make_host_config(**hc))


def fails(rule_id: str, facts: ContainerFacts) -> list[Any]:
    findings = run_rule(rule_id, facts)
    assert findings, f"{rule_id} should fail"
    assert all(f.status is Status.FAIL for f in findings)
    return findings


def passes(rule_id: str, facts: ContainerFacts) -> None:
    assert run_rule(rule_id, facts) == [], f"{rule_id} should pass"


@pytest.mark.parametrize("rule_id", [f"DA4{n:02d}" for n in range(1, 33)])
def test_hardened_container_passes(rule_id: str) -> None:
    load_all()
    assert RULES[rule_id].scope.value == "container"
    assert run_rule(rule_id, hardened()) == []


POSITIVE: list[tuple[str, ContainerFacts, Severity]] = [
    ("DA401", with_hc(privileged=True), Severity.CRITICAL),
    (
        "DA402",
        hardened(mounts=(Mount("bind", "/var/run/docker.sock", "/var/run/docker.sock", False),)),
        Severity.CRITICAL,
    ),
    ("DA402", hardened(mounts=(Mount("bind", "/run/user/1000/podman/podman.sock", "/sock", True),)), Severity.CRITICAL),
    ("DA403", hardened(mounts=(Mount("bind", "/etc", "/host-etc", True),)), Severity.HIGH),
    ("DA403", hardened(mounts=(Mount("bind", "/", "/host", False),)), Severity.MEDIUM),
    ("DA403", hardened(mounts=(Mount("bind", "/var/lib/docker/volumes", "/v", True),)), Severity.HIGH),
    ("DA404", with_hc(network_mode="host"), Severity.HIGH),
    ("DA405", with_hc(pid_mode="host"), Severity.HIGH),
    ("DA406", with_hc(ipc_mode="host"), Severity.MEDIUM),
    ("DA407", with_hc(uts_mode="host"), Severity.LOW),
    ("DA407", with_hc(userns_mode="host"), Severity.LOW),
    ("DA408", hardened(user="", image_user="", processes=app_tree(uid="root")), Severity.HIGH),
    ("DA408", hardened(user="0:0", processes=None), Severity.HIGH),
    ("DA408", hardened(user="app", processes=app_tree(uid="root")), Severity.HIGH),
    ("DA409", with_hc(readonly_rootfs=False), Severity.MEDIUM),
    ("DA410", with_hc(cap_drop=()), Severity.MEDIUM),
    ("DA410", with_hc(cap_drop=("NET_RAW", "CHOWN")), Severity.MEDIUM),
    ("DA411", with_hc(cap_add=("SYS_ADMIN",)), Severity.HIGH),
    ("DA411", with_hc(cap_add=("CAP_NET_ADMIN",)), Severity.HIGH),
    ("DA411", with_hc(cap_add=("all",)), Severity.HIGH),
    ("DA412", with_hc(security_opt=()), Severity.MEDIUM),
    ("DA412", with_hc(security_opt=("no-new-privileges=false",)), Severity.MEDIUM),
    ("DA412", with_hc(security_opt=("no-new-privileges:false",)), Severity.MEDIUM),
    ("DA413", with_hc(security_opt=("no-new-privileges", "seccomp=unconfined")), Severity.HIGH),
    ("DA413", with_hc(security_opt=("no-new-privileges", "apparmor:unconfined")), Severity.HIGH),
    ("DA414", with_hc(memory=0), Severity.MEDIUM),
    ("DA415", with_hc(nano_cpus=0), Severity.LOW),
    ("DA415", with_hc(nano_cpus=0, cpu_shares=1024), Severity.LOW),
    ("DA416", with_hc(pids_limit=None), Severity.LOW),
    ("DA416", with_hc(pids_limit=-1), Severity.LOW),
    ("DA416", with_hc(pids_limit=0), Severity.LOW),
    (
        "DA417",
        hardened(image_healthcheck=None, state=ContainerState("running", True, pid=PID)),
        Severity.MEDIUM,
    ),
    (
        "DA417",
        hardened(healthcheck=Healthcheck(test=("NONE",)), state=ContainerState("running", True, pid=PID)),
        Severity.MEDIUM,
    ),
    (
        "DA417",
        hardened(state=ContainerState("running", True, pid=PID, health_status="unhealthy")),
        Severity.HIGH,
    ),
    (
        "DA418",
        hardened(
            host_config=make_host_config(restart_policy="always"),
            state=ContainerState("running", True, pid=PID, health_status="healthy", restart_count=6),
        ),
        Severity.LOW,
    ),
    ("DA418", with_hc(restart_policy="on-failure", restart_max_retries=0), Severity.LOW),
    ("DA418", with_hc(restart_policy="on-failure", restart_max_retries=10), Severity.LOW),
    ("DA419", with_hc(log_options=()), Severity.MEDIUM),
    ("DA419", with_hc(log_driver="local", log_options=(("max-file", "3"),)), Severity.MEDIUM),
    ("DA419", with_hc(log_driver="none", log_options=()), Severity.MEDIUM),
    (
        "DA420",
        hardened(processes=app_tree(proc(PID + 1, PID, "sleep 3600"), pid1="/bin/sh -c sleep 3600; exit 0")),
        Severity.MEDIUM,
    ),
    ("DA420", hardened(processes=app_tree(pid1="bash -c exec-app")), Severity.MEDIUM),
    ("DA421", hardened(processes=app_tree(proc(PID + 1, PID, "/app/worker"))), Severity.LOW),
    ("DA421", hardened(processes=app_tree(proc(PID + 1, PID, "[worker] <defunct>", state="Z"))), Severity.MEDIUM),
    ("DA422", hardened(processes=app_tree(pid1="/usr/bin/python3 /usr/bin/supervisord -n")), Severity.LOW),
    (
        "DA422",
        hardened(
            processes=app_tree(
                proc(PID + 1, PID, "/usr/sbin/sshd -D"),
                proc(PID + 2, PID, "nginx: master process"),
                pid1="/sbin/docker-init -- start.sh",
            )
        ),
        Severity.LOW,
    ),
    ("DA423", hardened(env=("API_TOKEN=abcdefghijklmnop",)), Severity.HIGH),
    ("DA423", hardened(env=(nv("GITHUB", "ghp_" + "A" * 36),)), Severity.HIGH),
    ("DA424", hardened(image_ref="myapp:latest"), Severity.MEDIUM),
    ("DA424", hardened(image_ref="registry:5000/myapp"), Severity.MEDIUM),
    ("DA424", hardened(image_ref="myapp:1.2.3", tag_drift=True), Severity.MEDIUM),
    ("DA425", with_hc(devices=("/dev/null:/dev/xnull:rwm",)), Severity.HIGH),
    ("DA425", with_hc(device_cgroup_rules=("a *:* rwm",)), Severity.HIGH),
    ("DA426", hardened(mounts=(Mount("bind", "/srv/data", "/data", True, propagation="rshared"),)), Severity.MEDIUM),
    ("DA427", with_hc(port_bindings=(PortBinding("8080/tcp", "0.0.0.0", 8080),)), Severity.LOW),
    ("DA427", with_hc(port_bindings=(PortBinding("8080/tcp", "::", 8080),)), Severity.LOW),
    ("DA427", with_hc(port_bindings=(PortBinding("8443/tcp", "", 443),)), Severity.INFO),
    ("DA428", with_hc(port_bindings=(PortBinding("8080/tcp", "127.0.0.1", 80),)), Severity.LOW),
    ("DA429", with_hc(cgroupns_mode="host"), Severity.LOW),
    ("DA429", with_hc(cgroup_parent="/custom"), Severity.LOW),
    ("DA430", with_hc(masked_paths=(), readonly_paths=()), Severity.HIGH),
    ("DA430", with_hc(readonly_paths=()), Severity.HIGH),
    ("DA431", with_hc(oom_kill_disable=True), Severity.MEDIUM),
    ("DA431", with_hc(oom_kill_disable=True, memory=0), Severity.HIGH),
    (
        "DA432",
        hardened(state=ContainerState("running", True, pid=PID, oom_killed=True, health_status="healthy")),
        Severity.HIGH,
    ),
    (
        "DA432",
        hardened(state=ContainerState("running", True, pid=PID, restart_count=6, health_status="healthy")),
        Severity.HIGH,
    ),
]


@pytest.mark.parametrize(
    ("rule_id", "facts", "severity"), POSITIVE, ids=[f"{p[0]}-{i}" for i, p in enumerate(POSITIVE)]
)
def test_flaw_is_found_with_its_severity(rule_id: str, facts: ContainerFacts, severity: Severity) -> None:
    findings = fails(rule_id, facts)
    assert {f.severity for f in findings} == {severity}
    assert all(f.fix is not None and (f.fix.run or f.fix.compose) for f in findings)


NEGATIVE: list[tuple[str, ContainerFacts]] = [
    ("DA402", hardened(mounts=(Mount("bind", "/srv/app.sock", "/app.sock", True),))),
    ("DA403", hardened(mounts=(Mount("bind", "/etc/localtime", "/etc/localtime", False),))),
    ("DA403", hardened(mounts=(Mount("volume", "/var/lib/docker/volumes/x/_data", "/data", True),))),
    ("DA408", hardened(user="", image_user="", processes=app_tree(uid="10001"))),
    ("DA408", hardened(user="", image_user="10001", processes=None)),
    ("DA408", hardened(user="", processes=app_tree(proc(5000, 901, "sh", uid="root")))),
    ("DA410", with_hc(cap_drop=("all",))),
    ("DA410", with_hc(cap_drop=("CAP_ALL",))),
    ("DA411", with_hc(cap_add=("NET_BIND_SERVICE", "CHOWN"))),
    ("DA412", with_hc(security_opt=("no-new-privileges",))),
    ("DA412", with_hc(security_opt=("no-new-privileges=true",))),
    ("DA412", with_hc(security_opt=("NO-NEW-PRIVILEGES:TRUE",))),
    ("DA413", with_hc(security_opt=("no-new-privileges", "seccomp=/etc/profile.json", "apparmor=docker-default"))),
    ("DA415", with_hc(nano_cpus=0, cpu_quota=50000)),
    ("DA415", with_hc(nano_cpus=0, cpu_shares=512)),
    ("DA417", hardened(state=ContainerState("created", False))),
    (
        "DA417",
        hardened(image_healthcheck=None, state=ContainerState("running", True, pid=PID, health_status="starting")),
    ),
    (
        "DA418",
        hardened(
            host_config=make_host_config(restart_policy="always"),
            state=ContainerState("running", True, pid=PID, health_status="healthy", restart_count=5),
        ),
    ),
    ("DA418", with_hc(restart_policy="no", restart_max_retries=0)),
    ("DA419", with_hc(log_driver="syslog", log_options=())),
    ("DA419", with_hc(log_driver="local", log_options=(("max-size", "20m"),))),
    ("DA420", hardened(processes=app_tree(proc(PID + 1, PID, "/bin/sh -c backup.sh")))),
    (
        "DA421",
        hardened(processes=app_tree(proc(PID + 1, PID, "/app/server --worker"), pid1="/sbin/docker-init -- /app")),
    ),
    ("DA421", hardened(processes=app_tree(proc(PID + 1, PID, "/app/worker"), pid1="/usr/bin/tini -- /app/server"))),
    ("DA421", hardened(processes=app_tree(proc(PID + 1, PID, "/app/worker")), host_config=make_host_config(init=True))),
    ("DA422", hardened(processes=app_tree(proc(PID + 1, PID, "nginx: worker process"), pid1="nginx: master process"))),
    (
        "DA423",
        hardened(
            env=(
                "API_TOKEN=${TOKEN}",
                "GPG_KEY=ABCDEF0123456789ABCD",
                "PASSWORD_FILE=/run/secrets/pw",
                "TOKEN_URL=https://auth.example.com/token",
                "PYTHON_VERSION=3.12.1",
            )
        ),
    ),
    ("DA424", hardened(image_ref="myapp:1.2.3", tag_drift=False)),
    ("DA424", hardened(image_ref="myapp:1.2.3", tag_drift=None)),
    ("DA424", hardened(image_ref="myapp:latest@sha256:" + "2" * 64)),
    ("DA424", hardened(image_ref="sha256:" + "1" * 64)),
    ("DA424", hardened(image_ref="111111111111")),
    ("DA425", with_hc(device_cgroup_rules=("c 1:3 mr",))),
    ("DA426", hardened(mounts=(Mount("bind", "/srv/data", "/data", True, propagation="rprivate"),))),
    ("DA427", with_hc(port_bindings=(PortBinding("8080/tcp", "127.0.0.1", 8080),))),
    ("DA428", with_hc(port_bindings=(PortBinding("80/tcp", "0.0.0.0", 8080),))),
    ("DA430", with_hc(masked_paths=None, readonly_paths=None)),
    ("DA430", with_hc(masked_paths=("/proc/kcore",), readonly_paths=("/proc/sys",))),
    ("DA430", with_hc(privileged=True, masked_paths=(), readonly_paths=())),
]


@pytest.mark.parametrize(("rule_id", "facts"), NEGATIVE, ids=[f"{n[0]}-{i}" for i, n in enumerate(NEGATIVE)])
def test_safe_setting_passes(rule_id: str, facts: ContainerFacts) -> None:
    passes(rule_id, facts)


@pytest.mark.parametrize("rule_id", ["DA420", "DA421", "DA422"])
def test_process_rules_skip_when_docker_top_cannot_run(rule_id: str) -> None:
    facts = hardened(
        state=ContainerState("created", False), processes=None, processes_skip_reason="container is not running"
    )
    (finding,) = run_rule(rule_id, facts)
    assert finding.status is Status.SKIPPED
    assert "not running" in finding.evidence


def test_host_pid_container_is_not_blamed_for_the_hosts_sshd() -> None:
    # With --pid host, a process table may show host daemons; only State.Pid's descendants are the container's.
    host_rows = (
        proc(1, 0, "/sbin/init", uid="root"),
        proc(700, 1, "sshd: /usr/sbin/sshd -D", uid="root"),
        proc(800, 1, "/usr/sbin/cron -f", uid="root"),
    )
    facts = hardened(host_config=make_host_config(pid_mode="host"), processes=(*host_rows, *app_tree()))
    passes("DA422", facts)
    passes("DA408", facts)
    passes("DA421", facts)
    assert [f.rule_id for f in run_rule("DA405", facts)] == ["DA405"]


def test_pid1_is_the_row_whose_pid_is_state_pid() -> None:
    # docker top prints host PIDs; a shell that is not PID 1 must not count.
    facts = hardened(processes=(proc(10, 1, "/bin/sh -c other"), *app_tree()))
    passes("DA420", facts)


def test_secret_evidence_is_redacted() -> None:
    secret = "s3cr3t-value-that-must-not-leak"
    (finding,) = run_rule("DA423", hardened(env=(f"DB_PASSWORD={secret}",)))
    assert secret not in repr(finding)
    assert "DB_PASSWORD" in finding.evidence


def test_runs_as_root_evidence_names_the_source_and_top() -> None:
    (finding,) = run_rule("DA408", hardened(user="", image_user="root", processes=app_tree(uid="root")))
    assert "image Config.User is root" in finding.evidence
    assert "docker top" in finding.evidence


def test_fixes_give_flag_and_compose() -> None:
    (finding,) = run_rule("DA410", with_hc(cap_drop=()))
    assert finding.fix is not None
    assert finding.fix.run == "--cap-drop ALL"
    assert "cap_drop:" in finding.fix.compose and "- ALL" in finding.fix.compose


def test_rule_severity_defaults_match_the_catalog() -> None:
    expected = {
        "DA401": "critical",
        "DA402": "critical",
        "DA403": "high",
        "DA404": "high",
        "DA405": "high",
        "DA406": "medium",
        "DA407": "low",
        "DA408": "high",
        "DA409": "medium",
        "DA410": "medium",
        "DA411": "high",
        "DA412": "medium",
        "DA413": "high",
        "DA414": "medium",
        "DA415": "low",
        "DA416": "low",
        "DA417": "medium",
        "DA418": "low",
        "DA419": "medium",
        "DA420": "medium",
        "DA421": "low",
        "DA422": "low",
        "DA423": "high",
        "DA424": "medium",
        "DA425": "high",
        "DA426": "medium",
        "DA427": "low",
        "DA428": "low",
        "DA429": "low",
        "DA430": "high",
        "DA431": "medium",
        "DA432": "high",
    }
    run_rule("DA401", hardened())
    assert {rid: RULES[rid].severity.label for rid in expected} == expected


def test_created_container_without_state_pid_is_not_confirmed_root() -> None:
    facts = replace(hardened(user="root"), processes=None, state=ContainerState("created", False))
    (finding,) = run_rule("DA408", facts)
    assert "not confirmed" in finding.evidence


def test_busybox_applets_are_named_by_their_applet() -> None:
    tree = app_tree(proc(PID + 1, PID, "busybox httpd -f -p 80"), proc(PID + 2, PID, "/bin/busybox crond -f"))
    (finding,) = run_rule("DA422", hardened(processes=tree))
    assert finding.evidence == "several servers running: crond, httpd"


def test_ipv4_and_ipv6_bindings_of_one_port_are_one_finding() -> None:
    bindings = (PortBinding("8080/tcp", "0.0.0.0", 8080), PortBinding("8080/tcp", "::", 8080))
    (finding,) = run_rule("DA427", with_hc(port_bindings=bindings))
    assert finding.evidence == "8080/tcp is published on 0.0.0.0 and :: port 8080"


def test_removal_fixes_say_what_to_delete() -> None:
    (finding,) = run_rule("DA411", with_hc(cap_add=("SYS_ADMIN", "CHOWN")))
    assert finding.fix is not None
    assert finding.fix.run == "remove: --cap-add SYS_ADMIN"
    assert "#   - SYS_ADMIN" in finding.fix.compose
