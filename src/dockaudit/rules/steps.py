"""Queries over an image's parsed history steps that several rule modules share."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dockaudit.facts.image import HistoryEntry, ImageFacts
from dockaudit.model import Location, Origin
from dockaudit.rules.registry import Hit
from dockaudit.rules.shell import Command, commands


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


def run_steps(facts: ImageFacts, fed: bool = False) -> list[HistoryEntry]:
    """The RUN steps of the history, oldest first; with `fed`, also those of the build stages that feed a
    Dockerfile's image (`HistoryEntry.fed_from`), which made none of its layers."""
    return [s for s in list(facts.steps) if s.instruction == "RUN" and (fed or s.fed_from is None)]


def hits_per_command(facts: ImageFacts, judge: Callable[[HistoryEntry, Command], str | None]) -> list[Hit]:
    """One hit per RUN step in which `judge` reports a problem for some command (first reason wins)."""
    hits: list[Hit] = []
    for step in run_steps(facts):
        for command in commands(step.body):
            reason = judge(step, command)
            if reason is not None:
                hits.append(Hit(f"{step.where}: {reason}: {step.shown}", step.location, step.origin))
                break
    return hits


def origin_of(all_steps: list[HistoryEntry], instruction: str, contains: str = "") -> tuple[Origin, Location]:
    """Origin and location of the newest step that set a config value; the user's when none is seen."""
    step = last_step(all_steps, instruction, contains)
    if step is None:
        return Origin.UNKNOWN, Location()
    return step.origin, step.location
