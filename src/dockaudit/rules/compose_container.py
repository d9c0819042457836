"""The DA4xx rules a Compose definition can decide, over one service of a Compose project.

They are variants of the container rules: same ids, severities and wording of the flaw, read from Compose's
canonical model instead of `docker inspect`, with the file and line of the key. Rules that need a running
container (its processes, restarts, OOM kills) are registered as skipped, with the reason (`LIVE_ONLY`).
"""

from __future__ import annotations

from dockaudit.facts.compose import EnvOrigin, ServiceFacts
from dockaudit.model import Fix, Severity
from dockaudit.rules.compose import (
    COMPOSE,
    LIVE_ONLY,
    is_public_host_ip,
    key_location,
    port_text,
    secret_fix,
    service_fix,
    service_removal_fix,
)
from dockaudit.rules.container import is_engine_socket, is_root_user, is_sensitive_host_path
from dockaudit.rules.container_confinement import DANGEROUS_CAPS, NO_NEW_PRIVILEGES, UNCONFINED, capability_name
from dockaudit.rules.container_operations import tag_of
from dockaudit.rules.fixes import APP_UID, compose_service
from dockaudit.rules.known_images import known_image
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Skip, variant

# ---------------------------------------------------------------------------------------- host access


@variant(
    "DA401",
    scope=COMPOSE,
    fix=service_removal_fix("Remove privileged; add back only the capability the app needs.", ["privileged: true"]),
)
def privileged(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`privileged: true`."""
    svc = facts.service
    return [Hit("privileged: true", key_location(svc, "privileged"))] if svc.privileged else []


@variant(
    "DA402",
    scope=COMPOSE,
    fix=service_removal_fix(
        "Remove the socket mount; if the app must manage containers, put a filtering proxy in front of it.",
        ["- /var/run/docker.sock:/var/run/docker.sock"],
    ),
)
def docker_socket_mounted(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """A bind mount of the Docker, containerd or Podman socket."""
    return [
        Hit(f"{m.source} is mounted at {m.target} ({'read-only' if m.read_only else 'read-write'})", m.location)
        for m in facts.service.volumes
        if m.type == "bind" and is_engine_socket(m.source)
    ]


@variant(
    "DA403",
    scope=COMPOSE,
    fix=service_fix(
        "Mount only the specific file or a named volume the app needs, read-only.", {"volumes": ["<volume>:<path>:ro"]}
    ),
)
def sensitive_host_mount(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """A bind mount of a host system directory (not one inside the project): high read-write, medium read-only."""
    return [
        Hit(
            f"host {m.source} is bind-mounted at {m.target} ({'read-only' if m.read_only else 'read-write'})",
            m.location,
            severity=Severity.MEDIUM if m.read_only else Severity.HIGH,
        )
        for m in facts.service.volumes
        if m.type == "bind" and not m.in_project and is_sensitive_host_path(m.source) and not is_engine_socket(m.source)
    ]


@variant(
    "DA404",
    scope=COMPOSE,
    fix=service_fix(
        "Use the project network and publish only the ports needed.", {"ports": ["127.0.0.1:<port>:<port>"]}
    ),
)
def host_network(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`network_mode: host`."""
    svc = facts.service
    return [Hit("network_mode: host", key_location(svc, "network_mode"))] if svc.network_mode == "host" else []


@variant("DA405", scope=COMPOSE, fix=service_removal_fix("Keep the service in its own PID namespace.", ["pid: host"]))
def host_pid(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`pid: host`."""
    svc = facts.service
    return [Hit("pid: host", key_location(svc, "pid"))] if svc.pid == "host" else []


@variant("DA406", scope=COMPOSE, fix=service_fix("Keep a private IPC namespace.", {"ipc": "private"}))
def host_ipc(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`ipc: host`."""
    svc = facts.service
    return [Hit("ipc: host", key_location(svc, "ipc"))] if svc.ipc == "host" else []


@variant(
    "DA407",
    scope=COMPOSE,
    fix=service_removal_fix(
        "Keep the service's own UTS namespace and user-namespace remapping.", ["uts: host", "userns_mode: host"]
    ),
)
def host_uts_userns(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`uts: host` or `userns_mode: host`."""
    svc = facts.service
    hits = []
    if svc.uts == "host":
        hits.append(Hit("uts: host", key_location(svc, "uts")))
    if svc.userns_mode == "host":
        hits.append(Hit("userns_mode: host", key_location(svc, "userns_mode")))
    return hits


# ---------------------------------------------------------------------------------------- user


def _user_fix(facts: ServiceFacts, ctx: RuleContext) -> Fix:
    known = known_image(facts.service.image)
    uid = known.app_user if known is not None and known.app_user else f"{APP_UID}:{APP_UID}"
    return Fix(
        summary="Run the service as an unprivileged numeric user (`dockaudit harden` reuses the image's own).",
        compose=compose_service({"user": uid}, facts.service.name),
    )


@variant("DA408", scope=COMPOSE, fix=_user_fix)
def runs_as_root(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`user:` is root, or absent while the image's user is root or unknown (info when its entrypoint drops root)."""
    svc = facts.service
    if svc.user is not None:
        return (
            [Hit(f"user: {svc.user!r} runs the service as root", key_location(svc, "user"))]
            if is_root_user(svc.user)
            else []
        )
    known = known_image(svc.image) if svc.image else None
    image = facts.image
    if image is not None:
        if not is_root_user(image.config.user):
            return []
        where = f"its image {svc.image or image.name} runs as root (Config.User {image.config.user or 'empty'})"
    elif known is not None and known.user:
        return []
    else:
        where = f"the user of its image {svc.image or '(built here)'} is not known (not present locally)"
    if known is not None and known.drops_to:
        return [
            Hit(
                f"user is not set; the entrypoint of {svc.image} starts as root and drops to {known.drops_to} "
                "at run time",
                svc.location,
                severity=Severity.INFO,
            )
        ]
    return [Hit(f"user is not set and {where}", svc.location)]


@variant(
    "DA409",
    scope=COMPOSE,
    fix=service_fix(
        "Run with a read-only root filesystem and tmpfs for the paths the app writes.",
        {"read_only": True, "tmpfs": ["/tmp"]},
    ),
)
def writable_rootfs(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`read_only` is not true."""
    svc = facts.service
    if svc.read_only:
        return []
    return [Hit("read_only is not set: the root filesystem is writable", key_location(svc, "read_only"))]


# ---------------------------------------------------------------------------------------- capabilities, options


@variant(
    "DA410",
    scope=COMPOSE,
    fix=service_fix("Drop every capability, then add back only those the app needs.", {"cap_drop": ["ALL"]}),
)
def capabilities_not_dropped(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`cap_drop` does not contain ALL."""
    svc = facts.service
    if any(capability_name(c) == "ALL" for c in svc.cap_drop):
        return []
    dropped = ", ".join(svc.cap_drop) or "nothing"
    return [Hit(f"cap_drop drops {dropped}, not ALL", key_location(svc, "cap_drop"))]


def _cap_fix(facts: ServiceFacts, ctx: RuleContext) -> Fix:
    caps = sorted({capability_name(c) for c in facts.service.cap_add} & DANGEROUS_CAPS)
    return service_removal_fix(
        "Remove the capability; if a feature needs it, find a narrower one or move that work out of the app.",
        ["cap_add:", *(f"  - {cap}" for cap in caps)],
    )(facts, ctx)


@variant("DA411", scope=COMPOSE, fix=_cap_fix)
def dangerous_capability(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`cap_add` has ALL or a capability that allows escaping the container."""
    svc = facts.service
    return [
        Hit(f"cap_add has {cap}", key_location(svc, f"cap_add[{i}]", "cap_add"))
        for i, cap in enumerate(svc.cap_add)
        if capability_name(cap) in DANGEROUS_CAPS
    ]


@variant(
    "DA412",
    scope=COMPOSE,
    fix=service_fix("Forbid privilege escalation.", {"security_opt": ["no-new-privileges:true"]}),
)
def new_privileges_allowed(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`security_opt` lacks no-new-privileges (bare, `:true` or `=true`)."""
    svc = facts.service
    if any(NO_NEW_PRIVILEGES.match(opt.strip()) for opt in svc.security_opt):
        return []
    opts = ", ".join(svc.security_opt) or "none"
    return [Hit(f"security_opt has no no-new-privileges (security options: {opts})", key_location(svc, "security_opt"))]


@variant(
    "DA413",
    scope=COMPOSE,
    fix=service_removal_fix(
        "Remove the unconfined option; use a custom profile that adds only the missing syscall.",
        ["security_opt:", "  - seccomp:unconfined"],
    ),
)
def seccomp_or_apparmor_disabled(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`security_opt` sets seccomp or apparmor to unconfined."""
    svc = facts.service
    return [
        Hit(f"security_opt has {opt}", key_location(svc, f"security_opt[{i}]", "security_opt"))
        for i, opt in enumerate(svc.security_opt)
        if UNCONFINED.match(opt.strip())
    ]


# ---------------------------------------------------------------------------------------- limits, health, logs


@variant(
    "DA414",
    scope=COMPOSE,
    fix=service_fix(
        "Set a memory limit sized to the app's peak.", {"deploy": {"resources": {"limits": {"memory": "512m"}}}}
    ),
)
def no_memory_limit(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """Neither `mem_limit` nor `deploy.resources.limits.memory`."""
    svc = facts.service
    if svc.memory_limit > 0:
        return []
    return [Hit("no memory limit: neither mem_limit nor deploy.resources.limits.memory is set", svc.location)]


@variant(
    "DA415", scope=COMPOSE, fix=service_fix("Set a CPU limit.", {"deploy": {"resources": {"limits": {"cpus": "1.0"}}}})
)
def no_cpu_limit(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """None of `cpus`, `deploy.resources.limits.cpus`, `cpu_quota` or a `cpu_shares` other than 1024."""
    svc = facts.service
    if svc.cpus > 0 or svc.cpu_quota > 0 or svc.cpu_shares not in (0, 1024):
        return []
    return [Hit("no CPU limit: none of cpus, deploy.resources.limits.cpus, cpu_quota, cpu_shares", svc.location)]


@variant("DA416", scope=COMPOSE, fix=service_fix("Cap the number of processes.", {"pids_limit": 256}))
def no_pids_limit(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """Neither `pids_limit` nor `deploy.resources.limits.pids` is a positive number."""
    svc = facts.service
    if svc.pids_limit is not None and svc.pids_limit > 0:
        return []
    shown = "is not set" if svc.pids_limit is None else f"is {svc.pids_limit}"
    return [Hit(f"pids_limit {shown}", key_location(svc, "pids_limit", "deploy.resources.limits.pids"))]


def _health_fix(facts: ServiceFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Define a healthcheck the image can run (its own probe, or an HTTP GET with a client it ships).",
        compose=compose_service(
            {"healthcheck": {"test": ["CMD", "/app", "healthcheck"], "interval": "30s", "timeout": "3s", "retries": 3}},
            facts.service.name,
        ),
    )


@variant("DA417", scope=COMPOSE, fix=_health_fix)
def no_health_status(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """No healthcheck in the service or its image; skipped when the service has none and the image is unknown."""
    svc = facts.service
    check = svc.healthcheck
    if check is not None:
        if check.disabled:
            return [Hit("healthcheck is disabled (disable: true or test NONE)", key_location(svc, "healthcheck"))]
        return []
    image = facts.image
    if image is None:
        return Skip(
            f"the service defines no healthcheck and its image {svc.image or '(built here)'} is not present "
            "locally, so whether the image has one is unknown"
        )
    own = image.config.healthcheck
    if own is not None and not own.disabled:
        return []
    return [Hit(f"no healthcheck in the service or in its image {svc.image or image.name}", svc.location)]


@variant(
    "DA419",
    scope=COMPOSE,
    fix=service_fix(
        "Rotate logs (or ship them off-host with a logging driver).",
        {"logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}},
    ),
)
def no_log_rotation(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """Driver `none`, json-file/local without max-size, or no `logging:` (the daemon default)."""
    svc = facts.service
    options = dict(svc.logging_options)
    if svc.logging_driver == "none":
        return [Hit("logging driver is none: the service's output is discarded", key_location(svc, "logging.driver"))]
    if svc.logging_driver in ("", "json-file", "local") and "max-size" not in options:
        if not svc.logging_set:
            return [
                Hit(
                    "no logging options: the daemon's default applies (json-file without max-size unless "
                    "daemon.json sets log-opts)",
                    svc.location,
                )
            ]
        return [Hit(f"logging driver {svc.logging_driver or 'default'} without max-size", key_location(svc, "logging"))]
    return []


# ---------------------------------------------------------------------------------------- env, image, devices, ports


@variant("DA423", scope=COMPOSE, fix=secret_fix)
def secret_in_container_env(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """A literal secret written under `environment:` (reported through DA702, which names this rule)."""
    return [
        Hit(f"{e.name}={e.value} is written in the Compose file ({e.written_secret.detail})", e.location)
        for e in facts.service.environment
        if e.written_secret is not None and e.origin in (EnvOrigin.COMPOSE_FILE, EnvOrigin.DEFAULT)
    ]


def _digest_fix(facts: ServiceFacts, ctx: RuleContext) -> Fix:
    image = facts.service.image
    repo = image[: -len(tag) - 1] if (tag := tag_of(image)) is not None else image
    return Fix(
        summary="Refer to the image by digest (`docker image inspect --format '{{index .RepoDigests 0}}'`).",
        compose=compose_service({"image": f"{repo}@sha256:<digest>"}, facts.service.name),
    )


@variant("DA424", scope=COMPOSE, fix=_digest_fix)
def mutable_image_reference(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`image:` is `latest` or has no tag (a service built here names its own build)."""
    svc = facts.service
    ref = svc.image
    if not ref or svc.build is not None or "@sha256:" in ref:
        return []
    tag = tag_of(ref)
    if tag is None or tag == "latest":
        return [Hit(f"image: {ref} ({'implicit ' if tag is None else ''}latest)", key_location(svc, "image"))]
    return []


@variant(
    "DA425",
    scope=COMPOSE,
    fix=service_removal_fix("Remove the device, or expose only the one device node needed.", ["devices:"]),
)
def host_devices(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`devices:` is set, or a device cgroup rule allows all devices."""
    svc = facts.service
    hits = [Hit(f"devices has {d}", key_location(svc, f"devices[{i}]", "devices")) for i, d in enumerate(svc.devices)]
    hits += [
        Hit(f"device_cgroup_rules allows all devices: {r}", key_location(svc, "device_cgroup_rules"))
        for r in svc.device_cgroup_rules
        if r.strip().split(" ", 1)[0] == "a"
    ]
    return hits


@variant(
    "DA426",
    scope=COMPOSE,
    fix=service_fix(
        "Use private propagation (the default).", {"volumes": [{"type": "bind", "bind": {"propagation": "rprivate"}}]}
    ),
)
def shared_mount_propagation(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """A bind mount with propagation shared or rshared."""
    return [
        Hit(f"{m.source} at {m.target} has propagation {m.propagation}", m.location)
        for m in facts.service.volumes
        if m.propagation in ("shared", "rshared")
    ]


@variant(
    "DA427",
    scope=COMPOSE,
    fix=service_fix("Bind published ports to a specific interface.", {"ports": ["127.0.0.1:8080:8080"]}),
)
def ports_on_all_interfaces(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """A port published without `host_ip` or on 0.0.0.0/:: (info for host ports 80/443)."""
    return [
        Hit(
            port_text(p.published, p.target, p.protocol),
            p.location,
            severity=Severity.INFO if p.host_port in (80, 443) else None,
        )
        for p in facts.service.ports
        if is_public_host_ip(p.host_ip)
    ]


@variant("DA428", scope=COMPOSE, fix=service_fix("Publish a port above 1023.", {"ports": ["8080:<container_port>"]}))
def privileged_port_mapped(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """A published host port below 1024."""
    return [
        Hit(f"{p.target}/{p.protocol} is published on host port {p.host_port}", p.location)
        for p in facts.service.ports
        if 0 < p.host_port < 1024
    ]


@variant(
    "DA429",
    scope=COMPOSE,
    fix=service_removal_fix(
        "Use a private cgroup namespace and the default cgroup parent.", ["cgroup: host", "cgroup_parent: ..."]
    ),
)
def cgroup_parent_or_host_cgroupns(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """`cgroup: host` or `cgroup_parent` set."""
    svc = facts.service
    hits = []
    if svc.cgroup == "host":
        hits.append(Hit("cgroup: host", key_location(svc, "cgroup")))
    if svc.cgroup_parent:
        hits.append(Hit(f"cgroup_parent: {svc.cgroup_parent}", key_location(svc, "cgroup_parent")))
    return hits


def _live_only(rule_id: str) -> None:
    def skipped(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
        return Skip(LIVE_ONLY[rule_id])

    variant(rule_id, scope=COMPOSE, fix=lambda f, c: Fix(summary=""), decides=False)(skipped)


for _rule_id in LIVE_ONLY:
    _live_only(_rule_id)
