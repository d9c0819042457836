"""DA1xx: how an image runs, from its configuration (`docker image inspect`): its user, health check, command,
ports, stop signal and volumes. What the image records about itself is in `image_metadata`."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from dockaudit.command_secrets import redact_command
from dockaudit.facts.dockerfile import WATCHED_TOOLS, PrivilegeDrop, RuntimeFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.model import Fix, Location, Origin, Severity
from dockaudit.parse.base_images import known_base
from dockaudit.parse.executables import healthcheck_tools, tools_in
from dockaudit.parse.privilege_drop import drop_in_command, script_drop
from dockaudit.parse.shell_text import execs_last, strip_init
from dockaudit.rules import fixes
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, Skip, rule
from dockaudit.rules.steps import anchor, last_step, origin_of

_SHELLS = ("/bin/sh", "sh", "/bin/bash", "bash", "/bin/ash", "ash", "/bin/dash", "dash")
_SHELL_NAMES = ("sh", "bash", "ash", "dash")


def is_root_user(user: str) -> bool:
    """Whether `Config.User` means root: empty, `root`, `0`, `0:<gid>` or `root:<group>`."""
    name = user.strip().split(":", 1)[0]
    return name in ("", "root", "0")


# --------------------------------------------------------------------------------------------- DA101


def _fix_root(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return fixes.non_root_user_fix(fixes.image_os(facts))


def _runtime_user_hit(runtime: RuntimeFacts, evidence: str, location: Location, origin: Origin) -> list[Hit]:
    """DA101 for an image described by a Dockerfile: the same verdict as DA606 over its runtime analysis."""
    if runtime.user.root is False:
        return []
    if runtime.windows is not None or runtime.base_image is not None:
        return [
            Hit(
                f"{evidence}; a base or Windows image: advice for the images built from it",
                location,
                origin,
                severity=Severity.INFO,
            )
        ]
    if runtime.drop is not None:
        to = runtime.drop.user or "an unprivileged user"
        return [
            Hit(
                f"{evidence}, but it drops to {to} at run time ({runtime.drop.tool}, {runtime.drop.where})",
                location,
                origin,
                severity=Severity.INFO,
            )
        ]
    if runtime.user.root is None:
        return [
            Hit(f"{runtime.user.detail}: without it the image runs as root", location, origin, severity=Severity.LOW)
        ]
    return [Hit(evidence, location, origin)]


def _script_text(facts: ImageFacts, program: str) -> str | None:
    """The content of an entrypoint script in the image's layers, when the layer reader kept it."""
    if facts.filesystem is None:
        return None
    candidates = (
        [program]
        if program.startswith("/")
        else [posixpath.join(d, program) for d in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/")]
    )
    if not program.startswith("/") and facts.config.workdir:
        candidates.insert(0, posixpath.normpath(posixpath.join(facts.config.workdir, program)))
    for path in candidates:
        fact = facts.filesystem.get(posixpath.normpath(path))
        if fact is not None and fact.content is not None:
            return fact.content.decode("utf-8", "replace")
    return None


def image_privilege_drop(facts: ImageFacts) -> PrivilegeDrop | None:
    """How a root image switches to an unprivileged user at run time, as far as its config and layers tell."""
    command = effective_command(facts)
    found = drop_in_command(list(command))
    if found is not None:
        return PrivilegeDrop(found[0], found[1], "the image's command")
    words = strip_init(list(command))
    if len(words) >= 3 and words[0].rsplit("/", 1)[-1] in _SHELL_NAMES and words[1] == "-c":
        return script_drop(words[2], "the image's shell command")
    if not words:
        return None
    program = words[0]
    script = _script_text(facts, program)
    if script is not None:
        drop = script_drop(script, posixpath.basename(program))
        if drop is not None:
            return drop
    for name in (facts.reference, *facts.repo_tags):
        known = known_base(name) if name else None
        if known is not None and known.drop is not None:
            first = posixpath.basename((facts.config.cmd or ("",))[0] or "")
            if not known.drop.when or first in known.drop.when or first.startswith("-"):
                return PrivilegeDrop(known.drop.tool, known.drop.user, f"{name} ({known.source})")
    if facts.filesystem is not None and ("entrypoint" in program or program.endswith(".sh")):
        present = tools_in(frozenset(f.path for f in facts.filesystem.final_files()))
        tool = next((t for t in ("gosu", "su-exec", "setpriv", "chpst", "s6-setuidgid") if t in present), None)
        if tool is not None:
            return PrivilegeDrop(tool, "", f"{program}, which the image starts with and which ships {tool}")
    return None


@rule(
    id="DA101",
    slug="root-user",
    title="Image runs as root",
    severity=Severity.HIGH,
    scope=Scope.IMAGE,
    section=Section.NON_ROOT,
    rationale=(
        "A process running as root inside the container is root on the host's kernel, so any escape or "
        "writable host mount is a full compromise. Set a dedicated unprivileged user with USER. An entrypoint "
        "that drops privileges itself (gosu, su-exec...) and a base image with ONBUILD triggers get advice instead."
    ),
    references=('seed "Run as non-root"', "CIS 4.1", "CIS-DI-0001", "DS-0002", "DL3002"),
    fix=_fix_root,
)
def root_user(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`Config.User` is empty, root or UID 0 (advice when the entrypoint drops privileges or it is a base image)."""
    user = facts.config.user.strip()
    all_steps = list(facts.steps)
    if facts.runtime is not None:
        if facts.runtime.stage is None:
            return Skip(facts.runtime.stage_reason)
        origin, location = origin_of(all_steps, "USER")
        if last_step(all_steps, "USER") is None:
            origin, location = Origin.USER, anchor(all_steps, "USER")
        shown = facts.runtime.user.spec or user
        evidence = (
            f'Config.User is "{shown}": the image runs as root'
            if shown
            else ("Config.User is empty: the image runs as root")
        )
        return _runtime_user_hit(facts.runtime, evidence, location, origin)
    if not is_root_user(user):
        return []
    if not user:
        step = last_step(all_steps, "USER")
        # An empty user with no USER step anywhere: the user's Dockerfile should add one.
        origin = Origin.USER if step is None else step.origin
        evidence, location = "Config.User is empty: the image runs as root", anchor(all_steps, "USER")
    else:
        origin, location = origin_of(all_steps, "USER")
        evidence = f'Config.User is "{user}": the image runs as root'
    if facts.config.on_build:
        return [
            Hit(
                f"{evidence}; it has ONBUILD triggers, a base image: the images built from it should set USER",
                location,
                origin,
                severity=Severity.INFO,
            )
        ]
    drop = image_privilege_drop(facts)
    if drop is not None:
        to = drop.user or "an unprivileged user"
        return [
            Hit(
                f"{evidence}, but it drops to {to} at run time ({drop.tool}, {drop.where})",
                location,
                origin,
                severity=Severity.INFO,
            )
        ]
    return [Hit(evidence, location, origin)]


# --------------------------------------------------------------------------------------------- DA102


def _fix_healthcheck(facts: ImageFacts, ctx: RuleContext) -> Fix:
    os_release = fixes.image_os(facts)
    return Fix(
        summary="Declare a HEALTHCHECK that probes the application (or set one at run time).",
        dockerfile=fixes.healthcheck_snippet(os_release),
        compose=fixes.compose_service(
            {
                "healthcheck": {
                    "test": ["CMD", "curl", "-fsS", "http://127.0.0.1:8080/health"],
                    "interval": "30s",
                    "timeout": "3s",
                    "retries": 3,
                }
            }
        ),
        run="--health-cmd 'curl -fsS http://127.0.0.1:8080/health' --health-interval 30s --health-retries 3",
    )


@rule(
    id="DA102",
    slug="no-healthcheck",
    title="No HEALTHCHECK",
    severity=Severity.MEDIUM,
    scope=Scope.IMAGE,
    section=Section.HEALTHCHECK,
    rationale=(
        "Without a healthcheck the engine and orchestrators only know whether the process exists, not whether "
        "it serves. A hung application keeps receiving traffic and is never restarted."
    ),
    references=('seed "HEALTHCHECK"', "CIS 4.6", "CIS-DI-0006", "DS-0026"),
    fix=_fix_healthcheck,
)
def no_healthcheck(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """No `Config.Healthcheck`, `HEALTHCHECK NONE`, or a healthcheck that calls a tool the image does not have."""
    hc = facts.config.healthcheck
    runtime = facts.runtime
    if runtime is not None and runtime.stage is None:
        return Skip(runtime.stage_reason)
    base_image = (
        runtime.base_image if runtime is not None else ("it has ONBUILD triggers" if facts.config.on_build else None)
    )
    if hc is None or hc.disabled:
        if hc is None:
            hits = [Hit("Config.Healthcheck is not set", anchor(list(facts.steps), "HEALTHCHECK"), Origin.USER)]
        else:
            origin, location = origin_of(list(facts.steps), "HEALTHCHECK")
            hits = [Hit("HEALTHCHECK NONE disables the healthcheck", location, origin)]
        if base_image is not None:
            hit = hits[0]
            return [
                Hit(
                    f"{hit.evidence}; a base image ({base_image}): the images built from it should declare one",
                    hit.location,
                    hit.origin,
                    severity=Severity.INFO,
                )
            ]
        return hits
    missing = _missing_probe_tools(facts, hc.test)
    if missing:
        origin, location = origin_of(list(facts.steps), "HEALTHCHECK")
        return [
            Hit(
                f"the healthcheck calls {', '.join(missing)}, which the image does not have: it can never pass",
                location,
                origin,
            )
        ]
    return []


def _missing_probe_tools(facts: ImageFacts, test: Sequence[str]) -> list[str]:
    """Watched tools the healthcheck runs that the image (or the Dockerfile's runtime stage) does not have."""
    if not test or test[0] not in ("CMD", "CMD-SHELL"):
        return []
    needed = healthcheck_tools(tuple(test[1:]), test[0] == "CMD-SHELL")
    if facts.runtime is not None:
        return [t for t in needed if facts.runtime.has_tool(t) is False]
    if facts.filesystem is None:
        return []
    present = tools_in(frozenset(f.path for f in facts.filesystem.final_files()))
    return [t for t in needed if t in WATCHED_TOOLS and t not in present]


# --------------------------------------------------------------------------------------------- DA103


def effective_command(facts: ImageFacts) -> tuple[str, ...]:
    """Entrypoint followed by Cmd, as the engine runs them."""
    return (*(facts.config.entrypoint or ()), *(facts.config.cmd or ()))


def _fix_shell_form(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Use the exec form so the application is PID 1 and receives SIGTERM; exec from wrapper scripts.",
        dockerfile='CMD ["/app/server", "--port", "8080"]\n# or, in an entrypoint script: exec "$@"',
        compose=fixes.compose_service({"init": True}),
        run="--init",
    )


@rule(
    id="DA103",
    slug="shell-form-command",
    title="Command runs through a shell (shell form)",
    severity=Severity.MEDIUM,
    scope=Scope.IMAGE,
    section=Section.PID1,
    rationale=(
        "In shell form the shell is PID 1 and does not forward SIGTERM to the application, so `docker stop` "
        "waits for the timeout and then kills it without a clean shutdown. The exec form makes the application PID 1."
    ),
    references=('seed "STOPSIGNAL and PID 1"', "DL3025"),
    fix=_fix_shell_form,
)
def shell_form_command(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """The effective command starts with `/bin/sh -c` or `sh -c`, and the shell does not `exec` the program."""
    command = effective_command(facts)
    if len(command) < 2 or command[0] not in _SHELLS or command[1] != "-c":
        return []
    if len(command) > 2 and execs_last(command[2]):
        # `CMD exec java ...`: Docker's documented shell-form idiom; the program replaces the shell as PID 1.
        return []
    shown = redact_command(" ".join(command))
    instruction = "ENTRYPOINT" if facts.config.entrypoint else "CMD"
    origin, location = origin_of(list(facts.steps), instruction)
    return [Hit(f"the command is {shown!r}: the shell is PID 1", location, origin)]


# --------------------------------------------------------------------------------------------- DA109/110


def _port_number(port: str) -> int | None:
    head = port.split("/", 1)[0]
    return int(head) if head.isdecimal() else None


def _fix_ssh_port(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Remove EXPOSE 22 and the SSH server; use `docker exec` (or `kubectl exec`) for access.",
        dockerfile="# remove: EXPOSE 22 (and the openssh-server package)",
    )


@rule(
    id="DA109",
    slug="ssh-port-exposed",
    title="SSH port exposed",
    severity=Severity.MEDIUM,
    scope=Scope.IMAGE,
    section=Section.ONE_PROCESS,
    rationale=(
        "An SSH port means an SSH server in the container: a second process, long-lived credentials and a "
        "remote login surface. `docker exec` gives the same access without any of them."
    ),
    references=("CIS 5.7 (image side)",),
    fix=_fix_ssh_port,
)
def ssh_port_exposed(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`ExposedPorts` contains 22/tcp."""
    if "22/tcp" not in facts.config.exposed_ports and "22" not in facts.config.exposed_ports:
        return []
    origin, location = origin_of(list(facts.steps), "EXPOSE", "22")
    return [Hit("ExposedPorts contains 22/tcp", location, origin)]


def _fix_privileged_port(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Listen on a port >= 1024 inside the container and map it to the low port on the host.",
        dockerfile="EXPOSE 8080",
        compose=fixes.compose_service({"ports": ["80:8080"]}),
        run="-p 80:8080",
    )


@rule(
    id="DA110",
    slug="privileged-port-exposed",
    title="Privileged port exposed by a non-root image",
    severity=Severity.INFO,
    scope=Scope.IMAGE,
    section=Section.NON_ROOT,
    rationale=(
        "A non-root process cannot bind a port below 1024 without CAP_NET_BIND_SERVICE, so the image either "
        "fails at start or needs a capability it should not have. Listen on a high port and map it."
    ),
    references=("CIS 5.8",),
    fix=_fix_privileged_port,
)
def privileged_port_exposed(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A port below 1024 is exposed while the image runs as non-root."""
    if is_root_user(facts.config.user):
        return []
    low = [p for p in facts.config.exposed_ports if (n := _port_number(p)) is not None and n < 1024]
    if not low:
        return []
    origin, location = origin_of(list(facts.steps), "EXPOSE", low[0].split("/", 1)[0])
    return [Hit(f"ExposedPorts has {', '.join(low)} while User is {facts.config.user!r}", location, origin)]


# --------------------------------------------------------------------------------------------- DA111


def _fix_stop_signal(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Stop with SIGTERM (the default) and handle it in the application for a clean shutdown.",
        dockerfile="STOPSIGNAL SIGTERM",
        compose=fixes.compose_service({"stop_signal": "SIGTERM", "stop_grace_period": "30s"}),
        run="--stop-signal SIGTERM --stop-timeout 30",
    )


@rule(
    id="DA111",
    slug="stop-signal-kill",
    title="STOPSIGNAL is SIGKILL",
    severity=Severity.LOW,
    scope=Scope.IMAGE,
    section=Section.PID1,
    rationale=(
        "SIGKILL cannot be caught, so the application never flushes buffers, finishes requests or releases "
        "locks when the container is stopped. SIGTERM, handled by the application, allows a clean shutdown."
    ),
    references=('seed "STOPSIGNAL"',),
    fix=_fix_stop_signal,
)
def stop_signal_kill(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`StopSignal` is SIGKILL or 9."""
    if facts.config.stop_signal.strip().upper() not in ("SIGKILL", "KILL", "9"):
        return []
    origin, location = origin_of(list(facts.steps), "STOPSIGNAL")
    return [Hit(f"StopSignal is {facts.config.stop_signal}", location, origin)]


# --------------------------------------------------------------------------------------------- DA114

_SENSITIVE_VOLUMES = ("/sys", "/proc", "/dev")


def _fix_volume(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Remove the VOLUME on a system path; declare volumes only for application data directories.",
        dockerfile="VOLUME /var/lib/app/data",
    )


@rule(
    id="DA114",
    slug="sensitive-volume",
    title="VOLUME on a system path",
    severity=Severity.MEDIUM,
    scope=Scope.IMAGE,
    section=Section.READ_ONLY_ROOTFS,
    rationale=(
        "A VOLUME over `/`, `/sys`, `/proc` or `/dev` invites mounting host system paths into the container "
        "and hides the image's own files at those paths. Volumes belong on application data directories. "
        "Volumes belong on application data directories."
    ),
    references=("DKL-DI-0002",),
    fix=_fix_volume,
)
def sensitive_volume(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A VOLUME on `/sys`, `/proc`, `/dev` or `/`."""
    hits: list[Hit] = []
    all_steps = list(facts.steps)
    for volume in facts.config.volumes:
        path = "/" + volume.strip().strip("/")
        if path == "/" or any(path == p or path.startswith(p + "/") for p in _SENSITIVE_VOLUMES):
            origin, location = origin_of(all_steps, "VOLUME", volume)
            hits.append(Hit(f"VOLUME {volume}", location, origin))
    return hits


# --------------------------------------------------------------------------------------------- DA116


def _fix_numeric(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return fixes.numeric_user_fix(fixes.image_os(facts), facts.config.user.split(":", 1)[0] or "app")


@rule(
    id="DA116",
    slug="non-numeric-user",
    title="USER is a name, not a UID",
    severity=Severity.LOW,
    scope=Scope.IMAGE,
    section=Section.NON_ROOT,
    rationale=(
        "Kubernetes `runAsNonRoot` can only verify a numeric UID; with a user name the pod is rejected or the "
        "check is skipped. A numeric UID also works without an /etc/passwd entry."
    ),
    references=("DL3066",),
    fix=_fix_numeric,
)
def non_numeric_user(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`Config.User` is a user name (other than root, which DA101 reports)."""
    user = facts.config.user.strip()
    name = user.split(":", 1)[0]
    if is_root_user(user) or name.isdecimal():
        return []
    origin, location = origin_of(list(facts.steps), "USER")
    return [Hit(f'Config.User is "{user}", a name', location, origin)]
