"""Build history entries: align steps with layers, redact them, and tell base-image steps from the user's."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dockaudit.engine.facts import HistoryEntry, NamedValue
from dockaudit.engine.timestamps import parse_timestamp
from dockaudit.secrets import redact_history_line, redact_text

BUILDKIT_COMMENT = "buildkit.dockerfile.v0"
_NOP = re.compile(r"#\(nop\)\s+([A-Za-z]+)")
# Instructions that only change the config, in BuildKit's `INSTRUCTION args` history spelling.
_METADATA = frozenset(
    {"ENV", "LABEL", "CMD", "ENTRYPOINT", "EXPOSE", "USER", "ARG", "HEALTHCHECK", "STOPSIGNAL", "VOLUME", "SHELL",
     "ONBUILD", "MAINTAINER"}
)
_BUILDKIT_GAP = timedelta(hours=1)
"""Steps of one BuildKit build are made minutes apart; a longer gap going back means the base image."""


@dataclass(frozen=True)
class Step:
    """One history step, oldest first, before redaction; `empty_layer` is None when only guessed from the API."""

    created_by: str
    comment: str = ""
    created: datetime | None = None
    empty_layer: bool | None = None
    size: int | None = None
    tags: tuple[str, ...] = ()


def steps_from_config(history: Iterable[dict[str, Any]]) -> list[Step]:
    """Steps of the image config's `history` (exact `empty_layer` flags), oldest first."""
    return [
        Step(
            created_by=str(h.get("created_by") or ""),
            comment=str(h.get("comment") or ""),
            created=parse_timestamp(h.get("created")),
            empty_layer=bool(h.get("empty_layer", False)),
        )
        for h in history
    ]


def steps_from_api(history: Iterable[dict[str, Any]]) -> list[Step]:
    """Steps of `GET /images/{name}/history` (newest first there), oldest first here."""
    steps = [
        Step(
            created_by=str(h.get("CreatedBy") or ""),
            comment=str(h.get("Comment") or ""),
            created=parse_timestamp(h.get("Created")),
            size=int(h.get("Size") or 0),
            tags=tuple(t for t in h.get("Tags") or () if t and t != "<none>:<none>"),
        )
        for h in history
    ]
    steps.reverse()
    return steps


def instruction(step: Step) -> str:
    """The Dockerfile instruction a step came from (`RUN`, `COPY`, `CMD`...), `RUN` when it is a command."""
    nop = _NOP.search(step.created_by)
    if nop:
        return nop.group(1).upper()
    first = step.created_by.split(" ", 1)[0]
    if step.comment == BUILDKIT_COMMENT and first.isupper() and first.isalpha():
        return first
    return "RUN"


def _guess_layers(steps: Sequence[Step]) -> tuple[list[bool], list[bool]]:
    """Which steps made a layer, and whether each guess is certain (the API has no `empty_layer`)."""
    made: list[bool] = []
    certain: list[bool] = []
    for step in steps:
        if step.empty_layer is not None:
            made.append(not step.empty_layer)
            certain.append(True)
            continue
        name = instruction(step)
        if step.size:
            made.append(True)
            certain.append(True)
        elif name in _METADATA:
            made.append(False)
            certain.append(True)
        else:
            made.append(True)
            certain.append(False)
    return made, certain


def align(steps: Sequence[Step], n_layers: int) -> list[int | None] | None:
    """The layer index each step made (None for empty steps); None when steps and layers cannot be matched."""
    made, certain = _guess_layers(steps)
    excess = sum(made) - n_layers
    if excess > 0:
        # Zero-byte steps may not have made a layer: WORKDIR and other `#(nop)` steps first, then RUNs,
        # newest first within each kind.
        doubtful = [i for i in range(len(steps)) if made[i] and not certain[i]]
        doubtful.sort(key=lambda i: (not (_NOP.search(steps[i].created_by) or instruction(steps[i]) == "WORKDIR"), -i))
        for i in doubtful[:excess]:
            made[i] = False
    if sum(made) != n_layers:
        return None
    out: list[int | None] = []
    layer = 0
    for flag in made:
        out.append(layer if flag else None)
        layer += flag
    return out


def boundary_heuristic(steps: Sequence[Step], layer_of: Sequence[int | None] | None) -> int | None:
    """How many leading steps belong to the base image, guessed from the history alone; None when unknown."""
    if not steps:
        return None
    if steps[-1].comment == BUILDKIT_COMMENT:
        start = len(steps) - 1
        while start > 0:
            prev, cur = steps[start - 1], steps[start]
            if prev.comment != BUILDKIT_COMMENT:
                break
            if prev.created and cur.created and cur.created - prev.created > _BUILDKIT_GAP:
                break
            start -= 1
        return start
    makes_layer = [
        (layer_of[i] is not None) if layer_of is not None else instruction(s) not in _METADATA
        for i, s in enumerate(steps)
    ]
    # The legacy builder: the base image ends at its last CMD/ENTRYPOINT that the user's layers follow.
    boundary: int | None = None
    for i, step in enumerate(steps):
        if _NOP.search(step.created_by) and instruction(step) in ("CMD", "ENTRYPOINT") and any(makes_layer[i + 1 :]):
            boundary = i + 1
    return boundary


def base_from_api_tags(steps: Sequence[Step]) -> tuple[str, int] | None:
    """The nearest tagged ancestor in a local build chain (the API names parents it still has) and its step count."""
    for i in range(len(steps) - 2, -1, -1):
        if steps[i].tags:
            return steps[i].tags[0], i + 1
    return None


def build_history(
    steps: Sequence[Step],
    n_layers: int,
    *,
    base_steps: int | None = None,
    allow: Iterable[str] = (),
) -> tuple[HistoryEntry, ...]:
    """Redacted entries with layer indexes and base/user origin (`base_steps` overrides the heuristic)."""
    allow = tuple(allow)
    layer_of = align(steps, n_layers)
    if base_steps is None:
        base_steps = boundary_heuristic(steps, layer_of)
    made, _ = _guess_layers(steps)
    entries: list[HistoryEntry] = []
    for i, step in enumerate(steps):
        redacted = redact_history_line(step.created_by, allow)
        comment, _found = redact_text(step.comment)
        entries.append(
            HistoryEntry(
                index=i,
                created_by=redacted.text,
                comment=comment,
                empty_layer=_is_empty(step, i, made, layer_of),
                created=step.created,
                layer_index=layer_of[i] if layer_of is not None else None,
                build_args=tuple(NamedValue(a.name, a.value, a.secret) for a in redacted.build_args),
                from_base=None if base_steps is None else i < base_steps,
                secrets=redacted.found,
            )
        )
    return tuple(entries)


def _is_empty(step: Step, i: int, made: Sequence[bool], layer_of: Sequence[int | None] | None) -> bool:
    if step.empty_layer is not None:
        return step.empty_layer
    return layer_of[i] is None if layer_of is not None else not made[i]
