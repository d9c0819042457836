"""Real-world patterns: findings and hardened files follow the v2 specs; buildable cases build, run and stay healthy.

Each case (tests/realworld/cases.py) reproduces a pattern met in public Dockerfiles with a file of our own.
The static checks run the `dockaudit` CLI (scan, harden, harden again) and hadolint; the runtime checks build
the original and the hardened file with BuildKit on the stand-in bases and run them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from tests.harden.corpus_check import tag_bases
from tests.realworld import dockerfile_edits as de
from tests.realworld.cases import CASES
from tests.realworld.checker import check_runtime, check_static
from tests.realworld.model import Case

BUILDABLE = [c for c in CASES if c.runtime is not None]


def _ids(cases: list[Case] | tuple[Case, ...]) -> list[str]:
    return [c.name for c in cases]


def test_a_rewritten_run_that_creates_a_user_is_not_a_new_user() -> None:
    original = "FROM debian:12\nRUN apt-get update && apt-get install -y sudo && useradd -m app\nUSER app\n"
    rewritten = original.replace("install -y", "install -y --no-install-recommends")
    assert not de.new_user_created(original, rewritten)
    created = original.replace("USER app", "# new\nRUN useradd -r web\nUSER web")
    assert de.new_user_created(original, created)
    assert not de.new_user_created(original, original.replace("USER app", "# RUN useradd -r web\nUSER app"))


def test_cases_cover_sixty_patterns_each_with_a_source_and_a_spec_line() -> None:
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)
    assert all(c.source and c.cites and c.pattern for c in CASES)
    kinds: dict[str, Callable[[Case], bool]] = {
        "privilege-dropping entrypoints": lambda c: (
            c.present.get("DA606") == "info" and not c.cites[0].startswith("harden.md: base")
        ),
        "base images": lambda c: "ONBUILD" in c.text or "buildpack" in c.source,
        "Windows": lambda c: "windows" in c.name,
        "end-of-life tags": lambda c: "DA611" in c.present,
        "literal passwords": lambda c: "DA609" in c.present,
        "correct idioms": lambda c: bool(c.absent) and not c.present,
        "builds": lambda c: c.runtime is not None,
    }
    assert {name: sum(map(pred, CASES)) >= 3 for name, pred in kinds.items()} == dict.fromkeys(kinds, True)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_findings_and_hardened_file_follow_the_specs(case: Case, tmp_path: Path) -> None:
    problems, _ = check_static(case, tmp_path)
    assert problems == []


@pytest.fixture(scope="module")
def stand_in_bases(docker_client: docker.DockerClient) -> dict[str, str]:
    return tag_bases(docker_client)


@pytest.mark.docker
@pytest.mark.parametrize("case", BUILDABLE, ids=_ids(BUILDABLE))
def test_hardened_case_builds_runs_drops_privileges_and_is_healthy(
    case: Case, tmp_path: Path, stand_in_bases: dict[str, str]
) -> None:
    problems, result = check_static(case, tmp_path)
    assert result is not None, problems
    assert check_runtime(case, result) == []
