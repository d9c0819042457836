"""DA4xx: how a container is run and kept (`docker inspect`): resource limits, health, restart policy, log
rotation, secrets in its environment, its image reference and its OOM state.
"""

from __future__ import annotations

import re

from dockaudit.facts.container import ContainerFacts
from dockaudit.model import Fix, Location, Severity
from dockaudit.rules.container import LEAST_PRIVILEGE, flag_fix
from dockaudit.rules.fixes import compose_service
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, rule


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
