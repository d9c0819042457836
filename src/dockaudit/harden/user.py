"""The non-root pass: create a user with the base's own tools and switch to it by numeric UID:GID."""

from __future__ import annotations

import re
import shlex

from dockaudit.facts import OsRelease
from dockaudit.harden.context import HardenContext, StageEnv
from dockaudit.harden.document import Document, Edit, Instruction
from dockaudit.harden.passes import PassOutput, env_for, why
from dockaudit.harden.result import Change
from dockaudit.rules.fixes import APP_UID, APP_USER, DISTROLESS_UID, Family, create_user_dockerfile

RULES = ("DA101", "DA606")

_ROOT = re.compile(r"^(root|0)(:.*)?$")
_NUMERIC = re.compile(r"^\d+(:\d+)?$")
_CREATE = re.compile(r"\b(useradd|adduser)\b([^&;|]*)")
_GROUP_CREATE = re.compile(r"\b(groupadd|addgroup)\b([^&;|]*)")


def is_root(spec: str) -> bool:
    """Whether a `USER` value means root."""
    return bool(_ROOT.match(spec.strip()))


def create_command(env: StageEnv, escape: str = "\\") -> str | None:
    """The RUN instruction that creates the app user with the tools this base has, or None when none can."""
    if {"adduser", "addgroup"} <= env.tools:
        family = "alpine"
    elif {"useradd", "groupadd"} <= env.tools:
        family = "debian"
    elif env.has_shell and env.has_passwd:
        family = "busybox"
    else:
        return None
    # The distro table lives with the rule fixes; pick its row by the tools found, not by the distro name.
    snippet = create_user_dockerfile(OsRelease(id=family), APP_USER, APP_UID)
    lines = [line for line in snippet.splitlines() if not line.startswith("USER ")]
    return "\n".join(lines).replace("\\\n", f"{escape}\n")


def _passwd_ids(passwd: str | None, name: str) -> tuple[int, int] | None:
    for line in (passwd or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == name and fields[2].isdigit() and fields[3].isdigit():
            return int(fields[2]), int(fields[3])
    return None


def _group_id(group: str | None, name: str) -> int | None:
    for line in (group or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] == name and fields[2].isdigit():
            return int(fields[2])
    return None


_VALUE_OPTIONS = {
    "useradd": {
        "-u",
        "-g",
        "-G",
        "-s",
        "-d",
        "-c",
        "-k",
        "-e",
        "-f",
        "-K",
        "-p",
        "--uid",
        "--gid",
        "--groups",
        "--shell",
        "--home-dir",
        "--comment",
    },
    # busybox adduser: -G is the primary group and -g the GECOS; Debian's adduser uses long options.
    "adduser": {"-u", "-G", "-g", "-h", "-s", "-k", "--uid", "--gid", "--ingroup", "--home", "--shell", "--gecos"},
    "groupadd": {"-g", "--gid", "-K", "-p"},
    "addgroup": {"-g", "--gid"},
}


def _parse(tool: str, words: list[str]) -> tuple[dict[str, str], list[str]]:
    """Options with values and positional words of a user/group tool's command line."""
    takes = _VALUE_OPTIONS[tool]
    options: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("--") and "=" in word:
            key, value = word.split("=", 1)
            options[key] = value
        elif word in takes and i + 1 < len(words):
            options[word] = words[i + 1]
            i += 1
        elif not word.startswith("-"):
            positional.append(word)
        i += 1
    return options, positional


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def resolve_ids(doc: Document, env: StageEnv, spec: str) -> tuple[int, int] | None:
    """Numeric UID and GID for a `USER name[:group]`, from the Dockerfile's own RUN lines or the base's passwd."""
    name, _, group_name = spec.partition(":")
    uid: int | None = None
    gid: int | None = None
    group_ids: dict[str, int] = {}
    runs = "\n".join(i.original for i in doc.instructions if i.cmd == "RUN" and not i.json)
    for match in _GROUP_CREATE.finditer(runs):
        options, positional = _parse(match.group(1), _split(match.group(2)))
        gid_text = options.get("-g") or options.get("--gid")
        if gid_text and gid_text.isdigit() and positional:
            group_ids[positional[0]] = int(gid_text)
    for match in _CREATE.finditer(runs):
        tool = match.group(1)
        options, positional = _parse(tool, _split(match.group(2)))
        uid_text = options.get("-u") or options.get("--uid")
        if not positional or positional[0] != name or not (uid_text and uid_text.isdigit()):
            continue
        uid = int(uid_text)
        if tool == "useradd":
            grp = options.get("-g") or options.get("--gid")
        else:
            grp = options.get("-G") or options.get("--ingroup") or options.get("--gid")
        if grp is not None:
            gid = int(grp) if grp.isdigit() else group_ids.get(grp)
        elif name in group_ids:
            gid = group_ids[name]
    if uid is None:
        ids = _passwd_ids(env.passwd, name)
        if ids is None:
            return None
        uid, gid = ids
    if group_name:
        gid = int(group_name) if group_name.isdigit() else group_ids.get(group_name, _group_id(env.group, group_name))
    if gid is None:
        return None
    return uid, gid


def user_pass(doc: Document, ctx: HardenContext) -> PassOutput:
    """Make the final stage run as a non-root numeric UID:GID, creating the user when needed."""
    stage = doc.final_stage
    if stage is None:
        return PassOutput()
    env = env_for(doc, stage, ctx)
    users = [i for i in stage.instructions if i.cmd == "USER"]
    last = users[-1] if users else None
    if last is not None and not is_root(last.value[0] if last.value else ""):
        return _numeric(doc, env, last)
    inherited = env.base.user if env.base is not None else ""
    if last is None and inherited and not is_root(inherited):
        resolved: tuple[int, int] | None
        if _NUMERIC.match(inherited) and ":" in inherited:
            uid_text, gid_text = inherited.split(":")
            resolved = (int(uid_text), int(gid_text))
        else:
            resolved = resolve_ids(doc, env, inherited)
        if resolved:
            anchor = _anchor(stage.instructions, doc.instructions[stage.from_index])
            text = why(anchor.indent, "run as the base image's non-root user, by number", ("DA606", "DA116"))
            text += f"{anchor.indent}USER {resolved[0]}:{resolved[1]}\n"
            change = Change(("DA606",), f"USER {resolved[0]}:{resolved[1]} (the base image's user)", doc.origin(anchor))
            return PassOutput((Edit(anchor.index, after=text),), (change,))
    anchor = _anchor(stage.instructions, doc.instructions[stage.from_index])
    indent = anchor.indent
    nonroot = _passwd_ids(env.passwd, "nonroot") == (DISTROLESS_UID, DISTROLESS_UID)
    if not env.has_shell and (env.distro is Family.DISTROLESS or nonroot):
        uid = gid = DISTROLESS_UID
        text = why(indent, "run as distroless's built-in nonroot user", RULES)
        summary = f"USER {uid}:{gid} (distroless nonroot)"
    else:
        uid = gid = APP_UID
        command = create_command(env, doc.escape)
        if command is not None:
            text = why(indent, "run as an unprivileged user, created with the base image's own tools", RULES)
            text += "".join(f"{indent}{line}\n" for line in command.splitlines())
            summary = f"created user {APP_USER} ({uid}:{gid}) and switched to it"
        else:
            text = why(indent, "run as an unprivileged numeric user; this base has no user database", RULES)
            summary = f"USER {uid}:{gid} (numeric; the base has no passwd file or shell)"
    text += f"{indent}USER {uid}:{gid}\n"
    return PassOutput((Edit(anchor.index, after=text),), (Change(RULES, summary, doc.origin(anchor)),))


def _anchor(instructions: tuple[Instruction, ...], from_ins: Instruction) -> Instruction:
    """The instruction after which the user switch goes: after the last RUN or USER, so root steps still work."""
    anchor = from_ins
    for ins in instructions:
        if ins.cmd in ("RUN", "USER"):
            anchor = ins
    return anchor


def _numeric(doc: Document, env: StageEnv, last: Instruction) -> PassOutput:
    spec = last.value[0]
    if _NUMERIC.match(spec) and ":" in spec:
        return PassOutput()
    if _NUMERIC.match(spec):
        ids = None
        for line in (env.passwd or "").splitlines():
            fields = line.split(":")
            if len(fields) >= 4 and fields[2] == spec and fields[3].isdigit():
                ids = (int(spec), int(fields[3]))
    else:
        ids = resolve_ids(doc, env, spec)
    if ids is None:
        return PassOutput(
            notes=(
                f"USER {spec} (line {doc.origin(last)}): give it as a numeric UID:GID so runAsNonRoot can "
                "verify it (DA116); its IDs could not be found in the Dockerfile or the base image",
            ),
        )
    text = why(last.indent, f"numeric UID:GID for user {spec}, which runAsNonRoot can verify", ("DA116",))
    text += f"{last.indent}USER {ids[0]}:{ids[1]}\n"
    return PassOutput(
        (Edit(last.index, replace=text),),
        (Change(("DA116",), f"USER {spec} -> USER {ids[0]}:{ids[1]}", doc.origin(last)),),
    )


_KEYWORD = re.compile(r"^(\s*)(COPY|ADD)(\s+)", re.IGNORECASE)


def chown_pass(doc: Document, ctx: HardenContext) -> PassOutput:
    """Give the app files copied into the working directory to the runtime user (`COPY --chown`)."""
    stage = doc.final_stage
    if stage is None:
        return PassOutput()
    users = [i for i in stage.instructions if i.cmd == "USER"]
    if not users or not users[-1].value:
        return PassOutput()
    spec = users[-1].value[0]
    if not (_NUMERIC.match(spec) and ":" in spec) or is_root(spec):
        return PassOutput()
    edits: list[Edit] = []
    changes: list[Change] = []
    workdir = "/"
    for ins in stage.instructions:
        if ins.cmd == "WORKDIR" and ins.value:
            path = ins.value[0]
            workdir = path if path.startswith("/") else f"{workdir.rstrip('/')}/{path}"
            continue
        if ins.cmd not in ("COPY", "ADD") or ins.flag("chown") is not None or len(ins.value) < 2:
            continue
        dest = ins.value[-1]
        in_app = not dest.startswith("/") or (workdir != "/" and dest.startswith(workdir.rstrip("/") + "/"))
        in_app = in_app or (workdir != "/" and dest.rstrip("/") == workdir.rstrip("/"))
        if not in_app or workdir == "/" or "$" in dest:
            continue
        match = _KEYWORD.match(ins.raw)
        if match is None:
            continue
        raw = f"{ins.raw[: match.end()]}--chown={spec} {ins.raw[match.end() :]}"
        text = why(ins.indent, "app files owned by the runtime user, not root", ("DA101",)) + raw
        edits.append(Edit(ins.index, replace=text))
        changes.append(Change(("DA101",), f"{ins.cmd} --chown={spec} for {dest}", doc.origin(ins)))
    return PassOutput(tuple(edits), tuple(changes))
