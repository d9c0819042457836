"""PID 1 passes: exec-form CMD/ENTRYPOINT so signals reach the app, and a STOPSIGNAL it can act on."""

from __future__ import annotations

import json
import re
import shlex

from dockaudit.harden.document import Document, Edit, Instruction
from dockaudit.harden.passes import PassOutput, flagged_line, runtime_stage, why
from dockaudit.harden.plan import Plan
from dockaudit.harden.result import Change, Unfixed

_OPERATORS = set(";&|<>()\n")
_EXPANSIONS = set("$`")
_GLOBS = set("*?[]{}~")
_SPECIAL = _OPERATORS | _EXPANSIONS | _GLOBS | {"\\"}


def needs_shell(command: str) -> bool:
    """Whether the shell would interpret something in `command` (operators, expansions, globs, comments).

    Quoted text is literal, so `nginx -g 'daemon off;'` needs no shell; `app $PORT` or `a && b` do.
    """
    if re.match(r"\s*[A-Za-z_][A-Za-z0-9_]*=", command):
        return True
    quote = ""
    previous = " "
    for char in command:
        if quote == "'":
            quote = "" if char == "'" else quote
        elif quote == '"':
            if char in _EXPANSIONS or char == "\\":
                return True
            quote = "" if char == '"' else quote
        elif char in "'\"":
            quote = char
        elif char in _SPECIAL or (char == "#" and previous.isspace()):
            return True
        previous = char
    return bool(quote)


# Servers whose graceful shutdown signal is not SIGTERM.
_STOP_SIGNALS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(^|/)nginx$"), "SIGQUIT"),
    (re.compile(r"(^|/)php-fpm[\d.]*$"), "SIGQUIT"),
    # Apache's graceful stop; a bare `httpd` may be busybox's, which only knows SIGTERM.
    (re.compile(r"(^|/)(httpd-foreground|apache2(ctl)?)$"), "SIGWINCH"),
)
_SHELLS = ("/bin/sh", "sh", "/bin/bash", "bash", "/bin/ash", "ash")
_KILL = {"SIGKILL", "KILL", "9"}


def exec_form_pass(doc: Document, plan: Plan) -> PassOutput:
    """Rewrite the flagged shell-form CMD/ENTRYPOINT of the runtime stage in exec form when that keeps its meaning."""
    stage = runtime_stage(doc, plan)
    if stage is None:
        return PassOutput()
    edits: list[Edit] = []
    changes: list[Change] = []
    unfixed: list[Unfixed] = []
    has_cmd = any(i.cmd == "CMD" for i in stage.instructions)
    for ins in stage.instructions:
        if ins.cmd not in ("CMD", "ENTRYPOINT") or not ins.value:
            continue
        if not flagged_line(doc, plan, ins, ("DA103", "DA607")):
            continue
        if ins.json:
            # `["sh", "-c", "cmd"]` is exec form on paper but still puts a shell at PID 1.
            words = list(ins.value)
            if len(words) != 3 or words[0] not in _SHELLS or words[1] != "-c":
                continue
            command = words[2]
        else:
            command = ins.value[0]
        if needs_shell(command):
            reason = (
                f"{ins.cmd} uses shell syntax, so it stays in shell form and the shell is PID 1: move the logic "
                "into a script that ends with `exec` and call it in exec form"
            )
            unfixed.append(Unfixed(("DA103", "DA607"), reason, doc.origin(ins)))
            continue
        if ins.cmd == "ENTRYPOINT" and has_cmd:
            reason = (
                "ENTRYPOINT is in shell form, which ignores CMD; in exec form CMD would become its arguments, so it "
                "was left alone: write both in exec form by hand"
            )
            unfixed.append(Unfixed(("DA103", "DA607"), reason, doc.origin(ins)))
            continue
        try:
            argv = shlex.split(command)
        except ValueError:
            continue
        # `sh -c "exec app"` execs app itself; `exec` is a shell builtin, not a program.
        if argv and argv[0] == "exec":
            argv = argv[1:]
        if not argv:
            continue
        text = why(ins.indent, "exec form: the app is PID 1 and receives stop signals", ("DA103", "DA607"))
        text += f"{ins.indent}{ins.cmd} {json.dumps(argv)}\n"
        edits.append(Edit(ins.index, replace=text))
        changes.append(Change(("DA103", "DA607"), f"{ins.cmd} in exec form", doc.origin(ins)))
    return PassOutput(tuple(edits), tuple(changes), unfixed=tuple(unfixed))


def stop_signal_pass(doc: Document, plan: Plan) -> PassOutput:
    """Replace a flagged SIGKILL STOPSIGNAL by the server's graceful signal (SIGTERM for most)."""
    stage = runtime_stage(doc, plan)
    if stage is None:
        return PassOutput()
    signals = [i for i in stage.instructions if i.cmd == "STOPSIGNAL"]
    if not signals:
        return PassOutput()
    last = signals[-1]
    if not (last.value and last.value[0].upper() in _KILL) or not flagged_line(doc, plan, last, ("DA111",)):
        return PassOutput()
    program = _program(stage.instructions) or ""
    new = next((sig for pattern, sig in _STOP_SIGNALS if pattern.search(program)), "SIGTERM")
    text = why(last.indent, "SIGKILL gives the app no chance to shut down cleanly", ("DA111",))
    text += f"{last.indent}STOPSIGNAL {new}\n"
    change = Change(("DA111",), f"STOPSIGNAL {last.value[0]} -> {new}", doc.origin(last))
    return PassOutput((Edit(last.index, replace=text),), (change,))


def _program(stage_instructions: tuple[Instruction, ...]) -> str | None:
    """The executable the stage starts (ENTRYPOINT's, else CMD's first word)."""
    for cmd in ("ENTRYPOINT", "CMD"):
        found = [i for i in stage_instructions if i.cmd == cmd and i.value]
        if found:
            last = found[-1]
            words = list(last.value) if last.json else last.value[0].split()
            if words and words[0] in ("/bin/sh", "sh", "/bin/bash", "bash") and len(words) > 2:
                words = words[2].split()
            return words[0] if words else None
    return None
