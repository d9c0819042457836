"""DA209, DA210, DA213, DA215, DA610: what RUN steps do to privileges and permissions in the image."""

from __future__ import annotations

import itertools
import re

from dockaudit.facts.image import HistoryEntry, ImageFacts
from dockaudit.lazy_pattern import LazyPattern
from dockaudit.model import Fix, Severity
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, rule
from dockaudit.rules.shell import SHELLS, Command, commands, pipelines
from dockaudit.rules.steps import hits_per_command, run_steps

# --------------------------------------------------------------------------------------------- DA209/210


def _fix_sudo(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Run privileged build steps before USER (as root), then switch to the unprivileged user.",
        dockerfile="USER root\nRUN apt-get update && apt-get install -y --no-install-recommends pkg\nUSER 10001:10001",
    )


@rule(
    id="DA209",
    slug="sudo-used",
    title="Sudo used in a RUN",
    severity=Severity.MEDIUM,
    scope=Scope.HISTORY,
    section=Section.NON_ROOT,
    rationale=(
        "sudo in a build means a privilege-escalation path is installed and configured in the image. "
        "Build steps that need root should run before USER switches to the unprivileged user."
    ),
    references=("DKL-DI-0001", "DS-0010", "DL3004"),
    fix=_fix_sudo,
)
def sudo_used(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`sudo` runs a command in a RUN (installing the sudo package does not count)."""
    return hits_per_command(facts, lambda step, c: "runs `sudo`" if "sudo" in c.prefixes or c.name == "sudo" else None)


def _fix_pipe(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Download to a file, verify its checksum or signature, then run it.",
        dockerfile=(
            "RUN curl -fsSLo /tmp/install.sh https://example.com/install.sh && \\\n"
            "    echo '<sha256>  /tmp/install.sh' | sha256sum -c - && \\\n"
            "    sh /tmp/install.sh && rm /tmp/install.sh"
        ),
    )


_DOWNLOADERS = frozenset({"curl", "wget", "fetch"})
_INTERPRETER = LazyPattern(r"^(?:python[0-9.]*|perl|ruby|node|php)$")


_INLINE_CODE = frozenset({"-c", "-e", "-E", "-r", "-m", "-p", "--eval", "--print", "-B", "-R", "-F"})
"""Options that give the program on the command line (python -c/-m, perl/ruby/node -e, php -r/-B/-R/-F)."""
_VALUE_OPTIONS = frozenset({"-d", "-W", "-X", "-I", "-C"})
"""Options whose value is the next word (php -d ini=value, python -W/-X, ruby -C dir)."""


def _runs_stdin(cmd: Command) -> bool:
    """An interpreter that runs the program it reads on stdin: no script named before `-` or `--` (`python`,
    `python3 -`, `php -- --install-dir=/usr/local/bin`, Composer's documented installer line), not `python -c '...'`
    nor `python tool.py`, which reads the download as data."""
    if _INTERPRETER.match(cmd.name) is None:
        return False
    args = iter(cmd.args)
    for arg in args:
        if arg in ("-", "--"):
            return True
        if arg in _INLINE_CODE or not arg.startswith("-"):
            return False
        if arg in _VALUE_OPTIONS:
            next(args, None)
    return True


def _pipes_to_shell(body: str) -> str | None:
    for pipeline in pipelines(body):
        for left, right in itertools.pairwise(pipeline):
            if left.name in _DOWNLOADERS and (right.name in SHELLS or _runs_stdin(right)):
                return f"`{left.name} ... | {right.name}`"
        for cmd in pipeline:
            if cmd.name not in SHELLS:
                continue
            args = list(cmd.args)
            for i, arg in enumerate(args):
                # `sh -c "$(curl ...)"` and `bash <(curl ...)` run a download just the same.
                if re.match(r"^\$\(\s*(?:curl|wget)\b|^`\s*(?:curl|wget)\b", arg):
                    return f'`{cmd.name} -c "$({arg[2:].split()[0]} ...)"`'
                if arg == "<(" and i + 1 < len(args) and args[i + 1] in _DOWNLOADERS:
                    return f"`{cmd.name} <({args[i + 1]} ...)`"
    return None


@rule(
    id="DA210",
    slug="curl-pipe-shell",
    title="Download piped into a shell",
    severity=Severity.MEDIUM,
    scope=Scope.HISTORY,
    section=Section.SCANNING,
    rationale=(
        "Piping a download into a shell runs whatever the server sends, unverified, as root in the build. "
        "A truncated download can even run half a script."
    ),
    references=("DL4006 (related)",),
    fix=_fix_pipe,
)
def curl_pipe_shell(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A download piped into a shell (`curl ... | sh`) or an interpreter reading stdin, outside quoted text."""
    hits: list[Hit] = []
    for step in run_steps(facts, fed=True):
        found = _pipes_to_shell(step.body)
        if found:
            stage = f" (build stage {step.fed_from}, whose files the image takes)" if step.fed_from else ""
            hits.append(Hit(f"{step.where}{stage}: {found}: {step.shown}", step.location, step.origin))
    return hits


# --------------------------------------------------------------------------------------------- DA213

_SYMBOLIC_WW = LazyPattern(r"(?:^|,)[ugoa]*[oa][ugoa]*[+=][rwxXst]*w")
_SYMBOLIC_GW = LazyPattern(r"(?:^|,)[ugoa]*g[ugoa]*[+=][rwxXst]*w")
_COPY_USER_TO_GROUP = LazyPattern(r"(?:^|,)g=u(?:,|$)")
SENSITIVE_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d", "/etc/passwd", "/etc/group")
"""Account and privilege files: writable by anyone but root, they hand out root."""
ARBITRARY_UID_FILES = ("/etc/passwd", "/etc/group")
"""OpenShift runs images as an arbitrary UID in group 0 and documents making these group-writable (`g=u`)."""
_TEMPORARY = ("/tmp/", "/var/tmp/", "/dev/shm/")
_CHMOD_OPTIONS = frozenset(
    {"-R", "-r", "--recursive", "-v", "-f", "-c", "--verbose", "--silent", "--quiet", "--changes"}
)


def _world_writable_mode(mode: str) -> bool:
    if re.fullmatch(r"[0-7]{3,4}", mode):
        digits = mode.zfill(4)
        sticky = int(digits[0]) & 1
        # Others-write without the sticky bit (`1777` is the normal /tmp mode).
        return bool(int(digits[3]) & 2) and not sticky
    return bool(_SYMBOLIC_WW.search(mode)) and "+t" not in mode


def _group_writable_mode(mode: str) -> bool:
    if re.fullmatch(r"[0-7]{3,4}", mode):
        return bool(int(mode.zfill(4)[2]) & 2)
    return bool(_SYMBOLIC_GW.search(mode) or _COPY_USER_TO_GROUP.search(mode))


def _covered(target: str, paths: tuple[str, ...], recursive: bool) -> list[str]:
    """The sensitive paths `target` is, or holds when the chmod is recursive (`chmod -R 777 /etc`)."""
    target = "/" + target.strip("/") if target.startswith("/") else target
    hit = [p for p in paths if target == p or target.startswith(p + "/")]
    if recursive:
        hit += [p for p in paths if p.startswith(target.rstrip("/") + "/")]
    return sorted(set(hit))


def _removed_later(target: str, later: list[Command]) -> bool:
    """Whether an `rm -r` later in the same RUN deletes `target` (or a directory holding it)."""
    for c in later:
        if c.name != "rm":
            continue
        for arg in c.args:
            if arg.startswith("-"):
                continue
            gone = arg.rstrip("/")
            if gone and (target.rstrip("/") == gone or target.startswith(gone + "/")):
                return True
    return False


def _chmod_issues(step: HistoryEntry) -> list[tuple[str, Severity | None]]:
    """(what a chmod of this RUN makes writable, severity override) for each flawed chmod."""
    issues: list[tuple[str, Severity | None]] = []
    cmds = list(commands(step.body))
    for index, command in enumerate(cmds):
        if command.name != "chmod":
            continue
        recursive = bool({"-R", "-r", "--recursive"} & set(command.args))
        args = [a for a in command.args if a not in _CHMOD_OPTIONS]
        if len(args) < 2:
            continue
        mode, targets = args[0], args[1:]
        world, group = _world_writable_mode(mode), _group_writable_mode(mode)
        shown = f"`chmod {' '.join(command.args)}`"
        for target in targets:
            sensitive = _covered(target, SENSITIVE_FILES, recursive)
            if sensitive and (world or group):
                openshift = (
                    not world and _COPY_USER_TO_GROUP.search(mode) and set(sensitive) <= set(ARBITRARY_UID_FILES)
                )
                if openshift:
                    issues.append(
                        (
                            f"{shown} makes {', '.join(sensitive)} writable by group 0, the arbitrary-UID pattern "
                            "OpenShift documents: any process in the root group can then add a UID 0 account",
                            Severity.MEDIUM,
                        )
                    )
                else:
                    who = "everyone" if world else "its group"
                    issues.append((f"{shown} makes {', '.join(sensitive)} writable by {who}", Severity.HIGH))
            elif world and not target.startswith(_TEMPORARY) and not _removed_later(target, cmds[index + 1 :]):
                # A scratch directory made writable for a build step and deleted again never ships.
                issues.append((f"{shown} makes {target} world-writable", None))
    return issues


def _fix_chmod(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary=(
            "Give write access to the application user only (chown to it, mode 750/640); keep /etc/passwd, "
            "/etc/shadow, /etc/group and sudoers owned by root and writable by root alone (use nss_wrapper for "
            "arbitrary UIDs)."
        ),
        dockerfile="RUN chown -R 10001:10001 /app/data && chmod -R u+rwX,g+rX,o-rwx /app/data",
    )


@rule(
    id="DA213",
    slug="world-writable-chmod",
    title="World-writable chmod in a RUN",
    severity=Severity.LOW,
    scope=Scope.HISTORY,
    section=Section.READ_ONLY_ROOTFS,
    rationale=(
        "World-writable files let any user in the container, including a compromised low-privilege process, "
        "change code or configuration that others run. A writable /etc/passwd, /etc/shadow, /etc/group or "
        "sudoers hands out root, so those are high; only the application user should write its own data."
    ),
    references=(),
    fix=_fix_chmod,
)
def world_writable_chmod(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`chmod 777`/`a+w`/`o+w` outside temporary paths, or any group/world write on account and sudoers files."""
    hits: list[Hit] = []
    for step in run_steps(facts):
        issues = _chmod_issues(step)
        if not issues:
            continue
        ranks = [sev for _, sev in issues if sev is not None]
        severity = max(ranks) if ranks else None
        text = "; ".join(text for text, _ in issues)
        hits.append(Hit(f"{step.where}: {text}: {step.shown}", step.location, step.origin, severity))
    return hits


# --------------------------------------------------------------------------------------------- DA215

_SSHD_OPTIONS = LazyPattern(r"(?i)\b(PermitRootLogin|PermitEmptyPasswords)\s+yes\b")
_SED_SUBSTITUTION = LazyPattern(r"s(?P<d>[^\w\s\\])(?P<find>(?:\\.|(?!(?P=d)).)*)(?P=d)(?P<repl>(?:\\.|(?!(?P=d)).)*)")


def _sshd_settings(step: HistoryEntry) -> list[str]:
    """`PermitRootLogin yes` / `PermitEmptyPasswords yes` a RUN writes into an sshd configuration."""
    if "sshd_config" not in step.body:
        return []
    found: list[str] = []
    for command in commands(step.body):
        if command.name == "sed":
            # Only the replacement counts: `s/PermitRootLogin yes/PermitRootLogin no/` turns it off.
            for arg in command.args:
                for m in _SED_SUBSTITUTION.finditer(arg):
                    found += [f"{g.group(1)} yes" for g in _SSHD_OPTIONS.finditer(m.group("repl"))]
        elif command.name in ("echo", "printf", "tee", "cat"):
            found += [f"{m.group(1)} yes" for m in _SSHD_OPTIONS.finditer(" ".join(command.args))]
    if not found and re.search(r"<<-?\s*['\"]?\w+", step.body):
        found += [f"{m.group(1)} yes" for m in _SSHD_OPTIONS.finditer(step.body)]  # a heredoc's lines
    return list(dict.fromkeys(found))


def _fix_sshd(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary=(
            "Do not run sshd in the container (use `docker exec`); if it must run, log in with keys as an "
            "unprivileged user: PermitRootLogin no, PermitEmptyPasswords no, PasswordAuthentication no."
        ),
        dockerfile=(
            "RUN sed -ri 's/^#?(PermitRootLogin|PermitEmptyPasswords|PasswordAuthentication)\\s.*/\\1 no/' "
            "/etc/ssh/sshd_config"
        ),
    )


@rule(
    id="DA215",
    slug="ssh-root-login",
    title="SSH server allows root or empty-password login",
    severity=Severity.HIGH,
    scope=Scope.HISTORY,
    section=Section.NON_ROOT,
    rationale=(
        "An sshd configured with `PermitRootLogin yes` or `PermitEmptyPasswords yes` lets anyone who reaches "
        "the port try to log in as root, usually with a password baked into the image. A container is entered "
        "with `docker exec`, not ssh."
    ),
    references=("CIS 5.7",),
    fix=_fix_sshd,
)
def ssh_root_login(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A RUN writes `PermitRootLogin yes` or `PermitEmptyPasswords yes` into sshd_config."""
    hits: list[Hit] = []
    for step in run_steps(facts):
        settings = _sshd_settings(step)
        if settings:
            text = f"{step.where}: sshd_config gets {' and '.join(settings)}: {step.shown}"
            hits.append(Hit(text, step.location, step.origin))
    return hits


# --------------------------------------------------------------------------------------------- DA610

_NOPASSWD = LazyPattern(
    r"(?P<who>%?[A-Za-z0-9_.${}#-]+)\s+(?:[A-Za-z0-9_.,-]+|ALL)\s*=\s*(?:\\?\([^)]*\\?\)\s*)?NOPASSWD\s*:\s*"
    r"(?P<cmds>[^\"'\n;&|>]*)"
)
_VAR = LazyPattern(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_GROUP_ADD = (
    LazyPattern(r"\busermod\s+(?:-\S+\s+)*-a?G\s+(?P<groups>\S+)\s+(?:-\S+\s+)*(?P<user>[^\s;&|]+)"),
    LazyPattern(r"\buseradd\b[^;&|\n]*?\s-G\s+(?P<groups>\S+)[^;&|\n]*?\s(?P<user>[^\s;&|-][^\s;&|]*)\s*(?:$|[;&|])"),
    LazyPattern(r"\badduser\s+(?P<user>[^\s;&|-][^\s;&|]*)\s+(?P<groups>[^\s;&|-][^\s;&|]*)\s*(?:$|[;&|])"),
    LazyPattern(r"\bgpasswd\s+-a\s+(?P<user>\S+)\s+(?P<groups>\S+)"),
)


_SSHD = LazyPattern(r"(?:^|[\s/])sshd(?:\s|$)|\bservice\s+ssh\s+start\b")
"""A command that runs OpenSSH's server (`/usr/sbin/sshd -D`, `service ssh start && ...`)."""


def _resolve(word: str, values: dict[str, str]) -> str:
    m = _VAR.match(word.strip("'\""))
    if m is None:
        return word.strip("'\"")
    return values.get(m.group(1), word)


def _runtime_user(facts: ImageFacts, values: dict[str, str]) -> str:
    return _resolve(facts.config.user.split(":", 1)[0].strip(), values)


_FIRST_REGULAR_UID = 1000
"""What useradd/adduser give the first regular account they create when the file names no UID (Debian, Alpine,
RHEL defaults: UID_MIN / FIRST_UID 1000)."""


def _account_name(facts: ImageFacts, runtime: str) -> str | None:
    """The name of the account a numeric runtime user is (`USER 1000` after `adduser coder`), when the file tells."""
    if not runtime.isdecimal() or facts.runtime is None:
        return None
    uid = int(runtime)
    accounts = facts.runtime.accounts
    named = next((a.name for a in accounts if a.uid == uid), None)
    if named is not None or uid != _FIRST_REGULAR_UID or any(a.uid is not None and a.uid >= uid for a in accounts):
        return named
    # No account has an explicit UID from 1000 on: the first one the file creates without a UID gets 1000.
    return next((a.name for a in accounts if a.created and a.uid is None), None)


def _groups_of(user: str, facts: ImageFacts, values: dict[str, str]) -> set[str]:
    groups: set[str] = set()
    for step in run_steps(facts):
        for pattern in _GROUP_ADD:
            for m in pattern.finditer(step.body):
                if _resolve(m.group("user"), values) == user:
                    groups |= {_resolve(g, values) for g in m.group("groups").split(",")}
    return groups


def _values(facts: ImageFacts, step: HistoryEntry) -> dict[str, str]:
    """Build args and ENV values a RUN can expand (secret values are redacted and never match a user)."""
    values = {v.name: v.value for v in facts.config.env}
    values.update({a.name: a.value for a in step.build_args if a.value})
    return values


def _fix_sudo_nopasswd(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary=(
            "Do not grant passwordless sudo in an image: run the privileged steps at build time (before USER) or "
            "in an entrypoint that drops privileges, and leave sudo out of the runtime image."
        ),
        dockerfile="USER root\nRUN <privileged setup>\nUSER 10001:10001  # and no sudoers entry for it",
    )


@rule(
    id="DA610",
    slug="passwordless-sudo",
    title="Passwordless sudo for the runtime user",
    severity=Severity.HIGH,
    scope=Scope.HISTORY,
    section=Section.NON_ROOT,
    rationale=(
        "A NOPASSWD sudoers entry for the user the image runs as, or for ALL, makes the non-root user root in "
        "all but name: any code running in the container can escalate without a password."
    ),
    references=('seed "Run as non-root"', "DL3004 (related)"),
    fix=_fix_sudo_nopasswd,
)
def passwordless_sudo(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A RUN grants NOPASSWD sudo to ALL, to the runtime user, or to a group the runtime user is added to."""
    hits: list[Hit] = []
    # An image that runs sshd runs code as whoever logs in: those accounts are its runtime users too.
    command = " ".join((*(facts.config.entrypoint or ()), *(facts.config.cmd or ())))
    sshd = _SSHD.search(command) is not None
    for step in run_steps(facts):
        if "NOPASSWD" not in step.body:
            continue
        values = _values(facts, step)
        runtime = _runtime_user(facts, values)
        for m in _NOPASSWD.finditer(step.body):
            who = m.group("who")
            subject = (
                who
                if who == "ALL"
                else ("%" + _resolve(who[1:], values) if who.startswith("%") else _resolve(who, values))
            )
            cmds = m.group("cmds").strip() or "ALL"
            if subject == "ALL":
                reason = "every user"
            elif runtime not in ("", "root", "0") and subject in (
                runtime,
                f"#{runtime}",
                _account_name(facts, runtime),
            ):
                reason = f"{subject} (the user the image runs as)"
            elif subject.startswith("%") and runtime not in ("", "root", "0"):
                if subject[1:] not in _groups_of(runtime, facts, values):
                    continue
                reason = f"group {subject[1:]} (the runtime user {runtime} is in it)"
            elif sshd and not subject.startswith("%") and subject not in ("root", "0", "#0"):
                reason = f"{subject} (who logs in over the sshd the image runs)"
            else:
                continue
            hits.append(
                Hit(f"{step.where}: sudoers grants {reason} NOPASSWD: {cmds}: {step.shown}", step.location, step.origin)
            )
            break
    return hits
