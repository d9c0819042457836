"""Harden a Dockerfile: run the transform passes in order over BuildKit's parse, keeping untouched lines as-is."""

from __future__ import annotations

from dockaudit.harden.buildsecrets import secrets_pass
from dockaudit.harden.context import HardenContext
from dockaudit.harden.dockerignore import harden_dockerignore
from dockaudit.harden.document import Document, apply_edits
from dockaudit.harden.healthcheck import healthcheck_pass
from dockaudit.harden.multistage import multistage_pass
from dockaudit.harden.packages import packages_pass
from dockaudit.harden.passes import Pass
from dockaudit.harden.process import exec_form_pass, stop_signal_pass
from dockaudit.harden.provenance import provenance_pass
from dockaudit.harden.result import Change, HardenResult
from dockaudit.harden.sources import add_to_copy_pass, pin_base_pass, remote_add_pass
from dockaudit.harden.user import chown_pass, user_pass

PASSES: tuple[Pass, ...] = (
    secrets_pass,
    add_to_copy_pass,
    remote_add_pass,
    packages_pass,
    multistage_pass,
    pin_base_pass,
    user_pass,
    chown_pass,
    exec_form_pass,
    stop_signal_pass,
    healthcheck_pass,
    provenance_pass,
)
"""Order matters: the user exists before files are chowned to it, and RUN lines are final before the USER."""


def harden_dockerfile_text(
    text: str, *, context: HardenContext | None = None, source: str = "dockerfile"
) -> HardenResult:
    """The hardened Dockerfile, its change list and notes; raises `DockerfileSyntaxError` on unparsable text."""
    ctx = context or HardenContext()
    doc = Document.parse(text)
    changes: list[Change] = []
    notes: list[str] = []
    for run_pass in PASSES:
        out = run_pass(doc, ctx)
        changes.extend(out.changes)
        notes.extend(n for n in out.notes if n not in notes)
        if out.edits:
            new_text, origins = apply_edits(doc, out.edits)
            doc = Document.parse(new_text, origins)
    ignore_original = ignore = None
    if ctx.project_dir is not None:
        result = harden_dockerignore(doc, ctx.project_dir)
        ignore_original, ignore = result.original, result.updated
        if result.change is not None:
            changes.append(result.change)
        notes.extend(result.notes)
    return HardenResult(
        original=text,
        hardened=doc.text,
        changes=tuple(changes),
        notes=tuple(notes),
        source=source,
        dockerignore_original=ignore_original,
        dockerignore=ignore,
        line_origins=doc.origins,
    )
