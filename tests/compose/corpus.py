"""Helpers for the Compose tests: the corpus of projects written for them, read with a controlled environment."""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

from dockaudit.config import Settings
from dockaudit.facts.compose import ComposeProject, ServiceFacts
from dockaudit.model import Finding, Status
from dockaudit.parse.compose import load_project
from dockaudit.rules.compose import evaluate_service
from dockaudit.rules.registry import RuleContext

PROJECTS = Path(__file__).resolve().parent / "projects"
"""One directory per Compose project; see projects/README.md."""

SHELL = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}
"""The shell environment Compose sees: nothing the corpus interpolates, so results do not depend on the runner."""


@functools.cache
def corpus(name: str) -> ComposeProject:
    """A corpus project read through Compose, every profile enabled."""
    return load_project([PROJECTS / name], environ=SHELL)


def evaluate(project: ComposeProject, service: str) -> tuple[list[Finding], list[str]]:
    """The Compose rules over one service of `project`, without image facts."""
    svc = project.service(service)
    assert svc is not None, f"{project.name} has no service {service}"
    return evaluate_service(ServiceFacts(svc), RuleContext(Settings()))


def failing(findings: list[Finding]) -> set[str]:
    """Ids of the failed (not skipped) findings."""
    return {f.rule_id for f in findings if f.status is Status.FAIL}


def copy_project(name: str, dest: Path) -> Path:
    """A writable copy of a corpus project (hidden files such as `.env` included)."""
    target = dest / name
    shutil.copytree(PROJECTS / name, target)
    return target
