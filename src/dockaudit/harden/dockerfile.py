"""Harden a Dockerfile: run the transform passes in order over BuildKit's parse, keeping untouched lines as-is.

Each pass edits only what the scan of the original file flagged (`plan.Plan`); a finding it cannot fix safely
is left with its reason. Windows Dockerfiles are never edited.
"""

from __future__ import annotations

from pathlib import Path

from dockaudit.harden.buildsecrets import secrets_pass
from dockaudit.harden.context import HardenContext
from dockaudit.harden.dockerignore import harden_dockerignore
from dockaudit.harden.document import Document, apply_edits
from dockaudit.harden.healthcheck import healthcheck_pass
from dockaudit.harden.multistage import multistage_pass
from dockaudit.harden.packages import packages_pass
from dockaudit.harden.passes import Pass
from dockaudit.harden.plan import STAGE_WIDE, Plan, make_plan
from dockaudit.harden.process import exec_form_pass, stop_signal_pass
from dockaudit.harden.provenance import provenance_pass
from dockaudit.harden.result import Change, HardenResult, Unfixed
from dockaudit.harden.sources import add_to_copy_pass, pin_base_pass, remote_add_pass
from dockaudit.harden.user import user_pass

PASSES: tuple[Pass, ...] = (
    secrets_pass,
    add_to_copy_pass,
    remote_add_pass,
    packages_pass,
    multistage_pass,
    pin_base_pass,
    user_pass,
    exec_form_pass,
    stop_signal_pass,
    healthcheck_pass,
    provenance_pass,
)
"""Order matters: RUN lines are final before the USER goes after the last of them."""

FIXABLE = frozenset(
    {
        "DA101",
        "DA102",
        "DA103",
        "DA104",
        "DA105",
        "DA108",
        "DA111",
        "DA116",
        "DA203",
        "DA204",
        "DA205",
        "DA207",
        "DA208",
        "DA601",
        "DA602",
        "DA603",
        "DA604",
        "DA605",
        "DA606",
        "DA607",
        "DA608",
    }
)
"""Rules some pass can fix: each of their findings is either fixed or listed as left, with the reason."""


def harden_dockerfile_text(
    text: str, *, context: HardenContext | None = None, source: str = "dockerfile"
) -> HardenResult:
    """The hardened Dockerfile, its change list and notes; raises `DockerfileSyntaxError` on unparsable text.

    Raises `UsageError` when the context's `target` names no stage.
    """
    ctx = context or HardenContext()
    doc = Document.parse(text)
    plan = make_plan(text, ctx)
    changes: list[Change] = []
    notes: list[str] = []
    unfixed: list[Unfixed] = []
    runtime = plan.runtime
    if plan.failure is not None:
        notes.append(f"nothing was hardened: the file could not be analysed ({plan.failure})")
    elif runtime is not None and runtime.windows is not None:
        notes.append(
            f"nothing was hardened: a Windows Dockerfile ({runtime.windows}); dockaudit's edits are for Linux "
            "images, so the findings are advice (run as USER ContainerUser, add a PowerShell HEALTHCHECK)"
        )
    else:
        for run_pass in PASSES:
            out = run_pass(doc, plan)
            changes.extend(out.changes)
            notes.extend(n for n in out.notes if n not in notes)
            unfixed.extend(out.unfixed)
            if out.edits:
                new_text, origins = apply_edits(doc, out.edits)
                doc = Document.parse(new_text, origins)
    ignore_original = ignore = None
    windows = runtime is not None and runtime.windows is not None
    if ctx.project_dir is not None:
        existing = Path(ctx.project_dir, ".dockerignore")
        ignore_original = existing.read_text(encoding="utf-8", errors="replace") if existing.is_file() else None
    if ctx.project_dir is not None and plan.failure is None and not windows and plan.flagged(("DA601", "DA602")):
        result = harden_dockerignore(doc, ctx.project_dir)
        ignore_original, ignore = result.original, result.updated
        if result.change is not None:
            changes.append(result.change)
        notes.extend(result.notes)
    unfixed = _complete(plan, changes, unfixed)
    notes.extend(_describe(u) for u in unfixed)
    return HardenResult(
        original=text,
        hardened=doc.text,
        changes=tuple(changes),
        notes=tuple(dict.fromkeys(notes)),
        source=source,
        dockerignore_original=ignore_original,
        dockerignore=ignore,
        line_origins=doc.origins,
        unfixed=tuple(unfixed),
    )


def _covered(rule_id: str, line: int | None, items: list[Change] | list[Unfixed]) -> bool:
    return any(
        rule_id in item.rule_ids and (rule_id in STAGE_WIDE or item.line is None or line is None or item.line == line)
        for item in items
    )


def _complete(plan: Plan, changes: list[Change], unfixed: list[Unfixed]) -> list[Unfixed]:
    """`unfixed` plus every other fixable finding no change addressed, advice included, with a reason."""
    out = list(unfixed)
    runtime = plan.runtime
    for finding in plan.findings:
        ids = tuple(i for i in finding.rule_ids if i in FIXABLE)
        if not ids or any(_covered(i, finding.location.line, c) for i in ids for c in (changes, out)):
            continue
        if runtime is not None and runtime.windows is not None:
            reason = "a Windows Dockerfile: dockaudit makes no Linux edits to it"
        elif plan.failure is not None:
            reason = f"the file could not be analysed ({plan.failure})"
        elif finding.severity.label == "info":
            reason = f"advice, not a flaw to edit away: {finding.evidence}"
        else:
            reason = "no edit is known to be safe here; apply the finding's fix by hand"
        out.append(Unfixed(ids, reason, finding.location.line))
    return out


def _describe(item: Unfixed) -> str:
    where = f" (line {item.line})" if item.line is not None else ""
    return f"{', '.join(item.rule_ids)}{where} left as is: {item.reason}"
