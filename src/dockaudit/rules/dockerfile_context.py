"""DA601/DA602: the build context a Dockerfile is built from: whether a `.dockerignore` keeps .git, .env files and
keys out of what is sent to the builder and copied into the image.
"""

from __future__ import annotations

import re
from pathlib import Path

from dockaudit.facts.dockerfile import DockerfileFacts
from dockaudit.model import Fix, Location, Severity
from dockaudit.parse.dockerignore import is_ignored
from dockaudit.rules.fixes import dockerfile_fix
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, Skip, rule


def _new_dockerignore_fix(facts: DockerfileFacts, ctx: RuleContext) -> Fix:
    lines = [".git", ".env*", "*.pem", "*.key", "Dockerfile*", ".dockerignore"]
    entries = set(facts.context_entries)
    lines += [name for name in ("node_modules", "__pycache__", ".venv", "dist", "build") if name in entries]
    return dockerfile_fix("Add a .dockerignore beside the Dockerfile.", "# .dockerignore\n" + "\n".join(lines))


_URL_SOURCE = re.compile(r"^(?:https?|ftp|git)://|^git@", re.I)


def _context_copies(facts: DockerfileFacts) -> tuple[list[str], list[str]]:
    """What COPY/ADD take from the build context: (whole-context or directory sources, named files)."""
    wide: list[str] = []
    named: list[str] = []
    root = Path(facts.context_dir) if facts.context_dir else None
    for instr in facts.instructions:
        if instr.cmd not in ("COPY", "ADD") or instr.heredoc or any(f.startswith("--from") for f in instr.flags):
            continue
        for source in instr.value[:-1]:
            if _URL_SOURCE.match(source) or source.startswith("<<"):
                continue
            clean = source.strip("/") or "."
            # `*` alone or a directory takes everything under it, dotfiles included; `*.json` names files.
            is_dir = root is not None and (root / clean).is_dir()
            last = clean.rsplit("/", 1)[-1]
            if clean == "." or last in ("*", "**", ".*") or source.endswith("/") or is_dir:
                wide.append(f"line {instr.start_line} `{instr.cmd} {source}`")
            else:
                named.append(source)
    return wide, named


@rule(
    id="DA601",
    slug="no-dockerignore",
    title="No .dockerignore",
    severity=Severity.MEDIUM,
    scope=Scope.DOCKERFILE,
    section=Section.DOCKERIGNORE.value,
    rationale=(
        "Without a .dockerignore the whole directory, .git, .env files and local keys included, is sent to "
        "the builder and `COPY . .` or a copied directory bakes it into the image. When only named files are "
        "copied (low) or nothing is (info), the risk is the upload to the builder and a later whole-context copy."
    ),
    references=("seed .dockerignore in every project",),
    fix=_new_dockerignore_fix,
)
def no_dockerignore(facts: DockerfileFacts, ctx: RuleContext) -> CheckResult:
    """The build context has no `.dockerignore`: medium when the context or directories are copied in."""
    if facts.context_dir is None:
        return Skip("no build context was given (the Dockerfile was read on its own)")
    if facts.dockerignore is not None:
        return []
    where = Location(path=facts.context_dir)
    missing = f"{facts.context_dir} has no .dockerignore"
    wide, named = _context_copies(facts)
    if wide:
        return [Hit(f"{missing} and {', '.join(wide[:3])} copies all of it into the image", where)]
    if named:
        shown = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
        text = f"{missing}; only named files are copied ({shown}), but the whole directory is sent to the builder"
        return [Hit(text, where, severity=Severity.LOW)]
    return [Hit(f"{missing}; nothing is copied from it into the image", where, severity=Severity.INFO)]


def _gaps(facts: DockerfileFacts) -> list[str]:
    patterns = facts.dockerignore or ()
    gaps = []
    if not is_ignored(".git", patterns):
        gaps.append(".git")
    if not (is_ignored(".env", patterns) and is_ignored(".env.production", patterns)):
        gaps.append(".env*")
    for entry in facts.context_entries:
        wanted = entry in ("node_modules", "__pycache__") or entry.endswith((".pem", ".key"))
        if wanted and not is_ignored(entry, patterns):
            gaps.append(entry)
    return gaps


def _gaps_fix(facts: DockerfileFacts, ctx: RuleContext) -> Fix:
    return dockerfile_fix("Add the missing patterns to .dockerignore.", "# .dockerignore\n" + "\n".join(_gaps(facts)))


@rule(
    id="DA602",
    slug="dockerignore-gaps",
    title=".dockerignore misses sensitive paths",
    severity=Severity.LOW,
    scope=Scope.DOCKERFILE,
    section=Section.DOCKERIGNORE.value,
    rationale=(
        ".git, .env files and keys are the usual leaks through `COPY . .`; node_modules and __pycache__ "
        "bloat the context and override what the build installs."
    ),
    references=("seed .dockerignore",),
    fix=_gaps_fix,
)
def dockerignore_gaps(facts: DockerfileFacts, ctx: RuleContext) -> CheckResult:
    """`.dockerignore` does not exclude .git, .env* and, when present, node_modules, __pycache__, keys."""
    if facts.dockerignore is None:
        return Skip("there is no .dockerignore (DA601)")
    gaps = _gaps(facts)
    if not gaps:
        return []
    where = str(Path(facts.context_dir) / ".dockerignore") if facts.context_dir else ".dockerignore"
    return [Hit(f".dockerignore does not exclude {', '.join(gaps)}", Location(path=where))]
