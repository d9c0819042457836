"""The package-manager pass: no recommends, no caches left in the layer, no update in a layer of its own."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockaudit.harden.document import Document, Edit, Instruction
from dockaudit.harden.passes import PassOutput, flagged_line, why
from dockaudit.harden.plan import Plan
from dockaudit.harden.result import Change, Unfixed
from dockaudit.rules.packages import names_no_cache_dir


@dataclass(frozen=True)
class _Syntax:
    """Regexes over raw RUN text, where words may be split by an escaped line break."""

    sep: str

    def manager(self, tool: str, verb: str) -> re.Pattern[str]:
        return re.compile(rf"\b(?:{tool})(?:{self.sep}-\S+)*{self.sep}(?:{verb})\b")


def _syntax(escape: str) -> _Syntax:
    return _Syntax(rf"(?:[ \t]|{re.escape(escape)}\r?\n)+")


_APT = r"apt-get|apt"
_PIP = r"pip[\d.]*|python[\d.]*\s+-m\s+pip"
_UPDATE_ONLY = re.compile(r"^\s*(apt-get|apt|apk)(\s+-\S+)*\s+update(\s+-\S+)*\s*$")


def _shell_command(ins: Instruction) -> str:
    """The RUN's command without keyword and flags, as the parser joined it."""
    return ins.value[0] if ins.value and not ins.json else ""


def _append_line(raw: str, command: str, escape: str) -> str | None:
    """`raw` with `&& command` added as a continuation line; None when a trailing comment would swallow it."""
    body = raw.rstrip()
    last = body.rsplit("\n", 1)[-1]
    if re.search(r"\s#", last):
        return None
    lines = body.split("\n")
    indent = re.match(r"[ \t]*", lines[1]).group() if len(lines) > 1 else "    "  # type: ignore[union-attr]
    joiner = "" if body.endswith(";") else "&& "
    return f"{body} {escape}\n{indent}{joiner}{command}\n"


def _append_heredoc(raw: str, command: str) -> str | None:
    """`raw` with `command` as the last line of its heredoc script, just above the terminator."""
    lines = raw.rstrip("\n").split("\n")
    if len(lines) < 3:
        return None
    return "\n".join([*lines[:-1], command, lines[-1]]) + "\n"


def _insert_after(pattern: re.Pattern[str], raw: str, addition: str) -> str:
    return pattern.sub(lambda m: m.group(0) + addition, raw)


def _no_cache_dir_unless_given(rest: str) -> str:
    """` --no-cache-dir` for a pip command whose own options (`rest`, up to the next operator) do not already
    disable the cache: `pip install --upgrade pip && pip install --no-cache x` gets it on the first pip only."""
    own = re.split(r"&&|\|\||[;|\n]", rest, maxsplit=1)[0]
    return "" if any(map(names_no_cache_dir, own.split())) else " --no-cache-dir"


def _cache_targets(ins: Instruction) -> list[str]:
    """Targets of the RUN's `--mount=type=cache` flags: nothing inside them may be deleted or bypassed."""
    targets = []
    for flag in ins.flags:
        if not flag.startswith("--mount=") or "type=cache" not in flag:
            continue
        for part in flag.removeprefix("--mount=").split(","):
            key, _, value = part.partition("=")
            if key in ("target", "dst", "destination") and value:
                targets.append(value.rstrip("/") or "/")
    return targets


def _under(path: str, targets: list[str]) -> bool:
    return any(path == t or path.startswith(t + "/") or t.startswith(path + "/") for t in targets)


@dataclass(frozen=True)
class _Gate:
    """Which fixes the scan asked for on this RUN, and what must not be touched."""

    recommends: bool
    """DA208 flagged the line."""
    caches: bool
    """DA207 flagged the line."""
    cache_mounts: tuple[str, ...]
    later_apt_install: str | None
    """Why apt's lists must stay (a later RUN installs without its own update); None when they may go."""


def _lean(ins: Instruction, raw: str, escape: str, gate: _Gate) -> tuple[str, list[str], set[str], list[str]]:
    """Apply the flagged package-manager fixes to one RUN: new raw text, what changed, rules fixed, reasons left."""
    syn = _syntax(escape)
    text = ins.original
    mounts = list(gate.cache_mounts)

    def _append(raw: str, command: str, escape: str) -> str | None:
        return _append_heredoc(raw, command) if ins.heredoc else _append_line(raw, command, escape)

    what: list[str] = []
    rules: set[str] = set()
    left: list[str] = []
    apt_install = syn.manager(_APT, "install")
    if apt_install.search(raw):
        if gate.recommends and "--no-install-recommends" not in text and "Install-Recommends" not in text:
            raw = _insert_after(apt_install, raw, " --no-install-recommends")
            what.append("apt --no-install-recommends")
            rules.add("DA208")
        if gate.caches and "/var/lib/apt/lists" not in text:
            if _under("/var/lib/apt/lists", mounts):
                left.append("apt's lists are in a cache mount of this RUN, not in the layer")
            elif gate.later_apt_install is not None:
                left.append(gate.later_apt_install)
            else:
                appended = _append(raw, "rm -rf /var/lib/apt/lists/*", escape)
                if appended is not None:
                    raw = appended
                    what.append("apt lists removed in the same layer")
                    rules.add("DA207")
    apk_add = syn.manager("apk", "add")
    if gate.caches and apk_add.search(raw) and "--no-cache" not in text:
        if _under("/var/cache/apk", mounts) or _under("/etc/apk/cache", mounts):
            left.append("apk's cache is a cache mount of this RUN")
        else:
            raw = _insert_after(apk_add, raw, " --no-cache")
            # With --no-cache, a separate `apk update` only leaves an index behind.
            raw = re.sub(rf"\bapk{syn.sep}update{syn.sep}&&{syn.sep}", "", raw)
            what.append("apk --no-cache")
            rules.add("DA207")
    pip_install = syn.manager(_PIP.replace(r"\s+", syn.sep), "install")
    if gate.caches and pip_install.search(raw) and "--no-cache-dir" not in text and "PIP_NO_CACHE_DIR" not in text:
        if _under("/root/.cache/pip", mounts):
            left.append("pip's cache is a cache mount of this RUN")
        else:
            raw = pip_install.sub(lambda m: m.group(0) + _no_cache_dir_unless_given(raw[m.end() :]), raw)
            what.append("pip --no-cache-dir")
            rules.add("DA207")
    for tool in ("dnf", "microdnf", "yum"):
        if gate.caches and syn.manager(tool, "install").search(raw) and "clean all" not in text:
            if _under(f"/var/cache/{'dnf' if tool == 'microdnf' else tool}", mounts):
                left.append(f"{tool}'s cache is a cache mount of this RUN")
                break
            appended = _append(raw, f"{tool} clean all", escape)
            if appended is not None:
                raw = appended
                what.append(f"{tool} clean all")
                rules.add("DA207")
            break
    if gate.caches and syn.manager("npm", "ci|install|i").search(raw) and "cache clean" not in text:
        if _under("/root/.npm", mounts):
            left.append("npm's cache is a cache mount of this RUN")
        else:
            appended = _append(raw, "npm cache clean --force", escape)
            if appended is not None:
                raw = appended
                what.append("npm cache cleaned")
                rules.add("DA207")
    return raw, what, rules, left


_RUN_PREFIX = re.compile(r"^(\s*RUN(?:[ \t]+--\S+)*[ \t]+)", re.IGNORECASE)
_APT_INSTALL = re.compile(r"\bapt(?:-get)?\s+(?:-\S+\s+)*install\b")
_APT_UPDATE = re.compile(r"\bapt(?:-get)?\s+(?:-\S+\s+)*update\b")


def _descendants(doc: Document, stage_index: int) -> list[int]:
    """The stage and every later stage built FROM it (they start from its filesystem)."""
    found = [stage_index]
    for stage in doc.stages:
        parent = doc.stage_by_name(stage.base)
        if parent is not None and parent.index in found and parent.index < stage.index:
            found.append(stage.index)
    return found


def _later_apt_install(doc: Document, ins: Instruction) -> str | None:
    """Why removing apt's lists after `ins` would break a later RUN, or None when nothing needs them."""
    stages = _descendants(doc, ins.stage)
    for later in doc.instructions:
        if later.index <= ins.index or later.stage not in stages or later.cmd != "RUN":
            continue
        body = " ".join(later.value)
        if _APT_INSTALL.search(body) and not _APT_UPDATE.search(body):
            return (
                f"a later RUN (line {doc.origin(later)}) installs with apt without its own `apt-get update`: "
                "removing the lists here would break it"
            )
    return None


def packages_pass(doc: Document, plan: Plan) -> PassOutput:
    """Lean the package installs the scan flagged (DA205/DA207/DA208), without breaking later RUNs or cache mounts."""
    edits: list[Edit] = []
    changes: list[Change] = []
    unfixed: list[Unfixed] = []
    for stage in doc.stages:
        # A RUN whose script is one heredoc is edited inside the script; other heredoc uses are left alone.
        runs = [
            i
            for i in stage.instructions
            if i.cmd == "RUN" and not i.json and (not i.heredoc or (len(i.value) == 1 and i.value[0].startswith("<<")))
        ]
        prefixes: dict[int, str] = {}
        for pos, ins in enumerate(runs):
            match = _UPDATE_ONLY.match(_shell_command(ins))
            if match is None or not flagged_line(doc, plan, ins, ("DA205",)):
                continue
            tool = match.group(1)
            family = "apk" if tool == "apk" else _APT
            following = next(
                (r for r in runs[pos + 1 :] if _syntax(doc.escape).manager(family, "add|install").search(r.raw)), None
            )
            if following is None or "update" in following.original or following.index in prefixes:
                continue
            if not flagged_line(doc, plan, following, ("DA207", "DA208")) and tool != "apk":
                unfixed.append(Unfixed(("DA205",), "the install it belongs with was not flagged", doc.origin(ins)))
                continue
            text = why(
                ins.indent, f"`{tool} update` merged into the install below: a layer of its own goes stale", ("DA205",)
            )
            edits.append(Edit(ins.index, replace=text))
            changes.append(Change(("DA205",), f"removed the separate `{tool} update` layer", doc.origin(ins)))
            if tool != "apk":
                prefixes[following.index] = f"{tool} update && "
        for ins in runs:
            raw = ins.raw
            prefix = prefixes.get(ins.index)
            if prefix is not None:
                match = _RUN_PREFIX.match(raw)
                if match is None:
                    continue
                raw = raw[: match.end()] + prefix + raw[match.end() :]
            gate = _Gate(
                recommends=flagged_line(doc, plan, ins, ("DA208",)),
                caches=flagged_line(doc, plan, ins, ("DA207",)),
                cache_mounts=tuple(_cache_targets(ins)),
                later_apt_install=_later_apt_install(doc, ins),
            )
            raw, what, rules, left = _lean(ins, raw, doc.escape, gate)
            unfixed.extend(Unfixed(("DA207",), reason, doc.origin(ins)) for reason in left)
            if prefix is not None:
                what.insert(0, "package index update in the same layer")
                rules.add("DA205")
            if raw == ins.raw:
                continue
            ids = tuple(sorted(rules))
            text = why(ins.indent, "lean layer: no recommended extras, no package caches", ids) + raw
            edits.append(Edit(ins.index, replace=text))
            changes.append(Change(ids, "; ".join(what), doc.origin(ins)))
    return PassOutput(tuple(edits), tuple(changes), unfixed=tuple(unfixed))
