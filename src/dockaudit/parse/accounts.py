"""Who a Dockerfile's image runs as: the users and groups its RUNs create (useradd, adduser, lines appended to
/etc/passwd), the accounts its base brings, and the effective `USER` with where its value comes from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from dockaudit.facts.dockerfile import Account, DockerfileInstruction, EffectiveUser
from dockaudit.parse.base_images import ResolvedBase
from dockaudit.parse.shell_text import command_words, expand, inline_vars, split_segments

_ROOT = re.compile(r"^(?:root|0)(?::.*)?$")
_PASSWD_LINE = re.compile(r"(?<![\w.-])([a-z_][\w.-]*):[^:\s]*:(\d+):(\d+):")


def is_root_spec(spec: str) -> bool:
    """Whether a resolved `USER` value means root (empty, `root`, `0`, `0:<gid>`, `root:<group>`)."""
    return not spec.strip() or bool(_ROOT.match(spec.strip()))


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
        elif len(word) > 2 and word[0] == "-" and word[1] != "-":
            # getopt clusters: `-u1000` is `-u 1000`, `-Ss /bin/false` is `-S -s /bin/false` (busybox adduser).
            for at, letter in enumerate(word[1:], start=2):
                if f"-{letter}" in takes:
                    if at < len(word):
                        options[f"-{letter}"] = word[at:]
                    elif i + 1 < len(words):
                        options[f"-{letter}"] = words[i + 1]
                        i += 1
                    break
        elif not word.startswith("-"):
            positional.append(word)
        i += 1
    return options, positional


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdecimal() else None


@dataclass
class CreatedUsers:
    """Users and groups the Dockerfile creates, in order."""

    users: dict[str, Account] = field(default_factory=dict)
    groups: dict[str, int | None] = field(default_factory=dict)

    def group_id(self, text: str | None, base_groups: Mapping[str, int]) -> int | None:
        if text is None:
            return None
        if text.isdecimal():
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
        if len(fields) >= 4 and fields[2].isdecimal() and fields[3].isdecimal():
            uid = int(fields[2])
            if 1000 <= uid < 65534 or uid == 65532:
                found.append(Account(fields[0], uid, int(fields[3]), origin))
    return found


def group_ids(group: str | None) -> dict[str, int]:
    """Group name -> GID of an /etc/group text."""
    ids = {}
    for line in (group or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdecimal():
            ids[fields[0]] = int(fields[2])
    return ids


def dedupe_accounts(accounts: list[Account]) -> list[Account]:
    """The accounts with each name once, the first one kept."""
    seen: set[str] = set()
    out = []
    for account in accounts:
        if account.name not in seen:
            seen.add(account.name)
            out.append(account)
    return out


def apply_user_commands(
    body: str, line: int, env: Mapping[str, str | None], users: CreatedUsers, base_groups: Mapping[str, int]
) -> None:
    """Record the users and groups one RUN creates or changes."""
    local = {**env, **inline_vars(body)}
    for segment in split_segments(body):
        words = command_words(segment)
        if words and words[0].rsplit("/", 1)[-1] in _VALUE_OPTIONS:
            resolved = [expand(w, local) or w for w in words]
            users.apply(resolved, line, base_groups)
    if "/etc/passwd" in body:
        for match in _PASSWD_LINE.finditer(body):
            name, uid, gid = match.group(1), int(match.group(2)), int(match.group(3))
            if name not in users.users:
                users.users[name] = Account(name, uid, gid, f"Dockerfile line {line}", created=True)


def effective_user(
    ins: DockerfileInstruction | None,
    value: str | None,
    variables: list[str],
    arg_lines: Mapping[str, str],
    base: ResolvedBase,
    accounts: list[Account],
) -> EffectiveUser:
    """The user the image runs as: its last USER, else what its base image runs as."""
    if ins is not None:
        written = ins.value[0]
        via = "; ".join(arg_lines[v] for v in variables if v in arg_lines)
        if value is None:
            missing = ", ".join(v for v in variables if v in arg_lines) or ", ".join(variables)
            detail = f"USER {written} needs the build arg {missing}, which has no default"
            if base.image is None and base.ref.lower() != "scratch":
                # An ENV of the base image (jupyter's NB_UID) would fill it, and dockaudit cannot see that one.
                detail += f", unless the base image {base.ref} sets it in its ENV"
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
