"""Who and what the image a Dockerfile builds runs as: its runtime stage, user, entrypoint, tools and HTTP port.

Pure: it reads the parsed instructions, the build context (to read an entrypoint script the file copies in) and,
when the caller has one, a locally present base image (`base_lookup`); else the shipped table of well-known
bases (`parse/data/base_images.toml`).
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dockaudit.errors import UsageError
from dockaudit.facts import (
    Account,
    BaseImage,
    DockerfileFacts,
    DockerfileInstruction,
    DockerfileStage,
    EffectiveUser,
    ImageFacts,
    PrivilegeDrop,
    RuntimeFacts,
)
from dockaudit.parse.base_images import KnownBase, family_tools, known_base

BaseLookup = Callable[[str], BaseImage | None]

_TEST_NAME = re.compile(
    r"(?:^|[-_.])(?:tests?|testing|unit-?tests?|integration-?tests?|e2e|lint|linters?|linting|ci|checks?|vet|"
    r"verify|coverage)(?:[-_.]|$)",
    re.IGNORECASE,
)
_EXPORT_NAME = re.compile(
    r"(?:^|[-_.])(?:export|exporter|artifacts?|binar(?:y|ies)|out|output|dist|release)(?:[-_.]|$)", re.I
)
_WINDOWS_BASE = re.compile(r"mcr\.microsoft\.com/windows|nanoserver|servercore|dotnet/framework|ltsc20\d\d", re.I)
_WINDOWS_SHELLS = ("powershell", "powershell.exe", "cmd", "cmd.exe")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
_ROOT = re.compile(r"^(?:root|0)(?::.*)?$")
_SEGMENT_SPLIT = re.compile(r"&&|\|\||;|\||\n|\bthen\b|\bdo\b|\belse\b")
_BIN_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")
_INIT_WRAPPERS = ("tini", "tini-static", "dumb-init", "catatonit", "docker-init")
_SHELLS = ("sh", "bash", "ash", "dash")
_SCRIPT_CAP = 256 * 1024
_PASSWD_LINE = re.compile(r"(?<![\w.-])([a-z_][\w.-]*):[^:\s]*:(\d+):(\d+):")

PACKAGE_TOOLS: Mapping[str, tuple[str, ...]] = {
    "curl": ("curl",),
    "curl-minimal": ("curl",),
    "wget": ("wget",),
    "wget2": ("wget",),
    "busybox": ("sh", "wget", "nc"),
    "busybox-static": ("sh", "wget", "nc"),
    "netcat": ("nc",),
    "netcat-openbsd": ("nc",),
    "netcat-traditional": ("nc",),
    "nmap-ncat": ("nc",),
    "ncat": ("nc",),
    "bash": ("bash",),
    "python3": ("python3",),
    "python3-minimal": ("python3",),
    "python-is-python3": ("python",),
    "python": ("python", "python3"),
    "nodejs": ("node",),
    "postgresql-client": ("pg_isready", "psql"),
    "redis": ("redis-cli",),
    "redis-tools": ("redis-cli",),
    "default-mysql-client": ("mysqladmin", "mysql"),
    "mariadb-client": ("mysqladmin", "mysql"),
    "mysql-client": ("mysqladmin", "mysql"),
    "gosu": ("gosu",),
    "su-exec": ("su-exec",),
    "tini": ("tini",),
    "shadow": ("useradd", "groupadd"),
    "shadow-utils": ("useradd", "groupadd"),
    "passwd": ("useradd", "groupadd"),
    "adduser": ("adduser", "addgroup"),
    "util-linux": ("setpriv", "runuser", "su"),
    "sudo": ("sudo",),
}
"""Executables a package brings (by the package's name without version), for the tools the analysis watches."""

DROP_TOOLS = ("gosu", "su-exec", "setpriv", "runuser", "chpst", "s6-setuidgid", "setuser", "su", "sudo", "chroot")
"""Commands that start a program as another user; `chroot` only with `--userspec`."""


# ------------------------------------------------------------------------------------------------ variables


def expand(text: str, env: Mapping[str, str | None]) -> str | None:
    """`text` with `$X`, `${X}`, `${X:-default}` and `${X:+alt}` substituted; None when a variable has no value."""
    unresolved = False

    def sub(m: re.Match[str]) -> str:
        nonlocal unresolved
        name = m.group(1) or m.group(4)
        op, word = m.group(2), m.group(3) or ""
        value = env.get(name)
        if op in (":-", "-"):
            if value is None or (op == ":-" and value == ""):
                resolved = expand(word, env)
                if resolved is None:
                    unresolved = True
                    return ""
                return resolved
            return value
        if op in (":+", "+"):
            return word if value else ""
        if value is None:
            unresolved = True
            return ""
        return value

    out = _VAR.sub(sub, text)
    return None if unresolved else out


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def is_root_spec(spec: str) -> bool:
    """Whether a resolved `USER` value means root (empty, `root`, `0`, `0:<gid>`, `root:<group>`)."""
    return not spec.strip() or bool(_ROOT.match(spec.strip()))


# ------------------------------------------------------------------------------------------------ stages


@dataclass(frozen=True)
class _Stages:
    stages: tuple[DockerfileStage, ...]
    members: Mapping[int, tuple[DockerfileInstruction, ...]]

    def by_name(self, name: str) -> DockerfileStage | None:
        for stage in self.stages:
            if (stage.name and stage.name.lower() == name.lower()) or str(stage.index) == name:
                return stage
        return None

    def parent(self, stage: DockerfileStage) -> DockerfileStage | None:
        parent = self.by_name(stage.base)
        return parent if parent is not None and parent.index < stage.index else None

    def chain(self, stage: DockerfileStage) -> list[DockerfileStage]:
        """The stage and the stages it is built FROM, nearest first."""
        out: list[DockerfileStage] = []
        current: DockerfileStage | None = stage
        while current is not None and current not in out:
            out.append(current)
            current = self.parent(current)
        return out

    def root(self, stage: DockerfileStage) -> str:
        return self.chain(stage)[-1].base

    def of(self, stage: DockerfileStage) -> tuple[DockerfileInstruction, ...]:
        return self.members.get(stage.index, ())

    def chain_instructions(self, stage: DockerfileStage) -> list[DockerfileInstruction]:
        """Instructions of the chain in build order (the farthest parent first)."""
        return [i for s in reversed(self.chain(stage)) for i in self.of(s)]


def _label(stage: DockerfileStage) -> str:
    return f"`{stage.name}`" if stage.name else f"{stage.index} (FROM {stage.base})"


def _exports_only(stage: DockerfileStage, instructions: Sequence[DockerfileInstruction]) -> bool:
    cmds = [i.cmd for i in instructions]
    copies = [i for i in instructions if i.cmd in ("COPY", "ADD")]
    if not copies or any(c not in ("COPY", "ADD", "ARG", "LABEL", "WORKDIR", "ENV") for c in cmds):
        return False
    from_stage = all(any(f.startswith("--from=") for f in i.flags) for i in copies)
    return from_stage and (stage.base.lower() == "scratch" or bool(stage.name and _EXPORT_NAME.search(stage.name)))


def _tests_only(stage: DockerfileStage) -> bool:
    return bool(stage.name and _TEST_NAME.search(stage.name))


def _copied_from(instructions: Sequence[DockerfileInstruction]) -> set[str]:
    names = set()
    for ins in instructions:
        for flag in ins.flags:
            if ins.cmd in ("COPY", "ADD") and flag.startswith("--from="):
                names.add(flag.split("=", 1)[1].lower())
    return names


def _select(view: _Stages, target: str | None) -> tuple[DockerfileStage | None, str]:
    stages = view.stages
    if target is not None:
        chosen = view.by_name(target)
        if chosen is None:
            names = ", ".join(s.name or str(s.index) for s in stages)
            raise UsageError(f"--target {target}: no such stage (stages: {names})")
        return chosen, f"--target {target}"
    last = stages[-1]

    def role(stage: DockerfileStage) -> str | None:
        if _exports_only(stage, view.of(stage)):
            return "only exports files built in other stages"
        if _tests_only(stage):
            return "only builds or runs tests and checks"
        return None

    last_role = role(last)
    if last_role is None:
        return last, f"the last stage {_label(last)}"
    skipped = [last]
    candidate = None
    for stage in reversed(stages[:-1]):
        if role(stage) is None:
            candidate = stage
            break
        skipped.append(stage)
    if candidate is None:
        return None, f"every stage {last_role}: the file builds no runtime image (pick one with --target)"
    referenced = {s.base.lower() for s in skipped} | {n for s in skipped for n in _copied_from(view.of(s))}
    own_names = {candidate.name.lower()} if candidate.name else set()
    own_names.add(str(candidate.index))
    chain_cmds = {i.cmd for i in view.chain_instructions(candidate)}
    known = known_base(view.root(candidate))
    builder = not ({"CMD", "ENTRYPOINT", "EXPOSE"} & chain_cmds) and not (known is not None and known.service)
    if builder and own_names & referenced:
        return None, (
            f"the last stage {_label(last)} {last_role} and {_label(candidate)} only builds for it: "
            "the file builds no runtime image (pick one with --target)"
        )
    return candidate, f"stage {_label(candidate)}: the last stage {_label(last)} {last_role}"


# ------------------------------------------------------------------------------------------------ windows


def _windows(text: str, view: _Stages, instructions: Sequence[DockerfileInstruction]) -> str | None:
    for line in text.splitlines():
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) == "`":
            return "the `# escape=`` ` `` directive of Windows Dockerfiles"
    for stage in view.stages:
        if _WINDOWS_BASE.search(stage.base):
            return f"a Windows base image (FROM {stage.base})"
    for ins in instructions:
        if ins.cmd == "SHELL" and ins.value:
            program = ins.value[0].replace("\\", "/").rsplit("/", 1)[-1].lower()
            if program in _WINDOWS_SHELLS:
                return f"SHELL {ins.value[0]} (line {ins.start_line})"
        if ins.cmd == "WORKDIR" and ins.value and re.match(r"^[A-Za-z]:[\\/]", ins.value[0]):
            return f"a Windows path in WORKDIR {ins.value[0]} (line {ins.start_line})"
    return None


# ------------------------------------------------------------------------------------------------ shell text


def _segments(text: str) -> list[str]:
    """Simple commands of a shell text, roughly: split on operators, `then`/`do`, newlines."""
    joined = re.sub(r"\\\r?\n", " ", text)
    return [s.strip().lstrip("({").strip() for s in _SEGMENT_SPLIT.split(joined) if s.strip()]


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return text.split()


def _command_words(segment: str) -> list[str]:
    """Words of a simple command without `sudo`, `exec`, `env` and leading `VAR=value` assignments."""
    words = _words(segment)
    while words and (
        words[0] in ("exec", "sudo", "env", "nohup", "command", "time")
        or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0])
        or (words[0].startswith("-") and words[0] != "-")
    ):
        words = words[1:]
    return words


def _inline_vars(text: str) -> dict[str, str | None]:
    """Shell variables a RUN sets for itself (`buildDeps='curl gcc'`), for package lists that use them."""
    found: dict[str, str | None] = {}
    for match in re.finditer(r"(?:^|[\s;&])([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|'[^']*'|[^\s;&|]*)", text):
        found[match.group(1)] = _unquote(match.group(2))
    return found


# ------------------------------------------------------------------------------------------------ users

_VALUE_OPTIONS = {
    "useradd": {"-u", "-g", "-G", "-s", "-d", "-c", "-k", "-e", "-f", "-K", "-p", "-b"},
    "adduser": {"-u", "-G", "-g", "-h", "-s", "-k"},
    "groupadd": {"-g", "-K", "-p"},
    "addgroup": {"-g"},
    "usermod": {"-u", "-g", "-G", "-s", "-d", "-c", "-l", "-e", "-f", "-p"},
    "groupmod": {"-g", "-n"},
}
_LONG_VALUE = {
    "--uid",
    "--gid",
    "--groups",
    "--shell",
    "--home-dir",
    "--home",
    "--comment",
    "--gecos",
    "--ingroup",
    "--password",
    "--skel",
    "--firstuid",
    "--lastuid",
    "--key",
    "--new-name",
    "--login",
    "--expiredate",
    "--inactive",
    "--base-dir",
}


def _options(tool: str, words: list[str]) -> tuple[dict[str, str], list[str]]:
    takes = _VALUE_OPTIONS[tool]
    options: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("--") and "=" in word:
            key, value = word.split("=", 1)
            options[key] = value
        elif (word in takes or word in _LONG_VALUE) and i + 1 < len(words):
            options[word] = words[i + 1]
            i += 1
        elif re.match(r"^-[ug]\d+$", word):
            options[word[:2]] = word[2:]
        elif not word.startswith("-"):
            positional.append(word)
        i += 1
    return options, positional


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


@dataclass
class _Users:
    """Users and groups the Dockerfile creates, in order."""

    users: dict[str, Account] = field(default_factory=dict)
    groups: dict[str, int | None] = field(default_factory=dict)

    def group_id(self, text: str | None, base_groups: Mapping[str, int]) -> int | None:
        if text is None:
            return None
        if text.isdigit():
            return int(text)
        return self.groups.get(text, base_groups.get(text))

    def apply(self, words: list[str], line: int, base_groups: Mapping[str, int]) -> None:
        tool = words[0].rsplit("/", 1)[-1]
        options, positional = _options(tool, words[1:])
        if not positional:
            return
        name = positional[0]
        origin = f"Dockerfile line {line}"
        if tool in ("groupadd", "addgroup") and not (tool == "addgroup" and len(positional) > 1):
            self.groups[name] = _int(options.get("-g") or options.get("--gid"))
        elif tool in ("useradd", "adduser"):
            if tool == "adduser" and len(positional) > 1 and name in self.users:
                return  # `adduser user group` adds an existing user to a group
            uid = _int(options.get("-u") or options.get("--uid"))
            if tool == "useradd":
                group = options.get("-g") or options.get("--gid")
            else:
                group = options.get("-G") or options.get("--ingroup") or options.get("--gid")
            gid = self.group_id(group, base_groups) if group else self.groups.get(name)
            if gid is None and group is None and uid is not None and ("-U" in words or "--user-group" in words):
                gid = None
            self.users[name] = Account(name, uid, gid, origin, created=True)
        elif tool == "usermod" and name in self.users:
            old = self.users[name]
            uid = _int(options.get("-u") or options.get("--uid"))
            group = options.get("-g") or options.get("--gid")
            gid = self.group_id(group, base_groups) if group else old.gid
            self.users[name] = Account(name, uid if uid is not None else old.uid, gid, old.origin, created=True)
        elif tool == "groupmod" and name in self.groups:
            self.groups[name] = _int(options.get("-g") or options.get("--gid"))


def passwd_accounts(passwd: str, origin: str) -> list[Account]:
    """Regular (UID 1000 and up, not nobody) accounts of an /etc/passwd text."""
    found = []
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[2].isdigit() and fields[3].isdigit():
            uid = int(fields[2])
            if 1000 <= uid < 65534 or uid == 65532:
                found.append(Account(fields[0], uid, int(fields[3]), origin))
    return found


def _passwd_ids(passwd: str | None) -> dict[str, tuple[int, int]]:
    ids = {}
    for line in (passwd or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[2].isdigit() and fields[3].isdigit():
            ids[fields[0]] = (int(fields[2]), int(fields[3]))
    return ids


def _group_ids(group: str | None) -> dict[str, int]:
    ids = {}
    for line in (group or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            ids[fields[0]] = int(fields[2])
    return ids


# ------------------------------------------------------------------------------------------------ privilege drop


def strip_init(words: list[str]) -> list[str]:
    """A command without the init wrappers (tini, dumb-init...) and `exec` in front of the program."""
    while words and words[0].rsplit("/", 1)[-1] in (*_INIT_WRAPPERS, "exec"):
        words = words[1:]
        while words and (words[0].startswith("-") or words[0] == "--"):
            words = words[1:]
    return words


def drop_in_command(words: list[str]) -> tuple[str, str] | None:
    """(tool, user) when the command starts a program as another user."""
    words = strip_init(list(words))
    if not words:
        return None
    tool = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    if tool not in DROP_TOOLS:
        return None
    if tool in ("gosu", "s6-setuidgid", "setuser"):
        return (tool, args[0]) if args else None
    if tool == "su-exec":
        return (tool, args[0].split(":", 1)[0]) if args else None
    if tool == "chpst":
        for i, arg in enumerate(args):
            if arg == "-u" and i + 1 < len(args):
                return tool, args[i + 1].split(":", 1)[0].lstrip(":")
            if arg.startswith("-u") and len(arg) > 2:
                return tool, arg[2:].split(":", 1)[0]
        return None
    if tool == "setpriv":
        for i, arg in enumerate(args):
            if arg.startswith("--reuid="):
                return tool, arg.split("=", 1)[1]
            if arg == "--reuid" and i + 1 < len(args):
                return tool, args[i + 1]
        return None
    if tool == "chroot":
        for i, arg in enumerate(args):
            if arg.startswith("--userspec="):
                return tool, arg.split("=", 1)[1].split(":", 1)[0]
            if arg == "--userspec" and i + 1 < len(args):
                return tool, args[i + 1].split(":", 1)[0]
        return None
    if tool in ("runuser", "sudo"):
        for i, arg in enumerate(args):
            if arg in ("-u", "--user") and i + 1 < len(args):
                return tool, args[i + 1]
            if arg.startswith("--user="):
                return tool, arg.split("=", 1)[1]
        if tool == "runuser":
            rest = [a for a in args if not a.startswith("-")]
            return (tool, rest[0]) if rest else None
        return None
    # su [options] [-] [user [args]]: the first operand is the user; without one it is root.
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-c", "-s", "--command", "--shell", "-g", "--group", "-G") and i + 1 < len(args):
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        return None if arg in ("root", "0") else (tool, arg)
    return None


_ROOT_COMMANDS = re.compile(
    r"^(?:chown|chgrp|apt-get|apt|apk|yum|dnf|microdnf|useradd|adduser|groupadd|addgroup|usermod|groupmod|mount|"
    r"sysctl|setcap|iptables|ip6tables|modprobe|update-ca-certificates|ldconfig|service|rc-service|systemctl|"
    r"passwd|chpasswd)$"
)
_ROOT_PATH_WRITE = re.compile(r"(?:>>?|\btee\s+(?:-a\s+)?|\bsed\s+-i\S*\s+.*?)\s*(/(?:etc|usr|var/lib|run)/\S+)")
_UID_CHECK = re.compile(r"(?:\[\[?|\btest\b|\bif\b)[^\n]*(?:\bid\s+-u\b|\$\{?EUID\b|\$\{?UID\b|\bwhoami\b)")
"""A test of who the script runs as (`if [ "$(id -u)" = 0 ]`): then it is written to work without root too."""


def script_needs_root(text: str, where: str, numbered: bool = True) -> str | None:
    """Where a start-up script does something only root may (chown, package installs, writes under /etc)."""
    if _UID_CHECK.search(text):
        # The script checks who it runs as: it is written to work without root too.
        return None
    for number, line in _logical_lines(text):
        if line.lstrip().startswith("#"):
            continue
        for segment in _segments(line):
            words = _command_words(segment)
            while words and words[0] in ("if", "then", "else", "do", "!", "time", "nohup"):
                words = words[1:]
            if words and _ROOT_COMMANDS.match(words[0].rsplit("/", 1)[-1]):
                at = f"{where} line {number}" if numbered else where
                return f"{at} runs `{words[0]}`, which needs root"
        match = _ROOT_PATH_WRITE.search(line)
        if match:
            at = f"{where} line {number}" if numbered else where
            return f"{at} writes {match.group(1)}, which only root may"
    return None


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines of a script with backslash continuations joined, each with the number of its first line."""
    joined: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined.append((start, pending + line))
        pending = ""
    return joined


def script_drop(text: str, where: str, numbered: bool = True) -> PrivilegeDrop | None:
    """The first command in a shell script that drops privileges, with its line."""
    joined = _logical_lines(text)
    for number, line in joined:
        if line.lstrip().startswith("#"):
            continue
        for segment in _segments(line):
            words = _words(segment)
            # A drop tool may follow `exec`, `if`, `then` or sit in a subshell.
            while words and words[0] in ("exec", "if", "then", "else", "do", "!", "time", "nohup", "eval"):
                words = words[1:]
            found = drop_in_command(words)
            if found is not None:
                return PrivilegeDrop(found[0], found[1], f"{where} line {number}" if numbered else where)
    return None


# ------------------------------------------------------------------------------------------------ tools


def tools_in(files: frozenset[str]) -> frozenset[str]:
    """Names of the executables under the usual bin directories."""
    names = set()
    for path in files:
        directory, name = posixpath.split(path)
        if directory in _BIN_DIRS and name:
            names.add(name)
    if "busybox" in names:
        # A busybox binary provides its applets even where the symlinks were not unpacked.
        names |= {"sh", "wget", "nc"}
    return frozenset(names)


def _packages(words: list[str], start: int, env: Mapping[str, str | None]) -> tuple[list[str], bool]:
    """Package names after `start` in an install/remove command, and whether every name could be read."""
    names: list[str] = []
    complete = True
    skip_next = False
    for word in words[start:]:
        if skip_next:
            skip_next = False
            continue
        if word in ("-t", "--target-release", "-o", "--option", "--repository", "-X", "--virtual", "-t"):
            skip_next = word != "--virtual"
            continue
        if word.startswith("-"):
            continue
        value = expand(word, env) if "$" in word else word
        if value is None:
            complete = False
            continue
        for name in value.split():
            names.append(re.split(r"[=<>~]", name, maxsplit=1)[0].split(":", 1)[0])
    return names, complete


def _executables(package: str) -> tuple[str, ...]:
    if package in PACKAGE_TOOLS:
        return PACKAGE_TOOLS[package]
    if re.match(r"^postgresql(?:\d+)?-client(?:-\d+)?$", package):
        return ("pg_isready", "psql")
    if re.match(r"^python3\.\d+$", package):
        return ("python3",)
    return ()


@dataclass
class _Tools:
    present: set[str]
    complete: bool
    installed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Package -> executables, for packages this file installed."""

    def add_package(self, package: str) -> None:
        exes = _executables(package)
        self.installed[package] = exes
        self.present |= set(exes)

    def remove_package(self, package: str) -> None:
        for exe in self.installed.pop(package, _executables(package)):
            if not any(exe in other for other in self.installed.values()):
                self.present.discard(exe)

    def run(self, text: str, env: Mapping[str, str | None]) -> None:
        """Apply one RUN's installs and removals, in order."""
        local = {**env, **_inline_vars(text)}
        in_this_run: list[str] = []
        # `apt-mark auto` marks what is installed so far; `purge --auto-remove` then removes those, not later ones.
        auto: set[str] = set()
        virtual: dict[str, list[str]] = {}
        for segment in _segments(text):
            words = _command_words(segment)
            if not words:
                continue
            tool = words[0].rsplit("/", 1)[-1]
            verb = next((w for w in words[1:] if not w.startswith("-")), "")
            verb_at = words.index(verb) + 1 if verb else len(words)
            if tool in ("apt-get", "apt", "aptitude", "dnf", "yum", "microdnf", "tdnf") and verb == "install":
                names, ok = _packages(words, verb_at, local)
                self.complete = self.complete and ok
                for name in names:
                    self.add_package(name)
                    in_this_run.append(name)
            elif tool in ("apt-get", "apt", "dnf", "yum", "microdnf", "tdnf") and verb in ("purge", "remove", "erase"):
                names, _ = _packages(words, verb_at, local)
                for name in names:
                    self.remove_package(name)
                if "--auto-remove" in words or "--autoremove" in words:
                    for name in sorted(auto):
                        self.remove_package(name)
                    auto.clear()
            elif tool in ("apt-get", "apt") and verb == "autoremove":
                for name in sorted(auto):
                    self.remove_package(name)
                auto.clear()
            elif (tool == "apt-mark" and verb == "auto") or (
                tool == "xargs" and "apt-mark" in words and "auto" in words
            ):
                auto |= set(in_this_run)
            elif tool == "apt-mark" and verb == "manual":
                names, _ = _packages(words, verb_at, local)
                auto -= set(names)
            elif tool == "apk" and verb == "add":
                names, ok = _packages(words, verb_at, local)
                self.complete = self.complete and ok
                group = next((words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-t", "--virtual")), None)
                if group is not None:
                    names = [n for n in names if n != group]
                    virtual[group] = names
                for name in names:
                    self.add_package(name)
            elif tool == "apk" and verb == "del":
                names, _ = _packages(words, verb_at, local)
                for name in names:
                    for member in virtual.pop(name, [name]):
                        self.remove_package(member)
            elif tool == "install_packages":
                names, ok = _packages(words, 1, local)
                self.complete = self.complete and ok
                for name in names:
                    self.add_package(name)
            elif tool in ("curl", "wget"):
                for i, word in enumerate(words[:-1]):
                    # `-o PATH`, and combined short options ending in it (`-fsSLo PATH`).
                    short = re.match(r"^-[A-Za-z]*[oO]$", word) is not None
                    if short or word in ("--output", "--output-document"):
                        self._binary(words[i + 1])
            elif tool == "rm":
                for word in words[1:]:
                    if posixpath.dirname(word) in _BIN_DIRS:
                        self.present.discard(posixpath.basename(word))
            elif tool in ("ln", "cp", "mv", "install") and len(words) >= 3:
                self._binary(words[-1])

    def _binary(self, path: str) -> None:
        name = posixpath.basename(path)
        if posixpath.dirname(path) in _BIN_DIRS and name and "*" not in name:
            self.present.add(name)
            if name == "busybox":
                # Its applets (`busybox --install`, or called by name through the symlinks).
                self.present |= {"sh", "wget", "nc"}

    def copy(self, sources: Sequence[str], dest: str) -> None:
        if dest.rstrip("/") in _BIN_DIRS:
            for src in sources:
                self._binary(posixpath.join(dest.rstrip("/"), posixpath.basename(src.rstrip("/"))))
            if any(src.endswith("/") or "*" in src for src in sources):
                self.complete = False
        elif dest == "/" or dest.rstrip("/") in ("/usr", "/usr/local"):
            # A whole tree copied over the root may bring any tool.
            self.complete = False
        else:
            self._binary(dest)


# ------------------------------------------------------------------------------------------------ HTTP


_HTTP_SERVERS: tuple[tuple[re.Pattern[str], re.Pattern[str] | None, int | None], ...] = (
    # (program, port option, default port)
    (re.compile(r"^(?:gunicorn|hypercorn)$"), re.compile(r"(?:-b|--bind)[= ](?:[\w.\[\]:]*:)?(\d+)"), 8000),
    (re.compile(r"^uvicorn$"), re.compile(r"--port[= ](\d+)"), 8000),
    (re.compile(r"^uwsgi$"), re.compile(r"--http(?:-socket)?[= ](?:[\w.]*:)?(\d+)"), None),
    (re.compile(r"^(?:http-server)$"), re.compile(r"(?:-p|--port)[= ](\d+)"), 8080),
    (re.compile(r"^(?:httpd|busybox)$"), re.compile(r"-p[= ](?:[\w.]*:)?(\d+)"), 80),
    (re.compile(r"^(?:nginx|caddy)$"), None, 80),
    (re.compile(r"^(?:rails)$"), re.compile(r"(?:-p|--port)[= ](\d+)"), 3000),
    (re.compile(r"^(?:puma)$"), re.compile(r"(?:-p|--port)[= ](\d+)"), 9292),
    (re.compile(r"^catalina\.sh$"), None, 8080),
    (re.compile(r"^(?:next|streamlit)$"), re.compile(r"(?:-p|--port|--server\.port)[= ](\d+)"), None),
)


_CONFIG_PORTS = frozenset({"nginx", "caddy", "httpd", "catalina.sh"})
"""Servers whose listening port is set in their config file rather than on the command line."""


def http_from_command(argv: Sequence[str]) -> tuple[int, str] | None:
    """(port, program) when the command starts a server known to speak HTTP, with the port it listens on."""
    words = strip_init(list(argv))
    if len(words) >= 3 and words[0].rsplit("/", 1)[-1] in _SHELLS and words[1] == "-c":
        words = _words(words[2])
    if not words:
        return None
    program = words[0].rsplit("/", 1)[-1]
    line = " ".join(words)
    if program.startswith("python") and words[1:3] == ["-m", "http.server"]:
        port = next((w for w in words[3:] if w.isdigit()), "8000")
        return int(port), "python -m http.server"
    if program.startswith("python") and "manage.py" in " ".join(words[1:2]) and "runserver" in words:
        address = words[words.index("runserver") + 1] if words.index("runserver") + 1 < len(words) else "8000"
        port = address.rsplit(":", 1)[-1]
        return (int(port), "django runserver") if port.isdigit() else None
    if program in ("flask",) and "run" in words:
        match = re.search(r"(?:-p|--port)[= ](\d+)", line)
        return int(match.group(1)) if match else 5000, "flask run"
    if program == "php" and "-S" in words:
        match = re.search(r"-S[= ]\S*:(\d+)", line)
        return (int(match.group(1)), "php -S") if match else None
    if program == "busybox" and (len(words) < 2 or words[1] != "httpd"):
        return None
    for pattern, option, default in _HTTP_SERVERS:
        if pattern.match(program):
            match = option.search(line) if option else None
            if match:
                return int(match.group(1)), program
            return (default, program) if default is not None else None
    return None


# ------------------------------------------------------------------------------------------------ analysis


@dataclass(frozen=True)
class _Base:
    ref: str
    known: KnownBase | None
    image: BaseImage | None

    @property
    def described(self) -> str | None:
        if self.image is not None:
            return f"the local image {self.ref}"
        if self.known is not None:
            return f"the base image table ({self.known.name}: {self.known.source})"
        return None


def _resolve_base(ref: str, lookup: BaseLookup | None) -> _Base:
    image = None
    if lookup is not None and ref.lower() != "scratch" and "$" not in ref:
        image = lookup(ref)
    return _Base(ref, known_base(ref), image)


def _exec_words(ins: DockerfileInstruction, shell: tuple[str, ...] | None) -> tuple[str, ...]:
    if ins.json_form:
        return tuple(ins.value)
    return (*(shell or ("/bin/sh", "-c")), " ".join(ins.value))


def _start_script(program: str) -> bool:
    """Whether a program looks like an image's own start script (`docker-entrypoint.sh`, `entrypoint`, `run.sh`)."""
    name = posixpath.basename(program)
    return name.endswith(".sh") or "entrypoint" in name


def _read_context_file(context_dir: Path | None, source: str) -> str | None:
    if context_dir is None or "$" in source or source.startswith(("http://", "https://")):
        return None
    root = context_dir.resolve()
    try:
        path = (root / source.lstrip("/")).resolve()
        path.relative_to(root)
    except (OSError, ValueError):
        return None
    try:
        if not path.is_file() or path.stat().st_size > _SCRIPT_CAP:
            return None
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return None


@dataclass
class _Copy:
    sources: tuple[str, ...]
    dest: str
    from_stage: str | None
    line: int


def _script_source(
    program: str, copies: Sequence[_Copy], context_dir: Path | None, workdir: str
) -> tuple[str, str] | None:
    """(context path, shown name) of the file the build copies to where `program` runs from."""
    wanted = program if program.startswith("/") else None
    if program.startswith("./") or ("/" in program and not program.startswith("/")):
        wanted = posixpath.normpath(posixpath.join(workdir, program))
    for copy in reversed(copies):
        if copy.from_stage is not None:
            continue
        for src in copy.sources:
            base = posixpath.basename(src.rstrip("/"))
            # A known directory counts as one without its trailing slash (`COPY x.sh /usr/local/bin`).
            into_dir = copy.dest.endswith("/") or len(copy.sources) > 1 or copy.dest.rstrip("/") in (*_BIN_DIRS, "")
            target = posixpath.join(copy.dest, base) if into_dir else copy.dest
            candidates = [(src, target)]
            # A directory copied whole: the script is inside it.
            if context_dir is not None and (context_dir / src).is_dir():
                inner = posixpath.basename(program)
                candidates = [(posixpath.join(src, inner), posixpath.join(copy.dest, inner))]
            for source, path in candidates:
                hit = (
                    path == wanted
                    if wanted
                    else (posixpath.basename(path) == program and posixpath.dirname(path) in _BIN_DIRS)
                )
                if hit:
                    return source, posixpath.basename(source)
    return None


def analyse_runtime(
    text: str,
    instructions: Sequence[DockerfileInstruction],
    stages: Sequence[DockerfileStage],
    *,
    context_dir: Path | None = None,
    target: str | None = None,
    base_lookup: BaseLookup | None = None,
    global_args: Mapping[str, str] | None = None,
) -> RuntimeFacts:
    """Analyse the runtime stage of a parsed Dockerfile; raises `UsageError` for an unknown `target`."""
    members: dict[int, list[DockerfileInstruction]] = {}
    for ins in instructions:
        if ins.cmd != "FROM":
            members.setdefault(ins.stage, []).append(ins)
    view = _Stages(tuple(stages), {k: tuple(v) for k, v in members.items()})
    if not stages:
        return RuntimeFacts(stage=None, stage_reason="no FROM")
    windows = _windows(text, view, instructions)
    stage, reason = _select(view, target)
    if stage is None:
        return RuntimeFacts(stage=None, stage_reason=reason, windows=windows)
    chain = view.chain(stage)
    chain_ins = view.chain_instructions(stage)
    base = _resolve_base(view.root(stage), base_lookup)
    known, image = base.known, base.image

    # Variables: the base's env, then ARG/ENV in build order.
    env: dict[str, str | None] = {}
    base_env = dict(image.env) if image is not None else dict(known.env) if known is not None else {}
    env.update(base_env)
    globals_ = dict(global_args or {})
    arg_lines: dict[str, str] = {
        name: f"{name}={value} set by the base image {base.ref}" for name, value in base_env.items()
    }
    base_groups = _group_ids(image.group if image else None)
    users = _Users()
    tools = _base_tools(base)
    copies: list[_Copy] = []
    workdir = "/"
    user_ins: DockerfileInstruction | None = None
    user_value: str | None = None
    user_vars: list[str] = []
    shell: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    entrypoint_ins: DockerfileInstruction | None = None
    cmd: tuple[str, ...] | None = None
    cmd_ins: DockerfileInstruction | None = None
    onbuild: DockerfileInstruction | None = None
    exposed: list[int] = []
    for ins in chain_ins:
        if ins.cmd == "ARG":
            for item in ins.value:
                name, has_default, default = item.partition("=")
                if has_default:
                    env[name] = expand(_unquote(default), env)
                    arg_lines[name] = f"ARG {name}={_unquote(default)} (line {ins.start_line})"
                elif name in globals_:
                    env[name] = globals_[name]
                    arg_lines[name] = f"ARG {name}={globals_[name]} (global)"
                else:
                    env.setdefault(name, None)
                    arg_lines[name] = f"ARG {name} (line {ins.start_line}, no default)"
        elif ins.cmd == "ENV":
            values = list(ins.value)
            for i in range(0, len(values) - 1, 2):
                env[values[i]] = expand(_unquote(values[i + 1]), env)
                arg_lines[values[i]] = f"ENV {values[i]}={_unquote(values[i + 1])} (line {ins.start_line})"
        elif ins.cmd == "USER" and ins.value:
            user_ins = ins
            user_value = expand(ins.value[0], env)
            user_vars = [m.group(1) or m.group(4) for m in _VAR.finditer(ins.value[0])]
        elif ins.cmd == "RUN":
            body = " ".join(ins.value) if not ins.json_form else " ".join(shlex.quote(v) for v in ins.value)
            _apply_user_tools(body, ins.start_line, env, users, base_groups)
            tools.run(body, env)
        elif ins.cmd in ("COPY", "ADD") and len(ins.value) >= 2 and not ins.heredoc:
            dest = expand(ins.value[-1], env) or ins.value[-1]
            if not dest.startswith("/"):
                dest = posixpath.join(workdir, dest) + ("/" if dest.endswith("/") else "")
            from_stage = next((f.split("=", 1)[1] for f in ins.flags if f.startswith("--from=")), None)
            copies.append(_Copy(tuple(ins.value[:-1]), dest, from_stage, ins.start_line))
            tools.copy(ins.value[:-1], dest)
        elif ins.cmd == "WORKDIR" and ins.value:
            path = expand(ins.value[0], env) or ins.value[0]
            workdir = path if path.startswith("/") else posixpath.join(workdir, path)
        elif ins.cmd == "SHELL":
            shell = tuple(ins.value)
        elif ins.cmd == "ENTRYPOINT":
            entrypoint, entrypoint_ins = _exec_words(ins, shell), ins
            # BuildKit resets an inherited CMD when ENTRYPOINT is set, but keeps one set after it.
            cmd, cmd_ins = None, None
        elif ins.cmd == "CMD":
            cmd, cmd_ins = _exec_words(ins, shell), ins
        elif ins.cmd == "ONBUILD" and onbuild is None:
            onbuild = ins
        elif ins.cmd == "EXPOSE":
            for value in ins.value:
                port = (expand(value, env) or "").split("/", 1)[0]
                if port.isdigit():
                    exposed.append(int(port))

    accounts = list(users.users.values())
    if image is not None and image.passwd:
        accounts += [a for a in passwd_accounts(image.passwd, f"the local base image {base.ref} (/etc/passwd)")]
    elif known is not None:
        accounts += list(known.accounts)
    accounts = _dedupe(accounts)

    # The command the container starts with, and where it comes from.
    base_entrypoint = image.entrypoint if image is not None else None
    base_cmd = image.cmd if image is not None else None
    if entrypoint_ins is None and base_entrypoint:
        entrypoint = tuple(base_entrypoint)
    if cmd_ins is None and entrypoint_ins is None and base_cmd:
        cmd = tuple(base_cmd)
    command = (*(entrypoint or ()), *(cmd or ()))

    user = _effective_user(user_ins, user_value, user_vars, arg_lines, base, accounts)
    needs_root: list[str] = []
    runs = [i for i in chain_ins if i.cmd == "RUN"]
    drop = _find_drop(entrypoint_ins, entrypoint, cmd_ins, cmd, copies, context_dir, workdir, base, needs_root, runs)
    base_image_reason = _base_image(onbuild, chain_ins, base)
    http = _http(base, command, cmd or (), entrypoint_ins, cmd_ins, exposed, copies, context_dir)
    if image is not None:
        exposed_all = exposed + [int(p.split("/")[0]) for p in image.exposed_ports if p.split("/")[0].isdigit()]
    else:
        exposed_all = list(exposed)
    return RuntimeFacts(
        stage=stage.index,
        stage_reason=reason,
        chain=tuple(s.index for s in chain),
        base=base.ref,
        base_image=base_image_reason,
        windows=windows,
        user=user,
        accounts=tuple(accounts),
        drop=drop,
        tools=frozenset(tools.present),
        tools_complete=tools.complete,
        http_port=http[0] if http else None,
        http_reason=http[1] if http else "",
        health_path=known.health_path if http and known is not None and http[0] == known.http_port else None,
        exposed_ports=tuple(dict.fromkeys(exposed_all)),
        command=command,
        base_known=base.described,
        entrypoint_needs_root=needs_root[0] if needs_root and drop is None else None,
    )


def _dedupe(accounts: list[Account]) -> list[Account]:
    seen: set[str] = set()
    out = []
    for account in accounts:
        if account.name not in seen:
            seen.add(account.name)
            out.append(account)
    return out


def _base_tools(base: _Base) -> _Tools:
    if base.ref.lower() == "scratch":
        return _Tools(set(), True)
    if base.image is not None and base.image.files is not None:
        return _Tools(set(tools_in(base.image.files)), True)
    if base.known is not None:
        return _Tools(set(base.known.tools), base.known.complete)
    family = _family_hint(base.ref)
    tools, _ = family_tools(family) if family else (frozenset(), False)
    return _Tools(set(tools), False)


_FAMILY_HINTS = (
    (re.compile(r"distroless"), "distroless"),
    (re.compile(r"alpine"), "alpine"),
    (re.compile(r"debian|ubuntu|bookworm|bullseye|buster|trixie|jammy|noble|focal|slim"), "debian"),
    (re.compile(r"fedora|centos|rhel|ubi\d*|rocky|alma|amazonlinux|oraclelinux"), "rhel"),
)


def _family_hint(ref: str) -> str | None:
    lowered = ref.lower()
    for pattern, family in _FAMILY_HINTS:
        if pattern.search(lowered):
            return family
    return None


def _apply_user_tools(
    body: str, line: int, env: Mapping[str, str | None], users: _Users, base_groups: Mapping[str, int]
) -> None:
    local = {**env, **_inline_vars(body)}
    for segment in _segments(body):
        words = _command_words(segment)
        if words and words[0].rsplit("/", 1)[-1] in _VALUE_OPTIONS:
            resolved = [expand(w, local) or w for w in words]
            users.apply(resolved, line, base_groups)
    if "/etc/passwd" in body:
        for match in _PASSWD_LINE.finditer(body):
            name, uid, gid = match.group(1), int(match.group(2)), int(match.group(3))
            if name not in users.users:
                users.users[name] = Account(name, uid, gid, f"Dockerfile line {line}", created=True)


def _effective_user(
    ins: DockerfileInstruction | None,
    value: str | None,
    variables: list[str],
    arg_lines: Mapping[str, str],
    base: _Base,
    accounts: list[Account],
) -> EffectiveUser:
    if ins is not None:
        written = ins.value[0]
        via = "; ".join(arg_lines[v] for v in variables if v in arg_lines)
        if value is None:
            missing = ", ".join(v for v in variables if v in arg_lines) or ", ".join(variables)
            detail = f"USER {written} needs the build arg {missing}, which has no default"
            return EffectiveUser("", written, ins.start_line, None, detail)
        detail = f"USER {written} is {value} ({via})" if variables else ""
        return EffectiveUser(value, written, ins.start_line, is_root_spec(value), detail)
    if base.image is not None:
        spec = base.image.user
        detail = f"no USER: the local base image {base.ref} runs as {spec or 'root'}"
        return EffectiveUser(spec, "", None, is_root_spec(spec), detail)
    if base.known is not None:
        spec = base.known.runs_as
        detail = f"no USER: the base image {base.ref} runs as {spec or 'root'} ({base.known.source})"
        return EffectiveUser(spec, "", None, is_root_spec(spec), detail)
    return EffectiveUser("", "", None, True, "no USER, and nothing says the base image sets one")


def _find_drop(
    entrypoint_ins: DockerfileInstruction | None,
    entrypoint: tuple[str, ...] | None,
    cmd_ins: DockerfileInstruction | None,
    cmd: tuple[str, ...] | None,
    copies: Sequence[_Copy],
    context_dir: Path | None,
    workdir: str,
    base: _Base,
    needs_root: list[str],
    runs: Sequence[DockerfileInstruction] = (),
) -> PrivilegeDrop | None:
    """How the image drops privileges at start; appends to `needs_root` where a start script needs root."""
    for ins, argv in ((entrypoint_ins, entrypoint), (cmd_ins, cmd)):
        if ins is None or not argv:
            continue
        where = f"{ins.cmd} (line {ins.start_line})"
        found = drop_in_command(list(argv))
        if found is not None:
            return PrivilegeDrop(found[0], found[1], where)
        words = strip_init(list(argv))
        if len(words) >= 3 and words[0].rsplit("/", 1)[-1] in _SHELLS and words[1] == "-c":
            drop = script_drop(words[2], where)
            if drop is not None:
                return PrivilegeDrop(drop.tool, drop.user, where)
            reason = script_needs_root(words[2], where)
            if reason is not None:
                needs_root.append(reason)
            words = _words(words[2])
        if words and words[0].rsplit("/", 1)[-1] in _SHELLS and len(words) >= 2:
            words = words[1:]
        if not words:
            continue
        source = _script_source(words[0], copies, context_dir, workdir)
        script_text = _script_from_run(words[0], runs)
        if source is None and script_text is not None:
            drop = script_drop(script_text[0], script_text[1], numbered=False)
            if drop is not None:
                return drop
            reason = script_needs_root(script_text[0], script_text[1], numbered=False)
            if reason is not None:
                needs_root.append(reason)
        script = _read_context_file(context_dir, source[0]) if source is not None else None
        if script is not None and source is not None:
            drop = script_drop(script, source[1])
            if drop is not None:
                return drop
            reason = script_needs_root(script, source[1])
            if reason is not None:
                needs_root.append(reason)
        elif script_text is None and _start_script(words[0]):
            # Official images' entrypoints chown data dirs and drop to their user themselves; one we cannot read
            # may do the same, and a USER over it breaks the image. Unsure: advise, do not edit.
            needs_root.append(
                f"{where} starts {words[0]}, a script dockaudit could not read (not in the build context); "
                "it may need root to prepare the container and drop privileges itself"
            )
    known = base.known
    if known is None or known.drop is None:
        return _server_drop(entrypoint_ins, entrypoint, cmd_ins, cmd)
    # The base image's own entrypoint still runs unless this file sets one (or re-sets the base's by name).
    copied = {posixpath.basename(c.dest.rstrip("/")) for c in copies if c.from_stage is None}
    if entrypoint_ins is not None:
        program = posixpath.basename(entrypoint[0]) if entrypoint else ""
        if program in copied or "entrypoint" not in program:
            return None
    first = ""
    if cmd_ins is not None and cmd:
        words = list(cmd)
        if len(words) >= 3 and words[0].rsplit("/", 1)[-1] in _SHELLS and words[1] == "-c":
            words = _words(words[2])
        first = posixpath.basename(words[0]) if words else ""
    if known.drop.when and cmd_ins is not None and not first.startswith("-") and first not in known.drop.when:
        return None
    shown = "entrypoint" if known.drop.tool in DROP_TOOLS else "server"
    return PrivilegeDrop(known.drop.tool, known.drop.user, f"the {base.ref} base image's {shown} ({known.source})")


_SERVERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^nginx(-debug)?$"), "nginx starts its worker processes as the `user` its nginx.conf names"),
    (
        re.compile(r"^(httpd-foreground|apache2-foreground|apache2ctl|apache2)$"),
        "Apache runs its children as its `User`",
    ),
    (re.compile(r"^php-fpm[\d.]*$"), "php-fpm runs its pool workers as the pool's `user`"),
    (re.compile(r"^sshd$"), "sshd must start as root and runs each session as the user who logs in"),
    (
        re.compile(r"^(init|my_init|runsvdir|supervisord|s6-svscan)$"),
        "a process supervisor starts the services as "
        "the users they are configured with (s6-overlay's /init, phusion's my_init, runit, supervisord)",
    ),
)
"""Servers that start as root and hand their work to an unprivileged user themselves (a USER would break them)."""


def _server_drop(
    entrypoint_ins: DockerfileInstruction | None,
    entrypoint: tuple[str, ...] | None,
    cmd_ins: DockerfileInstruction | None,
    cmd: tuple[str, ...] | None,
) -> PrivilegeDrop | None:
    """A server program in the command that manages its own privileges (nginx, Apache, php-fpm, sshd)."""
    for ins, argv in ((entrypoint_ins, entrypoint), (cmd_ins, cmd)):
        if ins is None or not argv:
            continue
        words = strip_init(list(argv))
        commands = [words]
        if len(words) >= 3 and words[0].rsplit("/", 1)[-1] in _SHELLS and words[1] == "-c":
            # A shell-form command may start the server after other steps (`... && /usr/sbin/sshd -D`).
            commands = [strip_init(_command_words(segment)) for segment in _segments(words[2])]
        for command in commands:
            found = _server_in(command)
            if found is not None:
                return PrivilegeDrop(found[0], found[1], f"{ins.cmd} (line {ins.start_line}): {found[2]}")
    return None


def _server_in(words: list[str]) -> tuple[str, str, str] | None:
    """(program, user, why) when the command is a server or supervisor that switches users itself."""
    if not words:
        return None
    program = posixpath.basename(words[0])
    # Apache's binary is also called httpd; busybox's httpd (-f, -p, -h) does not switch users unless -u.
    if program == "httpd" and all(w.startswith("-D") for w in words[1:]):
        return "httpd", "", "Apache runs its children as its `User`"
    if program in ("httpd", "memcached") and "-u" in words:
        user = words[words.index("-u") + 1] if words.index("-u") + 1 < len(words) else ""
        return program, user, f"{program} -u {user}"
    for pattern, what in _SERVERS:
        if pattern.match(program):
            return program, "", what
    return None


def _script_from_run(program: str, runs: Sequence[DockerfileInstruction]) -> tuple[str, str] | None:
    """(text, where) of a RUN that writes the script `program` itself (`printf ... > start.sh`, `cat > x <<EOF`)."""
    name = re.escape(posixpath.basename(program))
    target = re.compile(rf"(?:>>?|\btee(?:\s+-a)?)\s*['\"]?(?:\S*/)?{name}['\"]?(?:\s|$)")
    for ins in reversed(runs):
        text = " ".join(ins.value)
        if target.search(text):
            # The script's lines are the quoted arguments of echo/printf (or a heredoc): one per line.
            lines = re.sub(r"\\n|[\"']", "\n", text)
            return lines, f"{posixpath.basename(program)} (written by the RUN at line {ins.start_line})"
    return None


def _base_image(
    onbuild: DockerfileInstruction | None, chain: Sequence[DockerfileInstruction], base: _Base
) -> str | None:
    if onbuild is not None:
        return f"ONBUILD (line {onbuild.start_line}) runs in the builds of images made FROM it"
    cmds = {i.cmd for i in chain}
    commands = [i for i in chain if i.cmd == "CMD"]
    entrypoints = [i for i in chain if i.cmd == "ENTRYPOINT"]
    only_init = not entrypoints or (entrypoints[-1].json_form and not strip_init(list(entrypoints[-1].value)))
    if commands and only_init and not ({"EXPOSE", "HEALTHCHECK", "ONBUILD"} & cmds):
        words = list(commands[-1].value) if commands[-1].json_form else _words(" ".join(commands[-1].value))
        if len(words) == 1 and posixpath.basename(words[0]) in _SHELLS:
            return (
                f"its only command is a shell (CMD {words[0]}, line {commands[-1].start_line}): a base or toolbox "
                "image for others to build on"
            )
    if entrypoints and "CMD" not in cmds and not ({"EXPOSE", "HEALTHCHECK"} & cmds):
        last = entrypoints[-1]
        if last.json_form and not strip_init(list(last.value)):
            return (
                f"its only command is the init {last.value[0]} (line {last.start_line}) with nothing to run: "
                "images built from it add their own CMD"
            )
    if cmds & {"CMD", "ENTRYPOINT", "EXPOSE", "HEALTHCHECK"}:
        return None
    if base.known is not None and base.known.service:
        return None
    if base.image is not None:
        command = (*(base.image.entrypoint or ()), *(base.image.cmd or ()))
        if base.image.entrypoint or (
            command and command[0].rsplit("/", 1)[-1] not in (*_SHELLS, "python", "python3", "node", "irb")
        ):
            return None
    return f"no CMD or ENTRYPOINT of its own, and FROM {base.ref} starts no service: it sets up a runtime for others"


def _http(
    base: _Base,
    command: Sequence[str],
    cmd: Sequence[str],
    entrypoint_ins: DockerfileInstruction | None,
    cmd_ins: DockerfileInstruction | None,
    exposed: Sequence[int],
    copies: Sequence[_Copy],
    context_dir: Path | None,
) -> tuple[int, str] | None:
    known = base.known
    if known is not None and known.http_port is not None:
        own = cmd_ins is not None or entrypoint_ins is not None
        program = ""
        if own and command:
            words = list(command)
            if len(words) >= 3 and words[0].rsplit("/", 1)[-1] in _SHELLS and words[1] == "-c":
                words = _words(words[2])
            program = posixpath.basename(words[0]) if words else ""
        if known.service:
            # The base's own server: its default command, the entrypoint script that starts it, or its binary.
            own_server = program == posixpath.basename(known.name.rstrip("*/")) or program == known.name.split("/")[-1]
            serves = (
                not own
                or (known.drop is not None and program in known.drop.when)
                or "entrypoint" in program
                or own_server
            )
            if serves and (not exposed or known.http_port in exposed):
                return known.http_port, f"{base.ref} serves HTTP on {known.http_port} ({known.source})"
        elif known.http_port in exposed:
            # An app framework base (ASP.NET Core) whose apps listen for HTTP on this port by default.
            return known.http_port, f"apps on {base.ref} serve HTTP on {known.http_port} ({known.source})"
    # An entrypoint script usually ends with `exec "$@"`: the CMD is then the server. The probe runs inside the
    # container, so the port the command listens on counts whether or not EXPOSE names it.
    found = http_from_command(command) or http_from_command(cmd)
    if found is not None:
        port, program = found
        stated = re.search(rf"(?<!\d){port}(?!\d)", " ".join((*command, *cmd))) is not None
        # A server whose port comes from its config file (nginx, caddy, Tomcat) may listen elsewhere than
        # its default: trust the default only when EXPOSE agrees (or says nothing).
        if stated or not exposed or port in exposed or program not in _CONFIG_PORTS:
            where = "which the Dockerfile exposes" if port in exposed else "as its command line says"
            return port, f"{program} serves HTTP on {port}, {where}"
    if found is None and len(set(exposed)) == 1:
        framework = _web_framework(command, copies, context_dir)
        if framework is not None:
            port = exposed[0]
            return port, f"the app is built on {framework} (an HTTP framework) and exposes only port {port}"
    return None


_FRAMEWORKS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    # language: (dependency files, HTTP frameworks and servers named in them)
    "node": (
        ("package.json",),
        frozenset(
            {
                "express",
                "fastify",
                "koa",
                "@hapi/hapi",
                "hapi",
                "@nestjs/core",
                "next",
                "nuxt",
                "restify",
                "@remix-run/serve",
                "json-server",
                "http-server",
                "serve",
                "@adonisjs/core",
                "sails",
            }
        ),
    ),
    "python": (
        ("requirements.txt", "requirements.in", "pyproject.toml", "Pipfile"),
        frozenset(
            {
                "flask",
                "django",
                "fastapi",
                "starlette",
                "aiohttp",
                "tornado",
                "bottle",
                "sanic",
                "streamlit",
                "gradio",
                "uvicorn",
                "gunicorn",
                "hypercorn",
                "quart",
                "falcon",
                "litestar",
            }
        ),
    ),
}
_NODE_PROGRAMS = frozenset({"node", "nodejs", "npm", "yarn", "pnpm", "bun"})
_DEPENDENCY = re.compile(r"^\s*[\"']?([A-Za-z0-9_.@/-]+?)[\"']?\s*(?:[=<>~!\[;:]|$)")


def _web_framework(command: Sequence[str], copies: Sequence[_Copy], context_dir: Path | None) -> str | None:
    """The HTTP framework the app's dependency file (copied in from the build context) names, if any."""
    words = strip_init(list(command))
    if len(words) >= 3 and posixpath.basename(words[0]) in _SHELLS and words[1] == "-c":
        words = _words(words[2])
    program = posixpath.basename(words[0]) if words else ""
    language = "node" if program in _NODE_PROGRAMS else "python" if program.startswith("python") else None
    if language is None or context_dir is None:
        return None
    names, frameworks = _FRAMEWORKS[language]
    for copy in copies:
        if copy.from_stage is not None:
            continue
        for source in copy.sources:
            base = source.rstrip("/")
            candidates = (
                [base]
                if posixpath.basename(base) in names
                else [
                    posixpath.join(base, name)
                    for name in names
                    if base in (".", "./", "") or not posixpath.splitext(base)[1]
                ]
            )
            for candidate in candidates:
                text = _read_context_file(context_dir, candidate)
                found = _named_dependency(text or "", frameworks, candidate.endswith("package.json"))
                if found is not None:
                    return found
    return None


def _named_dependency(text: str, frameworks: frozenset[str], is_json: bool) -> str | None:
    if is_json:
        try:
            data = json.loads(text)
        except ValueError:
            return None
        deps = {**(data.get("dependencies") or {})} if isinstance(data, dict) else {}
        return next((name for name in deps if name in frameworks), None)
    for line in text.splitlines():
        match = _DEPENDENCY.match(line.split("#", 1)[0])
        if match and match.group(1).lower() in frameworks:
            return match.group(1).lower()
    return None


# ------------------------------------------------------------------------------------------------ entry points


def runtime_of(facts: DockerfileFacts) -> RuntimeFacts:
    """The facts' runtime analysis, computed here when the facts were made without one."""
    if facts.runtime is not None:
        return facts.runtime
    return analyse_runtime("", facts.instructions, facts.stages)


_BUILTINS = frozenset(
    {"exit", "test", "[", "[[", "true", "false", "echo", "printf", "return", "set", "export", "cd", "read", "exec"}
)


def healthcheck_tools(test: Sequence[str], shell_form: bool) -> list[str]:
    """Executables a health check runs (by name), in order: the shell and the commands of a shell-form check.

    `test` is the check's command: the words of an exec-form check, or the one command string of a shell form.
    """
    if not test:
        return []
    if not shell_form:
        program = test[0]
        if "/" in program and posixpath.dirname(program) not in _BIN_DIRS:
            return []
        name = posixpath.basename(program)
        if name in _SHELLS and len(test) >= 3 and test[1] == "-c":
            return [name, *healthcheck_tools((test[2],), True)]
        return [name]
    tools = ["sh"]
    for segment in _segments(" ".join(test)):
        words = _command_words(segment)
        while words and words[0] in ("if", "then", "else", "!", "{", "(", "do"):
            words = words[1:]
        if not words or words[0] in _BUILTINS:
            continue
        program = words[0]
        if "/" in program and posixpath.dirname(program) not in _BIN_DIRS:
            continue
        name = posixpath.basename(program)
        if re.match(r"^[A-Za-z0-9_.+-]+$", name) and name not in tools:
            tools.append(name)
    return tools


def image_runtime(image: ImageFacts) -> RuntimeFacts:
    """What an already built image runs with: its tools (from its layers or the table) and HTTP port."""
    command = (*(image.config.entrypoint or ()), *(image.config.cmd or ()))
    exposed = [int(p.split("/")[0]) for p in image.config.exposed_ports if p.split("/")[0].isdigit()]
    known = next((k for name in (image.reference, *image.repo_tags) if name and (k := known_base(name))), None)
    if image.filesystem is not None:
        tools, complete = tools_in(frozenset(f.path for f in image.filesystem.final_files())), True
    elif known is not None:
        tools, complete = known.tools, known.complete
    else:
        tools, complete = frozenset(), False
    port: int | None = None
    reason = ""
    if known is not None and known.http_port is not None and (not exposed or known.http_port in exposed):
        port, reason = known.http_port, f"{known.name} serves HTTP on {known.http_port} ({known.source})"
    elif (found := http_from_command(command)) is not None and found[0] in exposed:
        port, reason = found[0], f"{found[1]} serves HTTP on {found[0]}, which the image exposes"
    return RuntimeFacts(
        stage=0,
        stage_reason="a built image",
        base=image.name,
        tools=tools,
        tools_complete=complete,
        http_port=port,
        http_reason=reason,
        exposed_ports=tuple(exposed),
        command=command,
    )
