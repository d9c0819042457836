"""What every transform pass shares: its output type, the why-comment format and stage lookups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dockaudit.harden.context import BaseImage, StageEnv, stage_env
from dockaudit.harden.document import Document, Edit, Instruction, Stage
from dockaudit.harden.plan import Plan, Unfixed
from dockaudit.harden.result import Change

MARK = "# dockaudit:"
"""Every comment a pass adds starts with this, so a second run can recognise its own advice."""


@dataclass(frozen=True)
class PassOutput:
    """Edits to apply, the changes they make, advice that was not applied and findings left as they are."""

    edits: tuple[Edit, ...] = ()
    changes: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()
    unfixed: tuple[Unfixed, ...] = ()


Pass = Callable[[Document, Plan], PassOutput]


def why(indent: str, text: str, rules: tuple[str, ...]) -> str:
    """The one-line comment placed above an edit."""
    return f"{indent}{MARK} {text} ({', '.join(rules)})\n"


def has_mark(doc: Document, ins: Instruction, phrase: str) -> bool:
    """Whether a dockaudit comment containing `phrase` sits in the comment block right above `ins`."""
    line = ins.start - 1
    while line >= 0 and doc.lines[line].lstrip().startswith("#"):
        if doc.lines[line].lstrip().startswith(MARK) and phrase in doc.lines[line]:
            return True
        line -= 1
    return False


def has_mark_after(doc: Document, ins: Instruction, phrase: str) -> bool:
    """Whether a dockaudit comment containing `phrase` follows `ins` (before the next instruction)."""
    line = ins.end + 1
    while line < len(doc.lines) and (not doc.lines[line].strip() or doc.lines[line].lstrip().startswith("#")):
        if doc.lines[line].lstrip().startswith(MARK) and phrase in doc.lines[line]:
            return True
        line += 1
    return False


def stage_root(doc: Document, stage: Stage) -> str:
    """The external image a stage ultimately builds on, following `FROM <earlier stage>`."""
    seen: set[int] = set()
    current = stage
    while current.index not in seen:
        seen.add(current.index)
        parent = doc.stage_by_name(current.base)
        if parent is None or parent.index >= current.index:
            return current.base
        current = parent
    return current.base


def stage_runs(doc: Document, stage: Stage) -> str:
    """All shell-form RUN text of a stage and the stages it builds on."""
    texts: list[str] = []
    current: Stage | None = stage
    seen: set[int] = set()
    while current is not None and current.index not in seen:
        seen.add(current.index)
        texts.extend(i.original for i in current.instructions if i.cmd == "RUN")
        parent = doc.stage_by_name(current.base)
        current = parent if parent is not None and parent.index < current.index else None
    return "\n".join(texts)


def env_for(doc: Document, stage: Stage, plan: Plan) -> StageEnv:
    """What a stage's base provides, from the context's image or base lookup, else from heuristics."""
    ctx = plan.ctx
    ref = stage_root(doc, stage)
    runtime = runtime_stage(doc, plan)
    is_runtime = runtime is not None and stage.index == runtime.index
    base: BaseImage | None
    if ctx.image is not None and is_runtime:
        base = ctx.image
    else:
        base = ctx.base_lookup(ref) if ref.lower() != "scratch" else BaseImage(ref="scratch", files=frozenset())
    hint = ctx.os_release if is_runtime else None
    return stage_env(ref, base, hint, stage_runs(doc, stage))


def runtime_stage(doc: Document, plan: Plan) -> Stage | None:
    """The stage the image runs from (`--target`, else the last one that is not an export or test stage)."""
    runtime = plan.runtime
    if runtime is None or runtime.stage is None:
        return None
    return next((s for s in doc.stages if s.index == runtime.stage), None)


def flagged_line(doc: Document, plan: Plan, ins: Instruction, rule_ids: tuple[str, ...]) -> bool:
    """Whether the scan flagged the original line of `ins` under one of `rule_ids` (inserted lines never are)."""
    line = doc.origin(ins)
    return line is not None and any(
        (f := plan.finding(rule_id, line)) is not None and f.location.line == line for rule_id in rule_ids
    )
