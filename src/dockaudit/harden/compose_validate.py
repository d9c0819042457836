"""Read hardened Compose files back through Compose (`config`) and rescan them, in a temporary mirror of the
project, before they are handed out.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from dockaudit.facts.compose import ComposeProject, ServiceFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.model import Severity, Status
from dockaudit.parse.compose import load_project
from dockaudit.parse.compose_binary import ComposeBinary, ComposeFileError
from dockaudit.rules.compose import evaluate_service
from dockaudit.rules.registry import RuleContext


@contextmanager
def _overlay(project: ComposeProject, hardened_texts: Mapping[str, str]) -> Iterator[tuple[list[Path], Path]]:
    """A temporary mirror of the project where the hardened files replace the originals (others symlinked)."""
    replaced = {Path(abs_path): text for abs_path, text in hardened_texts.items()}
    root = Path(os.path.commonpath([project.working_dir, *(str(p.parent) for p in replaced)]))
    with tempfile.TemporaryDirectory(prefix="dockaudit-compose-") as tmp:
        mirror = Path(tmp)
        for path, text in replaced.items():
            rel = path.relative_to(root)
            _materialise(root, mirror, rel.parent)
            copy = mirror / rel
            # The mirror links every original: replace the link itself, never write through it.
            if copy.is_symlink():
                copy.unlink()
            copy.write_text(text, encoding="utf-8")
        files = []
        for abs_path in project.file_paths:
            path = Path(abs_path)
            try:
                files.append(mirror / path.relative_to(root))
            except ValueError:
                files.append(path)
        try:
            project_dir = mirror / Path(project.working_dir).relative_to(root)
        except ValueError:
            project_dir = Path(project.working_dir)
        yield files, project_dir


def _materialise(root: Path, mirror: Path, rel_dir: Path) -> None:
    """Make `mirror/rel_dir` a real directory whose other entries link to the originals."""
    current = Path()
    for part in (Path(), *(Path(*rel_dir.parts[: i + 1]) for i in range(len(rel_dir.parts)))):
        current = part
        target = mirror / current
        if target.is_symlink():
            target.unlink()
        target.mkdir(parents=True, exist_ok=True)
        source = root / current
        for entry in source.iterdir():
            link = target / entry.name
            if not link.exists() and not link.is_symlink():
                link.symlink_to(entry)


def validate_hardening(
    project: ComposeProject,
    hardened_texts: Mapping[str, str],
    targeted: Mapping[str, set[str]],
    images: Mapping[str, ImageFacts | None],
    ctx: RuleContext,
    binary: ComposeBinary | None,
    environ: Mapping[str, str] | None,
) -> str | None:
    """None when Compose accepts the hardened files (their texts by absolute path) and every targeted finding is gone;
    else what went wrong."""
    with _overlay(project, hardened_texts) as (files, project_dir):
        try:
            hardened = load_project(
                files,
                profiles=project.profiles,
                env_files=project.env_files,
                project_dir=project_dir,
                project_name=project.name,
                environ=environ,
                binary=binary,
            )
        except ComposeFileError as exc:
            return f"Compose rejects them: {exc}"
    for svc in hardened.services:
        findings, _ = evaluate_service(ServiceFacts(svc, images.get(svc.name)), ctx)
        left = sorted(
            {f.rule_id for f in findings if f.status is Status.FAIL and f.severity > Severity.INFO}
            & targeted.get(svc.name, set())
        )
        if left:
            return f"on {svc.name}, {', '.join(left)} still fail after the edits"
    return None
