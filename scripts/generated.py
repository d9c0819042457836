"""Shared by the scripts that keep a generated file in step with its source (`--check` only compares)."""

from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(target: Path, wanted: str, argv: list[str], stale: str) -> int:
    """Write `wanted` to `target` when it differs; with `--check`, print `stale` and exit 1 instead."""
    current = target.read_text(encoding="utf-8") if target.exists() else ""
    if current == wanted:
        return 0
    if "--check" in argv:
        sys.stderr.write(stale + "\n")
        return 1
    target.write_text(wanted, encoding="utf-8")
    return 0
