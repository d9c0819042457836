"""History entries read as Dockerfile steps: instruction, body, origin and location."""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from datetime import timedelta

from dockaudit.engine.facts import HistoryEntry, ImageFacts
from dockaudit.model import Location, Origin
from dockaudit.secrets import strip_build_args

_INSTRUCTIONS = frozenset(
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
_LEGACY_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*([A-Z]+)\b\s*(.*)$", re.DOTALL)
_BUILDKIT = re.compile(r"^([A-Z]+)\b\s*(.*)$", re.DOTALL)
_SHELL_C = re.compile(r"^(?:/bin/)?(?:ba|da|a)?sh -c\s+", re.DOTALL)
_FLAG = re.compile(r"^(--[a-z][a-z-]*(?:=\S*)?)\s+")
_BUILDKIT_COMMENT = "buildkit.dockerfile.v0"
_MAX_SHOWN = 160
_LONG_DIGEST = re.compile(r"\b(file|dir|multi|sha256):([0-9a-f]{12})[0-9a-f]{20,}")


@dataclass(frozen=True)
class Step:
    """One history entry as the instruction that made it."""

    entry: HistoryEntry
    instruction: str
    """Upper-case Dockerfile instruction (`RUN`, `ADD`...); `""` when the entry names none (a commit)."""
    body: str
    """The arguments: for RUN the shell command without build args or `/bin/sh -c`."""
    flags: tuple[str, ...]
    """Leading `--flag=value` options (`--mount=type=secret,id=x`, `--checksum=...`)."""
    origin: Origin

    @property
    def location(self) -> Location:
        """Where the step is: its layer, its (shortened) text and its Dockerfile line when known."""
        return Location(layer=self.entry.layer_index, instruction=self.shown, line=self.entry.line)

    @property
    def shown(self) -> str:
        """The step as a short, already-redacted Dockerfile-like line."""
        text = f"{self.instruction} {self.body}".strip() if self.instruction else self.entry.created_by.strip()
        # The legacy builder names sources by a 64-hex digest; 12 digits identify it well enough to read.
        text = _LONG_DIGEST.sub(r"\1:\2…", " ".join(text.split()))
        return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"

    @property
    def where(self) -> str:
        """`history step 5` or `Dockerfile line 12`, for evidence text."""
        if self.entry.line is not None:
            return f"Dockerfile line {self.entry.line}"
        return f"history step {self.entry.index}"


def parse_step(entry: HistoryEntry, origin: Origin = Origin.UNKNOWN) -> Step:
    """Read one history entry (legacy builder, BuildKit, or a Dockerfile-derived entry)."""
    text = entry.created_by.strip()
    if text.endswith("# buildkit"):
        text = text[: -len("# buildkit")].rstrip()
    if not text:
        return Step(entry, "", "", (), origin)
    m = _LEGACY_NOP.match(text)
    if m is not None:
        return _with_flags(entry, m.group(1), m.group(2).strip(), origin)
    m = _BUILDKIT.match(text)
    if m is not None and m.group(1) in _INSTRUCTIONS:
        instruction, body = m.group(1), m.group(2).strip()
        if instruction == "RUN":
            step = _with_flags(entry, "RUN", body, origin)
            return Step(entry, "RUN", _shell_body(step.body), step.flags, origin)
        return _with_flags(entry, instruction, body, origin)
    # The legacy builder writes RUN steps without an instruction keyword.
    return Step(entry, "RUN", _shell_body(text), (), origin)


def _with_flags(entry: HistoryEntry, instruction: str, body: str, origin: Origin) -> Step:
    flags: list[str] = []
    while (m := _FLAG.match(body)) is not None:
        flags.append(m.group(1))
        body = body[m.end() :]
    return Step(entry, instruction, body, tuple(flags), origin)


def _shell_body(text: str) -> str:
    text = strip_build_args(text)
    return _SHELL_C.sub("", text, count=1).strip()


_last: tuple[weakref.ref[ImageFacts] | None, list[Step]] = (None, [])
"""The steps of the image evaluated last (weakly held): every rule of one evaluation asks for the same image's."""


def steps(facts: ImageFacts) -> list[Step]:
    """Every history entry of the image as a step, oldest first, with its origin."""
    global _last
    ref, cached = _last
    if ref is not None and ref() is facts:
        return list(cached)
    origins = history_origins(facts)
    result = [parse_step(entry, origin) for entry, origin in zip(facts.history, origins, strict=True)]
    # One tuple assignment, so a parallel evaluation sees either the old pair or the new one.
    _last = (weakref.ref(facts), result)
    return list(result)


def history_origins(facts: ImageFacts) -> list[Origin]:
    """Origin of each history entry: the collector's `from_base`, else the catalog's boundary heuristic."""
    history = facts.history
    if any(entry.from_base is not None for entry in history):
        return [
            Origin.UNKNOWN if e.from_base is None else (Origin.BASE if e.from_base else Origin.USER) for e in history
        ]
    boundary = base_boundary(history)
    if boundary is None:
        return [Origin.UNKNOWN] * len(history)
    return [Origin.BASE if i <= boundary else Origin.USER for i in range(len(history))]


def base_boundary(history: tuple[HistoryEntry, ...]) -> int | None:
    """Index of the base image's last entry by heuristic, or None when no boundary shows."""
    parsed = [parse_step(e) for e in history]
    # Legacy builder: the base image ends with its own CMD/ENTRYPOINT, after which the user's steps follow.
    for i in range(len(parsed) - 1, -1, -1):
        legacy_cmd = parsed[i].instruction in ("CMD", "ENTRYPOINT") and _LEGACY_NOP.match(history[i].created_by)
        # A CMD followed only by metadata is the user's own; a base's CMD is followed by build steps.
        if legacy_cmd and any(p.instruction in ("RUN", "COPY", "ADD") for p in parsed[i + 1 :]):
            return i
    # BuildKit: the user's build is a run of `buildkit.dockerfile.v0` entries created close together.
    if history and history[-1].comment == _BUILDKIT_COMMENT:
        start = len(history) - 1
        while start > 0:
            prev, cur = history[start - 1], history[start]
            if prev.comment != _BUILDKIT_COMMENT:
                break
            if prev.created and cur.created and cur.created - prev.created > timedelta(hours=1):
                break
            start -= 1
        return start - 1 if start > 0 else None
    return None


def anchor(all_steps: list[Step], instruction: str) -> Location:
    """Where a missing instruction belongs: the final `FROM` line of a Dockerfile, else just its name."""
    for step in reversed(all_steps):
        if step.instruction == "FROM":
            return Location(instruction=instruction, line=step.entry.line)
    return Location(instruction=instruction)


def last_step(all_steps: list[Step], instruction: str, contains: str = "") -> Step | None:
    """The newest step of `instruction` whose body contains `contains`."""
    for step in reversed(all_steps):
        if step.instruction == instruction and contains in step.body:
            return step
    return None
