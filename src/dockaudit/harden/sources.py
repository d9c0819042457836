"""Passes over what a build pulls in: ADD to COPY, remote ADD to a checked download, bases pinned by digest."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlparse

from dockaudit.harden.document import Document, Edit, Instruction, Stage
from dockaudit.harden.passes import PassOutput, env_for, flagged_line, why
from dockaudit.harden.plan import Plan
from dockaudit.harden.reconstruct import UNKNOWN_BASE
from dockaudit.harden.result import Change, Unfixed
from dockaudit.rules.shell import commands

_ARCHIVE = re.compile(r"\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst|tar\.lz|tar\.lzma|tlz)$", re.I)
_ADD_ONLY_FLAGS = ("--checksum", "--keep-git-dir", "--unpack")
_KEYWORD = re.compile(r"^(\s*)ADD\b", re.IGNORECASE)
CHECKSUM_PLACEHOLDER = "FILL_IN_SHA256"
"""`sha256sum -c` rejects this, so the build fails until the real checksum is filled in."""


def _remote(src: str) -> bool:
    return src.startswith(("http://", "https://"))


def _git(src: str) -> bool:
    return src.startswith(("git@", "git://")) or src.endswith(".git")


def _workdir_before(doc: Document, ins: Instruction) -> bool:
    """Whether a WORKDIR is set before `ins` in its stage or the stages it is built FROM."""
    stage: Stage | None = next((st for st in doc.stages if st.index == ins.stage), None)
    seen: set[int] = set()
    while stage is not None and stage.index not in seen:
        seen.add(stage.index)
        if any(i.cmd == "WORKDIR" and i.index < ins.index for i in stage.instructions):
            return True
        parent = doc.stage_by_name(stage.base)
        stage = parent if parent is not None and parent.index < stage.index else None
    return False


def add_to_copy_pass(doc: Document, plan: Plan) -> PassOutput:
    """`ADD` of local, non-archive sources becomes `COPY`, whose only job is copying."""
    edits: list[Edit] = []
    changes: list[Change] = []
    unfixed: list[Unfixed] = []
    for ins in doc.instructions:
        if ins.cmd != "ADD" or len(ins.value) < 2 or ins.heredoc or not flagged_line(doc, plan, ins, ("DA203",)):
            continue
        if not ins.value[-1].startswith("/") and not _workdir_before(doc, ins):
            # hadolint DL3045 flags a COPY to a relative path without WORKDIR (it lets ADD pass).
            reason = (
                f"its destination {ins.value[-1]} is relative and no WORKDIR is set, so the base image's WORKDIR "
                "decides where it lands: write `COPY` with an absolute destination by hand"
            )
            unfixed.append(Unfixed(("DA203",), reason, doc.origin(ins)))
            continue
        sources = ins.value[:-1]
        if any(_remote(s) or _git(s) or _ARCHIVE.search(s) or "$" in s for s in sources):
            continue
        if any(f.split("=", 1)[0] in _ADD_ONLY_FLAGS for f in ins.flags):
            continue
        match = _KEYWORD.match(ins.raw)
        if match is None:
            continue
        raw = f"{match.group(1)}COPY{ins.raw[match.end() :]}"
        text = why(ins.indent, "COPY only copies; ADD also unpacks archives and fetches URLs", ("DA203",)) + raw
        edits.append(Edit(ins.index, replace=text))
        changes.append(Change(("DA203",), f"ADD -> COPY for {' '.join(sources)}", doc.origin(ins)))
    return PassOutput(tuple(edits), tuple(changes), unfixed=tuple(unfixed))


def _checksum_arg(url: str, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "_", urlparse(url).path.rsplit("/", 1)[-1]).strip("_").upper() or "DOWNLOAD"
    name = f"{stem}_SHA256"
    while name in taken:
        name = f"{name}_2"
    taken.add(name)
    return name


_REMOTE_ADD_FLAGS = ("--chown", "--chmod", "--link")
"""Flags a checked download can carry over (`--link` only changes layer reuse); with any other, advise."""


def _clients_run(instructions: Sequence[Instruction]) -> set[str]:
    return {c.name for i in instructions if i.cmd == "RUN" for c in commands(" ".join(i.value))} & {"curl", "wget"}


def _download_client(doc: Document, stage: Stage, tools: frozenset[str]) -> str | None:
    """A client the stage has (known, or run by its own RUNs), preferring the one the file already runs (hadolint
    DL4001: not both); None: neither."""
    present = [c for c in ("curl", "wget") if c in tools or c in _clients_run(stage.instructions)]
    used = _clients_run(doc.instructions)
    return next((c for c in present if c in used), present[0] if present else None)


def remote_add_pass(doc: Document, plan: Plan) -> PassOutput:
    """`ADD https://...` becomes a download whose SHA-256 is checked; the checksum is a placeholder to fill."""
    edits: list[Edit] = []
    changes: list[Change] = []
    notes: list[str] = []
    unfixed: list[Unfixed] = []
    taken: set[str] = set()
    for stage in doc.stages:
        env = env_for(doc, stage, plan)
        for ins in stage.instructions:
            if ins.cmd != "ADD" or len(ins.value) != 2 or not _remote(ins.value[0]) or ins.flag("checksum"):
                continue
            if not flagged_line(doc, plan, ins, ("DA204",)):
                continue
            url, dest = ins.value
            client = _download_client(doc, stage, env.tools)
            reason = _unfixable_download(url, ins, env.has_shell, client)
            if reason is not None:
                why_not = f"ADD {url} downloads without verification; {reason}"
                unfixed.append(Unfixed(("DA204",), why_not, doc.origin(ins)))
                continue
            name = url.rsplit("/", 1)[-1] or "download"
            target = f"{dest}{name}" if dest.endswith("/") else dest
            arg = _checksum_arg(url, taken)
            fetch = f"curl -fsSL -o {target} {url}" if client == "curl" else f"wget -q -O {target} {url}"
            chown, chmod = ins.flag("chown"), ins.flag("chmod")
            own = f" && chown {chown} {target}" if chown else ""
            own += f" && chmod {chmod} {target}" if chmod else ""
            mkdir = f"mkdir -p {dest} && " if dest.endswith("/") else ""
            indent = ins.indent
            text = why(indent, f"verify the download; set {arg} to its SHA-256, the build fails until then", ("DA204",))
            text += f"{indent}ARG {arg}={CHECKSUM_PLACEHOLDER}\n"
            text += (
                f"{indent}RUN {mkdir}{fetch} {doc.escape}\n"
                f'{indent}    && echo "${{{arg}}}  {target}" > /tmp/{arg}.txt {doc.escape}\n'
                f"{indent}    && sha256sum -c /tmp/{arg}.txt && rm /tmp/{arg}.txt{own}\n"
            )
            edits.append(Edit(ins.index, replace=text))
            changes.append(Change(("DA204",), f"ADD {url} -> checksummed download", doc.origin(ins)))
            notes.append(
                f"Fill in {arg} (line {doc.origin(ins)}): run `curl -fsSL {url} | sha256sum` once and put the hash in "
                f"the ARG default or pass --build-arg {arg}=<sha256>; until then the build stops at sha256sum -c"
            )
    return PassOutput(tuple(edits), tuple(changes), tuple(notes), unfixed=tuple(unfixed))


def _unfixable_download(url: str, ins: Instruction, has_shell: bool, client: str | None) -> str | None:
    """Why a remote ADD cannot become a checked download here; None when it can."""
    if "$" in url:
        return (
            "its URL comes from build args, so no one checksum fits every build: pass the checksum with the URL "
            "(`ADD --checksum=sha256:...` with BuildKit) or verify it in a RUN"
        )
    if not has_shell:
        return "this stage has no shell to check a checksum, so download it in a builder stage and COPY --from it"
    other = [f for f in ins.flags if f.split("=", 1)[0] not in _REMOTE_ADD_FLAGS]
    if other:
        return f"it also uses {' '.join(other)}, which a RUN download would lose: verify it by hand"
    if client is None:
        return "this stage has neither curl nor wget to download and check it: verify it by hand"
    return None


def pin_base_pass(doc: Document, plan: Plan) -> PassOutput:
    """Pin each flagged external base to its digest when the engine knows one; otherwise say how to get it."""
    edits: list[Edit] = []
    changes: list[Change] = []
    unfixed: list[Unfixed] = []
    earlier: set[str] = set()
    for stage in doc.stages:
        ins = doc.instructions[stage.from_index]
        ref = stage.base
        external = (
            ref.lower() != "scratch"
            and ref.lower() not in earlier
            and "$" not in ref
            and "@" not in ref
            and ref != UNKNOWN_BASE
        )
        if stage.name:
            earlier.add(stage.name.lower())
        if "$" in ref and ref.lower() not in earlier and flagged_line(doc, plan, ins, ("DA603",)):
            # The reference is chosen where the build arg is given (CI, a bake file): a digest belongs there.
            reason = (
                f"the base is named by build args ({ref}); pin it where their values are chosen, with an "
                "`@sha256:` reference or a digest in the arg's value"
            )
            unfixed.append(Unfixed(("DA603",), reason, doc.origin(ins)))
            continue
        if not external or not flagged_line(doc, plan, ins, ("DA603",)):
            continue
        base = plan.ctx.base_lookup(ref)
        digest = base.repo_digest.split("@", 1)[1] if base and base.repo_digest and "@" in base.repo_digest else None
        if digest is None:
            how = f"docker pull {ref} && docker image inspect --format '{{{{index .RepoDigests 0}}}}' {ref}"
            unfixed.append(
                Unfixed(("DA603",), f"the digest of {ref} is not known locally; get it with `{how}`", doc.origin(ins))
            )
            continue
        words = list(ins.value)
        words[0] = f"{ref}@{digest}"
        flags = "".join(f"{f} " for f in ins.flags)
        text = why(ins.indent, "base pinned by digest: rebuilds get the same bytes", ("DA603",))
        text += f"{ins.indent}FROM {flags}{' '.join(words)}\n"
        edits.append(Edit(ins.index, replace=text))
        changes.append(Change(("DA603",), f"FROM {ref} pinned to {digest[:19]}…", doc.origin(ins)))
    return PassOutput(tuple(edits), tuple(changes), unfixed=tuple(unfixed))
