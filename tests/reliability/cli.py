"""Run `dockaudit` as a separate process, as a user or CI job would, with a private environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.report.schemas import validate_report

FAKE_TRIVY = Path(__file__).resolve().parent.parent / "trivy" / "fake_trivy"
FAULT_TRIVY = Path(__file__).resolve().parent / "fake_trivy"


def private_env(home: Path, **extra: str) -> dict[str, str]:
    """No DOCKER_* from the caller, an empty Docker config, the result cache under `home`, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKAUDIT_SSH"))}
    (home / "docker-config").mkdir(parents=True, exist_ok=True)
    env.update(
        DOCKER_CONFIG=str(home / "docker-config"),
        XDG_CACHE_HOME=str(home / "xdg-cache"),
        NO_COLOR="1",
    )
    env.update(extra)
    return env


def dockaudit_argv(*args: str) -> list[str]:
    """`python -m dockaudit ARGS` with this interpreter (the venv)."""
    return [sys.executable, "-m", "dockaudit", *args]


def run(
    *args: str, env: dict[str, str], timeout: float = 300, cwd: Path | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run dockaudit to completion; never raises on its exit code."""
    return subprocess.run(
        [*prefix, *dockaudit_argv(*args)],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


def load_report(path: Path) -> dict[str, Any]:
    """A JSON report file, validated against the schema."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    validate_report(data)
    return data


def target(report: dict[str, Any], kind: str, name_part: str) -> dict[str, Any]:
    """The one target of `kind` whose name contains `name_part`."""
    found: list[dict[str, Any]] = [t for t in report["targets"] if t["kind"] == kind and name_part in t["name"]]
    assert len(found) == 1, f"{kind} {name_part}: {[t['name'] for t in report['targets']]}"
    return found[0]
