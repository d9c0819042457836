"""Build history entries from the engine's answers: align steps with layers, redact them, tell base from user."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from dockaudit.command_secrets import redact_history_line
from dockaudit.facts.image import HistoryEntry, NamedValue
from dockaudit.parse.steps import METADATA, base_step_count, parse_created_by
from dockaudit.parse.timestamps import parse_timestamp
from dockaudit.records import Record, record
from dockaudit.secrets import redact_text

_NOP = re.compile(r"#\(nop\)\s+([A-Za-z]+)")


@record
class RawStep(Record):
    """One history step as the engine gave it, oldest first, before redaction; `empty_layer` is None when only
    guessed from the API."""

    created_by: str
    comment: str = ""
    created: datetime | None = None
    empty_layer: bool | None = None
    size: int | None = None
    tags: tuple[str, ...] = ()


def steps_from_config(history: Iterable[dict[str, Any]]) -> list[RawStep]:
    """Steps of the image config's `history` (exact `empty_layer` flags), oldest first."""
    return [
        RawStep(
            created_by=str(h.get("created_by") or ""),
            comment=str(h.get("comment") or ""),
            created=parse_timestamp(h.get("created")),
            empty_layer=bool(h.get("empty_layer", False)),
        )
        for h in history
    ]


def steps_from_api(history: Iterable[dict[str, Any]]) -> list[RawStep]:
    """Steps of `GET /images/{name}/history` (newest first there), oldest first here."""
    steps = [
        RawStep(
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


def instruction(step: RawStep) -> str:
    """The Dockerfile instruction a step came from (`RUN`, `COPY`, `CMD`...), `RUN` when it is a command."""
    return parse_created_by(step.created_by)[0] or "RUN"


def _guess_layers(steps: Sequence[RawStep]) -> tuple[list[bool], list[bool]]:
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
        elif name in METADATA:
            made.append(False)
            certain.append(True)
        else:
            made.append(True)
            certain.append(False)
    return made, certain


def align(steps: Sequence[RawStep], n_layers: int) -> list[int | None] | None:
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


def base_from_api_tags(steps: Sequence[RawStep]) -> tuple[str, int] | None:
    """The nearest tagged ancestor in a local build chain (the API names parents it still has) and its step count."""
    for i in range(len(steps) - 2, -1, -1):
        if steps[i].tags:
            return steps[i].tags[0], i + 1
    return None


def build_history(
    steps: Sequence[RawStep],
    n_layers: int,
    *,
    base_steps: int | None = None,
    allow: Iterable[str] = (),
) -> tuple[HistoryEntry, ...]:
    """Redacted entries with layer indexes and base/user origin (`base_steps` overrides the heuristic)."""
    allow = tuple(allow)
    layer_of = align(steps, n_layers)
    if base_steps is None:
        base_steps = base_step_count(
            [_Parsed(step) for step in steps],
            [layer_of[i] is not None for i in range(len(steps))] if layer_of is not None else None,
        )
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


class _Parsed:
    """A raw step as the boundary heuristic reads it."""

    def __init__(self, step: RawStep) -> None:
        self.created_by = step.created_by
        self.comment = step.comment
        self.created = step.created
        self.instruction = instruction(step)


def _is_empty(step: RawStep, i: int, made: Sequence[bool], layer_of: Sequence[int | None] | None) -> bool:
    if step.empty_layer is not None:
        return step.empty_layer
    return layer_of[i] is None if layer_of is not None else not made[i]
