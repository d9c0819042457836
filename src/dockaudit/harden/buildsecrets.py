"""The build-secret pass: secret-named ARG/ENV leave the image; RUN lines that use them get a secret mount."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockaudit.harden.document import Document, Edit, Instruction
from dockaudit.harden.passes import PassOutput, flagged_line, why
from dockaudit.harden.plan import Plan
from dockaudit.harden.result import Change, Unfixed
from dockaudit.secrets import classify_pair, is_allowlisted, is_secret_name

RULES = ("DA104", "DA605")
LABEL_RULES = ("DA105",)
_RUN_PREFIX = re.compile(r"^(\s*RUN)([ \t]+(?:--\S+[ \t]+)*)", re.IGNORECASE)


@dataclass(frozen=True)
class _Key:
    name: str
    value: str


def secret_id(name: str) -> str:
    """The `--secret id=` used for a variable: its lower-case name."""
    return name.lower()


def _pairs(ins: Instruction) -> list[_Key]:
    if ins.cmd == "ARG":
        return [_Key(*(v.split("=", 1) if "=" in v else (v, ""))) for v in ins.value]
    values = list(ins.value)
    return [_Key(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]


def _is_secret(key: _Key, allow: tuple[str, ...]) -> bool:
    value = key.value.strip("\"'")
    if is_allowlisted(key.name, value, allow):
        return False
    # A secret-like name counts even without a value (it is filled by --build-arg); a credential by its format.
    return is_secret_name(key.name) or classify_pair(key.name, value, allow) is not None


def _render(ins: Instruction, kept: list[_Key], escape: str) -> str:
    """The instruction with only the kept keys, one per line when the original spread over lines."""
    if ins.cmd == "ARG":
        words = [f"{k.name}={k.value}" if k.value else k.name for k in kept]
    elif ins.cmd == "LABEL" and len(kept) == 1 and len(ins.value) == 2 and "=" not in ins.original:
        words = [f"{kept[0].name} {kept[0].value}"]
    else:
        words = [f"{k.name}={k.value}" for k in kept]
    if ins.start != ins.end and ins.cmd != "ARG":
        return f"{ins.indent}{ins.cmd} " + f" {escape}\n{ins.indent}    ".join(words) + "\n"
    return f"{ins.indent}{ins.cmd} {' '.join(words)}\n"


def _uses(ins: Instruction, name: str) -> bool:
    return bool(re.search(rf"\$(?:{re.escape(name)}\b|\{{{re.escape(name)}(?:[:}}\-+?=]))", ins.original))


_BREAK = " \t\n;&|()<>"


def quote_uses(text: str, names: list[str], escape: str = "\\") -> str:
    """Double-quote each plain shell word that expands one of `names`: a secret may hold spaces or globs.

    The whole word is quoted (`"https://u:$TOKEN@host"`), never the variable alone, so the URL still reads as
    a reference to a variable rather than a literal `user:password@`; words that already hold quotes,
    escapes or command substitutions are left as they are.
    """
    alternatives = "|".join(map(re.escape, names))
    uses = re.compile(rf"\$(?:\{{(?:{alternatives})\}}|(?:{alternatives})\b)")
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] in _BREAK or text.startswith(f"{escape}\n", i):
            step = 2 if text[i] == escape else 1
            out.append(text[i : i + step])
            i += step
            continue
        j, quote, plain = i, "", True
        while j < len(text):
            char = text[j]
            if quote:
                j += 2 if char == "\\" and quote == '"' else 1
                if char == quote:
                    quote = ""
                continue
            if char in _BREAK or text.startswith(f"{escape}\n", j):
                break
            if char in "\"'":
                plain, quote = False, char
            elif char in "\\`":
                plain = False
                j += 1
            j += 1
        word = text[i:j]
        out.append(f'"{word}"' if plain and "$(" not in word and uses.search(word) else word)
        i = j
    return "".join(out)


def build_command(names: list[str]) -> str:
    """The BuildKit build command that supplies the secrets, each from a file the user keeps out of git."""
    flags = " ".join(f"--secret id={secret_id(n)},src=./{secret_id(n)}.txt" for n in names)
    return f"DOCKER_BUILDKIT=1 docker build {flags} ."


def secrets_pass(doc: Document, plan: Plan) -> PassOutput:
    """Remove the flagged secret ARG/ENV/LABEL keys; mount the secret in each flagged RUN that reads one."""
    allow = plan.ctx.allow_secret_names
    edits: list[Edit] = []
    changes: list[Change] = []
    notes: list[str] = []
    mounted_all: list[str] = []
    runtime: list[str] = []
    unfixed: list[Unfixed] = []
    # Global ARGs (before the first FROM) are a group of their own; each stage is one.
    groups = [tuple(i for i in doc.instructions if i.stage == -1)] + [s.instructions for s in doc.stages]
    for instructions in groups:
        removed: list[str] = []
        declared: list[str] = []
        for ins in instructions:
            if ins.cmd not in ("ARG", "ENV", "LABEL"):
                continue
            keys = _pairs(ins)
            secret = [k for k in keys if _is_secret(k, allow)]
            if ins.cmd != "LABEL":
                declared.extend(k.name for k in secret)
            rules = LABEL_RULES if ins.cmd == "LABEL" else RULES
            # Only a key the scan flagged leaves; a bare `ARG TOKEN` stays, its uses get the mount below.
            if ins.cmd == "ARG":
                secret = [k for k in secret if k.value]
            if not secret or not flagged_line(doc, plan, ins, rules):
                continue
            if ins.cmd != "LABEL":
                for key in list(secret):
                    reader = _unmountable_reader(doc, plan, ins, instructions, key.name)
                    if reader is None:
                        continue
                    # Removing it would leave that RUN without the value at build time: the build would break.
                    secret.remove(key)
                    unfixed.append(
                        Unfixed(
                            rules,
                            f"{ins.cmd} {key.name} left as is: the RUN on line {doc.origin(reader)} reads it while "
                            "building and gets no secret mount here (a RUN the scan did not flag, or one in exec or "
                            f"heredoc form); mount it there (`RUN --mount=type=secret,id={secret_id(key.name)} ...`), "
                            "then remove the value",
                            doc.origin(ins),
                        )
                    )
                if not secret:
                    continue
            kept = [k for k in keys if k not in secret]
            listed = ", ".join(k.name for k in secret)
            text = why(ins.indent, f"{ins.cmd} {listed} removed: anyone with the image can read it", rules)
            if kept:
                text += _render(ins, kept, doc.escape)
            edits.append(Edit(ins.index, replace=text))
            changes.append(Change(rules, f"removed {ins.cmd} {listed}", doc.origin(ins)))
            if ins.cmd != "LABEL":
                removed.extend(k.name for k in secret)
            if ins.cmd == "ENV":
                # The app may read an ENV at run time as well: it has to come from the runtime now.
                runtime.extend(k.name for k in secret if k.name not in runtime)
        candidates = list(dict.fromkeys([*removed, *declared]))
        if not candidates:
            continue
        used: set[str] = set()
        for ins in instructions:
            if ins.cmd != "RUN" or ins.json or ins.heredoc:
                continue
            mounted = {f.removeprefix("--mount=") for f in ins.flags if "type=secret" in f}
            names = [n for n in candidates if _uses(ins, n) and not any(f"id={secret_id(n)}" in m for m in mounted)]
            match = _RUN_PREFIX.match(ins.raw)
            if not names or match is None or not flagged_line(doc, plan, ins, RULES):
                continue
            mounts = "".join(f"--mount=type=secret,id={secret_id(n)} " for n in names)
            # Assign, then export: `export X="$(...)"` would mask a failing `cat` (ShellCheck SC2155).
            exports = "".join(f'{n}="$(cat /run/secrets/{secret_id(n)})" && export {n} && ' for n in names)
            rest = quote_uses(ins.raw[match.end() :], names, doc.escape)
            # The secret plumbing gets a line of its own, so the command itself reads as before.
            flags = f"{mounts}{match.group(2).strip()}".strip()
            raw = f"{match.group(1)} {flags} {doc.escape}\n{ins.indent}    {exports}{rest}"
            text = why(ins.indent, "secret mounted for this step only, never stored in a layer", RULES) + raw
            edits.append(Edit(ins.index, replace=text))
            changes.append(Change(RULES, f"RUN reads {', '.join(names)} from a BuildKit secret mount", doc.origin(ins)))
            used.update(names)
        mounted_all.extend(n for n in candidates if n in used and n not in mounted_all)
        runtime.extend(n for n in dict.fromkeys(removed) if n not in used and n not in runtime)
    if mounted_all:
        notes.append(
            "Build with BuildKit and pass the secrets from files kept out of the build context: "
            f"`{build_command(mounted_all)}` (Docker 20.10's built-in frontend supports secret mounts; "
            "`# syntax=docker/dockerfile:1` is optional and needs a registry)"
        )
    if runtime:
        notes.append(
            f"{', '.join(runtime)} no longer baked into the image: supply at run time with --env-file or "
            "a secret manager (Compose `secrets:`)"
        )
    return PassOutput(tuple(edits), tuple(changes), tuple(notes), tuple(unfixed))


def _mountable(doc: Document, plan: Plan, ins: Instruction, group: tuple[Instruction, ...]) -> bool:
    """Whether the pass below gives this RUN a secret mount: a flagged shell-form RUN of the same stage."""
    return (
        ins in group
        and not ins.json
        and not ins.heredoc
        and _RUN_PREFIX.match(ins.raw) is not None
        and flagged_line(doc, plan, ins, RULES)
    )


def _unmountable_reader(
    doc: Document, plan: Plan, ins: Instruction, group: tuple[Instruction, ...], name: str
) -> Instruction | None:
    """A later RUN (in this stage or a stage built on it) that reads `name` and would get no secret mount."""
    for later in doc.instructions[ins.index + 1 :]:
        if later.cmd == "RUN" and _uses(later, name) and not _mountable(doc, plan, later, group):
            return later
    return None
