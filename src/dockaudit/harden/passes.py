"""What every transform pass shares: its output type, the why-comment format and stage lookups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dockaudit.harden.context import BaseImage, HardenContext, StageEnv, stage_env
from dockaudit.harden.document import Document, Edit, Instruction, Stage
from dockaudit.harden.result import Change

MARK = "# dockaudit:"
"""Every comment a pass adds starts with this, so a second run can recognise its own advice."""


@dataclass(frozen=True)
class PassOutput:
    """Edits to apply, the changes they make and advice that was not applied."""

    edits: tuple[Edit, ...] = ()
    changes: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()


Pass = Callable[[Document, HardenContext], PassOutput]


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


def env_for(doc: Document, stage: Stage, ctx: HardenContext) -> StageEnv:
    """What a stage's base provides, from the context's image or base lookup, else from heuristics."""
    ref = stage_root(doc, stage)
    final = doc.final_stage
    base: BaseImage | None
    if ctx.image is not None and final is not None and stage.index == final.index:
        base = ctx.image
    else:
        base = ctx.base_lookup(ref) if ref.lower() != "scratch" else BaseImage(ref="scratch", files=frozenset())
    hint = ctx.os_release if final is not None and stage.index == final.index else None
    return stage_env(ref, base, hint, stage_runs(doc, stage))
