"""How an image that starts as root hands its work to another user: a drop tool in its command or start script
(gosu, su-exec, setpriv...), its base image's entrypoint, or a server that switches users itself; and where a
start script needs root.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from pathlib import Path

from dockaudit.facts.dockerfile import DockerfileInstruction, PrivilegeDrop
from dockaudit.lazy_pattern import LazyPattern
from dockaudit.parse.base_images import ResolvedBase
from dockaudit.parse.build_context import CopyInstruction, copied_file, read_context_file, script_source
from dockaudit.parse.shell_text import (
    SHELLS,
    command_words,
    logical_lines,
    run_words,
    shell_words,
    split_segments,
    strip_init,
)

DROP_TOOLS = (
    "gosu",
    "su-exec",
    "setpriv",
    "runuser",
    "chpst",
    "s6-setuidgid",
    "setuser",
    "su",
    "sudo",
    "chroot",
    "capsh",
)
"""Commands that start a program as another user; `chroot` only with `--userspec`, `capsh` only with `--user`."""


def drop_in_command(words: list[str]) -> tuple[str, str] | None:
    """(tool, user) when the command starts a program as another user."""
    words = strip_init(list(words))
    if not words:
        return None
    tool = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    if tool == "clickhouse" and args[:1] == ["su"] and len(args) > 1:
        # ClickHouse's own gosu: `clickhouse su "$USER:$GROUP" clickhouse-server ...` (its official entrypoint).
        return "clickhouse su", args[1].split(":", 1)[0]
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
    if tool == "capsh":
        # `capsh --user=pihole --keep=1 -- -c "..."` (pi-hole's start.sh): switches user, keeping chosen capabilities.
        for i, arg in enumerate(args):
            if arg == "--":
                break
            if arg.startswith("--user="):
                return tool, arg.split("=", 1)[1]
            if arg == "--user" and i + 1 < len(args):
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


def dropped_command(words: list[str]) -> list[str]:
    """The command a privilege-dropping runner starts (`gosu USER cmd`, `su-exec USER cmd`, `clickhouse su USER
    cmd`, `setpriv --opts cmd`); other commands as they are."""
    program = words[0].rsplit("/", 1)[-1] if words else ""
    if program in ("gosu", "su-exec", "s6-setuidgid") and len(words) > 2:
        return words[2:]
    if program == "clickhouse" and words[1:2] == ["su"] and len(words) > 3:
        return words[3:]
    if program == "setpriv":
        rest = words[1:]
        while rest and rest[0].startswith("-"):
            rest = rest[1:]
        return rest
    return words


_ROOT_COMMANDS = LazyPattern(
    r"^(?:chown|chgrp|apt-get|apt|apk|yum|dnf|microdnf|useradd|adduser|groupadd|addgroup|usermod|groupmod|mount|"
    r"sysctl|setcap|iptables|ip6tables|modprobe|update-ca-certificates|ldconfig|service|rc-service|systemctl|"
    r"passwd|chpasswd)$"
)


_ROOT_PATH_WRITE = LazyPattern(r"(?:>>?|\btee\s+(?:-a\s+)?|\bsed\s+-i\S*\s+.*?)\s*(/(?:etc|usr|var/lib|run)/\S+)")


_UID_CHECK = LazyPattern(r"(?:\[\[?|\btest\b|\bif\b)[^\n]*(?:\bid\s+-u\b|\$\{?EUID\b|\$\{?UID\b|\bwhoami\b)")
"""A test of who the script runs as (`if [ "$(id -u)" = 0 ]`): then it is written to work without root too."""


def script_needs_root(text: str, where: str, numbered: bool = True) -> str | None:
    """Where a start-up script does something only root may (chown, package installs, writes under /etc)."""
    if _UID_CHECK.search(text):
        # The script checks who it runs as: it is written to work without root too.
        return None
    for number, line in logical_lines(text):
        if line.lstrip().startswith("#"):
            continue
        for segment in split_segments(line):
            words = command_words(segment)
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


def script_drop(text: str, where: str, numbered: bool = True) -> PrivilegeDrop | None:
    """The first command in a shell script that drops privileges, with its line."""
    joined = logical_lines(text)
    assigned: dict[str, str] = {}
    for number, line in joined:
        if line.lstrip().startswith("#"):
            continue
        for segment in split_segments(line):
            words = shell_words(segment)
            if len(words) == 1 and (assignment := _ASSIGNMENT.match(words[0])):
                # `SETPRIV="setpriv --reuid redis ..."` then `exec $SETPRIV "$@"` (the official redis entrypoint).
                # Only a value that starts with a drop tool: other variables (`cmd="$cmd '$i'"`) are data.
                value = shell_words(assignment.group(2))
                if value and posixpath.basename(value[0]) in DROP_TOOLS:
                    assigned[assignment.group(1)] = assignment.group(2)
                continue
            words = _expand_assigned(words, assigned)
            # A drop tool may follow `exec`, `if`, `then` or sit in a subshell.
            while words and words[0] in ("exec", "if", "then", "else", "do", "!", "time", "nohup", "eval"):
                words = words[1:]
            if words[:2] == ["set", "--"]:
                # `set -- gosu app "$@"` then `exec "$@"`: the docker-library way to prepend the drop tool.
                words = words[2:]
            found = drop_in_command(words)
            if found is not None:
                return PrivilegeDrop(found[0], found[1], f"{where} line {number}" if numbered else where)
    return None


_ASSIGNMENT = LazyPattern(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_WHOLE_VARIABLE = LazyPattern(r"^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$")


def _expand_assigned(words: list[str], assigned: dict[str, str]) -> list[str]:
    """Words with an unquoted `$NAME` the script assigned replaced by the words of its value."""
    expanded: list[str] = []
    for word in words:
        match = _WHOLE_VARIABLE.match(word)
        name = (match.group(1) or match.group(2)) if match else None
        expanded.extend(shell_words(assigned[name]) if name is not None and name in assigned else [word])
    return expanded


def start_script(program: str) -> bool:
    """Whether a program looks like an image's own start script (`docker-entrypoint.sh`, `entrypoint`, `run.sh`)."""
    name = posixpath.basename(program)
    return name.endswith(".sh") or "entrypoint" in name


_INCLUDED_DIR = LazyPattern(
    r"(?:\bfor\s+\w+\s+in\s+|\brun-parts\s+(?:-\S+\s+)*)[\"']?(/[\w./-]+?)/?\*?[\"']?(?=[\s;]|$)"
)
_INCLUDED_FILE = LazyPattern(r"(?:^|[\s;&|])(?:source|\.)\s+[\"']?(/[\w./-]+\.sh)\b")


def included_scripts(text: str, copies: Sequence[CopyInstruction], context_dir: Path | None) -> list[tuple[str, str]]:
    """(text, name) of the build-context scripts a start script sources or runs: every file copied into a directory
    it loops over or gives to run-parts, and each file it sources by path."""
    found: list[tuple[str, str]] = []
    for directory in dict.fromkeys(m.group(1).rstrip("/") for m in _INCLUDED_DIR.finditer(text)):
        for copy in copies:
            if copy.from_stage is not None:
                continue
            dest = posixpath.normpath(copy.dest)
            into = dest == directory
            for src in copy.sources:
                if into or posixpath.dirname(dest) == directory:
                    body = read_context_file(context_dir, src)
                    if body is not None:
                        found.append((body, posixpath.basename(src)))
    for path in dict.fromkeys(m.group(1) for m in _INCLUDED_FILE.finditer(text)):
        copied = copied_file(path, copies, context_dir, "/")
        if copied is not None:
            found.append((copied[2], copied[1]))
    return found


def find_drop(
    entrypoint_ins: DockerfileInstruction | None,
    entrypoint: tuple[str, ...] | None,
    cmd_ins: DockerfileInstruction | None,
    cmd: tuple[str, ...] | None,
    copies: Sequence[CopyInstruction],
    context_dir: Path | None,
    workdir: str,
    base: ResolvedBase,
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
        if len(words) >= 3 and words[0].rsplit("/", 1)[-1] in SHELLS and words[1] == "-c":
            drop = script_drop(words[2], where)
            if drop is not None:
                return PrivilegeDrop(drop.tool, drop.user, where)
            reason = script_needs_root(words[2], where)
            if reason is not None:
                needs_root.append(reason)
            words = shell_words(words[2])
        if words and words[0].rsplit("/", 1)[-1] in SHELLS and len(words) >= 2:
            words = words[1:]
        if not words:
            continue
        source = script_source(words[0], copies, context_dir, workdir)
        script_text = _script_from_run(words[0], runs)
        if source is None and script_text is not None:
            drop = script_drop(script_text[0], script_text[1], numbered=False)
            if drop is not None:
                return drop
            reason = script_needs_root(script_text[0], script_text[1], numbered=False)
            if reason is not None:
                needs_root.append(reason)
        script = read_context_file(context_dir, source[0]) if source is not None else None
        if script is not None and source is not None:
            # The script and the start-up scripts it sources or runs from a directory (`for f in /startup/*; do
            # source "$f"`, `run-parts /docker-entrypoint.d`): a drop in any of them is the image's.
            for text, name in [(script, source[1]), *included_scripts(script, copies, context_dir)]:
                drop = script_drop(text, name)
                if drop is not None:
                    return drop
                reason = script_needs_root(text, name)
                if reason is not None:
                    needs_root.append(reason)
        elif script_text is None and start_script(words[0]):
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
        if len(words) >= 3 and words[0].rsplit("/", 1)[-1] in SHELLS and words[1] == "-c":
            words = shell_words(words[2])
        first = posixpath.basename(words[0]) if words else ""
    if known.drop.when and cmd_ins is not None and not first.startswith("-") and first not in known.drop.when:
        return None
    shown = "entrypoint" if known.drop.tool in DROP_TOOLS else "server"
    return PrivilegeDrop(known.drop.tool, known.drop.user, f"the {base.ref} base image's {shown} ({known.source})")


_SERVERS: tuple[tuple[LazyPattern, str], ...] = (
    (LazyPattern(r"^nginx(-debug)?$"), "nginx starts its worker processes as the `user` its nginx.conf names"),
    (
        LazyPattern(r"^(httpd-foreground|apache2-foreground|apache2ctl|apache2)$"),
        "Apache runs its children as its `User`",
    ),
    (LazyPattern(r"^php-fpm[\d.]*$"), "php-fpm runs its pool workers as the pool's `user`"),
    (LazyPattern(r"^sshd$"), "sshd must start as root and runs each session as the user who logs in"),
    (
        LazyPattern(r"^(init|my_init|runsvdir|supervisord|s6-svscan)$"),
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
        if len(words) >= 3 and words[0].rsplit("/", 1)[-1] in SHELLS and words[1] == "-c":
            # A shell-form command may start the server after other steps (`... && /usr/sbin/sshd -D`).
            commands = [strip_init(command_words(segment)) for segment in split_segments(words[2])]
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
    # uWSGI's `--uid` and gunicorn's `--user` switch the server's processes to that user once it has started.
    option = {"uwsgi": ("--uid",), "gunicorn": ("--user", "-u")}.get(program, ())
    for i, word in enumerate(words[1:], 1):
        name, _, value = word.partition("=")
        if name in option and (value or i + 1 < len(words)):
            user = value or words[i + 1]
            return program, user, f"{program} {name} {user}"
    for pattern, what in _SERVERS:
        if pattern.match(program):
            return program, "", what
    return None


def start_script_text(
    commands: Sequence[Sequence[str] | None],
    copies: Sequence[CopyInstruction],
    context_dir: Path | None,
    workdir: str,
    runs: Sequence[DockerfileInstruction],
) -> tuple[str, str] | None:
    """(text, shown name) of the first start script among `commands` (entrypoint, then CMD) the build context or a
    RUN of this file holds."""
    for argv in commands:
        words = run_words(argv or ())
        if len(words) >= 2 and words[0].rsplit("/", 1)[-1] in SHELLS:
            words = words[1:]
        if not words:
            continue
        copied = copied_file(words[0], copies, context_dir, workdir)
        if copied is not None and (copied[2].startswith("#!") or start_script(words[0])):
            return copied[2], copied[1]
        written = _script_from_run(words[0], runs)
        if written is not None:
            return written
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
