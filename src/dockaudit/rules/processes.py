"""DA4xx: runtime rules that read a container's processes (`docker top`), confirming what inspect says."""

from __future__ import annotations

import re
from collections.abc import Sequence

from dockaudit.facts.container import ContainerFacts, Process
from dockaudit.model import Fix, Severity
from dockaudit.rules.container import flag_fix, is_root_user
from dockaudit.rules.fixes import compose_service, non_root_user_fix
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, Skip, rule

_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"})
_INITS = frozenset({"tini", "tini-static", "dumb-init", "docker-init", "s6-svscan", "catatonit"})
_SUPERVISORS = frozenset({"supervisord", "runsvdir", "s6-svscan", "s6-supervise", "s6-rc"})
_SERVERS = frozenset(
    {
        "sshd", "nginx", "httpd", "apache2", "lighttpd", "caddy", "haproxy", "postgres", "mysqld", "mariadbd",
        "mongod", "redis-server", "memcached", "cron", "crond", "php-fpm", "sendmail", "vsftpd", "named",
        "dnsmasq", "squid", "varnishd", "dockerd", "containerd", "rabbitmq-server", "beam.smp",
    }
)  # fmt: skip


def _basename(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def _argv(process: Process) -> list[str]:
    return process.command.split()


def _program(process: Process) -> str:
    """The program a process runs, looking past interpreters (`python /usr/bin/supervisord`)."""
    words = _argv(process)
    if not words:
        return ""
    first = _basename(words[0])
    if first == "busybox" and len(words) > 1:
        first, words = _basename(words[1]), words[1:]
    if re.fullmatch(r"python[0-9.]*|perl|ruby|node", first) and len(words) > 1 and not words[1].startswith("-"):
        return _basename(words[1])
    # nginx and php-fpm retitle their processes ("nginx: master process ...", "php-fpm: pool www").
    return first.rstrip(":")


def own_processes(facts: ContainerFacts) -> tuple[Process, ...] | None:
    """The container's own process tree: PID 1 (`State.Pid`) and its descendants; None when unknown."""
    if facts.processes is None or facts.state.pid <= 0:
        return None
    by_parent: dict[int, list[Process]] = {}
    root: Process | None = None
    for proc in facts.processes:
        by_parent.setdefault(proc.ppid, []).append(proc)
        if proc.pid == facts.state.pid:
            root = proc
    if root is None:
        return None
    tree: list[Process] = []
    stack = [root]
    seen: set[int] = set()
    while stack:
        proc = stack.pop()
        if proc.pid in seen:
            continue
        seen.add(proc.pid)
        tree.append(proc)
        stack.extend(by_parent.get(proc.pid, []))
    return tuple(sorted(tree, key=lambda p: p.pid))


def _pid1(facts: ContainerFacts) -> Process | None:
    tree = own_processes(facts)
    return tree[0] if tree else None


def _top_skip(facts: ContainerFacts) -> Skip | None:
    if facts.processes is None:
        return Skip(facts.processes_skip_reason or f"docker top is unavailable: the container is {facts.state.status}")
    if _pid1(facts) is None:
        return Skip(f"docker top shows no process with the container's PID ({facts.state.pid})")
    return None


@rule(
    id="DA408",
    slug="runs-as-root",
    title="Container runs as root",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
    section=Section.NON_ROOT.value,
    rationale=(
        "A process running as root inside the container is one kernel or runtime bug away from root on the "
        "host, and can rewrite everything in its own filesystem."
    ),
    references=("seed Run as non-root", "CIS 4.1"),
    fix=lambda f, c: non_root_user_fix(None),
)
def runs_as_root(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """The effective user (container's, else image's) is root, confirmed by `docker top` when it can run."""
    effective = facts.user or facts.image_user
    origin = "container Config.User" if facts.user else "image Config.User"
    shown = effective or "(empty: root)"
    inspect_root = is_root_user(effective)
    tree = own_processes(facts)
    if tree is None:
        if not inspect_root:
            return []
        return [Hit(f"{origin} is {shown} (not confirmed by docker top: container is {facts.state.status})")]
    root_procs = [p for p in tree if p.uid in ("root", "0")]
    if not root_procs:
        # Inspect may say root while the entrypoint drops privileges (gosu, su-exec): the processes decide.
        return []
    pids = ", ".join(f"{p.pid} ({_program(p) or '?'})" for p in root_procs[:5])
    if inspect_root:
        return [Hit(f"{origin} is {shown}; docker top shows root processes: {pids}")]
    return [Hit(f"{origin} is {shown} but docker top shows root processes: {pids}")]


def _shell_command(words: Sequence[str]) -> bool:
    if len(words) < 2:
        return False
    first = _basename(words[0])
    if first == "busybox" and len(words) > 2:
        first, words = _basename(words[1]), words[1:]
    return first in _SHELLS and "-c" in words[1:3]


def _exec_fix(facts: ContainerFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Start the app in exec form so it is PID 1 and receives SIGTERM (or prefix `exec` in the script).",
        dockerfile='ENTRYPOINT ["/app/server"]\nCMD ["--port", "8080"]',
        compose=compose_service({"entrypoint": ["/app/server"], "init": True}),
        run="--init",
    )


@rule(
    id="DA420",
    slug="shell-pid1",
    title="PID 1 is a shell",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
    section=Section.PID1.value,
    rationale=(
        "A shell as PID 1 does not forward SIGTERM to the app, so `docker stop` waits out its timeout and "
        "kills the app without a clean shutdown."
    ),
    references=("seed PID 1", "exec form"),
    fix=_exec_fix,
)
def shell_pid1(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """The `docker top` row whose PID is State.Pid is `sh -c ...`."""
    skip = _top_skip(facts)
    if skip is not None:
        return skip
    pid1 = _pid1(facts)
    assert pid1 is not None
    if _shell_command(_argv(pid1)):
        return [Hit(f"PID 1 (host PID {pid1.pid}) is a shell: {pid1.command}")]
    return []


@rule(
    id="DA421",
    slug="no-init-reaper",
    title="No init process to reap zombies",
    severity=Severity.LOW,
    scope=Scope.CONTAINER,
    section=Section.PID1.value,
    rationale=(
        "PID 1 must reap orphaned children; most apps do not, so exited children pile up as zombies. "
        "--init (tini) reaps them and forwards signals."
    ),
    references=("seed Reap zombies",),
    fix=lambda f, c: flag_fix("Run with Docker's init (tini) as PID 1.", "--init", {"init": True}),
)
def no_init_reaper(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """Several processes, no init as PID 1 and no --init; medium when a zombie is seen."""
    skip = _top_skip(facts)
    if skip is not None:
        return skip
    tree = own_processes(facts) or ()
    pid1 = tree[0]
    if facts.host_config.init or len(tree) <= 1 or _program(pid1) in _INITS:
        return []
    zombies = [p for p in tree if p.state.upper().startswith("Z")]
    evidence = f"{len(tree)} processes and PID 1 is {_program(pid1) or pid1.command!r}, not an init"
    if zombies:
        return [Hit(f"{evidence}; zombie PIDs: {', '.join(str(z.pid) for z in zombies)}", severity=Severity.MEDIUM)]
    return [Hit(evidence)]


@rule(
    id="DA422",
    slug="multiple-services",
    title="Several services in one container",
    severity=Severity.LOW,
    scope=Scope.CONTAINER,
    section=Section.ONE_PROCESS.value,
    rationale=(
        "A container running a supervisor or several servers cannot be scaled, restarted or health-checked "
        "per service, and its logs and signals get mixed."
    ),
    references=("seed One process per container",),
    fix=lambda f, c: Fix(
        summary="Run each service in its own container (Compose services sharing a network).",
        compose=compose_service({"image": "<one service per container>"}),
    ),
)
def multiple_services(facts: ContainerFacts, ctx: RuleContext) -> CheckResult:
    """The container's own process tree has a supervisor or more than one server binary."""
    if facts.processes is None:
        return Skip(facts.processes_skip_reason or f"docker top is unavailable: the container is {facts.state.status}")
    # Only the tree under State.Pid is the container's: with --pid host, host processes must never count.
    tree = own_processes(facts)
    if tree is None:
        return Skip(f"docker top shows no process with the container's PID ({facts.state.pid})")
    programs = [_program(p) for p in tree]
    supervisors = sorted({p for p in programs if p in _SUPERVISORS})
    if supervisors:
        return [Hit(f"process supervisor running: {', '.join(supervisors)}")]
    servers = sorted({p for p in programs if p in _SERVERS})
    if len(servers) > 1:
        return [Hit(f"several servers running: {', '.join(servers)}")]
    return []
