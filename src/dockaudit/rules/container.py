"""DA4xx: what a running container shares with its host (`docker inspect`): privileged mode, the engine socket,
host mounts and namespaces, devices, mount propagation and published ports; and the helpers every DA4xx module uses.

What confines the container is in `container_confinement`, how it is run and kept in `container_operations`, and
the rules that read `docker top` (the process table) in `processes`. The predicates here are shared with the
Compose rules, which judge the same settings in a Compose file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dockaudit.facts.container import ContainerFacts
from dockaudit.model import Fix, Location, Severity
from dockaudit.rules.fixes import runtime_fix
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, rule

SOCKET_NAMES = ("/var/run/docker.sock", "/run/docker.sock")
_SOCKET_RUNTIMES = ("docker", "containerd", "podman")
_SENSITIVE_EXACT = frozenset(
    {"/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/root", "/var/run", "/run", "/var/lib/docker"}
)
# Anything below these exposes the host just as much as the directory itself.
_SENSITIVE_TREES = ("/var/lib/docker/", "/proc/", "/sys/", "/boot/", "/root/")
# What `-p PORT:PORT` without an address binds to; the rule looks for it, it never binds.
ALL_INTERFACES = ("", "0.0.0.0", "::", "[::]")  # noqa: S104

LEAST_PRIVILEGE = Section.LEAST_PRIVILEGE.value


def is_root_user(user: str) -> bool:
    name = user.strip().split(":", 1)[0]
    return name in ("", "root", "0")


def flag_fix(summary: str, flag: str, compose: dict[str, object]) -> Fix:
    return runtime_fix(summary, [flag], compose)


def removal_fix(summary: str, flags: str, compose_lines: Sequence[str]) -> Fix:
    """A fix that takes a setting away: the flags to drop and the Compose lines to delete."""
    deleted = "\n".join(f"    # {line}" for line in compose_lines)
    return Fix(
        summary=summary,
        run=f"remove: {flags}",
        compose="services:\n  app:\n    # remove these lines:\n" + deleted,
    )


@rule(
    id="DA401",
    slug="privileged",
    title="Container runs privileged",
    severity=Severity.CRITICAL,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "A privileged container has every capability and every host device, and no seccomp or AppArmor "
        "confinement: root in it is root on the host."
    ),
    references=("CIS 5.5",),
    fix=lambda f, c: flag_fix(
        "Drop --privileged; add back only the capability or device the app needs.",
        "--cap-drop ALL --cap-add <NEEDED_CAP>",
        {"privileged": False, "cap_drop": ["ALL"]},
    ),
)
def privileged(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """HostConfig.Privileged is set."""
    return [Hit("HostConfig.Privileged is true")] if facts.host_config.privileged else []


def is_engine_socket(source: str) -> bool:
    if source in SOCKET_NAMES:
        return True
    return source.endswith(".sock") and any(r in source.lower() for r in _SOCKET_RUNTIMES)


@rule(
    id="DA402",
    slug="docker-socket-mounted",
    title="Container engine socket mounted",
    severity=Severity.CRITICAL,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "Whoever can talk to the engine socket can start a privileged container with the host's root "
        "filesystem mounted: the socket is root on the host, read-only or not."
    ),
    references=("CIS 5.32",),
    fix=lambda f, c: removal_fix(
        "Remove the socket mount; if the app must manage containers, put a filtering proxy in front of the "
        "socket or use a dedicated, rootless engine.",
        "-v /var/run/docker.sock:/var/run/docker.sock",
        ["volumes:", "  - /var/run/docker.sock:/var/run/docker.sock"],
    ),
)
def docker_socket_mounted(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """A mount whose source is the Docker, containerd or Podman socket."""
    return [
        Hit(
            f"{m.source} is mounted at {m.destination} ({'read-write' if m.read_write else 'read-only'})",
            Location(path=m.destination),
        )
        for m in facts.mounts
        if is_engine_socket(m.source)
    ]


def _normalise(path: str) -> str:
    path = re.sub(r"/+", "/", path)
    return path.rstrip("/") or "/"


def is_sensitive_host_path(source: str) -> bool:
    path = _normalise(source)
    return path in _SENSITIVE_EXACT or any(path.startswith(t) for t in _SENSITIVE_TREES)


@rule(
    id="DA403",
    slug="sensitive-host-mount",
    title="Sensitive host directory mounted",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "Host system directories give the container the host's configuration, credentials or kernel "
        "interfaces; written to, they let it take over the host. Read-only still leaks."
    ),
    references=("CIS 5.6",),
    fix=lambda f, c: flag_fix(
        "Mount only the specific file or a named volume the app needs, read-only.",
        "-v <volume>:<path>:ro",
        {"volumes": ["<volume>:<path>:ro"]},
    ),
)
def sensitive_host_mount(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """A bind mount of a host system directory: high read-write, medium read-only."""
    return [
        Hit(
            f"host {m.source} is bind-mounted at {m.destination} ({'read-write' if m.read_write else 'read-only'})",
            Location(path=m.destination),
            severity=Severity.HIGH if m.read_write else Severity.MEDIUM,
        )
        for m in facts.mounts
        if m.type == "bind" and is_sensitive_host_path(m.source) and not is_engine_socket(m.source)
    ]


@rule(
    id="DA404",
    slug="host-network",
    title="Container shares the host network",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "With the host's network namespace the container sees every host interface and can bind or sniff "
        "any host port, bypassing Docker's network isolation."
    ),
    references=("CIS 5.10",),
    fix=lambda f, c: flag_fix(
        "Use a bridge or user-defined network and publish only the ports needed.",
        "--network <app-net> -p 127.0.0.1:<port>:<port>",
        {"networks": ["app-net"]},
    ),
)
def host_network(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """NetworkMode is host."""
    mode = facts.host_config.network_mode
    return [Hit(f"HostConfig.NetworkMode is {mode}")] if mode == "host" else []


@rule(
    id="DA405",
    slug="host-pid",
    title="Container shares the host PID namespace",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "In the host's PID namespace the container sees and can signal every host process, and reads their "
        "environments through /proc."
    ),
    references=("CIS 5.16",),
    fix=lambda f, c: removal_fix(
        "Keep the container in its own PID namespace (the default).", "--pid host", ["pid: host"]
    ),
)
def host_pid(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """PidMode is host."""
    mode = facts.host_config.pid_mode
    return [Hit(f"HostConfig.PidMode is {mode}")] if mode == "host" else []


@rule(
    id="DA406",
    slug="host-ipc",
    title="Container shares the host IPC namespace",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale="The host's IPC namespace exposes its shared memory segments and semaphores to the container.",
    references=("CIS 5.17",),
    fix=lambda f, c: flag_fix(
        "Remove --ipc host (use --ipc shareable / container:<name> between cooperating containers).",
        "--ipc private",
        {"ipc": "private"},
    ),
)
def host_ipc(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """IpcMode is host."""
    mode = facts.host_config.ipc_mode
    return [Hit(f"HostConfig.IpcMode is {mode}")] if mode == "host" else []


@rule(
    id="DA407",
    slug="host-uts-userns",
    title="Container shares the host UTS or user namespace",
    severity=Severity.LOW,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "The host UTS namespace lets the container change the host's hostname; `--userns host` opts out of "
        "the daemon's user-namespace remapping, so root in the container is root on the host."
    ),
    references=("CIS 5.21", "CIS 5.31"),
    fix=lambda f, c: removal_fix(
        "Keep the container's own UTS namespace and the daemon's user-namespace remapping.",
        "--uts host --userns host",
        ["uts: host", "userns_mode: host"],
    ),
)
def host_uts_userns(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """UTSMode or UsernsMode is host."""
    hc = facts.host_config
    hits = []
    if hc.uts_mode == "host":
        hits.append(Hit("HostConfig.UTSMode is host"))
    if hc.userns_mode == "host":
        hits.append(Hit("HostConfig.UsernsMode is host"))
    return hits


@rule(
    id="DA425",
    slug="host-devices",
    title="Host devices exposed",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale="Host devices give direct access to hardware or kernel interfaces that bypass the container's isolation.",
    references=("CIS 5.18",),
    fix=lambda f, c: removal_fix(
        "Remove the device (or expose only the one device node needed, read-only where possible).",
        "--device ... / --device-cgroup-rule 'a *:* rwm'",
        ["devices:", "  - <host device>:<container device>"],
    ),
)
def host_devices(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """HostConfig.Devices is non-empty, or a device cgroup rule allows all devices."""
    hits = [Hit(f"HostConfig.Devices has {d}", Location(path=d.split(":", 1)[0])) for d in facts.host_config.devices]
    hits += [
        Hit(f"DeviceCgroupRules allows all devices: {r}")
        for r in facts.host_config.device_cgroup_rules
        if r.strip().split(" ", 1)[0] == "a"
    ]
    return hits


@rule(
    id="DA426",
    slug="shared-mount-propagation",
    title="Mount with shared propagation",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale="Shared propagation lets mounts made inside the container appear on the host, and the reverse.",
    references=("CIS 5.20",),
    fix=lambda f, c: Fix(
        summary="Use private propagation (the default).",
        run="-v <src>:<dst>:rprivate",
        compose=(
            "services:\n  app:\n    volumes:\n      - type: bind\n        source: <src>\n        target: <dst>\n"
            "        bind:\n          propagation: rprivate"
        ),
    ),
)
def shared_mount_propagation(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """A mount's propagation is shared or rshared."""
    return [
        Hit(f"{m.source} at {m.destination} has propagation {m.propagation}", Location(path=m.destination))
        for m in facts.mounts
        if m.propagation in ("shared", "rshared")
    ]


@rule(
    id="DA427",
    slug="ports-on-all-interfaces",
    title="Port published on all interfaces",
    severity=Severity.LOW,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "A port published without a host IP listens on every interface, and Docker's iptables rules bypass "
        "the host firewall; bind to 127.0.0.1 behind a proxy unless the port is meant to be public."
    ),
    references=("CIS 5.14",),
    fix=lambda f, c: flag_fix(
        "Bind published ports to a specific interface.",
        "-p 127.0.0.1:<host_port>:<container_port>",
        {"ports": ["127.0.0.1:8080:8080"]},
    ),
)
def ports_on_all_interfaces(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """A published port bound to 0.0.0.0/:: (info for 80/443)."""
    # With IPv6 on, one `-p 8080:80` gives a 0.0.0.0 and a :: binding: that is one finding.
    seen: dict[tuple[str, int], list[str]] = {}
    for p in facts.host_config.port_bindings:
        if p.host_ip in ALL_INTERFACES:
            seen.setdefault((p.container_port, p.host_port), []).append(p.host_ip or "*")
    return [
        Hit(
            f"{port} is published on {' and '.join(ips)} port {host_port}",
            Location(path=port),
            severity=Severity.INFO if host_port in (80, 443) else None,
        )
        for (port, host_port), ips in seen.items()
    ]


@rule(
    id="DA428",
    slug="privileged-port-mapped",
    title="Privileged host port published",
    severity=Severity.LOW,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale="Host ports below 1024 are reserved for system services; publishing them usually belongs to a proxy.",
    references=("CIS 5.8",),
    fix=lambda f, c: flag_fix("Publish a port above 1023.", "-p 8080:<container_port>", {"ports": ["8080:8080"]}),
)
def privileged_port_mapped(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """A published host port is below 1024."""
    ports = dict.fromkeys(
        (p.container_port, p.host_port) for p in facts.host_config.port_bindings if 0 < p.host_port < 1024
    )
    return [Hit(f"{port} is published on host port {host_port}", Location(path=port)) for port, host_port in ports]
