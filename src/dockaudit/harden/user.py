"""The non-root pass: reuse the user the image already has, else create one with a tool the stage has.

Nothing is edited when the image already runs as non-root, drops privileges itself, is a base image or a
Windows image (those findings are advice, below `low`), or when its entrypoint needs root at start.
"""

from __future__ import annotations

import re

from dockaudit.facts.dockerfile import Account, RuntimeFacts
from dockaudit.harden.document import Document, Edit, Instruction, Stage
from dockaudit.harden.passes import PassOutput, flagged_line, runtime_stage, why
from dockaudit.harden.plan import Plan
from dockaudit.harden.result import Change, Unfixed
from dockaudit.parse.base_images import BASE_TABLE
from dockaudit.rules.fixes import APP_UID, APP_USER, DISTROLESS_UID

RULES = ("DA101", "DA606")

_ROOT = re.compile(r"^(root|0)(:.*)?$")
_NUMERIC = re.compile(r"^\d+(:\d+)?$")


def is_root(spec: str) -> bool:
    """Whether a `USER` value means root."""
    return bool(_ROOT.match(spec.strip()))


def _ids(account: Account) -> str | None:
    if account.uid is None:
        return None
    return f"{account.uid}:{account.gid}" if account.gid is not None else str(account.uid)


def _reusable(runtime: RuntimeFacts) -> Account | None:
    """The user to switch to by number: one the file creates, else one the base image provides."""
    for account in runtime.accounts:
        if account.uid is not None and account.uid != 0 and account.name != "root":
            return account
    return None


def create_command(runtime: RuntimeFacts, uid: int, escape: str = "\\") -> str | None:
    """The RUN that creates the app user with the tools this stage has, or None when it has none."""
    tools = runtime.tools
    if {"useradd", "groupadd"} <= tools:
        return (
            f"RUN groupadd -r -g {uid} {APP_USER} {escape}\n"
            f"    && useradd -r -u {uid} -g {APP_USER} -s /sbin/nologin -M {APP_USER}"
        )
    if {"adduser", "addgroup"} <= tools:
        return (
            f"RUN addgroup -S -g {uid} {APP_USER} {escape}\n    && adduser -S -D -H -u {uid} -G {APP_USER} {APP_USER}"
        )
    if "sh" in tools:
        # No user tools (busybox without adduser, a FROM scratch shell): write the account lines directly.
        return (
            f"RUN mkdir -p /etc {escape}\n"
            f'    && echo "{APP_USER}:x:{uid}:{uid}::/nonexistent:/sbin/nologin" >> /etc/passwd {escape}\n'
            f'    && echo "{APP_USER}:x:{uid}:" >> /etc/group'
        )
    return None


def _anchor(stage: Stage, doc: Document, volumes: bool, workdir: Instruction | None) -> Instruction:
    """The instruction after which the user switch goes: after the last RUN or USER, so root steps still work.

    With `volumes`, also after the last VOLUME, and after `workdir`: a RUN inserted above them changes their
    ownership as root.
    """
    anchor = doc.instructions[stage.from_index]
    for ins in stage.instructions:
        if ins.cmd in ("RUN", "USER") or (volumes and ins.cmd == "VOLUME" and _volume_paths(ins)) or ins is workdir:
            anchor = ins
    return anchor


_SYSTEM_DIRS = frozenset(
    [
        "bin",
        "boot",
        "dev",
        "etc",
        "home",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "media",
        "mnt",
        "opt",
        "proc",
        "root",
        "run",
        "sbin",
        "srv",
        "sys",
        "tmp",
        "usr",
        "var",
    ]
)
"""Top-level directories of the filesystem hierarchy: a base image has them, with its own files inside."""


def _empty_workdir(doc: Document, stage: Stage, runtime: RuntimeFacts) -> Instruction | None:
    """The runtime stage's last WORKDIR when it is an empty directory of the image's own that the app starts in
    (`WORKDIR /meili_data` and nothing after it but the start): the app writes its data there, and a non-root USER
    could not. Only a top-level directory outside the filesystem hierarchy, on a base the table describes, that no
    instruction names before and none fills after, so it holds none of the app's own files."""
    workdirs = [i for i in stage.instructions if i.cmd == "WORKDIR" and i.value]
    if not workdirs or "sh" not in runtime.tools or not (runtime.base_known or "").startswith(BASE_TABLE):
        return None
    workdir = workdirs[-1]
    path = workdir.value[0].rstrip("/")
    parts = path.split("/")
    if not path.startswith("/") or "$" in path or len(parts) != 2 or parts[1] in _SYSTEM_DIRS:
        return None
    after = stage.instructions[stage.instructions.index(workdir) + 1 :]
    if any(i.cmd in ("COPY", "ADD", "RUN", "VOLUME") for i in after):
        return None
    before = doc.instructions[: workdir.index]
    if any(re.search(rf"{re.escape(path)}(?![\w.-])", i.original) for i in before):
        return None
    return workdir


def _volume_paths(ins: Instruction) -> list[str]:
    return [p for p in ins.value if p.startswith("/") and "$" not in p]


def user_pass(doc: Document, plan: Plan) -> PassOutput:
    """Make the runtime stage run as a non-root numeric UID when the scan flagged it as root and that is safe."""
    runtime = plan.runtime
    stage = runtime_stage(doc, plan)
    if runtime is None or stage is None:
        return PassOutput()
    numeric = _numeric(doc, plan, stage, runtime)
    if not plan.flagged(RULES):
        return numeric
    finding = plan.finding("DA606") or plan.finding("DA101")
    line = finding.location.line if finding is not None else None

    def left(reason: str) -> PassOutput:
        return PassOutput(
            numeric.edits, numeric.changes, numeric.notes, (*numeric.unfixed, Unfixed(RULES, reason, line))
        )

    if runtime.user.root is None:
        return left(f"{runtime.user.detail}: give the build arg a non-root default, or pass one with --build-arg")
    child = _child_running_as_root(doc, stage)
    if child is not None:
        return left(child)
    if runtime.entrypoint_needs_root is not None:
        return left(
            f"the entrypoint needs root when it starts ({runtime.entrypoint_needs_root}): a non-root USER would "
            "break it; let it drop privileges itself (gosu, su-exec, setpriv) or move that work into the build"
        )
    if runtime.docker_socket is not None:
        return left(
            f"{runtime.docker_socket}, which is root:docker 0660 on the host: a non-root USER could not open it; "
            "run it with `--group-add <the socket's GID>` (`stat -c %g /var/run/docker.sock`) and a USER then, "
            "or give it a read-only socket proxy"
        )
    if runtime.command_at_run_time is not None:
        return left(
            f"{runtime.command_at_run_time}; whether that command can run without root (an app that writes in "
            "its own directory cannot) is not known from the file: set `user:` per service, or add a USER with "
            "the chown its command needs"
        )
    volumes_owned = _volumes_the_user_cannot_write(doc, stage, runtime)
    if volumes_owned is not None:
        return left(volumes_owned)
    account = _reusable(runtime)
    notes: list[str] = []
    unnumbered = next((a for a in runtime.accounts if a.created and a.uid is None), None)
    if account is None and unnumbered is not None:
        # The file made this account for the app (and may have chowned the app's files to it): a second user would
        # not own them, and a USER by name is what hadolint (DL3066) and runAsNonRoot object to.
        return left(
            f"the file creates {unnumbered.name} ({unnumbered.origin}) for the app but gives it no fixed UID, so "
            f"there is no number to switch to; give it one (`useradd -u 10001 ...`) and add `USER 10001` after the "
            "last RUN"
        )
    chown_volumes = "sh" in runtime.tools and any(i.cmd == "VOLUME" and _volume_paths(i) for i in stage.instructions)
    workdir = _empty_workdir(doc, stage, runtime)
    anchor = _anchor(stage, doc, chown_volumes, workdir)
    indent = anchor.indent
    if account is not None:
        spec = _ids(account) or account.name
        text = why(indent, f"run as the existing unprivileged user {account.name} ({account.origin})", RULES)
        summary = f"USER {spec}: the existing user {account.name} ({account.origin})"
    else:
        uid = APP_UID
        command = create_command(runtime, uid, doc.escape)
        if command is not None:
            text = why(indent, "run as an unprivileged user, created with a tool this stage has", RULES)
            text += "".join(f"{indent}{line}\n" for line in command.splitlines())
            summary = f"created user {APP_USER} ({uid}:{uid}) and switched to it"
            spec = f"{uid}:{uid}"
        else:
            if runtime.base.lower() == "scratch" or runtime.tools_complete:
                uid = DISTROLESS_UID
            spec = f"{uid}:{uid}"
            text = why(indent, "run as an unprivileged numeric user; this stage has no tool to create one", RULES)
            summary = f"USER {spec} (numeric: no shell or user tools known in FROM {runtime.base})"
            notes.append(
                f"USER {spec} has no /etc/passwd entry (FROM {runtime.base} has no tool known to create one): "
                "the app runs with that UID and HOME=/"
            )
    text += f"{indent}USER {spec}\n"
    edits = [*numeric.edits, Edit(anchor.index, after=text)]
    changes = [*numeric.changes, Change(RULES, summary, doc.origin(anchor))]
    volumes = _volume_edits(doc, stage, spec)
    edits.extend(volumes.edits)
    changes.extend(volumes.changes)
    if workdir is not None:
        path = workdir.value[0].rstrip("/")
        text = why(workdir.indent, "the app starts in this empty directory and writes its data there", RULES)
        text += f"{workdir.indent}RUN mkdir -p {path} && chown {spec} {path}\n"
        edits.append(Edit(workdir.index, before=text))
        changes.append(Change(RULES, f"WORKDIR {path} (empty) owned by {spec}", doc.origin(workdir)))
    notes.append(
        f"The app now runs as {spec}: its files stay owned by root and read-only to it; a directory it must write "
        "outside its VOLUMEs needs `chown` in the Dockerfile (or a tmpfs/volume at run time)"
    )
    return PassOutput(tuple(edits), tuple(changes), (*numeric.notes, *notes), numeric.unfixed)


def _volumes_the_user_cannot_write(doc: Document, stage: Stage, runtime: RuntimeFacts) -> str | None:
    """Why a USER would leave the app unable to write its declared VOLUMEs: the stage has no shell to chown them,
    so a volume Docker creates there starts owned by root."""
    if "sh" in runtime.tools:
        return None
    for ins in stage.instructions:
        paths = _volume_paths(ins) if ins.cmd == "VOLUME" else []
        if paths:
            return (
                f"VOLUME {' '.join(paths)} (line {doc.origin(ins)}) would stay owned by root and FROM {runtime.base} "
                "has no shell to chown it, so the app could not write its data as another user; create the "
                "directory owned by the user in a build stage (`COPY --chown=65532:65532 --from=build /data /data`) "
                "and add the USER then"
            )
    return None


def _child_running_as_root(doc: Document, stage: Stage) -> str | None:
    """Why a USER here would break a later stage built FROM this one that RUNs as root before its own USER."""
    family = {stage.index}
    for later in doc.stages:
        parent = doc.stage_by_name(later.base)
        if later.index <= stage.index or parent is None or parent.index not in family:
            continue
        family.add(later.index)
        for ins in later.instructions:
            if ins.cmd == "USER":
                break
            if ins.cmd == "RUN":
                name = f"`{later.name}`" if later.name else str(later.index)
                return (
                    f"stage {name} builds FROM this one and runs RUN (line {doc.origin(ins)}) as root before any USER "
                    "of its own: a USER here would break it; add `USER root` at its start, then the USER here"
                )
    return None


def _volume_edits(doc: Document, stage: Stage, owner: str) -> PassOutput:
    """Give the declared VOLUMEs of the runtime stage to the runtime user, so the app can still write them.

    A stage that declares VOLUMEs has a shell here: without one, `user_pass` adds no USER at all.
    """
    edits: list[Edit] = []
    changes: list[Change] = []
    for ins in stage.instructions:
        if ins.cmd != "VOLUME" or not ins.value:
            continue
        paths = _volume_paths(ins)
        if not paths:
            continue
        text = why(ins.indent, "the runtime user must be able to write its volumes", RULES)
        text += f"{ins.indent}RUN mkdir -p {' '.join(paths)} && chown {owner} {' '.join(paths)}\n"
        edits.append(Edit(ins.index, before=text))
        changes.append(Change(RULES, f"VOLUME {' '.join(paths)} owned by {owner}", doc.origin(ins)))
    return PassOutput(tuple(edits), tuple(changes))


def _numeric(doc: Document, plan: Plan, stage: Stage, runtime: RuntimeFacts) -> PassOutput:
    """A `USER name` the scan flagged as not numeric (DA116) is left as written, with the IDs to write instead.

    The image already runs as non-root, and harden's contract is to leave such a USER alone.
    """
    users = [i for i in stage.instructions if i.cmd == "USER" and i.value]
    if not users:
        return PassOutput()
    last = users[-1]
    spec = last.value[0]
    if _NUMERIC.match(spec) or is_root(spec) or not flagged_line(doc, plan, last, ("DA116",)):
        return PassOutput()
    if "$" in spec:
        reason = (
            f"the USER is given by a build arg ({spec}) that names a user; write that user's numeric UID:GID "
            "instead (the arg that sets its UID, if the file has one) so runAsNonRoot can verify it"
        )
        return PassOutput(unfixed=(Unfixed(("DA116",), reason, doc.origin(last)),))
    name = spec.split(":", 1)[0]
    account = runtime.account(name)
    ids = _ids(account) if account is not None else None
    if ids is not None and account is not None:
        reason = (
            f"the image already runs as the non-root user {name}, so its USER is left as written; "
            f"write it as `USER {ids}` ({account.origin}) so runAsNonRoot can verify it"
        )
    else:
        reason = f"the image already runs as the non-root user {name}; write its numeric UID:GID (`id {name}`)"
    return PassOutput(unfixed=(Unfixed(("DA116",), reason, doc.origin(last)),))
