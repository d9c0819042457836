"""Which executables an image has: from its files, its base, and the packages and binaries its RUNs and COPYs
add or remove; and which ones a health check runs.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence

from dockaudit.lazy_pattern import LazyPattern
from dockaudit.parse.base_images import ResolvedBase, family_tools
from dockaudit.parse.shell_text import BIN_DIRS, SHELLS, command_words, expand, inline_vars, split_segments

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
    "python-is-python3": ("python", "python3"),
    # Debian's and Ubuntu's `python` (and Alpine's up to 3.11) is Python 2: no python3 comes with it.
    "python": ("python",),
    "nodejs": ("node",),
    "ruby": ("ruby",),
    "ruby-full": ("ruby",),
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


def tools_in(files: frozenset[str]) -> frozenset[str]:
    """Names of the executables under the usual bin directories."""
    names = set()
    for path in files:
        directory, name = posixpath.split(path)
        if directory in BIN_DIRS and name:
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


class ToolSet:
    """The watched executables an image has, updated instruction by instruction."""

    # A plain class: a dataclass costs ~1 ms of start-up to create and this one is a mutable working set.
    __slots__ = ("complete", "installed", "present")

    def __init__(self, present: set[str], complete: bool) -> None:
        self.present = present
        self.complete = complete
        self.installed: dict[str, tuple[str, ...]] = {}
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
        local = {**env, **inline_vars(text)}
        in_this_run: list[str] = []
        # `apt-mark auto` marks what is installed so far; `purge --auto-remove` then removes those, not later ones.
        auto: set[str] = set()
        virtual: dict[str, list[str]] = {}
        for segment in split_segments(text):
            words = command_words(segment)
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
                    if posixpath.dirname(word) in BIN_DIRS:
                        self.present.discard(posixpath.basename(word))
            elif tool in ("ln", "cp", "mv", "install") and len(words) >= 3:
                self._binary(words[-1])

    def _binary(self, path: str) -> None:
        name = posixpath.basename(path)
        if posixpath.dirname(path) in BIN_DIRS and name and "*" not in name:
            self.present.add(name)
            if name == "busybox":
                # Its applets (`busybox --install`, or called by name through the symlinks).
                self.present |= {"sh", "wget", "nc"}

    def copy(self, sources: Sequence[str], dest: str) -> None:
        if dest.rstrip("/") in BIN_DIRS:
            for src in sources:
                self._binary(posixpath.join(dest.rstrip("/"), posixpath.basename(src.rstrip("/"))))
            if any(src.endswith("/") or "*" in src for src in sources):
                self.complete = False
        elif dest == "/" or dest.rstrip("/") in ("/usr", "/usr/local"):
            # A whole tree copied over the root may bring any tool; named files (`COPY docker-entrypoint.sh
            # mosquitto.conf /`) land beside it. A name without an extension may be a directory (`COPY rootfs /`).
            if any(_maybe_tree(src) for src in sources):
                self.complete = False
        else:
            self._binary(dest)


def _maybe_tree(source: str) -> bool:
    """Whether a COPY source may be a directory: a trailing slash, `.`, a wildcard, or a name without an extension."""
    name = posixpath.basename(source.rstrip("/"))
    return source.endswith("/") or name in ("", ".", "..") or any(c in name for c in "*?[") or "." not in name[1:]


def base_tools(base: ResolvedBase) -> ToolSet:
    """The executables the base image brings: from its files, the table, or its distribution family."""
    if base.ref.lower() == "scratch":
        return ToolSet(set(), True)
    if base.image is not None and base.image.files is not None:
        return ToolSet(set(tools_in(base.image.files)), True)
    if base.known is not None:
        return ToolSet(set(base.known.tools), base.known.complete)
    family = _family_hint(base.ref)
    tools, _ = family_tools(family) if family else (frozenset(), False)
    return ToolSet(set(tools), False)


_FAMILY_HINTS = (
    (LazyPattern(r"distroless"), "distroless"),
    (LazyPattern(r"alpine"), "alpine"),
    (LazyPattern(r"debian|ubuntu|bookworm|bullseye|buster|trixie|jammy|noble|focal|slim"), "debian"),
    (LazyPattern(r"fedora|centos|rhel|ubi\d*|rocky|alma|amazonlinux|oraclelinux"), "rhel"),
)


def _family_hint(ref: str) -> str | None:
    lowered = ref.lower()
    for pattern, family in _FAMILY_HINTS:
        if pattern.search(lowered):
            return family
    return None


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
        if "/" in program and posixpath.dirname(program) not in BIN_DIRS:
            return []
        name = posixpath.basename(program)
        if name in SHELLS and len(test) >= 3 and test[1] == "-c":
            return [name, *healthcheck_tools((test[2],), True)]
        return [name]
    tools = ["sh"]
    for segment in split_segments(" ".join(test)):
        words = command_words(segment)
        while words and words[0] in ("if", "then", "else", "!", "{", "(", "do"):
            words = words[1:]
        if not words or words[0] in _BUILTINS:
            continue
        program = words[0]
        if "/" in program and posixpath.dirname(program) not in BIN_DIRS:
            continue
        name = posixpath.basename(program)
        if re.match(r"^[A-Za-z0-9_.+-]+$", name) and name not in tools:
            tools.append(name)
    return tools
