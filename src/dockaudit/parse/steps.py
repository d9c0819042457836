"""History lines read as Dockerfile steps: the instruction, its flags and body, and where the base image ends.

Pure text functions: the facts call them once when a history entry is made, so no rule parses history again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from dockaudit.command_secrets import strip_build_args

BUILDKIT_COMMENT = "buildkit.dockerfile.v0"
INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
METADATA = frozenset(
    {
        "ENV",
        "LABEL",
        "CMD",
        "ENTRYPOINT",
        "EXPOSE",
        "USER",
        "ARG",
        "HEALTHCHECK",
        "STOPSIGNAL",
        "VOLUME",
        "SHELL",
        "ONBUILD",
        "MAINTAINER",
    }
)
"""Instructions that only change the image config and make no layer."""
_LEGACY_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*([A-Z]+)\b\s*(.*)$", re.DOTALL)
_BUILDKIT = re.compile(r"^([A-Z]+)\b\s*(.*)$", re.DOTALL)
_SHELL_C = re.compile(r"^(?:/bin/)?(?:ba|da|a)?sh -c\s+", re.DOTALL)
_FLAG = re.compile(r"^(--[a-z][a-z-]*(?:=\S*)?)\s+")
_BUILDKIT_GAP = timedelta(hours=1)
"""Steps of one BuildKit build are made minutes apart; a longer gap going back means the base image."""


def parse_created_by(created_by: str) -> tuple[str, str, tuple[str, ...]]:
    """(instruction, body, flags) of a history line: legacy builder, BuildKit, or a Dockerfile-derived line.

    The instruction is `""` for an empty line (a `docker commit`); a RUN body has no build args or `sh -c`.
    """
    text = created_by.strip()
    if text.endswith("# buildkit"):
        text = text[: -len("# buildkit")].rstrip()
    if not text:
        return "", "", ()
    m = _LEGACY_NOP.match(text)
    if m is not None:
        return _with_flags(m.group(1), m.group(2).strip())
    m = _BUILDKIT.match(text)
    if m is not None and m.group(1) in INSTRUCTIONS:
        instruction, body, flags = _with_flags(m.group(1), m.group(2).strip())
        return instruction, (_shell_body(body) if instruction == "RUN" else body), flags
    # The legacy builder writes RUN steps without an instruction keyword.
    return "RUN", _shell_body(text), ()


def _with_flags(instruction: str, body: str) -> tuple[str, str, tuple[str, ...]]:
    flags: list[str] = []
    while (m := _FLAG.match(body)) is not None:
        flags.append(m.group(1))
        body = body[m.end() :]
    return instruction, body, tuple(flags)


def _shell_body(text: str) -> str:
    body = _SHELL_C.sub("", strip_build_args(text), count=1).strip()
    return _exec_form_words(body) or body


def _exec_form_words(body: str) -> str | None:
    """An exec-form RUN as Docker's builders record it (words joined by spaces), from buildah's JSON array.

    buildah writes `RUN ["a", "b"]` as `/bin/sh -c ["a", "b"]`; the legacy builder and BuildKit write `a b`.
    """
    if not body.startswith("["):
        return None
    try:
        words = json.loads(body)
    except ValueError:
        return None
    if not isinstance(words, list) or not words or not all(isinstance(w, str) for w in words):
        return None
    return " ".join(words)


def is_legacy_nop(created_by: str) -> bool:
    """Whether the line is the legacy builder's `#(nop)` spelling of a metadata instruction."""
    return _LEGACY_NOP.match(created_by.strip()) is not None


class StepLike(Protocol):
    """What the boundary heuristic reads of a history step."""

    @property
    def created_by(self) -> str: ...
    @property
    def comment(self) -> str: ...
    @property
    def created(self) -> datetime | None: ...
    @property
    def instruction(self) -> str: ...


def base_step_count(steps: Sequence[StepLike], makes_layer: Sequence[bool] | None = None) -> int | None:
    """How many leading steps belong to the base image, guessed from the history alone; None when unknown.

    BuildKit: the user's build is the run of `buildkit.dockerfile.v0` steps made close together. Legacy
    builder: the base ends with its own `#(nop) CMD`/`ENTRYPOINT`, after which the user's build steps follow.
    """
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
    layered = list(makes_layer) if makes_layer is not None else [s.instruction not in METADATA for s in steps]
    boundary: int | None = None
    for i, step in enumerate(steps):
        if is_legacy_nop(step.created_by) and step.instruction in ("CMD", "ENTRYPOINT") and any(layered[i + 1 :]):
            boundary = i + 1
    return boundary
