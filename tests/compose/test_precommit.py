"""The pre-commit hooks of `.pre-commit-hooks.yaml` audit changed Dockerfiles and Compose files with no engine.

Run as a user runs them: `pre-commit try-repo` on a scratch git repository, pre-commit installing dockaudit from
a copy of this checkout (its files as they are now, committed in the copy) into its own environment with pip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Installing dockaudit and its dependencies into pre-commit's environment takes about a minute.
pytestmark = pytest.mark.timeout(900)

GIT_ID = ["-c", "user.email=tests@dockaudit.invalid", "-c", "user.name=dockaudit tests", "-c", "commit.gpgsign=false"]

BAD_DOCKERFILE = """\
FROM debian:12
RUN apt-get update && apt-get install -y curl
CMD python3 app.py
"""
BAD_COMPOSE = """\
services:
  db:
    image: postgres:16.4
    environment:
      POSTGRES_PASSWORD: precommit-secret-value-17
    ports:
      - "5432:5432"
"""
# Nothing at or above high: a non-root user, no datastore port, no secret.
GOOD_COMPOSE = """\
services:
  web:
    image: nginx:1.27-alpine
    user: "101:101"
    ports:
      - "127.0.0.1:8080:8080"
"""


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *GIT_ID, *args], cwd=cwd, check=True, capture_output=True, text=True)


@dataclass(frozen=True)
class Hooks:
    """A git repository holding this checkout's files, and pre-commit's home (environments installed once)."""

    repo: Path
    home: Path


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hooks]:
    """This checkout copied into a fresh repository and committed, so try-repo sees the working tree as it is."""
    base = tmp_path_factory.mktemp("precommit")
    repo = base / "dockaudit"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file():
            continue  # deleted in the working tree
        dest = repo / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
    assert (repo / ".pre-commit-hooks.yaml").is_file()
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "dockaudit under test")
    yield Hooks(repo, base / "pre-commit-home")


def _scratch(root: Path, files: dict[str, str]) -> Path:
    repo = root / "project"
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "scratch project")
    return repo


def _try_repo(hooks: Hooks, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "DOCKAUDIT_"))}
    env["PRE_COMMIT_HOME"] = str(hooks.home)
    # No engine anywhere: the hooks must not need one.
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hooks.repo), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )


def test_hooks_fail_a_commit_of_a_flawed_dockerfile_and_compose_file_without_an_engine(
    hooks: Hooks, tmp_path: Path
) -> None:
    project = _scratch(
        tmp_path, {"Dockerfile": BAD_DOCKERFILE, "compose.yaml": BAD_COMPOSE, "README.md": "# not audited\n"}
    )
    run = _try_repo(hooks, project, "--all-files")
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "dockaudit (Dockerfile)" in out and "dockaudit (Compose)" in out
    assert out.count("Failed") == 2, out
    # The Compose hook read the file through Compose: the service by name, its line, the datastore port.
    assert "compose-service project/db" in out and "DA702" in out and "DA703" in out
    # The table wraps long lines inside its box: read it as one line of text.
    assert "compose.yaml, line 5" in re.sub(r"[\s│]+", " ", out)
    assert "dockerfile Dockerfile" in out and "DA607" in out
    assert "precommit-secret-value-17" not in out
    # Exit 1, not 3: DOCKER_HOST names no engine, and none was asked for.
    assert "exit 1: 2 findings at or above high" in out


def test_compose_hook_passes_a_file_with_nothing_at_or_above_high(hooks: Hooks, tmp_path: Path) -> None:
    project = _scratch(tmp_path, {"deploy/compose.yaml": GOOD_COMPOSE, "Dockerfile": BAD_DOCKERFILE})
    run = _try_repo(hooks, project, "dockaudit-compose", "--files", "deploy/compose.yaml")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "dockaudit (Compose)" in out and "Passed" in out
    # Only the hook asked for ran, on the file given.
    assert "dockaudit (Dockerfile)" not in out
