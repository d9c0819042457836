"""DA4xx: what confines a running container (`docker inspect`): its root filesystem, capabilities,
no-new-privileges, seccomp and AppArmor profiles, cgroup and masked system paths.

The predicates here are shared with the Compose rules, which judge the same settings in a Compose file.
"""

from __future__ import annotations

import re

from dockaudit.facts.container import ContainerFacts
from dockaudit.lazy_pattern import LazyPattern
from dockaudit.model import Fix, Severity
from dockaudit.rules.container import LEAST_PRIVILEGE, flag_fix, removal_fix
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, rule

DANGEROUS_CAPS = frozenset(
    {"ALL", "SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "NET_ADMIN", "DAC_READ_SEARCH", "SYS_RAWIO", "BPF", "PERFMON"}
)
UNCONFINED = LazyPattern(r"^(seccomp|apparmor)[:=]unconfined$", re.IGNORECASE)
NO_NEW_PRIVILEGES = LazyPattern(r"^no-new-privileges(?:[:=]true)?$", re.IGNORECASE)


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
