"""DA4xx: runtime rules over a container's inspect data (configuration, mounts, ports, state).

The rules that read `docker top` (the process table) live in `rules/processes.py`. The predicates here are
shared with the Compose rules, which judge the same settings in a Compose file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dockaudit.facts import ContainerFacts
from dockaudit.model import Fix, Location, Severity
from dockaudit.rules.fixes import compose_service, runtime_fix
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, rule

SOCKET_NAMES = ("/var/run/docker.sock", "/run/docker.sock")
_SOCKET_RUNTIMES = ("docker", "containerd", "podman")
_SENSITIVE_EXACT = frozenset(
    {"/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/root", "/var/run", "/run", "/var/lib/docker"}
)
# Anything below these exposes the host just as much as the directory itself.
_SENSITIVE_TREES = ("/var/lib/docker/", "/proc/", "/sys/", "/boot/", "/root/")
DANGEROUS_CAPS = frozenset(
    {"ALL", "SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "NET_ADMIN", "DAC_READ_SEARCH", "SYS_RAWIO", "BPF", "PERFMON"}
)
# What `-p PORT:PORT` without an address binds to; the rule looks for it, it never binds.
ALL_INTERFACES = ("", "0.0.0.0", "::", "[::]")  # noqa: S104
UNCONFINED = re.compile(r"^(seccomp|apparmor)[:=]unconfined$", re.IGNORECASE)
NO_NEW_PRIVILEGES = re.compile(r"^no-new-privileges(?:[:=]true)?$", re.IGNORECASE)

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
    id="DA409",
    slug="writable-rootfs",
    title="Root filesystem is writable",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
    section=Section.READ_ONLY_ROOTFS.value,
    rationale=(
        "A writable root filesystem lets an intruder drop tools and persist changes; a read-only one with "
        "tmpfs for scratch paths keeps the container identical to its image."
    ),
    references=("seed read_only: true", "CIS 5.13"),
    fix=lambda f, c: flag_fix(
        "Run with a read-only root filesystem and tmpfs for the paths the app writes.",
        "--read-only --tmpfs /tmp",
        {"read_only": True, "tmpfs": ["/tmp"]},
    ),
)
def writable_rootfs(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """HostConfig.ReadonlyRootfs is false."""
    return [] if facts.host_config.readonly_rootfs else [Hit("HostConfig.ReadonlyRootfs is false")]


def capability_name(name: str) -> str:
    upper = name.strip().upper()
    return upper[4:] if upper.startswith("CAP_") else upper


@rule(
    id="DA410",
    slug="capabilities-not-dropped",
    title="Capabilities not dropped",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "Docker's default set keeps 14 capabilities (CHOWN, NET_RAW, SETUID...) most apps never use; "
        "dropping ALL and adding back only what is needed shrinks what an exploit can do."
    ),
    references=("seed cap_drop: ALL", "CIS 5.4"),
    fix=lambda f, c: flag_fix(
        "Drop every capability, then add back only those the app needs.",
        "--cap-drop ALL",
        {"cap_drop": ["ALL"]},
    ),
)
def capabilities_not_dropped(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """CapDrop does not contain ALL (any case, with or without the CAP_ prefix)."""
    if any(capability_name(c) == "ALL" for c in facts.host_config.cap_drop):
        return []
    dropped = ", ".join(facts.host_config.cap_drop) or "nothing"
    return [Hit(f"HostConfig.CapDrop drops {dropped}, not ALL")]


def _cap_fix(facts: ContainerFacts, ctx: RuleContext) -> Fix:
    caps = sorted({capability_name(x) for x in facts.host_config.cap_add} & DANGEROUS_CAPS)
    return removal_fix(
        "Remove the capability; if a feature needs it, find a narrower one or move that work out of the app.",
        " ".join(f"--cap-add {cap}" for cap in caps),
        ["cap_add:", *(f"  - {cap}" for cap in caps)],
    )


@rule(
    id="DA411",
    slug="dangerous-capability",
    title="Dangerous capability added",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "SYS_ADMIN, SYS_PTRACE, SYS_MODULE, NET_ADMIN and the like each allow escaping the container or "
        "taking over the host network; they are rarely needed by an application."
    ),
    references=("CIS 5.4",),
    fix=_cap_fix,
)
def dangerous_capability(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """CapAdd contains ALL or a capability that allows escaping the container."""
    return [
        Hit(f"HostConfig.CapAdd contains {cap}")
        for cap in facts.host_config.cap_add
        if capability_name(cap) in DANGEROUS_CAPS
    ]


@rule(
    id="DA412",
    slug="new-privileges-allowed",
    title="Processes may gain new privileges",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "Without no-new-privileges a process can gain privileges through setuid binaries or file "
        "capabilities; the flag makes privilege only ever go down."
    ),
    references=("seed no-new-privileges", "CIS 5.26"),
    fix=lambda f, c: flag_fix(
        "Forbid privilege escalation.",
        "--security-opt no-new-privileges",
        {"security_opt": ["no-new-privileges:true"]},
    ),
)
def new_privileges_allowed(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """SecurityOpt lacks no-new-privileges (bare, `:true` or `=true`)."""
    if any(NO_NEW_PRIVILEGES.match(opt.strip()) for opt in facts.host_config.security_opt):
        return []
    opts = ", ".join(facts.host_config.security_opt) or "none"
    return [Hit(f"HostConfig.SecurityOpt has no no-new-privileges (security options: {opts})")]


@rule(
    id="DA413",
    slug="seccomp-or-apparmor-disabled",
    title="Seccomp or AppArmor disabled",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "The default seccomp profile blocks about 44 dangerous syscalls and AppArmor confines file access; "
        "running unconfined removes both safety nets."
    ),
    references=("CIS 5.22", "CIS 5.2"),
    fix=lambda f, c: flag_fix(
        "Remove the unconfined option; if a syscall is missing, use a custom profile that adds only it.",
        "--security-opt seccomp=/path/to/profile.json",
        {"security_opt": ["no-new-privileges:true"]},
    ),
)
def seccomp_or_apparmor_disabled(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """SecurityOpt sets seccomp or apparmor to unconfined."""
    return [Hit(f"HostConfig.SecurityOpt has {opt}") for opt in facts.host_config.security_opt if UNCONFINED.match(opt)]


@rule(
    id="DA414",
    slug="no-memory-limit",
    title="No memory limit",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "Without a memory limit one leaking container can exhaust the host's memory and get other "
        "containers, or the daemon, OOM-killed."
    ),
    references=("seed Cap resources", "CIS 5.11"),
    fix=lambda f, c: flag_fix(
        "Set a memory limit sized to the app's peak.",
        "--memory 512m",
        {"deploy": {"resources": {"limits": {"memory": "512m"}}}},
    ),
)
def no_memory_limit(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """HostConfig.Memory is 0."""
    return [Hit("HostConfig.Memory is 0 (unlimited)")] if facts.host_config.memory == 0 else []


@rule(
    id="DA415",
    slug="no-cpu-limit",
    title="No CPU limit",
    severity=Severity.LOW,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale="Without a CPU quota or weight one busy container can starve its neighbours on the host.",
    references=("CIS 5.12",),
    fix=lambda f, c: flag_fix("Set a CPU limit.", "--cpus 1.0", {"deploy": {"resources": {"limits": {"cpus": "1.0"}}}}),
)
def no_cpu_limit(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """None of NanoCpus, CpuQuota, CpuShares (other than 0/1024) is set."""
    hc = facts.host_config
    if hc.nano_cpus > 0 or hc.cpu_quota > 0 or hc.cpu_shares not in (0, 1024):
        return []
    return [Hit(f"NanoCpus {hc.nano_cpus}, CpuQuota {hc.cpu_quota}, CpuShares {hc.cpu_shares}: no CPU limit")]


@rule(
    id="DA416",
    slug="no-pids-limit",
    title="No PIDs limit",
    severity=Severity.LOW,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale="A fork bomb in a container without a PIDs limit exhausts the host's process table.",
    references=("CIS 5.29",),
    fix=lambda f, c: flag_fix("Cap the number of processes.", "--pids-limit 200", {"pids_limit": 200}),
)
def no_pids_limit(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """PidsLimit is unset, 0 or -1."""
    limit = facts.host_config.pids_limit
    if limit is not None and limit > 0:
        return []
    return [Hit(f"HostConfig.PidsLimit is {'unset' if limit is None else limit}")]


def _health_fix(facts: ContainerFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Define a healthcheck (in the image, or at run time) so the orchestrator can restart a hung app.",
        dockerfile='HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD ["/app", "healthcheck"]',
        compose=compose_service(
            {"healthcheck": {"test": ["CMD", "/app", "healthcheck"], "interval": "30s", "timeout": "3s", "retries": 3}}
        ),
        run="--health-cmd '/app healthcheck' --health-interval 30s --health-retries 3",
    )


@rule(
    id="DA417",
    slug="no-health-status",
    title="No health status",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
    section=Section.HEALTHCHECK.value,
    rationale=(
        "Without a healthcheck, a hung but running app looks healthy to Docker, Compose and Swarm; an "
        "unhealthy status that nobody acts on is an outage in progress."
    ),
    references=("seed HEALTHCHECK consumed", "CIS 5.27"),
    fix=_health_fix,
)
def no_health_status(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """No healthcheck anywhere (medium), or the container is unhealthy (high)."""
    status = facts.state.health_status
    if status == "unhealthy":
        return [Hit("State.Health.Status is unhealthy", severity=Severity.HIGH)]
    if status is not None:
        return []
    check = facts.healthcheck if facts.healthcheck is not None else facts.image_healthcheck
    if check is not None and not check.disabled:
        # A created or stopped container has no State.Health yet; its configured check still counts.
        return []
    where = "disabled (HEALTHCHECK NONE)" if check is not None else "defined by neither the container nor its image"
    return [Hit(f"no State.Health: a healthcheck is {where}")]


@rule(
    id="DA418",
    slug="restart-policy",
    title="Restart policy hides a crash loop or retries forever",
    severity=Severity.LOW,
    scope=Scope.CONTAINER,
    section=Section.ONE_PROCESS.value,
    rationale=(
        "An always-restarting container that keeps crashing burns resources and hides the failure; "
        "on-failure without a small retry cap does the same."
    ),
    references=("CIS 5.15",),
    fix=lambda f, c: flag_fix(
        "Cap retries and investigate the crashes.", "--restart on-failure:5", {"restart": "on-failure:5"}
    ),
)
def restart_policy(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """always/unless-stopped with more than 5 restarts, or on-failure with 0 or more than 5 retries."""
    hc = facts.host_config
    if hc.restart_policy in ("always", "unless-stopped") and facts.state.restart_count > 5:
        return [Hit(f"restart policy {hc.restart_policy} and {facts.state.restart_count} restarts")]
    if hc.restart_policy == "on-failure" and (hc.restart_max_retries == 0 or hc.restart_max_retries > 5):
        retries = "unlimited" if hc.restart_max_retries == 0 else str(hc.restart_max_retries)
        return [Hit(f"restart policy on-failure with {retries} retries")]
    return []


@rule(
    id="DA419",
    slug="no-log-rotation",
    title="Logs are not rotated",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
    section=Section.LOGS.value,
    rationale=(
        "The json-file and local drivers keep logs on the host's disk; without max-size they grow until the "
        "disk is full. The none driver throws logs away."
    ),
    references=("seed Logs: stdout, shipped off-host",),
    fix=lambda f, c: flag_fix(
        "Rotate logs (or ship them off-host with a logging driver).",
        "--log-opt max-size=10m --log-opt max-file=3",
        {"logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}},
    ),
)
def no_log_rotation(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """json-file/local without max-size, or the none driver."""
    hc = facts.host_config
    if hc.log_driver == "none":
        return [Hit("log driver is none: the container's output is discarded")]
    if hc.log_driver in ("json-file", "local") and not any(k == "max-size" for k, _ in hc.log_options):
        return [Hit(f"log driver {hc.log_driver} without max-size")]
    return []


@rule(
    id="DA423",
    slug="secret-in-container-env",
    title="Secret in the container's environment",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
    section=Section.SECRETS.value,
    rationale=(
        "A secret passed with -e or an env file is readable by anyone who can run `docker inspect`, and "
        "leaks into child processes and crash dumps."
    ),
    references=("seed Secrets supplied at runtime from a secret manager",),
    fix=lambda f, c: Fix(
        summary="Mount secrets as files (Compose/Swarm secrets, a secret manager) and point the app at them.",
        compose=(
            "services:\n  app:\n    secrets:\n      - app_secret\nsecrets:\n  app_secret:\n    file: ./app_secret.txt"
        ),
        run="--mount type=bind,src=./app_secret.txt,dst=/run/secrets/app_secret,readonly",
    ),
)
def secret_in_container_env(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """The container's own env has a secret-named or credential-format value."""
    return [
        Hit(f"{e.name}={e.value} ({e.secret.detail})", Location(path=e.name)) for e in facts.env if e.secret is not None
    ]


def repo_of(ref: str) -> str:
    tag = tag_of(ref)
    return ref[: -len(tag) - 1] if tag is not None else ref


def tag_of(ref: str) -> str | None:
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def _digest_fix(facts: ContainerFacts, ctx: RuleContext) -> Fix:
    repo = repo_of(facts.image_ref)
    return flag_fix(
        "Start the container from the image digest (`docker image inspect --format '{{index .RepoDigests 0}}'`).",
        f"docker run {repo}@sha256:<digest>",
        {"image": f"{repo}@sha256:<digest>"},
    )


@rule(
    id="DA424",
    slug="mutable-image-reference",
    title="Container started from a mutable tag",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
    section=Section.PINNING.value,
    rationale=(
        "A tag can be moved: `latest`, or a tag that now names another image, means a restart or a new "
        "replica runs different code than the one audited. Digests cannot move."
    ),
    references=("seed production references digests",),
    fix=_digest_fix,
)
def mutable_image_reference(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """Config.Image is a tag that is `latest` or now points elsewhere."""
    ref = facts.image_ref
    if "@sha256:" in ref or ref.startswith("sha256:"):
        return []
    bare = ref.lower()
    if re.fullmatch(r"[0-9a-f]{12,64}", bare) and facts.image_id.removeprefix("sha256:").startswith(bare):
        return []
    tag = tag_of(ref)
    if tag is None or tag == "latest":
        return [Hit(f"Config.Image is {ref} ({'implicit ' if tag is None else ''}latest)")]
    if facts.tag_drift:
        return [Hit(f"{ref} now points to another image than the running {facts.image_id[:19]}")]
    return []


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


@rule(
    id="DA429",
    slug="cgroup-parent-or-host-cgroupns",
    title="Host cgroup namespace or custom cgroup parent",
    severity=Severity.LOW,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "The host cgroup namespace shows the container the host's cgroup tree; a custom cgroup parent can "
        "take it out of the limits the daemon applies."
    ),
    references=("CIS 5.25",),
    fix=lambda f, c: flag_fix(
        "Use a private cgroup namespace and the default cgroup parent.", "--cgroupns private", {"cgroup": "private"}
    ),
)
def cgroup_parent_or_host_cgroupns(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """CgroupnsMode is host, or CgroupParent is set."""
    hc = facts.host_config
    hits = []
    if hc.cgroupns_mode == "host":
        hits.append(Hit("HostConfig.CgroupnsMode is host"))
    if hc.cgroup_parent:
        hits.append(Hit(f"HostConfig.CgroupParent is {hc.cgroup_parent}"))
    return hits


@rule(
    id="DA430",
    slug="unmasked-system-paths",
    title="Kernel paths unmasked",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "Docker masks /proc/kcore, /proc/keys, /sys/firmware and makes /proc/sys read-only; "
        "`systempaths=unconfined` lifts that, exposing kernel memory and tunables."
    ),
    references=(),
    fix=lambda f, c: removal_fix(
        "Keep Docker's masked and read-only kernel paths.",
        "--security-opt systempaths=unconfined",
        ["security_opt:", "  - systempaths=unconfined"],
    ),
)
def unmasked_system_paths(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """MaskedPaths or ReadonlyPaths is an empty list (not null) on a non-privileged container."""
    hc = facts.host_config
    if hc.privileged:
        return []
    hits = []
    if hc.masked_paths is not None and not hc.masked_paths:
        hits.append(Hit("HostConfig.MaskedPaths is empty"))
    if hc.readonly_paths is not None and not hc.readonly_paths:
        hits.append(Hit("HostConfig.ReadonlyPaths is empty"))
    return hits


@rule(
    id="DA431",
    slug="oom-killer-disabled",
    title="OOM killer disabled",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
    section=LEAST_PRIVILEGE,
    rationale=(
        "With the OOM killer disabled a container at its memory limit hangs instead of dying; without a "
        "limit the host itself runs out of memory."
    ),
    references=(),
    fix=lambda f, c: flag_fix(
        "Leave the OOM killer on and set a memory limit.", "--memory 512m", {"mem_limit": "512m"}
    ),
)
def oom_killer_disabled(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """OomKillDisable is true; high without a memory limit."""
    hc = facts.host_config
    if not hc.oom_kill_disable:
        return []
    if hc.memory == 0:
        return [Hit("HostConfig.OomKillDisable is true and there is no memory limit", severity=Severity.HIGH)]
    return [Hit("HostConfig.OomKillDisable is true")]


@rule(
    id="DA432",
    slug="oom-killed-or-crash-looping",
    title="Container was OOM-killed or is crash-looping",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
    section=Section.ONE_PROCESS.value,
    rationale="An OOM kill or repeated restarts mean the service is failing now, whatever its configuration.",
    references=(),
    fix=lambda f, c: flag_fix(
        "Investigate the logs and memory use; raise the memory limit if the app needs it.",
        "--memory <peak + headroom>",
        {"deploy": {"resources": {"limits": {"memory": "<peak + headroom>"}}}},
    ),
)
def oom_killed_or_crash_looping(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """State.OOMKilled, or more than 5 restarts."""
    hits = []
    if facts.state.oom_killed:
        hits.append(Hit("State.OOMKilled is true"))
    if facts.state.restart_count > 5:
        hits.append(Hit(f"RestartCount is {facts.state.restart_count}"))
    return hits
