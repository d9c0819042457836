"""A container's `docker run` rebuilt from inspect, its hardened version and Compose service, as a diff."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from dockaudit.facts.container import ContainerFacts
from dockaudit.facts.filesystem import FileType
from dockaudit.facts.image import Healthcheck, ImageFacts
from dockaudit.harden.diff import unified_diff
from dockaudit.harden.healthcheck import probe
from dockaudit.harden.result import Change
from dockaudit.harden.runspec import MiB, RunSpec, compose_text, memory_text, render_run, run_groups, spec_from_facts
from dockaudit.parse.dockerfile_runtime import image_runtime
from dockaudit.rules.fixes import APP_UID
from dockaudit.rules.image import image_privilege_drop

DEFAULT_MEMORY = 512 * MiB
DEFAULT_CPUS = 1.0
DEFAULT_PIDS = 256
TMPFS_OPTIONS = "rw,noexec,nosuid,size=64m"
DANGEROUS_CAPS = frozenset(
    {"ALL", "SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "NET_ADMIN", "DAC_READ_SEARCH", "SYS_RAWIO", "BPF", "PERFMON"}
)
_SOCKET = re.compile(r"(^|/)(docker|containerd|podman)[^/]*\.sock$|^/(var/)?run/docker\.sock$")
_SENSITIVE = ("/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/root", "/var/run", "/var/lib/docker")
_INITS = ("tini", "dumb-init", "docker-init", "s6-svscan")
# Extra writable paths and capabilities of servers that start as root and drop privileges themselves.
_KNOWN_APPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "nginx": (("/var/cache/nginx", "/var/run", "/run"), ("CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE")),
    "httpd-foreground": (("/usr/local/apache2/logs", "/run"), ("SETGID", "SETUID", "NET_BIND_SERVICE")),
    "apache2": (("/var/run/apache2", "/run"), ("SETGID", "SETUID", "NET_BIND_SERVICE")),
    "postgres": (("/var/run/postgresql", "/run"), ("CHOWN", "FOWNER", "SETGID", "SETUID", "DAC_OVERRIDE")),
}


@dataclass(frozen=True)
class RuntimeHardening:
    """The current and hardened `docker run` of a container, its Compose service, and what changed."""

    current_run: str
    hardened_run: str
    compose: str
    changes: tuple[Change, ...]
    notes: tuple[str, ...]
    current_compose: str = ""
    hardened_args: tuple[str, ...] = ()
    """The hardened command as argv (without the leading `docker`), to run it without a shell."""

    def diff(self) -> str:
        """Unified diff of the run command and of the Compose service."""
        return unified_diff(self.current_run, self.hardened_run, "docker-run.sh") + unified_diff(
            self.current_compose or None, self.compose, "compose.yaml"
        )


def _root(user: str) -> bool:
    return user.split(":", 1)[0] in ("", "root", "0")


def _app_name(facts: ContainerFacts, spec: RunSpec) -> str:
    words = list(spec.entrypoint or ()) + list(facts.cmd or ())
    if facts.processes:
        words = [p.command.split()[0] for p in facts.processes if p.command] + words
    for word in words:
        name = word.rsplit("/", 1)[-1]
        if name in _KNOWN_APPS:
            return name
    return ""


def _round_up(value: float, step: float) -> float:
    return math.ceil(value / step) * step


@dataclass
class _Plan:
    """The hardened spec being built, with the changes and notes collected on the way."""

    spec: RunSpec
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def change(self, rules: tuple[str, ...], summary: str) -> None:
        self.changes.append(Change(rules, summary, None))


def harden_container(facts: ContainerFacts, image: ImageFacts | None = None) -> RuntimeHardening:
    """The container's `docker run` as it is and hardened (DA401-DA432), with a Compose service and notes."""
    current = spec_from_facts(facts, image)
    plan = _Plan(current)
    _drop_host_access(plan, image)
    app = _app_name(facts, current)
    stays_root = _user_and_filesystem(plan, facts, image, app)
    _capabilities(plan, _KNOWN_APPS.get(app, ((), ()))[1] if stays_root else ())
    _security_options(plan, current)
    _limits(plan, facts)
    _process_logs_health(plan, facts, image)
    _image_reference(plan, facts, image)
    if any(not p.startswith(("127.", "[::1]")) and p.count(":") >= 1 for p in plan.spec.ports):
        plan.notes.append(
            "Published ports listen on every interface: bind them to 127.0.0.1 "
            "(-p 127.0.0.1:HOST:PORT) when only local clients or a reverse proxy need them (DA427)"
        )
    if any(e.secret is not None for e in facts.env):
        plan.notes.append(
            "The environment holds secrets (DA423): keep the --env-file out of version control, or "
            "use Compose `secrets:` / a secret manager"
        )
    env_names = tuple(e.name for e in facts.env)
    return RuntimeHardening(
        current_run=render_run(current, env_names),
        hardened_run=render_run(plan.spec, env_names),
        compose=compose_text(plan.spec),
        changes=tuple(plan.changes),
        notes=tuple(plan.notes),
        current_compose=compose_text(current),
        hardened_args=tuple(w for group in run_groups(plan.spec) for w in group),
    )


def _drop_host_access(plan: _Plan, image: ImageFacts | None) -> None:
    """No privileged mode, engine socket, writable host system paths, shared propagation or host namespaces."""
    if plan.spec.privileged:
        plan.spec = replace(plan.spec, privileged=False)
        plan.change(("DA401",), "dropped --privileged")
    kept = []
    for volume in plan.spec.volumes:
        source, _, rest = volume.partition(":")
        if _SOCKET.search(source):
            plan.change(("DA402",), f"removed the engine socket mount {source}")
            plan.notes.append(
                f"{source} was mounted: the app had root on the host. If it really needs the engine, "
                "give it a socket proxy that allows only the API calls it makes"
            )
            continue
        if source in _SENSITIVE and ":ro" not in rest:
            volume = f"{source}:{rest.split(':')[0]}:ro"
            plan.change(("DA403",), f"host path {source} mounted read-only")
        if "shared" in rest:
            volume = re.sub(r"[:,]r?shared\b", "", volume)
            plan.change(("DA426",), f"mount propagation of {source} back to private")
        kept.append(volume)
    plan.spec = replace(plan.spec, volumes=tuple(kept))
    namespaces = (
        ("network", "DA404", "--network"),
        ("pid", "DA405", "--pid"),
        ("ipc", "DA406", "--ipc"),
        ("uts", "DA407", "--uts"),
        ("userns", "DA407", "--userns"),
    )
    for attr, rule, flag in namespaces:
        if getattr(plan.spec, attr) == "host":
            plan.spec = _without_namespace(plan.spec, attr)
            plan.change((rule,), f"dropped {flag} host")
            if attr == "network":
                ports = image.config.exposed_ports if image is not None else ()
                plan.notes.append(
                    "The host network is gone: publish the ports the app listens on with -p "
                    f"({', '.join(ports) or 'see its EXPOSE'}), bound to 127.0.0.1 where only local "
                    "clients need it"
                )
    if plan.spec.devices:
        plan.change(("DA425",), f"removed --device {', '.join(plan.spec.devices)}")
        plan.notes.append("Host devices were removed; add back only the device the app needs, read-only where it can")
        plan.spec = replace(plan.spec, devices=())
    if plan.spec.oom_kill_disable:
        plan.spec = replace(plan.spec, oom_kill_disable=False)
        plan.change(("DA431",), "dropped --oom-kill-disable")


def _user_and_filesystem(plan: _Plan, facts: ContainerFacts, image: ImageFacts | None, app: str) -> bool:
    """A non-root user and a read-only root filesystem; returns whether the app has to stay root."""
    effective_user = facts.user or facts.image_user
    stays_root = False
    drop = image_privilege_drop(image) if image is not None and _root(effective_user) else None
    if _root(effective_user):
        if app:
            stays_root = True
            plan.notes.append(
                f"{app} starts as root and drops privileges itself, so --user was not set (DA408); "
                "use its unprivileged image variant or configure it to run as a non-root user"
            )
        elif drop is not None:
            stays_root = True
            plan.notes.append(
                f"the image starts as root and drops to {drop.user or 'an unprivileged user'} itself ({drop.tool}, "
                f"{drop.where}), so --user was not set (DA408): a non-root start would break its entrypoint"
            )
        else:
            plan.spec = replace(plan.spec, user=f"{APP_UID}:{APP_UID}")
            plan.change(("DA408",), f"--user {APP_UID}:{APP_UID}")
            plan.notes.append(
                f"--user {APP_UID}:{APP_UID}: the app now runs without root; if it has to write to "
                "files the image owns, give them to that user in the Dockerfile "
                "(see `dockaudit harden IMAGE`)"
            )
    if not plan.spec.read_only:
        tmpfs = list(plan.spec.tmpfs)
        mounted = {t.split(":", 1)[0] for t in tmpfs}
        app_paths = _KNOWN_APPS.get(app, ((), ()))[0]
        for path in ("/tmp", *app_paths, *writable_dirs(image, plan.spec.user or effective_user)):
            if path not in mounted:
                mounted.add(path)
                tmpfs.append(f"{path}:{TMPFS_OPTIONS}" if path == "/tmp" else path)
        plan.spec = replace(plan.spec, read_only=True, tmpfs=tuple(tmpfs))
        paths = ", ".join(t.split(":", 1)[0] for t in tmpfs)
        plan.change(("DA409",), f"--read-only with tmpfs for {paths}")
        plan.notes.append(
            f"--read-only: if the app writes anywhere besides {paths} and its volumes, add a --tmpfs or a volume there"
        )
    return stays_root


def _capabilities(plan: _Plan, app_caps: tuple[str, ...]) -> None:
    """Drop every capability, adding back only those a root-started server is known to need."""
    caps_add = [c for c in plan.spec.cap_add if c not in DANGEROUS_CAPS]
    dropped = [c for c in plan.spec.cap_add if c in DANGEROUS_CAPS]
    if dropped:
        plan.change(("DA411",), f"removed --cap-add {', '.join(dropped)}")
    if "ALL" not in plan.spec.cap_drop:
        needed = list(app_caps)
        container_ports = [p.rsplit(":", 1)[-1].split("/")[0] for p in plan.spec.ports]
        if app_caps and any(port.isdecimal() and int(port) < 1024 for port in container_ports):
            needed.append("NET_BIND_SERVICE")
        caps_add = sorted(set(caps_add) | set(needed))
        plan.spec = replace(plan.spec, cap_drop=("ALL",))
        plan.change(("DA410",), "--cap-drop ALL" + (f" (adding back {', '.join(caps_add)})" if caps_add else ""))
    plan.spec = replace(plan.spec, cap_add=tuple(caps_add))


def _security_options(plan: _Plan, current: RunSpec) -> None:
    """no-new-privileges, and no unconfined seccomp, AppArmor or system paths."""
    security = []
    for opt in plan.spec.security_opt:
        key = opt.replace(":", "=", 1)
        if key in ("seccomp=unconfined", "apparmor=unconfined"):
            plan.change(("DA413",), f"removed --security-opt {opt}")
        elif key == "systempaths=unconfined":
            plan.change(("DA430",), "removed --security-opt systempaths=unconfined")
        elif not key.startswith("no-new-privileges"):
            security.append(opt)
    security.append("no-new-privileges")
    had = [o for o in current.security_opt if o.replace(":", "=").startswith("no-new-privileges")]
    if not any(not o.endswith("false") for o in had):
        plan.change(("DA412",), "--security-opt no-new-privileges")
    plan.spec = replace(plan.spec, security_opt=tuple(security))


def _limits(plan: _Plan, facts: ContainerFacts) -> None:
    """Memory, CPU and PID limits: observed usage with headroom, else defaults flagged as such."""
    defaults: list[str] = []
    if not plan.spec.memory:
        if facts.stats_memory_bytes:
            memory = max(64 * MiB, int(_round_up(facts.stats_memory_bytes * 2, 16 * MiB)))
            observed = facts.stats_memory_bytes / MiB
            plan.change(("DA414",), f"--memory {memory_text(memory)} (twice the observed {observed:.1f} MiB)")
        else:
            memory = DEFAULT_MEMORY
            defaults.append(f"--memory {memory_text(memory)}")
            plan.change(("DA414",), f"--memory {memory_text(memory)} (default: no usage was observed)")
        plan.spec = replace(plan.spec, memory=memory)
    if not plan.spec.cpus and not plan.spec.cpu_shares:
        if facts.stats_cpu_percent is not None:
            cpus = max(0.25, _round_up(facts.stats_cpu_percent * 2 / 100, 0.25))
            plan.change(("DA415",), f"--cpus {cpus:g} (twice the observed {facts.stats_cpu_percent:.1f}%)")
        else:
            cpus = DEFAULT_CPUS
            defaults.append(f"--cpus {cpus:g}")
            plan.change(("DA415",), f"--cpus {cpus:g} (default: no usage was observed)")
        plan.spec = replace(plan.spec, cpus=cpus)
    if not plan.spec.pids_limit:
        if facts.stats_pids:
            pids = max(64, facts.stats_pids * 4)
            plan.change(("DA416",), f"--pids-limit {pids} (four times the observed {facts.stats_pids})")
        else:
            pids = DEFAULT_PIDS
            defaults.append(f"--pids-limit {pids}")
            plan.change(("DA416",), f"--pids-limit {pids} (default: no usage was observed)")
        plan.spec = replace(plan.spec, pids_limit=pids)
    if defaults:
        plan.notes.append(
            f"{', '.join(defaults)} are defaults, not measurements: check them against `docker stats` under real load"
        )


def _process_logs_health(plan: _Plan, facts: ContainerFacts, image: ImageFacts | None) -> None:
    """An init as PID 1, a bounded restart policy, rotated logs and a healthcheck."""
    pid1 = facts.processes[0].command if facts.processes else ""
    if not plan.spec.init and not any(name in pid1 for name in _INITS):
        plan.spec = replace(plan.spec, init=True)
        plan.change(("DA421", "DA420"), "--init reaps zombies and forwards signals")
    restart = plan.spec.restart
    retries = restart.partition(":")[2]
    if restart.startswith("on-failure") and (not retries or not retries.isdecimal() or not 0 < int(retries) <= 5):
        plan.spec = replace(plan.spec, restart="on-failure:5")
        plan.change(("DA418",), "--restart on-failure:5")
    elif restart in ("always", "unless-stopped") and facts.state.restart_count > 5:
        plan.notes.append(
            f"The container restarted {facts.state.restart_count} times: find the crash before "
            "relying on --restart; on-failure:5 would stop the loop"
        )
    options = dict(plan.spec.log_options)
    if plan.spec.log_driver in ("", "json-file", "local", "none") and "max-size" not in options:
        driver = "json-file" if plan.spec.log_driver in ("", "none") else plan.spec.log_driver
        options.update({"max-size": "10m", "max-file": "3"})
        plan.spec = replace(plan.spec, log_driver=driver, log_options=tuple(sorted(options.items())))
        plan.change(("DA419",), f"--log-driver {driver} with max-size 10m, max-file 3")
    if facts.healthcheck is None and (facts.image_healthcheck is None or facts.image_healthcheck.disabled):
        health = _health(image)
        if health is not None:
            plan.spec = replace(plan.spec, health=health)
            plan.change(("DA417",), f"--health-cmd {' '.join(health.test[1:])}")
            plan.notes.append(
                f"The health probe ({' '.join(health.test[1:])}) checks that the app answers HTTP; "
                "point it at the app's health endpoint"
            )
        else:
            plan.notes.append(
                "No healthcheck was derived: no exposed port is known to serve HTTP with a client the image "
                "has (curl, wget, python or node); add --health-cmd with the app's own probe (DA417)"
            )


def _image_reference(plan: _Plan, facts: ContainerFacts, image: ImageFacts | None) -> None:
    """The image by digest when one is known, by ID when the tag has moved on."""
    ref = plan.spec.image
    if image is not None and image.repo_digests and "@sha256:" not in ref:
        plan.spec = replace(plan.spec, image=image.repo_digests[0])
        plan.change(("DA424",), f"image pinned to {image.repo_digests[0]}")
    elif facts.tag_drift:
        # The tag now names another image: only the ID still runs what this container runs.
        plan.spec = replace(plan.spec, image=facts.image_id)
        plan.change(("DA424",), f"image by ID: {ref} now points to another image")
        plan.notes.append(
            f"{ref} has moved since this container started; the hardened command runs the image "
            f"the container runs ({facts.image_id[:19]}…); push it and refer to it by digest (DA424)"
        )
    elif "@sha256:" not in ref:
        plan.notes.append(f"{ref} is a tag: in production refer to the image by digest (DA424)")


def writable_dirs(image: ImageFacts | None, user: str) -> tuple[str, ...]:
    """Empty directories the runtime user owns in the image: where the app writes, so each needs a tmpfs."""
    uid = user.split(":", 1)[0]
    if image is None or image.filesystem is None or not uid.isdecimal() or uid == "0":
        return ()
    final = image.filesystem.final_files()
    parents = {f.path.rsplit("/", 1)[0] or "/" for f in final}
    owned = [f.path for f in final if f.type is FileType.DIR and f.uid == int(uid) and f.path not in parents]
    # Volumes stay writable under --read-only; the temp dirs get their own tmpfs already.
    skip = {*image.config.volumes, "/tmp", "/var/tmp"}
    return tuple(sorted(p for p in owned if p not in skip))


def _without_namespace(spec: RunSpec, attr: str) -> RunSpec:
    if attr == "network":
        return replace(spec, network="")
    if attr == "pid":
        return replace(spec, pid="")
    if attr == "ipc":
        return replace(spec, ipc="")
    if attr == "uts":
        return replace(spec, uts="")
    return replace(spec, userns="")


def _health(image: ImageFacts | None) -> Healthcheck | None:
    """A probe that can pass: the image serves HTTP on an exposed port and ships a client (or python/node)."""
    if image is None:
        return None
    runtime = image_runtime(image)
    if runtime.http_port is None:
        return None
    argv = probe(runtime, f"http://127.0.0.1:{runtime.http_port}/", strict=False)
    if argv is None:
        return None
    seconds = 1_000_000_000
    return Healthcheck(("CMD", *argv), 30 * seconds, 5 * seconds, 3, 15 * seconds)
