"""The `.dockerignore` pass: write one for a project that has none, or add the sensitive paths it misses."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from dockaudit.harden.document import Document
from dockaudit.harden.passes import MARK
from dockaudit.harden.result import Change
from dockaudit.parse.dockerignore import is_ignored

BASELINE = (".git", ".env*", "*.pem", "*.key")
"""Always excluded: VCS history, env files and private keys are the usual leaks through `COPY . .`."""
WHEN_PRESENT = {"node_modules": "node_modules", "__pycache__": "**/__pycache__", ".venv": ".venv"}
PROBES = {".git": ".git", ".env*": ".env", "*.pem": "tls.pem", "*.key": "tls.key", "**/__pycache__": "__pycache__"}
"""A path each pattern must exclude; checked with BuildKit's matching, as DA602 does, so `**/.git` counts."""


@dataclass(frozen=True)
class IgnoreResult:
    """The project's ignore file before and after, with the change made."""

    original: str | None
    updated: str | None
    """None when nothing needs writing."""
    change: Change | None
    notes: tuple[str, ...]


def _copied_sources(doc: Document) -> list[str]:
    return [s for i in doc.instructions if i.cmd in ("COPY", "ADD") and not i.flag("from") for s in i.value[:-1]]


def _wanted(context: Path) -> list[str]:
    try:
        entries = {p.name for p in context.iterdir()}
    except OSError:
        entries = set()
    wanted = list(BASELINE)
    wanted.extend(pattern for name, pattern in WHEN_PRESENT.items() if name in entries)
    return wanted


def harden_dockerignore(doc: Document, project_dir: str) -> IgnoreResult:
    """The ignore patterns the project lacks, never excluding a path the Dockerfile copies by name."""
    context = Path(project_dir)
    file = context / ".dockerignore"
    original = file.read_text(encoding="utf-8", errors="replace") if file.is_file() else None
    present = [line.strip() for line in (original or "").splitlines() if line.strip() and not line.startswith("#")]
    copied = _copied_sources(doc)
    notes: list[str] = []
    missing: list[str] = []
    for pattern in _wanted(context):
        if is_ignored(PROBES.get(pattern, pattern), present):
            continue
        named = [s for s in copied if fnmatch.fnmatch(s.lstrip("./"), pattern.removeprefix("**/"))]
        if named:
            notes.append(f"{', '.join(named)} is copied by name, so `{pattern}` was not added to .dockerignore")
            continue
        missing.append(pattern)
    if not missing:
        return IgnoreResult(original, None, None, tuple(notes))
    rule = "DA601" if original is None else "DA602"
    header = f"{MARK} keep VCS data, env files, keys and local clutter out of the build context ({rule})\n"
    body = header + "".join(f"{p}\n" for p in missing)
    if original is None:
        return IgnoreResult(None, body, Change((rule,), "generated .dockerignore", None), tuple(notes))
    joined = original if original.endswith("\n") or not original else original + "\n"
    change = Change((rule,), f".dockerignore now excludes {', '.join(missing)}", None)
    return IgnoreResult(original, joined + body, change, tuple(notes))
