"""Queries over an image's parsed history steps that several rule modules share."""

from __future__ import annotations

from collections.abc import Sequence

from dockaudit.facts import HistoryEntry
from dockaudit.model import Location


def anchor(steps: Sequence[HistoryEntry], instruction: str) -> Location:
    """Where a missing instruction belongs: the final `FROM` line of a Dockerfile, else just its name."""
    for step in reversed(steps):
        if step.instruction == "FROM":
            return Location(instruction=instruction, line=step.line)
    return Location(instruction=instruction)


def last_step(steps: Sequence[HistoryEntry], instruction: str, contains: str = "") -> HistoryEntry | None:
    """The newest step of `instruction` whose body contains `contains`."""
    for step in reversed(steps):
        if step.instruction == instruction and contains in step.body:
            return step
    return None
